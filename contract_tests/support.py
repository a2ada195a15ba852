"""Shared by the contract tests and `update_goldens.py`: where fixtures live and how
a golden document is produced (fixed clock, fixed source)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dlf_status.domain.contract import OPERATIONS, Operation, ResponseValidator
from dlf_status.domain.documents import StatusDocument
from dlf_status.domain.interpret import interpret_response
from dlf_status.domain.model import ValidationMode
from dlf_status.domain.normalize import Source
from dlf_status.recorded import RecordedExchange, exchange_from_json

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIXTURES = HERE / "fixtures"
GOLDEN = HERE / "golden"
# The status call's exchanges; the job list's (ListJobs) live under list/.
VALID_FIXTURES = sorted((FIXTURES / "valid").glob("*.json"))
INVALID_FIXTURES = sorted((FIXTURES / "invalid").glob("*.json"))
LIST_FIXTURES = FIXTURES / "list"
LIST_VALID_FIXTURES = sorted((LIST_FIXTURES / "valid").glob("*.json"))
LIST_INVALID_FIXTURES = sorted((LIST_FIXTURES / "invalid").glob("*.json"))
EVERY_VALID_FIXTURE = [*VALID_FIXTURES, *LIST_VALID_FIXTURES]
EVERY_INVALID_FIXTURE = [*INVALID_FIXTURES, *LIST_INVALID_FIXTURES]
EVERY_FIXTURE = [*EVERY_VALID_FIXTURE, *EVERY_INVALID_FIXTURE]
OPENAPI_YAML = ROOT / "openapi.yaml"
DOCUMENT_SCHEMA = ROOT / "schemas" / "status-document.v1.schema.json"

GOLDEN_OBSERVED_AT = datetime(2026, 1, 1, tzinfo=UTC)
GOLDEN_SOURCE = Source(
    project_id="b384b9e9ab9b4ee8994c8633aabc9505",
    job_name="job_under_test",
    workspace=None,
    endpoint="https://dayu-dlf.cn-north-4.myhuaweicloud.com",
)


def read_fixture(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def load_exchange(path: Path) -> RecordedExchange:
    return exchange_from_json(read_fixture(path))


def operation_of(fixture: Path) -> Operation:
    """The operation a recorded exchange answers (its `operation` field)."""
    return OPERATIONS[load_exchange(fixture).operation]


def fixture_id(fixture: Path) -> str:
    """A test id that tells a list fixture from a status fixture of the same name."""
    return f"list/{fixture.stem}" if fixture.parent.parent == LIST_FIXTURES else fixture.stem


def success_fixtures() -> list[Path]:
    return [path for path in VALID_FIXTURES if read_fixture(path)["status"] == 200]


def golden_path(fixture: Path) -> Path:
    return GOLDEN / fixture.name


def golden_document(fixture: Path, validator: ResponseValidator) -> StatusDocument:
    return interpret_response(
        load_exchange(fixture).to_response(),
        source=GOLDEN_SOURCE,
        observed_at=GOLDEN_OBSERVED_AT,
        validator=validator,
        mode=ValidationMode.LENIENT,
    )
