"""Times in the document: read in the contract's forms only, and never lost.

Each case is validated by the compiled validator (built from openapi.yaml) and
normalised, as the service does, so the two are checked to agree: a time the
contract refuses is null, kept verbatim in `extra` and named by a violation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest

from dlf_status.adapters.compiled_validator import CompiledValidator
from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import packaged_contract
from dlf_status.domain.extra_keys import decode_extra
from dlf_status.domain.model import Headers, UpstreamResponse
from dlf_status.domain.normalize import JOB_TIMES, Source, normalise

VALIDATOR = CompiledValidator(packaged_contract())
SOURCE = Source("p1", "job", None, "https://upstream.invalid")
OBSERVED = datetime(2026, 5, 4, tzinfo=UTC)
# every upstream spelling of a job-level time, with the field it lands on
TIME_KEYS = [(key, field) for field, spellings in JOB_TIMES.items() for key in spellings]


def observe(body: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise `body` as a 200 answer, as the service does (a plain dict:
    the tests read the fields they check from tables, by name)."""
    raw = jsoncodec.canonical_bytes(body)
    response = UpstreamResponse(200, Headers({"Content-Type": "application/json"}), raw)
    report = VALIDATOR.validate(response, body)
    return cast(
        "dict[str, Any]", normalise(body, source=SOURCE, observed_at=OBSERVED, report=report)
    )


def violation_paths(document: dict[str, Any]) -> list[str]:
    return [item["path"] for item in document["validation"]["violations"]]


@pytest.mark.parametrize(("key", "field"), TIME_KEYS)
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1732521600000, "2024-11-25T08:00:00.000Z"),
        (1732521600000.0, "2024-11-25T08:00:00.000Z"),
        ("1732521600000", "2024-11-25T08:00:00.000Z"),
        ("0001732521600000", "2024-11-25T08:00:00.000Z"),
        (-86400000, "1969-12-31T00:00:00.000Z"),
        ("-86400000", "1969-12-31T00:00:00.000Z"),
    ],
)
def test_epoch_milliseconds_the_contract_accepts_convert_exactly(
    key: str, field: str, value: object, expected: str
) -> None:
    document = observe({"name": "j", key: value})

    assert document["job"][field] == expected
    assert document["extra"] == {}
    assert document["validation"]["valid"] is True


@pytest.mark.parametrize(("key", "field"), TIME_KEYS)
@pytest.mark.parametrize(
    "value",
    [
        1732521600000.7,  # the reviewer's case: .7 ms cannot be a millisecond time
        0.5,
        -1.25,
        " 1732521600000",
        "1732521600000 ",
        "+1732521600000",
        "1732521600000.7",
    ],
)
def test_a_fractional_or_decorated_epoch_is_null_kept_in_extra_with_a_violation(
    key: str, field: str, value: object
) -> None:
    document = observe({"name": "j", key: value})

    assert document["job"][field] is None
    assert decode_extra(document["extra"]) == {key: value}
    assert violation_paths(document) == [f"$.{key}"]
    assert document["validation"]["valid"] is False


@pytest.mark.parametrize(("key", "field"), TIME_KEYS)
@pytest.mark.parametrize("value", [10**20, "-99999999999999999", 253402300800000])
def test_epoch_milliseconds_past_the_year_9999_are_null_kept_with_our_violation(
    key: str, field: str, value: object
) -> None:
    document = observe({"name": "j", key: value})

    assert document["job"][field] is None
    assert decode_extra(document["extra"]) == {key: value}
    # the contract accepts any integer: the violation is the normaliser's own
    assert [item["message"] for item in document["validation"]["violations"]] == [
        f"cannot read {value!r:.80} as a time: epoch milliseconds outside the years "
        "1 to 9999; kept in extra"
    ]


@pytest.mark.parametrize(("key", "field"), TIME_KEYS)
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-11-25T08:00:00.9999Z", "2024-11-25T08:00:00.999Z"),
        ("2024-11-25T16:00:00.123456+08:00", "2024-11-25T08:00:00.123Z"),
        ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59.999Z"),
    ],
)
def test_a_valid_time_finer_than_milliseconds_is_set_and_kept_raw_without_a_violation(
    key: str, field: str, value: str, expected: str
) -> None:
    document = observe({"name": "j", key: value})

    assert document["job"][field] == expected
    assert decode_extra(document["extra"]) == {key: value}
    assert document["validation"] == {
        "mode": "lenient",
        "valid": True,
        "violations": [],
        "unknown_fields": [],
    }


@pytest.mark.parametrize(("key", "field"), TIME_KEYS)
@pytest.mark.parametrize(
    "value",
    [
        "2024-11-25T08:00:00.000000Z",
        "2024-11-25T08:00:00,5+00:00",
        "2024-11-25 16:00+08",
        "1950-01-01T00:00:00Z",
    ],
)
def test_a_valid_time_that_milliseconds_hold_leaves_nothing_in_extra(
    key: str, field: str, value: str
) -> None:
    document = observe({"name": "j", key: value})

    assert document["job"][field] is not None
    assert document["extra"] == {}
    assert document["validation"]["valid"] is True


@pytest.mark.parametrize(("key", "field"), TIME_KEYS)
@pytest.mark.parametrize(
    ("value", "contract_refuses"),
    [
        ("2024-11-25t08:00:00Z", True),
        (" 2024-11-25T08:00:00Z", True),
        ("2024-11-25", True),
        ("2024-02-30T00:00:00Z", False),
        ("2024-11-25T08:13:60Z", False),
        ("2024-11-25T08:00:00+25:00", False),
        ("0000-01-01T00:00:00Z", False),
    ],
)
def test_an_iso_value_that_is_not_a_time_is_null_kept_with_a_violation(
    key: str, field: str, value: str, contract_refuses: bool
) -> None:
    document = observe({"name": "j", key: value})

    assert document["job"][field] is None
    assert decode_extra(document["extra"]) == {key: value}
    assert violation_paths(document) == [f"$.{key}"]
    message = document["validation"]["violations"][0]["message"]
    # where the contract accepts the form, the violation is the normaliser's own
    assert message.startswith(f"cannot read {value!r}") is not contract_refuses
