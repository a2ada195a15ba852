"""The two contracts are themselves valid documents, and the shipped copy is current."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from openapi_spec_validator.versions import consts, shortcuts

from contract_tests.support import DOCUMENT_SCHEMA, OPENAPI_YAML, ROOT
from dlf_status.domain.contract import packaged_contract


def test_openapi_yaml_is_a_valid_openapi_3_1_document() -> None:
    spec = yaml.safe_load(OPENAPI_YAML.read_text(encoding="utf-8"))

    validate(spec)

    assert shortcuts.get_spec_version(spec) == consts.OPENAPIV31


def test_packaged_spec_equals_openapi_yaml() -> None:
    spec = yaml.safe_load(OPENAPI_YAML.read_text(encoding="utf-8"))

    assert packaged_contract().spec == spec


def test_contract_check_script_reports_no_drift() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_contract.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr


def test_document_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = json.loads(DOCUMENT_SCHEMA.read_text(encoding="utf-8"))

    Draft202012Validator.check_schema(schema)

    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_document_schema_rejects_a_document_missing_a_contract_field(
    document_schema_validator: Draft202012Validator,
) -> None:
    golden = json.loads((ROOT / "contract_tests" / "golden" / "doc-2024-success.json").read_text())
    del golden["nodes"][0]["metrics"]

    errors = list(document_schema_validator.iter_errors(golden))

    assert [list(error.absolute_path) for error in errors] == [["nodes", 0]]
