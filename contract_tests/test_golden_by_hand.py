"""A second opinion beside the generated goldens: documents a reviewer wrote by hand
from the upstream body and the README's rules (contract_tests/golden-by-hand/README.md).

The generated goldens catch a change; these catch a wrong answer that the generated
goldens would have recorded as right. Both validators are checked: the compiled one
the function runs and the reference the generated goldens use."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from contract_tests.support import (
    FIXTURES,
    GOLDEN_SOURCE,
    HERE,
    ROOT,
    load_exchange,
    success_fixtures,
)
from dlf_status.bootstrap import build_validator
from dlf_status.domain.contract import ResponseValidator
from dlf_status.domain.interpret import interpret_response
from dlf_status.domain.model import ValidationMode

BY_HAND = HERE / "golden-by-hand"
# the clock the test fixes, and the same moment as every document by hand writes it
CLOCK = datetime(2026, 1, 1, tzinfo=UTC)
OBSERVED_AT = "2026-01-01T00:00:00.000Z"
HAND_WRITTEN = sorted(BY_HAND.glob("*.json"))
# the hardest shapes, of which at least four must have a document written by hand
HARD_FIXTURES = {
    "sdk-spellings",
    "drift-unknown-fields",
    "timestamps-iso-offsets",
    "status-unlisted-value",
    "sdk-extra-statuses",
}


def _fixture_for(expected: Path) -> Path:
    return FIXTURES / "valid" / expected.name


def _read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module", params=["compiled", "reference"])
def validator(request: pytest.FixtureRequest) -> ResponseValidator:
    if request.param == "compiled":
        return build_validator()
    reference: ResponseValidator = request.getfixturevalue("reference_validator")
    return reference


def test_the_documentation_examples_and_the_hard_shapes_have_a_document_by_hand() -> None:
    written = {path.stem for path in HAND_WRITTEN}
    documentation_examples = {
        path.stem for path in success_fixtures() if path.stem.startswith("doc-")
    }

    assert documentation_examples
    assert documentation_examples <= written
    assert len(written & HARD_FIXTURES) >= 4
    assert all(_fixture_for(path).is_file() for path in HAND_WRITTEN)


@pytest.mark.parametrize("expected_file", HAND_WRITTEN, ids=lambda path: path.stem)
def test_normalised_output_equals_the_document_written_by_hand(
    expected_file: Path, validator: ResponseValidator
) -> None:
    expected = _read(expected_file)
    assert expected["observed_at"] == OBSERVED_AT

    document = interpret_response(
        load_exchange(_fixture_for(expected_file)).to_response(),
        source=GOLDEN_SOURCE,
        observed_at=CLOCK,
        validator=validator,
        mode=ValidationMode.LENIENT,
    )

    assert document == expected
    # == takes 0 for 0.0 and True for 1; the serialised forms do not
    assert json.dumps(document, sort_keys=True) == json.dumps(expected, sort_keys=True)


@pytest.mark.parametrize("expected_file", HAND_WRITTEN, ids=lambda path: path.stem)
def test_the_document_written_by_hand_validates_against_the_published_schema(
    expected_file: Path, document_schema_validator: Draft202012Validator
) -> None:
    errors = [
        error.message for error in document_schema_validator.iter_errors(_read(expected_file))
    ]

    assert errors == []


def test_the_readme_example_is_the_documented_success_example_by_hand() -> None:
    """The README shows what the 2024 documentation example becomes; it must agree with
    the document written by hand (apart from the request and the clock)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The normalised status document, v1", 1)[1]
    match = re.search(r"```json\n(.*?)\n```", section, re.DOTALL)
    assert match is not None
    example: dict[str, Any] = json.loads(match.group(1))
    by_hand = _read(BY_HAND / "doc-2024-success.json")

    for document in (example, by_hand):
        del document["source"], document["observed_at"]

    assert example == by_hand
