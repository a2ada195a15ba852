"""The TypedDicts of domain/documents.py name exactly the keys of the published schemas:
the types the code is checked against are the contract's, not a guess beside it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dlf_status.domain import documents

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
DOCUMENT = json.loads((SCHEMAS / "status-document.v1.schema.json").read_text(encoding="utf-8"))
RECORD = json.loads((SCHEMAS / "status-transition.v1.schema.json").read_text(encoding="utf-8"))
GONE = json.loads((SCHEMAS / "job-gone.v1.schema.json").read_text(encoding="utf-8"))


def keys_of(schema: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(required, optional) property names of an object schema."""
    properties = set(schema["properties"])
    required = set(schema.get("required", ()))
    return required, properties - required


def keys_of_type(typed: Any) -> tuple[set[str], set[str]]:
    return set(typed.__required_keys__), set(typed.__optional_keys__)


@pytest.mark.parametrize(
    ("typed", "schema"),
    [
        (documents.StatusDocument, DOCUMENT),
        (documents.DocumentSource, DOCUMENT["properties"]["source"]),
        (documents.JobFields, DOCUMENT["properties"]["job"]),
        (documents.NodeFields, DOCUMENT["$defs"]["node"]),
        (documents.NodeMetrics, DOCUMENT["$defs"]["node"]["properties"]["metrics"]),
        (documents.Summary, DOCUMENT["properties"]["summary"]),
        (documents.Validation, DOCUMENT["properties"]["validation"]),
        (
            documents.ViolationEntry,
            DOCUMENT["properties"]["validation"]["properties"]["violations"]["items"],
        ),
        (documents.TransitionRecord, RECORD),
        (documents.DocumentSource, RECORD["properties"]["source"]),
        (documents.StatusChange, RECORD["$defs"]["change"]),
        (documents.GoneDocument, GONE),
        (documents.DocumentSource, GONE["properties"]["source"]),
        (documents.GoneReason, GONE["properties"]["reason"]),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_each_typed_dict_names_the_keys_its_schema_names(typed: Any, schema: Any) -> None:
    assert keys_of_type(typed) == keys_of(schema)


def test_the_status_path_never_imports_the_document_types() -> None:
    """They cost about 2 ms to create: the function's hot path imports them for mypy only."""
    code = (
        "import sys, dlf_status.service, dlf_status.entrypoints.problems; "
        "print('dlf_status.domain.documents' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "False"
