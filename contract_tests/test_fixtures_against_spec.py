"""Every recorded shape validates against openapi.yaml; every known-bad one fails where expected.

Each fixture is checked against the operation it answers: the status call's under
fixtures/valid|invalid, the job list's (ListJobs) under fixtures/list/valid|invalid.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from contract_tests.support import (
    EVERY_FIXTURE,
    EVERY_INVALID_FIXTURE,
    EVERY_VALID_FIXTURE,
    INVALID_FIXTURES,
    LIST_FIXTURES,
    LIST_INVALID_FIXTURES,
    LIST_VALID_FIXTURES,
    VALID_FIXTURES,
    fixture_id,
    load_exchange,
    operation_of,
    read_fixture,
)
from dlf_status.domain.contract import (
    LIST_JOBS,
    SHOW_JOB_STATUS,
    Operation,
    ResponseValidator,
    parsed_or_not_json,
)

Reference = Callable[[Operation], ResponseValidator]


def _parsed_body(body: bytes) -> object:
    return parsed_or_not_json(body)


def test_there_are_enough_fixtures_to_mean_something() -> None:
    assert len(VALID_FIXTURES) >= 20
    assert len(INVALID_FIXTURES) >= 8
    assert len(LIST_VALID_FIXTURES) >= 12
    assert len(LIST_INVALID_FIXTURES) >= 10


@pytest.mark.parametrize("fixture", EVERY_VALID_FIXTURE, ids=fixture_id)
def test_valid_fixture_passes_openapi_core(fixture: Path, reference_for: Reference) -> None:
    response = load_exchange(fixture).to_response()

    report = reference_for(operation_of(fixture)).validate(response, _parsed_body(response.body))

    assert report.violations == ()


@pytest.mark.parametrize("fixture", EVERY_INVALID_FIXTURE, ids=fixture_id)
def test_invalid_fixture_fails_at_the_expected_place(
    fixture: Path, reference_for: Reference
) -> None:
    response = load_exchange(fixture).to_response()
    expected = read_fixture(fixture)["expected_violation_paths"]

    report = reference_for(operation_of(fixture)).validate(response, _parsed_body(response.body))

    assert sorted({violation.path for violation in report.violations}) == sorted(expected)


@pytest.mark.parametrize("fixture", EVERY_FIXTURE, ids=fixture_id)
def test_every_fixture_says_where_its_shape_comes_from(fixture: Path) -> None:
    source = read_fixture(fixture)["source"]

    assert isinstance(source, str)
    assert len(source) > 10
    assert "\n" not in source


@pytest.mark.parametrize("fixture", EVERY_FIXTURE, ids=fixture_id)
def test_every_fixture_names_the_operation_of_its_directory(fixture: Path) -> None:
    in_list_directory = LIST_FIXTURES in fixture.parents

    assert operation_of(fixture) == (LIST_JOBS if in_list_directory else SHOW_JOB_STATUS)


@pytest.mark.parametrize(
    ("fixture", "elsewhere"),
    [
        (LIST_FIXTURES / "valid" / "doc-2024-batch-job.json", SHOW_JOB_STATUS),
        (LIST_FIXTURES.parent / "valid" / "doc-2024-success.json", LIST_JOBS),
    ],
    ids=["a list page is no status", "a status is no list page"],
)
def test_an_answer_checked_against_the_other_operation_breaks_it(
    fixture: Path, elsewhere: Operation, reference_for: Reference
) -> None:
    response = load_exchange(fixture).to_response()

    report = reference_for(elsewhere).validate(response, _parsed_body(response.body))

    assert not report.valid


def test_list_drift_is_reported_as_unknown_fields(reference_for: Reference) -> None:
    fixture = LIST_FIXTURES / "valid" / "drift-unknown-fields.json"
    response = load_exchange(fixture).to_response()

    report = reference_for(LIST_JOBS).validate(response, _parsed_body(response.body))

    assert report.valid
    assert report.unknown_fields == ("$.jobs[*].id", "$.jobs[*].tags", "$.pageNumber")
