"""The pure rules of the read models: order of statuses, request values, cursors, rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlf_status.domain import jsoncodec
from dlf_status.domain.model import JobRef
from dlf_status.domain.readmodels import (
    FLEET_PAGE,
    HISTORY_PAGE,
    SEVERITY,
    TRANSITIONS_PAGE,
    FleetCounts,
    decode_cursor,
    encode_cursor,
    fleet_entry,
    fleet_fails,
    fleet_key_job_name,
    fleet_row,
    overall_status,
    parse_fail_on,
    parse_limit,
    parse_stale_after,
    parse_statuses,
    parse_time,
    query_scope,
    unreadable_entry,
)
from dlf_status.domain.statuses import STATUSES
from dlf_status.errors import InvalidInput
from tests.support.read_models import SCHEMAS, status_document

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
JOB = JobRef.parse("b384b9e9ab9b4ee8994c8633aabc9505", "job_sms")


@pytest.mark.parametrize(
    ("present", "worst"),
    [
        ({"NORMAL": 3, "EXCEPTION": 1}, "EXCEPTION"),
        ({"EXCEPTION": 1, "UNKNOWN": 4}, "EXCEPTION"),
        ({"UNKNOWN": 1, "STOPPING": 1, "STOPPED": 1}, "UNKNOWN"),
        ({"STOPPED": 5, "STOPPING": 1}, "STOPPING"),
        ({"STOPPED": 1, "STARTING": 1, "NORMAL": 9}, "STOPPED"),
        ({"STARTING": 1, "NORMAL": 9}, "STARTING"),
        ({"NORMAL": 2}, "NORMAL"),
        ({"NORMAL": 0, "EXCEPTION": 0}, None),
        ({}, None),
    ],
)
def test_overall_is_the_worst_status_present(present: dict[str, int], worst: str | None) -> None:
    assert overall_status(present) == worst


def test_severity_names_every_status_once() -> None:
    assert sorted(SEVERITY) == sorted(STATUSES)


def summary_of(**by_status: int) -> FleetCounts:
    counts = FleetCounts()
    moment = NOW - timedelta(seconds=10)
    for status, count in by_status.items():
        for _ in range(count):
            document = status_document(JOB, status, moment)
            counts.add(fleet_row(fleet_entry(jsoncodec.canonical_bytes(document), "x"), NOW, 900))
    return counts


def test_fail_on_is_decided_over_the_whole_summary() -> None:
    summary = summary_of(NORMAL=3, EXCEPTION=1).summary()

    assert fleet_fails(summary, {"EXCEPTION"}) is True
    assert fleet_fails(summary, {"UNKNOWN", "STOPPED"}) is False
    assert fleet_fails(summary, set()) is False
    assert fleet_fails(summary, {"STALE"}) is False


def test_stale_in_fail_on_fails_a_fleet_with_a_stale_job() -> None:
    counts = summary_of(NORMAL=1)
    old = status_document(JOB, "NORMAL", NOW - timedelta(hours=2))
    counts.add(fleet_row(fleet_entry(jsoncodec.canonical_bytes(old), "x"), NOW, 900))

    summary = counts.summary()

    assert summary["stale"] == 1
    assert fleet_fails(summary, {"STALE"}) is True


def test_counts_keep_every_status_and_the_unreadable_apart() -> None:
    counts = summary_of(NORMAL=2, STOPPED=1)
    counts.add(fleet_row(unreadable_entry("broken", "latest.json is not JSON"), NOW, 900))

    assert counts.summary() == {
        "job_count": 4,
        "jobs_by_status": {
            "STARTING": 0,
            "NORMAL": 2,
            "EXCEPTION": 0,
            "STOPPING": 0,
            "STOPPED": 1,
            "UNKNOWN": 1,
        },
        "stale": 1,
        "invalid": 1,
        "unreadable": 1,
        "overall": "UNKNOWN",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, 100), ("", 100), ("1", 1), ("1000", 1000), (7, 7)],
)
def test_limit_defaults_and_bounds(value: object, expected: int) -> None:
    assert parse_limit(value, FLEET_PAGE) == expected


@pytest.mark.parametrize(
    "value", ["0", "1001", "-1", "1e3", " 5", "\uff15", "1.0", True, 2.0, "9" * 7]
)
def test_a_limit_outside_the_page_is_refused(value: object) -> None:
    with pytest.raises(InvalidInput, match="from 1 to 1000") as refused:
        parse_limit(value, FLEET_PAGE)

    assert refused.value.field == "limit"


def test_page_bounds_match_the_published_schemas() -> None:
    import json

    def most(schema: str) -> int:
        loaded = json.loads((SCHEMAS / schema).read_text(encoding="utf-8"))
        return int(loaded["properties"]["limit"]["maximum"])

    assert most("fleet.v1.schema.json") == FLEET_PAGE[1]
    assert most("history-page.v1.schema.json") == HISTORY_PAGE[1]
    assert most("transitions-page.v1.schema.json") == TRANSITIONS_PAGE[1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-25T08:00:00Z", NOW),
        ("2026-11-25t08:00:00z", NOW),
        ("2026-11-25T09:30:00+01:30", NOW),
        ("2026-11-25T08:00:00.123456789Z", NOW.replace(microsecond=123000)),
        ("2026-11-25T08:00:00.0009Z", NOW),
        ("2026-11-25T08:00:00.1234567890123Z", NOW.replace(microsecond=123000)),
    ],
)
def test_times_are_rfc3339_with_an_offset_read_to_the_millisecond(
    text: str, expected: datetime
) -> None:
    assert parse_time(text, "from") == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-25T08:00:00",  # no offset: which zone?
        "2026-11-25",
        "2026-11-25 08:00:00Z",
        "1764057600",
        "2026-02-30T08:00:00Z",
        "2026-11-25T24:00:00Z",
        "2026-11-25T08:00:00+25:00",
        "\uff12\uff10\uff12\uff16-11-25T08:00:00Z",
        "2026-11-25T08:00:00Z\n",
    ],
)
def test_other_times_are_refused_by_field(text: str) -> None:
    with pytest.raises(InvalidInput, match=r"^since ") as refused:
        parse_time(text, "since")

    assert refused.value.field == "since"


def test_status_words_are_case_insensitive_and_checked() -> None:
    assert parse_statuses("exception, Unknown") == frozenset({"EXCEPTION", "UNKNOWN"})
    assert parse_statuses(None) is None
    assert parse_fail_on("EXCEPTION,stale") == frozenset({"EXCEPTION", "STALE"})
    assert parse_fail_on("") == frozenset()
    with pytest.raises(InvalidInput, match="'STALE'") as refused:
        parse_statuses("STALE")
    assert refused.value.field == "status"
    with pytest.raises(InvalidInput, match="''"):
        parse_fail_on("EXCEPTION,")
    with pytest.raises(InvalidInput, match="'RUNNING'"):
        parse_fail_on("RUNNING")


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "abc", "1e99", True])
def test_stale_after_must_be_a_positive_number_of_seconds(value: object) -> None:
    with pytest.raises(InvalidInput, match="stale_after"):
        parse_stale_after(value)


def test_stale_after_defaults_to_three_polls() -> None:
    assert parse_stale_after(None) == 900.0
    assert parse_stale_after("60.5") == 60.5


def test_a_cursor_names_its_position_for_its_own_query_only() -> None:
    scope = query_scope("fleet", "p", None)
    cursor = encode_cursor("fleet", scope, "job_name=a%2Fb/latest.json")

    assert decode_cursor(cursor, "fleet", scope) == "job_name=a%2Fb/latest.json"
    assert decode_cursor(None, "fleet", scope) is None
    for kind, other_scope in [
        ("history", scope),
        ("fleet", query_scope("fleet", "p", "ws")),
        ("fleet", query_scope("fleet", "q", None)),
    ]:
        with pytest.raises(InvalidInput, match="cursor is not one this query returned"):
            decode_cursor(cursor, kind, other_scope)


def test_no_workspace_and_a_workspace_named_like_null_are_different_scopes() -> None:
    assert query_scope("fleet", "p", None) != query_scope("fleet", "p", "\x00")
    assert query_scope("fleet", "p", None) != query_scope("fleet", "p", "None")


@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda raw: raw.hex()))
def test_any_cursor_text_is_read_or_refused_as_input(text: str) -> None:
    scope = query_scope("fleet", "p", None)
    field: str | None = "none raised"
    try:
        decode_cursor(text, "fleet", scope)
    except InvalidInput as refused:
        field = refused.field
    assert field in ("cursor", "none raised")


@pytest.mark.parametrize(
    "cursor",
    ["x" * 3000, "é", "!!!!", "bm90IGpzb24", "W10", "eyJ2IjoyfQ", "e30", "e3 0", "e3=0", "e3\n0"],
)
def test_malformed_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        decode_cursor(cursor, "fleet", query_scope("fleet", "p", None))

    assert refused.value.field == "cursor"


def test_a_cursor_with_a_character_base64_would_skip_is_refused() -> None:
    """base64 decoding drops what is not in its alphabet: "a.b" would read as "ab"."""
    scope = query_scope("fleet", "p", None)
    cursor = encode_cursor("fleet", scope, "job_name=a/latest.json")

    for spoiled in (cursor[:4] + "." + cursor[4:], cursor + "=", " " + cursor):
        with pytest.raises(InvalidInput, match="cursor is not one"):
            decode_cursor(spoiled, "fleet", scope)


def test_a_row_reads_the_document_and_its_age() -> None:
    observed = NOW - timedelta(seconds=90, milliseconds=250)
    document = status_document(JOB, "EXCEPTION", observed, {"a": "NORMAL", "b": "ABNORMAL"})
    entry = fleet_entry(jsoncodec.canonical_bytes(document), key_job_name="cut~0123")

    row = fleet_row(entry, NOW, stale_after=60)

    assert row == {
        "job_name": "job_sms",
        "status": "EXCEPTION",
        "status_raw": "EXCEPTION",
        "observed_at": "2026-11-25T07:58:29.750Z",
        "age_seconds": 90.25,
        "stale": True,
        "node_count": 2,
        "nodes_by_status": {
            "STARTING": 0,
            "NORMAL": 1,
            "EXCEPTION": 1,
            "STOPPING": 0,
            "STOPPED": 0,
            "UNKNOWN": 0,
        },
        "valid": True,
        "error": None,
    }
    assert fleet_row(entry, NOW, stale_after=91)["stale"] is False


def test_an_observation_from_the_future_is_zero_seconds_old() -> None:
    document = status_document(JOB, "NORMAL", NOW + timedelta(seconds=5))

    row = fleet_row(fleet_entry(jsoncodec.canonical_bytes(document), "x"), NOW, 60)

    assert (row["age_seconds"], row["stale"]) == (0.0, False)


def broken(**changes: object) -> bytes:
    document = status_document(JOB, "NORMAL", NOW)
    for path, value in changes.items():
        target: Any = document
        *parents, last = path.split("__")
        for parent in parents:
            target = target[parent]
        target[last] = value
    return jsoncodec.canonical_bytes(document)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"", "not JSON"),
        (b'{"observed_at": ', "not JSON"),
        (b"[]", "not an object"),
        (b"\xff\xfe", "not JSON"),
        (broken(observed_at="yesterday"), "observed_at"),
        (broken(observed_at="2026-02-30T00:00:00.000Z"), "observed_at"),
        (broken(source=None), "no source"),
        (broken(job__status="RUNNING"), "no job status"),
        (broken(job__status_raw=5), "status_raw"),
        (broken(summary__node_count=-1), "node count"),
        (broken(summary__node_count=True), "node count"),
        (broken(summary__nodes_by_status={"NORMAL": 1}), "by status"),
        (broken(validation__valid="yes"), "validation"),
    ],
)
def test_an_unreadable_latest_json_is_an_unknown_invalid_row(body: bytes, why: str) -> None:
    entry = fleet_entry(body, key_job_name="a/b")

    row = fleet_row(entry, NOW, 900)

    assert (row["job_name"], row["status"], row["valid"], row["stale"]) == (
        "a/b",
        "UNKNOWN",
        False,
        True,
    )
    assert row["error"] is not None
    assert why in row["error"]
    assert (row["observed_at"], row["age_seconds"], row["node_count"]) == (None, None, None)


@pytest.mark.parametrize(
    ("relative", "name"),
    [
        ("job_name=job_sms/latest.json", "job_sms"),
        ("job_name=a%2Fb/latest.json", "a/b"),
        ("job_name=%E4%BD%9C%E4%B8%9A/latest.json", "作业"),
        ("job_name=%5F_HIVE_DEFAULT_PARTITION__/latest.json", "__HIVE_DEFAULT_PARTITION__"),
        ("job_name=abc~0123456789abcdef/latest.json", "abc~0123456789abcdef"),
        ("job_name=%FF/latest.json", "\ufffd"),
        ("job_name=a/other.json", None),
        ("job_name=a/b/latest.json", None),
        ("latest.json", None),
        ("job_name=/latest.json", None),
    ],
)
def test_a_fleet_key_names_its_job(relative: str, name: str | None) -> None:
    assert fleet_key_job_name(relative) == name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # RFC 3339 times that leave the years 1 to 9999 once in UTC: the first or the
        # last millisecond there is (no object lies beyond), not a refusal.
        ("0001-01-01T00:00:00+05:00", datetime(1, 1, 1, tzinfo=UTC)),
        ("9999-12-31T23:00:00-05:00", datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)),
    ],
)
def test_times_beyond_the_calendar_in_utc_are_its_ends(text: str, expected: datetime) -> None:
    assert parse_time(text, "to") == expected


@pytest.mark.parametrize("value", ["\u017ftopped", "NORMAL\u00a0", "exception,\u0130"])
def test_status_words_fold_ascii_only(value: str) -> None:
    """U+017F (long s) upper-cases to S, U+0130 to I with a dot: no look-alike is a
    status, as documents fold them (README: Statuses)."""
    with pytest.raises(InvalidInput) as refused:
        parse_statuses(value)

    assert refused.value.field == "status"


def test_status_words_tolerate_ascii_blanks_only() -> None:
    assert parse_statuses(" normal\t,STOPPED ") == frozenset({"NORMAL", "STOPPED"})
    with pytest.raises(InvalidInput):
        parse_statuses("NORMAL\x0b")  # a vertical tab: Python's strip() would take it
