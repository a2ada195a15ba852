"""Each recorded success normalises to its reviewed golden document, which the
published JSON Schema accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from contract_tests.support import GOLDEN, golden_document, golden_path, success_fixtures
from dlf_status.domain.contract import ResponseValidator
from dlf_status.domain.jsoncodec import pretty_bytes

SUCCESSES = success_fixtures()


def test_every_success_fixture_has_a_golden_file_and_no_golden_file_is_orphaned() -> None:
    assert sorted(path.name for path in GOLDEN.glob("*.json")) == sorted(
        path.name for path in SUCCESSES
    )


@pytest.mark.parametrize("fixture", SUCCESSES, ids=lambda path: path.stem)
def test_normalised_output_equals_its_golden_file_byte_for_byte(
    fixture: Path, reference_validator: ResponseValidator
) -> None:
    document = golden_document(fixture, reference_validator)

    assert pretty_bytes(document) + b"\n" == golden_path(fixture).read_bytes()


@pytest.mark.parametrize("fixture", SUCCESSES, ids=lambda path: path.stem)
def test_golden_document_validates_against_the_published_schema(
    fixture: Path,
    reference_validator: ResponseValidator,
    document_schema_validator: Draft202012Validator,
) -> None:
    document = golden_document(fixture, reference_validator)

    errors = [error.message for error in document_schema_validator.iter_errors(document)]

    assert errors == []
