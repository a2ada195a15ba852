"""Freshness records: written by one tick, read by any reader, never trusted blindly."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from dlf_status.domain import jsoncodec
from dlf_status.domain.freshness import (
    Confirmation,
    Confirmed,
    freshness_record,
    merge_newest,
    read_confirmations,
    read_record,
)

AT = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def record(*confirmations: Confirmation) -> bytes:
    return jsoncodec.canonical_bytes(
        freshness_record(
            project_id="p",
            workspace=None,
            tick_id="t",
            scheduled_time=AT,
            written_at=AT,
            confirmations=confirmations,
        )
    )


def test_a_record_reads_back_as_each_jobs_version_and_time() -> None:
    body = record(
        Confirmation("a", '"e1"', "h" * 64, "2026-11-25T08:00:01.000Z", "2026-11-25T07:55:00.000Z"),
        Confirmation("b", '"e2"', "h" * 64, "2026-11-25T08:00:02.000Z", "2026-11-25T07:55:00.000Z"),
    )

    assert read_confirmations(body) == {
        "a": Confirmed('"e1"', "2026-11-25T08:00:01.000Z"),
        "b": Confirmed('"e2"', "2026-11-25T08:00:02.000Z"),
    }


def test_entries_that_are_not_well_formed_are_skipped() -> None:
    body = jsoncodec.canonical_bytes(
        {
            "kind": "status-freshness",
            "jobs": [
                {"job_name": "a", "latest_version": '"e"', "observed_at": "not a time"},
                {"job_name": 1, "latest_version": '"e"', "observed_at": "2026-11-25T08:00:00.000Z"},
                "junk",
                {
                    "job_name": "b",
                    "latest_version": '"e"',
                    "observed_at": "2026-11-25T08:00:00.000Z",
                },
            ],
        }
    )

    assert read_confirmations(body) == {"b": Confirmed('"e"', "2026-11-25T08:00:00.000Z")}


@given(st.binary(max_size=200))
def test_any_bytes_are_a_record_or_none_never_an_error(body: bytes) -> None:
    found = read_confirmations(body)
    assert found is None or isinstance(found, dict)


def test_the_newest_confirmation_of_a_job_wins() -> None:
    older = {"a": Confirmed('"e1"', "2026-11-25T08:00:00.000Z")}
    newer = {"a": Confirmed('"e2"', "2026-11-25T08:05:00.000Z")}

    assert merge_newest(dict(newer), older) == newer
    assert merge_newest(dict(older), newer) == newer


def test_a_new_container_takes_only_whole_confirmations_from_a_record() -> None:
    whole = Confirmation(
        "a", '"e1"', "ab" * 32, "2026-11-25T08:00:01.000Z", "2026-11-25T07:55:00.000Z"
    )
    body = jsoncodec.canonical_bytes(
        {
            "kind": "status-freshness",
            "jobs": [
                whole._asdict(),
                {**whole._asdict(), "job_name": "b", "content_hash": "not a hash"},
                {**whole._asdict(), "job_name": "c", "latest_observed_at": None},
                {**whole._asdict(), "job_name": "d", "observed_at": "yesterday"},
            ],
        }
    )

    assert read_record(body) == [whole]
    assert read_record(b"[]") == []
    assert read_record(b"not json") == []
