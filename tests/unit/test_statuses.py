from __future__ import annotations

import pytest

from dlf_status.domain.statuses import STATUSES, normalise_status


@pytest.mark.parametrize("documented", ["STARTING", "NORMAL", "EXCEPTION", "STOPPING", "STOPPED"])
def test_documented_status_maps_to_itself(documented: str) -> None:
    assert normalise_status(documented) == documented


@pytest.mark.parametrize(
    ("sdk_status", "expected"),
    [
        ("INIT", "STARTING"),
        ("ABNORMAL", "EXCEPTION"),
        ("PAUSE", "STOPPED"),
        ("DISABLE", "STOPPED"),
        ("OVERLOAD", "NORMAL"),
    ],
)
def test_sdk_only_status_folds_into_a_documented_one(sdk_status: str, expected: str) -> None:
    assert normalise_status(sdk_status) == expected


@pytest.mark.parametrize(("raw", "expected"), [("normal", "NORMAL"), (" Stopped ", "STOPPED")])
def test_status_is_read_case_insensitively(raw: str, expected: str) -> None:
    assert normalise_status(raw) == expected


@pytest.mark.parametrize("raw", ["DEGRADED", "", "RUNNING", "running"])
def test_unlisted_status_is_unknown(raw: str) -> None:
    assert normalise_status(raw) == "UNKNOWN"


def test_the_six_statuses_are_the_contract() -> None:
    assert STATUSES == ("STARTING", "NORMAL", "EXCEPTION", "STOPPING", "STOPPED", "UNKNOWN")
