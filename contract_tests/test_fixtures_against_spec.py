"""Every recorded shape validates against openapi.yaml; every known-bad one fails where expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract_tests.support import INVALID_FIXTURES, VALID_FIXTURES, load_exchange, read_fixture
from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import ResponseValidator


def _parsed_body(body: bytes) -> object:
    try:
        return jsoncodec.loads(body)
    except jsoncodec.JsonDecodeError:
        return None


def test_there_are_enough_fixtures_to_mean_something() -> None:
    assert len(VALID_FIXTURES) >= 20
    assert len(INVALID_FIXTURES) >= 8


@pytest.mark.parametrize("fixture", VALID_FIXTURES, ids=lambda path: path.stem)
def test_valid_fixture_passes_openapi_core(
    fixture: Path, reference_validator: ResponseValidator
) -> None:
    response = load_exchange(fixture).to_response()

    report = reference_validator.validate(response, _parsed_body(response.body))

    assert report.violations == ()


@pytest.mark.parametrize("fixture", INVALID_FIXTURES, ids=lambda path: path.stem)
def test_invalid_fixture_fails_at_the_expected_place(
    fixture: Path, reference_validator: ResponseValidator
) -> None:
    response = load_exchange(fixture).to_response()
    expected = read_fixture(fixture)["expected_violation_paths"]

    report = reference_validator.validate(response, _parsed_body(response.body))

    assert sorted({violation.path for violation in report.violations}) == sorted(expected)


@pytest.mark.parametrize("fixture", [*VALID_FIXTURES, *INVALID_FIXTURES], ids=lambda p: p.stem)
def test_every_fixture_says_where_its_shape_comes_from(fixture: Path) -> None:
    source = read_fixture(fixture)["source"]

    assert isinstance(source, str)
    assert len(source) > 10
    assert "\n" not in source
