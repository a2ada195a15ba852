"""Shared by the contract tests and `update_goldens.py`: where fixtures live and how
a golden document is produced (fixed clock, fixed source)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dlf_status.domain.contract import ResponseValidator
from dlf_status.domain.interpret import interpret_response
from dlf_status.domain.model import ValidationMode
from dlf_status.domain.normalize import Source
from dlf_status.recorded import RecordedExchange, exchange_from_json

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIXTURES = HERE / "fixtures"
GOLDEN = HERE / "golden"
VALID_FIXTURES = sorted((FIXTURES / "valid").glob("*.json"))
INVALID_FIXTURES = sorted((FIXTURES / "invalid").glob("*.json"))
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


def success_fixtures() -> list[Path]:
    return [path for path in VALID_FIXTURES if read_fixture(path)["status"] == 200]


def golden_path(fixture: Path) -> Path:
    return GOLDEN / fixture.name


def golden_document(fixture: Path, validator: ResponseValidator) -> dict[str, Any]:
    return interpret_response(
        load_exchange(fixture).to_response(),
        source=GOLDEN_SOURCE,
        observed_at=GOLDEN_OBSERVED_AT,
        validator=validator,
        mode=ValidationMode.LENIENT,
    )
