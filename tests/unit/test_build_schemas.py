"""scripts/build_schemas.py copies the document and record schemas into the page schemas:
a definition of the page's own that the source also defines, differently, is an error,
never silently replaced by the source's."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.fixture
def build_schemas(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModuleType:
    """The script as a module, reading its schemas from `tmp_path`."""
    monkeypatch.syspath_prepend(str(SCRIPTS))  # the script imports its neighbour `generated`
    spec = importlib.util.spec_from_file_location("build_schemas", SCRIPTS / "build_schemas.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "build_schemas", module)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "SCHEMAS", tmp_path)
    return module


TIMESTAMP = {"type": "string", "pattern": "^[0-9]{4}$"}


def write(directory: Path, name: str, schema: dict[str, Any]) -> None:
    (directory / name).write_text(json.dumps(schema), encoding="utf-8")


def schemas(tmp_path: Path, page_timestamp: dict[str, Any]) -> None:
    write(
        tmp_path,
        "source.json",
        {"$id": "urn:source", "type": "object", "$defs": {"timestamp": TIMESTAMP}},
    )
    write(
        tmp_path,
        "page.json",
        {"$id": "urn:page", "type": "object", "$defs": {"timestamp": page_timestamp}},
    )


def test_a_page_definition_that_differs_from_the_sources_fails_the_build(
    build_schemas: ModuleType, tmp_path: Path
) -> None:
    schemas(tmp_path, {**TIMESTAMP, "pattern": "^[0-9]{4}-[0-9]{2}$"})

    with pytest.raises(build_schemas.DefinitionClash, match="timestamp"):
        build_schemas.bundled(build_schemas.Bundle("page.json", "source.json", "record"))


def test_a_page_definition_equal_to_the_sources_is_kept_once(
    build_schemas: ModuleType, tmp_path: Path
) -> None:
    schemas(tmp_path, dict(TIMESTAMP))

    bundled = json.loads(
        build_schemas.bundled(build_schemas.Bundle("page.json", "source.json", "record"))
    )

    assert bundled["$defs"]["timestamp"] == TIMESTAMP
    assert sorted(bundled["$defs"]) == ["record", "timestamp"]


def test_the_build_reports_the_clash_in_one_line_and_exits_1(
    build_schemas: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    schemas(tmp_path, {**TIMESTAMP, "pattern": "^[0-9]{4}-[0-9]{2}$"})
    bundles = [build_schemas.Bundle("page.json", "source.json", "record")]
    monkeypatch.setattr(build_schemas, "BUNDLES", bundles)

    assert build_schemas.main([]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "timestamp" in error
    assert json.loads((tmp_path / "page.json").read_text(encoding="utf-8"))["$defs"] == {
        "timestamp": {**TIMESTAMP, "pattern": "^[0-9]{4}-[0-9]{2}$"}
    }  # left as it was


def test_the_bundle_refuses_a_schema_file_it_has_no_component_for(
    build_schemas: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """api/dlf-status.openapi.yaml refers to fleet.v1; without a component name for it
    the bundle would keep a reference no generator resolves: one line, exit 1."""
    monkeypatch.setattr(build_schemas, "SCHEMAS", SCRIPTS.parent / "schemas")
    components = dict(build_schemas.COMPONENTS)
    del components["fleet.v1.schema.json"]
    monkeypatch.setattr(build_schemas, "COMPONENTS", components)
    with pytest.raises(build_schemas.UnbundledReference, match=r"fleet\.v1\.schema\.json"):
        build_schemas.bundled_api({name: build_schemas.load(name) for name in components})


def test_the_bundle_has_one_component_per_definition_and_no_copy(
    build_schemas: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page's copy of the document schema is a reference to the document's
    components, so generators make one model of each, not two of one title."""
    monkeypatch.setattr(build_schemas, "SCHEMAS", SCRIPTS.parent / "schemas")
    schemas = {name: build_schemas.load(name) for name in build_schemas.COMPONENTS}
    bundle = json.loads(build_schemas.bundled_api(schemas))
    components = bundle["components"]["schemas"]
    titles = [value["title"] for value in components.values() if "title" in value]
    assert len(titles) == len(set(titles)), titles
    assert "HistoryPageStatusDocument" not in components
    items = components["HistoryPage"]["properties"]["documents"]["items"]
    assert items == {"$ref": "#/components/schemas/StatusDocument"}
    assert "StatusDocumentNode" in components
