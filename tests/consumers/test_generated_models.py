"""Models generated from every published schema, as a Python consumer generates them
(datamodel-code-generator, pydantic v2): every document the product publishes
(tests/support/published.py, the goldens among them) goes through its model and comes
back the same, and the document's counters are ints, exact past 53 and 64 bits."""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pydantic
import pytest

from contract_tests.support import GOLDEN
from tests.support.published import DOCUMENT, KINDS, SCHEMAS, Published

COUNTERS = ["buffer_records", "total_get_bytes", "total_get_records", "total_put_bytes"]


def class_name(schema_file: str) -> str:
    """status-document.v1.schema.json -> StatusDocument."""
    return "".join(part.capitalize() for part in schema_file.split(".")[0].split("-"))


def generate(schema_file: str, directory: Path) -> ModuleType:
    """The models of `schema_file`, generated and imported as a consumer would."""
    name = schema_file.split(".")[0].replace("-", "_") + "_models"
    output = directory / f"{name}.py"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "datamodel_code_generator",
            "--input",
            str(SCHEMAS / schema_file),
            "--input-file-type",
            "jsonschema",
            "--output-model-type",
            "pydantic_v2.BaseModel",
            "--class-name",
            class_name(schema_file),
            "--target-python-version",
            "3.11",
            "--formatters",
            "builtin",
            "--disable-timestamp",
            "--output",
            str(output),
        ],
        check=True,
        capture_output=True,
    )
    spec = importlib.util.spec_from_file_location(name, output)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # pydantic resolves the postponed annotations through sys.modules
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ModuleType]]:
    directory = tmp_path_factory.mktemp("generated")
    modules = {kind: generate(kind, directory) for kind in KINDS}
    try:
        yield modules
    finally:
        for module in modules.values():
            del sys.modules[module.__name__]


@pytest.fixture(scope="module")
def models(generated: dict[str, ModuleType]) -> ModuleType:
    """The status document's models."""
    return generated[DOCUMENT]


def golden(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((GOLDEN / name).read_text(encoding="utf-8"))
    return document


def with_counters(**values: Any) -> dict[str, Any]:
    document = copy.deepcopy(golden("doc-2024-success.json"))
    document["nodes"][0]["metrics"].update(values)
    return document


def metric(model: Any, name: str) -> Any:
    value = getattr(model.nodes[0].metrics, name)
    return getattr(value, "root", value)  # a nullable $ref becomes a RootModel


@pytest.mark.parametrize("value", [9007199254740993, 2**65 + 1])
def test_counters_are_exact_ints_from_python_and_from_json(models: ModuleType, value: int) -> None:
    document = with_counters(total_get_bytes=value, total_put_bytes=value)

    for model in (
        models.StatusDocument.model_validate(document),
        models.StatusDocument.model_validate_json(json.dumps(document)),
    ):
        assert metric(model, "total_get_bytes") == value
        assert type(metric(model, "total_put_bytes")) is int


@pytest.mark.parametrize("counter", COUNTERS)
def test_a_counter_with_a_fraction_is_refused_by_the_model(
    models: ModuleType, counter: str
) -> None:
    with pytest.raises(pydantic.ValidationError, match="integer"):
        models.StatusDocument.model_validate(with_counters(**{counter: 1.5}))


def test_speed_is_a_rate_with_its_fraction(models: ModuleType) -> None:
    model = models.StatusDocument.model_validate(with_counters(speed=1523.75))

    assert metric(model, "speed") == 1523.75


@pytest.mark.parametrize("kind", KINDS)
def test_every_published_document_round_trips_through_its_generated_model(
    generated: dict[str, ModuleType], published: dict[str, list[Published]], kind: str
) -> None:
    model_class = getattr(generated[kind], class_name(kind))
    documents = published[kind]

    assert documents, kind
    for document in documents:
        model = model_class.model_validate_json(document.text)
        # by alias: a member named after a Python keyword (`from`) is an attribute `from_`
        dumped = model.model_dump(mode="json", by_alias=True, exclude_unset=True)
        assert dumped == json.loads(document.text), document.label


def test_a_model_refuses_a_member_its_schema_does_not_name(models: ModuleType) -> None:
    """Why the README tells consumers to regenerate from each release's schemas: v1 adds
    optional members, and models generated from an older schema refuse them."""
    document = golden("doc-2024-success.json")
    document["added_in_a_later_minor"] = True

    with pytest.raises(pydantic.ValidationError, match="added_in_a_later_minor"):
        models.StatusDocument.model_validate(document)
