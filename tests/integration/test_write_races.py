"""Writers of one job in separate processes (separate `SnapshotWriter`s, each with its
own memory of the latest.json it wrote), interleaved on SeaweedFS and the local store:
the transition records must form one chain (each `from` the previous `to`, in
`observed_at` order) that matches what latest.json went through."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dlf_status.adapters.events_eventbridge import EventBridgePublisher
from dlf_status.domain import jsoncodec
from dlf_status.domain.model import JobRef
from dlf_status.domain.ports import ObjectStore
from dlf_status.domain.snapshots import SnapshotOutcome, latest_key
from dlf_status.service import ANSWER_MARGIN_SECONDS, SnapshotWrite, SnapshotWriter
from tests.integration import test_transition_events_on_the_store as events_suite
from tests.integration.conftest import check_transition_records
from tests.integration.test_transition_events_on_the_store import (
    BUS,
    Bus,
    assert_one_event_per_record,
    records_in,
)
from tests.support.read_models import observe, status_document

pytestmark = pytest.mark.integration

# moto's EventBridge bus with a rule to an SQS queue, as the events suite has it.
bus = events_suite.bus

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
JOB = JobRef.parse(PROJECT, "orders stream")
START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
SOURCE: Any = {"project_id": PROJECT, "workspace": None, "job_name": JOB.job_name, "endpoint": "x"}
REASON: Any = {"error_code": "DLF.0100", "error_msg": "The job does not exist."}


def at(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


def stamp(minutes: int) -> str:
    return at(minutes).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def job_chain(store: ObjectStore) -> list[tuple[str | None, str | None]]:
    """The job-level changes of the store's records, in observed_at order."""
    changes = []
    for record in sorted(records_in(store), key=lambda record: str(record["observed_at"])):
        [job] = [change for change in record["changes"] if change.get("node") is None]
        changes.append((job["from"], job["to"]))
    return changes


def test_a_job_gone_again_after_another_writer_saw_it_back_is_reported_gone(
    store: ObjectStore,
) -> None:
    """Process A reports the job gone; process B observes it back; A is told again that
    it is gone. A remembers its gone document, but latest.json moved on: A must not
    answer `unchanged` from memory, or the second disappearance is never recorded."""
    process_a, process_b = SnapshotWriter(store), SnapshotWriter(store)
    observe(store, JOB, "NORMAL", at(0), None, process_a)
    assert process_a.write_gone(JOB, SOURCE, stamp(1), REASON).outcome is SnapshotOutcome.CHANGED
    observe(store, JOB, "STOPPED", at(2), None, process_b)

    again = process_a.write_gone(JOB, SOURCE, stamp(3), REASON)

    assert again.outcome is SnapshotOutcome.CHANGED
    stored = store.get(latest_key(JOB))
    assert stored is not None
    assert jsoncodec.loads(stored.body, jsoncodec.STORED)["observed_at"] == stamp(3)
    assert job_chain(store) == [("NORMAL", None), (None, "STOPPED"), ("STOPPED", None)]
    check_transition_records(store)


def deferring(store: ObjectStore) -> tuple[SnapshotWriter, Callable[[], float]]:
    """A writer whose invocation has time for every store call of a write but not for
    a record and its event at their worst: its records are deferred."""
    writer = SnapshotWriter(store, events=EventBridgePublisher(BUS), store_call_seconds=1.0)
    left = 1.0 + ANSWER_MARGIN_SECONDS + writer.events.worst_case_seconds / 2
    return writer, lambda: left


def test_a_deferred_record_is_published_once_by_the_next_writer_and_chained(
    store: ObjectStore, bus: Bus
) -> None:
    """Process A swaps latest.json with little time left and defers its record; B
    observes before A's next tick and publishes A's record before its own; A's tick
    then finds B's version. One chain, each record sent once."""
    process_a, short = deferring(store)
    process_b = SnapshotWriter(store, events=EventBridgePublisher(BUS))
    observe(store, JOB, "NORMAL", at(0), None, process_a)
    deferred = process_a.write(
        JOB, status_document(JOB, "EXCEPTION", at(1), None), at(1), remaining_seconds=short
    )
    assert (deferred.outcome, deferred.transitions) == (SnapshotOutcome.CHANGED, 0)
    assert records_in(store) == []

    by_b = observe(store, JOB, "STOPPED", at(2), None, process_b)
    tick = process_a.begin_tick([JOB])
    by_a = process_a.write(JOB, status_document(JOB, "NORMAL", at(3), None), at(3), tick=tick)

    assert (by_b.transitions, by_b.repaired, by_a.transitions, by_a.repaired) == (1, 1, 1, 0)
    assert job_chain(store) == [
        ("NORMAL", "EXCEPTION"),
        ("EXCEPTION", "STOPPED"),
        ("STOPPED", "NORMAL"),
    ]
    assert_one_event_per_record(store, bus.received())
    check_transition_records(store)


def test_writers_racing_to_publish_one_deferred_record_publish_it_once(
    store: ObjectStore, bus: Bus
) -> None:
    """A deferred record, and four processes that observe the job at once: each finds
    the record owed and tries to publish it. It is published, and sent, once; the
    chain holds whichever observation won."""
    process_a, short = deferring(store)
    observe(store, JOB, "NORMAL", at(0), None, process_a)
    process_a.write(
        JOB, status_document(JOB, "EXCEPTION", at(1), None), at(1), remaining_seconds=short
    )
    statuses = ["STOPPED", "NORMAL", "STOPPED", "EXCEPTION"]
    start = threading.Barrier(len(statuses))
    written: list[SnapshotWrite] = []

    def race(index: int) -> None:
        writer = SnapshotWriter(store, events=EventBridgePublisher(BUS), sleep=lambda _: None)
        document = status_document(JOB, statuses[index], at(2) + timedelta(seconds=index), None)
        start.wait()
        written.append(writer.write(JOB, document, at(2) + timedelta(seconds=index)))

    threads = [threading.Thread(target=race, args=(index,)) for index in range(len(statuses))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(written) == len(statuses)
    # Each record published by exactly one writer (its own, or as a repair when it
    # found the record owed), the deferred one included.
    published = sum(write.transitions + write.repaired for write in written)
    assert published == len(records_in(store))
    chain = job_chain(store)
    assert chain[0] == ("NORMAL", "EXCEPTION")
    assert all(before[1] == after[0] for before, after in itertools.pairwise(chain))
    stored = store.get(latest_key(JOB))
    assert stored is not None
    assert chain[-1][1] == jsoncodec.loads(stored.body, jsoncodec.STORED)["job"]["status"]
    assert_one_event_per_record(store, bus.received())
    check_transition_records(store)
