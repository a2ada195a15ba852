from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

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


# -- nodes that share a name ------------------------------------------------------------------


def doc_of(status: str, nodes: list[tuple[str, str]]) -> StatusDocument:
    body = {"name": "j", "status": status, "nodes": [{"name": n, "status": s} for n, s in nodes]}
    return normalise(body, source=Source("p", "j"), observed_at=T0, report=ValidationReport())


def _node_changes(before: StatusDocument, after: StatusDocument) -> list[tuple[Any, ...]]:
    return [(c["node"], c["from"], c["to"]) for c in status_changes(before, after)]


def test_every_change_among_nodes_of_one_name_is_a_change() -> None:
    # The review's sequence: two nodes named etl, one poll per step.
    steps = [
        [("etl", "EXCEPTION"), ("etl", "NORMAL")],
        [("etl", "EXCEPTION"), ("etl", "STOPPED")],
        [("etl", "EXCEPTION"), ("etl", "EXCEPTION")],
        [("etl", "NORMAL"), ("etl", "NORMAL")],
        [("etl", "NORMAL")],
    ]
    documents = [doc_of("NORMAL", nodes) for nodes in steps]

    assert [_node_changes(a, b) for a, b in itertools.pairwise(documents)] == [
        [("etl", "NORMAL", "STOPPED")],
        [("etl", "STOPPED", "EXCEPTION")],
        [("etl", "EXCEPTION", "NORMAL"), ("etl", "EXCEPTION", "NORMAL")],
        [("etl", "NORMAL", None)],  # one of the two went away
    ]


def test_nodes_of_one_name_that_swap_statuses_are_no_change() -> None:
    before = doc_of("NORMAL", [("etl", "EXCEPTION"), ("etl", "NORMAL")])
    after = doc_of("NORMAL", [("etl", "NORMAL"), ("etl", "EXCEPTION")])

    assert status_changes(before, after) == []


NAMED_NODES = st.lists(
    st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(["NORMAL", "EXCEPTION", "STOPPED"])),
    max_size=5,
)


@given(before=NAMED_NODES, after=NAMED_NODES)
def test_the_changes_turn_one_multiset_of_node_statuses_into_the_other(
    before: list[tuple[str, str]], after: list[tuple[str, str]]
) -> None:
    changes = status_changes(doc_of("NORMAL", before), doc_of("NORMAL", after))

    state: Counter[tuple[str | None, str]] = Counter(before)
    for change in changes:
        if change["from"] is not None:
            assert state[(change["node"], change["from"])] > 0, change
            state[(change["node"], change["from"])] -= 1
        if change["to"] is not None:
            state[(change["node"], change["to"])] += 1
    assert +state == Counter(after)
    assert (changes == []) == (Counter(before) == Counter(after))
    if changes:  # a record is written only for a change
        assert_valid_records(
            [
                transition_record(
                    doc_of("NORMAL", before),
                    doc_of("NORMAL", after),
                    changes,
                    previous_hash="a" * 64,
                    current_hash="b" * 64,
                )
            ]
        )
