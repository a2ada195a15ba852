"""Models generated from the published document schema, as a consumer generates
them (datamodel-code-generator, pydantic v2): counters are ints, exact past 53 and
64 bits, and every golden document goes through a model and comes back the same."""

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

from contract_tests.support import DOCUMENT_SCHEMA, GOLDEN

GOLDENS = sorted(GOLDEN.glob("*.json"))
COUNTERS = ["buffer_records", "total_get_bytes", "total_get_records", "total_put_bytes"]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    output = tmp_path_factory.mktemp("generated") / "status_document_models.py"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "datamodel_code_generator",
            "--input",
            str(DOCUMENT_SCHEMA),
            "--input-file-type",
            "jsonschema",
            "--output-model-type",
            "pydantic_v2.BaseModel",
            "--class-name",
            "StatusDocument",
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
    spec = importlib.util.spec_from_file_location("status_document_models", output)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # pydantic resolves the postponed annotations through sys.modules
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


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


@pytest.mark.parametrize("path", GOLDENS, ids=lambda path: path.stem)
def test_every_golden_document_round_trips_through_the_generated_model(
    models: ModuleType, path: Path
) -> None:
    raw = path.read_bytes()

    model = models.StatusDocument.model_validate_json(raw)

    assert model.model_dump(mode="json", exclude_unset=True) == json.loads(raw)
