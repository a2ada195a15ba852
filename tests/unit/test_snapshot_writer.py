"""The snapshot writing rules, against an in-memory store that can lose races."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import ValidationReport
from dlf_status.domain.documents import StatusDocument
from dlf_status.domain.model import JobRef
from dlf_status.domain.normalize import Source, normalise
from dlf_status.domain.snapshots import SnapshotOutcome, latest_key
from dlf_status.errors import StoreConflict, StoreError
from dlf_status.service import SnapshotWriter
from tests.support.documents import status_document
from tests.support.fakes import FaultyStore, Killed, MemoryStore
from tests.support.transitions import assert_chain

JOB = JobRef.parse("p1", "job")
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def document(status: str, at: datetime) -> StatusDocument:
    return status_document(JOB, status, at)


def writer(store: MemoryStore) -> SnapshotWriter:
    return SnapshotWriter(store, sleep=lambda _: None)


def test_first_observation_writes_history_and_latest() -> None:
    store = MemoryStore()

    outcome = writer(store).write(JOB, document("NORMAL", T0), T0).outcome

    assert outcome is SnapshotOutcome.CHANGED
    assert len(store.history()) == 1
    assert store.latest(JOB)["observed_at"] == "2026-11-25T08:00:00.000Z"


def test_same_content_later_refreshes_latest_only() -> None:
    store = MemoryStore()
    writer(store).write(JOB, document("NORMAL", T0), T0)
    later = T0 + timedelta(minutes=5)

    outcome = writer(store).write(JOB, document("NORMAL", later), later).outcome

    assert outcome is SnapshotOutcome.UNCHANGED
    assert len(store.history()) == 1
    assert store.latest(JOB)["observed_at"] == "2026-11-25T08:05:00.000Z"


def test_an_older_observation_never_replaces_a_newer_latest_but_keeps_its_history() -> None:
    store = MemoryStore()
    later = T0 + timedelta(minutes=5)
    writer(store).write(JOB, document("NORMAL", later), later)

    outcome = writer(store).write(JOB, document("EXCEPTION", T0), T0).outcome

    assert outcome is SnapshotOutcome.SUPERSEDED
    assert store.latest(JOB)["job"]["status"] == "NORMAL"
    assert len(store.history()) == 2


def test_the_same_slot_and_content_is_one_history_object() -> None:
    store = MemoryStore()
    writer(store).write(JOB, document("NORMAL", T0), T0)
    store.objects.pop(latest_key(JOB))  # as if the first attempt died before latest.json

    writer(store).write(JOB, document("NORMAL", T0 + timedelta(seconds=3)), T0)

    assert len(store.history()) == 1


def test_a_lost_race_is_retried_against_the_new_latest() -> None:
    store = MemoryStore()
    writer(store).write(JOB, document("NORMAL", T0), T0)
    racer = document("STOPPED", T0 + timedelta(minutes=1))
    store.races_to_lose, store.racer = 1, racer
    mine = T0 + timedelta(minutes=2)

    outcome = writer(store).write(JOB, document("NORMAL", mine), mine).outcome

    # My content equals the first latest, but the racer changed it: mine is a change again.
    assert outcome is SnapshotOutcome.CHANGED
    assert store.latest(JOB)["observed_at"] == "2026-11-25T08:02:00.000Z"
    assert len(store.history()) == 2


def test_losing_every_race_is_a_store_conflict() -> None:
    store = MemoryStore(races_to_lose=100)

    with pytest.raises(StoreConflict, match="kept changing"):
        writer(store).write(JOB, document("NORMAL", T0), T0)


def test_an_unreadable_latest_is_replaced() -> None:
    store = MemoryStore()
    store._put(latest_key(JOB), b"{not json")

    outcome = writer(store).write(JOB, document("NORMAL", T0), T0).outcome

    assert outcome is SnapshotOutcome.CHANGED
    assert store.latest(JOB)["job"]["status"] == "NORMAL"


def test_a_status_change_writes_one_transition_record() -> None:
    store = MemoryStore()
    writer(store).write(JOB, document("NORMAL", T0), T0)
    later = T0 + timedelta(minutes=5)

    written = writer(store).write(JOB, document("EXCEPTION", later), later)

    assert written.transitions == 1
    [key] = [key for key in store.objects if key.startswith("transitions/")]
    assert key.startswith(
        "transitions/project_id=p1/workspace=__HIVE_DEFAULT_PARTITION__/job_name=job/date=2026-11-25/20261125T080500000Z-"
    )
    record = jsoncodec.loads(store.objects[key])
    assert record["previous_observed_at"] == "2026-11-25T08:00:00.000Z"
    assert record["observed_at"] == "2026-11-25T08:05:00.000Z"
    assert record["changes"] == [
        {
            "scope": "job",
            "node": None,
            "from": "NORMAL",
            "from_raw": "NORMAL",
            "to": "EXCEPTION",
            "to_raw": "EXCEPTION",
        }
    ]


def test_no_transition_without_a_status_change_or_on_the_first_observation() -> None:
    store = MemoryStore()

    first = writer(store).write(JOB, document("NORMAL", T0), T0)
    later = T0 + timedelta(minutes=1)
    second = writer(store).write(JOB, document("NORMAL", later), later)

    assert (first.transitions, second.transitions) == (0, 0)
    assert not [key for key in store.objects if key.startswith("transitions/")]


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.gets = 0

    def get(self, key: str) -> Any:
        self.gets += 1
        return super().get(key)


def test_a_writer_remembers_its_last_write_and_skips_the_read() -> None:
    store = CountingStore()
    same_writer = writer(store)
    same_writer.write(JOB, document("NORMAL", T0), T0)
    reads_before = store.gets
    later = T0 + timedelta(minutes=5)

    written = same_writer.write(JOB, document("NORMAL", later), later)

    assert written.outcome is SnapshotOutcome.UNCHANGED
    assert store.gets == reads_before
    assert store.latest(JOB)["observed_at"] == "2026-11-25T08:05:00.000Z"


def test_a_stale_memory_is_caught_by_the_conditional_write() -> None:
    store = MemoryStore()
    mine, theirs = writer(store), writer(store)
    mine.write(JOB, document("NORMAL", T0), T0)
    theirs.write(JOB, document("EXCEPTION", T0 + timedelta(minutes=1)), T0 + timedelta(minutes=1))
    later = T0 + timedelta(minutes=2)

    written = mine.write(JOB, document("NORMAL", later), later)

    # Mine remembered NORMAL, but the store says EXCEPTION: NORMAL again is a change.
    assert written.outcome is SnapshotOutcome.CHANGED
    assert written.transitions == 1
    assert store.latest(JOB)["job"]["status"] == "NORMAL"
    assert len(store.history()) == 3


# -- transitions: exactly once, against the version the compare-and-swap replaced --


def nodes_document(status: str, nodes: dict[str, str], at: datetime) -> StatusDocument:
    return status_document(JOB, status, at, nodes)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def chain(store: MemoryStore) -> list[tuple[str, str]]:
    assert_chain(store.transitions(), store.latest_versions(JOB))
    return [
        (change["from"], change["to"])
        for record in sorted(store.transitions(), key=lambda r: r["observed_at"])
        for change in record["changes"]
    ]


def test_a_warm_writer_and_a_cli_write_only_the_transitions_that_happened() -> None:
    store = MemoryStore()
    serve = writer(store)  # warm: remembers what it wrote
    serve.write(JOB, document("NORMAL", at(0)), at(0))
    writer(store).write(JOB, document("EXCEPTION", at(1)), at(1))  # a CLI get

    written = serve.write(JOB, document("STOPPED", at(2)), at(2))

    assert written.transitions == 1
    assert chain(store) == [("NORMAL", "EXCEPTION"), ("EXCEPTION", "STOPPED")]


def test_a_lost_race_publishes_the_transition_from_the_winner_not_from_what_was_read() -> None:
    store = MemoryStore()
    writer(store).write(JOB, document("NORMAL", at(0)), at(0))
    store.races_to_lose, store.racer = 1, document("EXCEPTION", at(1))

    writer(store).write(JOB, document("STOPPED", at(2)), at(2))

    # The racer wrote no record of its own (an older dlf-status): its change is missing,
    # but nothing was published against the NORMAL this writer first read.
    [record] = store.transitions()
    assert [(c["from"], c["to"]) for c in record["changes"]] == [("EXCEPTION", "STOPPED")]
    assert record["previous_observed_at"] == "2026-11-25T08:01:00.000Z"


def test_a_record_the_store_refused_is_reported_and_published_by_the_next_write() -> None:
    store = FaultyStore()
    warm = writer(store)
    warm.write(JOB, document("NORMAL", at(0)), at(0))
    store.fail_publish.append(StoreError("cannot write: SlowDown (HTTP 503)"))

    with pytest.raises(StoreError, match=r"not published yet .*SlowDown"):
        warm.write(JOB, document("EXCEPTION", at(1)), at(1))
    assert store.latest(JOB)["job"]["status"] == "EXCEPTION"  # the swap did happen
    assert store.transitions() == []
    later = warm.write(JOB, document("EXCEPTION", at(2)), at(2))

    assert (later.outcome, later.transitions, later.repaired) == (SnapshotOutcome.UNCHANGED, 0, 1)
    assert chain(store) == [("NORMAL", "EXCEPTION")]


def test_a_writer_killed_after_the_swap_leaves_a_record_the_next_writer_publishes() -> None:
    store = FaultyStore()
    writer(store).write(JOB, document("NORMAL", at(0)), at(0))
    store.fail_publish.append(Killed())
    with pytest.raises(Killed):
        writer(store).write(JOB, document("EXCEPTION", at(1)), at(1))
    assert store.transitions() == []

    # A new process: it knows nothing but what the store holds.
    later = writer(store).write(JOB, document("STOPPED", at(2)), at(2))

    assert (later.transitions, later.repaired) == (1, 1)
    assert chain(store) == [("NORMAL", "EXCEPTION"), ("EXCEPTION", "STOPPED")]


def test_publishing_an_owed_record_twice_is_harmless() -> None:
    store = FaultyStore()
    writer(store).write(JOB, document("NORMAL", at(0)), at(0))
    store.fail_publish.append(Killed())
    with pytest.raises(Killed):
        writer(store).write(JOB, document("EXCEPTION", at(1)), at(1))
    # The next process publishes the record, then dies before its own swap: latest.json
    # still owes the record that now exists.
    store.fail_replace.append(Killed())
    with pytest.raises(Killed):
        writer(store).write(JOB, document("EXCEPTION", at(2)), at(2))
    assert len(store.transitions()) == 1
    # The one after it looks before that record is visible to it, and publishes again.
    store.hide_published_once = True

    written = writer(store).write(JOB, document("EXCEPTION", at(3)), at(3))

    assert written.repaired == 0
    assert chain(store) == [("NORMAL", "EXCEPTION")]


def test_an_unchanged_observation_on_a_warm_writer_is_one_conditional_put() -> None:
    store = FaultyStore()
    warm = writer(store)
    warm.write(JOB, document("NORMAL", at(0)), at(0))
    warm.write(JOB, document("EXCEPTION", at(1)), at(1))  # a transition, published
    store.calls.clear()

    warm.write(JOB, document("EXCEPTION", at(2)), at(2))

    assert store.calls == [("replace", latest_key(JOB))]


def test_a_cold_writer_checks_an_owed_record_with_one_read_and_only_then() -> None:
    store = FaultyStore()
    writer(store).write(JOB, document("NORMAL", at(0)), at(0))
    writer(store).write(JOB, document("EXCEPTION", at(1)), at(1))  # latest.json owes a record
    store.calls.clear()

    writer(store).write(JOB, document("EXCEPTION", at(2)), at(2))  # it is published: one read
    after_transition = [call for call, _ in store.calls]
    store.calls.clear()
    writer(store).write(JOB, document("EXCEPTION", at(3)), at(3))  # owes nothing
    after_refresh = [call for call, _ in store.calls]

    assert after_transition == ["get", "get", "replace"]
    assert after_refresh == ["get", "replace"]


def test_a_transition_is_staged_before_the_swap_and_published_after_it() -> None:
    store = FaultyStore()
    writer(store).write(JOB, document("NORMAL", at(0)), at(0))
    store.calls.clear()

    writer(store).write(JOB, document("EXCEPTION", at(1)), at(1))

    roots = [(call, key.split("/", 1)[0]) for call, key in store.calls]
    assert roots == [
        ("get", "latest"),
        ("create", "history"),
        ("create", "_dlf-status"),
        ("replace", "latest"),
        ("create", "transitions"),
    ]
    record_hash = store.metadata[latest_key(JOB)]["transition-record"]
    assert store.calls[2][1].endswith(f"-{record_hash[:16]}.json")


def test_a_lost_staged_copy_is_logged_and_does_not_stop_the_job(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = FaultyStore()
    writer(store).write(JOB, document("NORMAL", at(0)), at(0))
    store.fail_publish.append(Killed())
    with pytest.raises(Killed):
        writer(store).write(JOB, document("EXCEPTION", at(1)), at(1))
    for key in [key for key in store.objects if key.startswith("_dlf-status/")]:
        del store.objects[key]  # as a lifecycle rule would

    written = writer(store).write(JOB, document("STOPPED", at(2)), at(2))

    assert written.transitions == 1
    assert "transition record lost" in [record.getMessage() for record in caplog.records]
    assert [record["changes"][0]["to"] for record in store.transitions()] == ["STOPPED"]


def test_node_changes_chain_too() -> None:
    store = MemoryStore()
    warm = writer(store)
    warm.write(JOB, nodes_document("NORMAL", {"a": "NORMAL", "b": "NORMAL"}, at(0)), at(0))
    writer(store).write(JOB, nodes_document("NORMAL", {"a": "EXCEPTION"}, at(1)), at(1))
    warm.write(JOB, nodes_document("EXCEPTION", {"a": "EXCEPTION", "c": "STARTING"}, at(2)), at(2))

    assert chain(store) == [
        ("NORMAL", "EXCEPTION"),  # node a
        ("NORMAL", None),  # node b went away
        ("NORMAL", "EXCEPTION"),  # the job
        (None, "STARTING"),  # node c appeared
    ]


def test_a_latest_json_with_an_unreadable_time_is_replaced_without_a_record() -> None:
    store = MemoryStore()
    broken = document("NORMAL", at(0))
    broken["observed_at"] = "yesterday"
    store._put(latest_key(JOB), jsoncodec.canonical_bytes(broken), {"transition-record": "a" * 64})

    written = writer(store).write(JOB, document("EXCEPTION", at(1)), at(1))

    assert (written.outcome, written.transitions, written.repaired) == (
        SnapshotOutcome.CHANGED,
        0,
        0,
    )
    assert store.latest(JOB)["job"]["status"] == "EXCEPTION"


def test_remembered_versions_are_bounded_in_bytes_not_only_in_count() -> None:
    # Node names and upstream words are remembered: upstream text of any length.
    store = MemoryStore()
    bounded = SnapshotWriter(store, sleep=lambda _: None, remembered_bytes=64 * 1024)
    for index in range(40):
        job = JobRef.parse("p1", f"job-{index}")
        doc = normalise(
            {"name": job.job_name, "status": "RUNNING", "nodes": [{"name": "n" * 4000}]},
            source=Source("p1", job.job_name),
            observed_at=T0,
            report=ValidationReport(),
        )
        bounded.write(job, doc, T0)

    assert bounded._seen_bytes <= 64 * 1024
    assert 0 < len(bounded._seen) < 40
    assert bounded._seen_bytes == sum(size for _, size in bounded._seen.values())


def test_a_job_whose_statuses_alone_pass_the_per_job_bound_is_not_remembered() -> None:
    store = MemoryStore()
    doc = normalise(
        {"name": "job", "status": "RUNNING", "nodes": [{"name": "n" * 300_000}]},
        source=Source("p1", "job"),
        observed_at=T0,
        report=ValidationReport(),
    )
    same = writer(store)
    same.write(JOB, doc, T0)

    assert len(same._seen) == 0
    # Not remembered: the next observation reads latest.json again, and is still right.
    later = normalise(
        {"name": "job", "status": "RUNNING", "nodes": [{"name": "n" * 300_000}]},
        source=Source("p1", "job"),
        observed_at=T0 + timedelta(minutes=1),
        report=ValidationReport(),
    )
    assert same.write(JOB, later, T0).outcome is SnapshotOutcome.UNCHANGED
