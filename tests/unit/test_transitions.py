from __future__ import annotations

from datetime import UTC, datetime

from dlf_status.domain.contract import ValidationReport
from dlf_status.domain.documents import StatusDocument
from dlf_status.domain.normalize import Source, content_hash, normalise
from dlf_status.domain.transitions import status_changes, transition_record
from tests.support.transitions import assert_valid_records, transition_schema

T0 = datetime(2026, 11, 25, tzinfo=UTC)


def doc(status: str, nodes: dict[str, str]) -> StatusDocument:
    body = {
        "name": "j",
        "status": status,
        "nodes": [{"name": n, "status": s} for n, s in nodes.items()],
    }
    return normalise(body, source=Source("p", "j"), observed_at=T0, report=ValidationReport())


def test_job_then_node_changes_are_listed_in_name_order() -> None:
    before = doc("NORMAL", {"b": "NORMAL", "a": "NORMAL"})
    after = doc("EXCEPTION", {"b": "EXCEPTION", "a": "NORMAL"})

    changes = status_changes(before, after)

    assert [(c["scope"], c["node"], c["from"], c["to"]) for c in changes] == [
        ("job", None, "NORMAL", "EXCEPTION"),
        ("node", "b", "NORMAL", "EXCEPTION"),
    ]


def test_a_node_appearing_or_going_away_is_a_change_from_or_to_nothing() -> None:
    changes = status_changes(doc("NORMAL", {"old": "NORMAL"}), doc("NORMAL", {"new": "STARTING"}))

    assert [(c["node"], c["from"], c["to"]) for c in changes] == [
        ("new", None, "STARTING"),
        ("old", "NORMAL", None),
    ]


def test_a_new_upstream_word_under_the_same_status_is_a_change() -> None:
    changes = status_changes(doc("PAUSE", {}), doc("DISABLE", {}))

    assert [(c["from"], c["from_raw"], c["to"], c["to_raw"]) for c in changes] == [
        ("STOPPED", "PAUSE", "STOPPED", "DISABLE")
    ]


def test_the_same_statuses_are_no_change() -> None:
    assert status_changes(doc("NORMAL", {"a": "NORMAL"}), doc("NORMAL", {"a": "NORMAL"})) == []


def test_the_record_names_both_observations_and_follows_the_published_schema() -> None:
    before, after = doc("NORMAL", {"a": "NORMAL"}), doc("STOPPED", {"b": "STARTING"})

    record = transition_record(
        before,
        after,
        status_changes(before, after),
        previous_hash=content_hash(before),
        current_hash=content_hash(after),
    )

    assert record["kind"] == "status-transition"
    assert record["source"] == after["source"]
    assert record["previous_observed_at"] == before["observed_at"]
    assert (record["previous_content_hash"], record["content_hash"]) == (
        content_hash(before),
        content_hash(after),
    )
    assert_valid_records([record])


def test_the_schema_refuses_what_a_record_never_is() -> None:
    before, after = doc("NORMAL", {}), doc("STOPPED", {})
    good = transition_record(
        before, after, status_changes(before, after), previous_hash="a" * 64, current_hash="b" * 64
    )
    job_change = good["changes"][0]
    bad_records = [
        {**good, "changes": []},
        {**good, "changes": [{**job_change, "from": None, "to": None}]},
        {**good, "changes": [{**job_change, "node": "n"}]},
        {
            **good,
            "changes": [{**job_change, "scope": "node", "node": "n", "from": None, "to": None}],
        },
        {**good, "content_hash": "B" * 64},
        {**good, "observed_at": "2026-11-25T00:00:00Z"},
        {**good, "surprise": 1},
    ]

    for bad in bad_records:
        assert list(transition_schema().iter_errors(bad)), bad
