"""Transition events from the snapshot writer (EVENT_BUS_NAME): one per transition,
sent by the writer whose create-only write published the record, again by a writer
that repairs a record nobody published, and never at the snapshot's expense."""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from dlf_status import bootstrap
from dlf_status.adapters.events_eventbridge import EventBridgePublisher
from dlf_status.domain.documents import DocumentSource, GoneReason
from dlf_status.domain.events import NoEvents, event_id
from dlf_status.domain.model import JobRef
from dlf_status.domain.snapshots import SnapshotOutcome
from dlf_status.errors import EventPublishError, StoreError
from dlf_status.service import SnapshotWriter
from tests.support.fakes import FaultyStore, Killed, MemoryStore
from tests.support.read_models import observe, status_document
from tests.support.root import root_settings

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
JOB = JobRef.parse(PROJECT, "job_sms")
START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


class RecordingPublisher:
    """Keeps what it is given; fails the next calls with what `failures` holds."""

    def __init__(self, *failures: BaseException) -> None:
        self.published: list[tuple[dict[str, Any], str | None]] = []
        self.failures = list(failures)
        self.lock = threading.Lock()

    worst_case_seconds = 0.0

    def publish_transition(
        self,
        record: Mapping[str, Any],
        *,
        dataref: str | None = None,
        remaining_seconds: Callable[[], float] | None = None,
    ) -> str:
        with self.lock:
            if self.failures:
                raise self.failures.pop(0)
            self.published.append((dict(record), dataref))
        return event_id(record)

    def ids(self) -> Counter[str]:
        return Counter(event_id(record) for record, _ in self.published)


class ListMetrics:
    def __init__(self) -> None:
        self.added: list[tuple[str, float]] = []

    def add(self, name: str, value: float, unit: str = "Count") -> None:
        self.added.append((name, value))


def at(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


def test_each_transition_is_published_once_with_its_record() -> None:
    store = MemoryStore()
    events = RecordingPublisher()
    writer = SnapshotWriter(store, events=events)

    for step, status in enumerate(["NORMAL", "NORMAL", "EXCEPTION", "EXCEPTION", "STOPPED"]):
        observe(store, JOB, status, at(step), writer=writer)
    observe(store, JOB, "NORMAL", at(1), writer=writer)  # older than latest: superseded

    records = store.transitions()
    assert [record for record, _ in events.published] == records
    assert len(records) == 2
    assert events.ids() == Counter({event_id(record): 1 for record in records})
    assert {dataref for _, dataref in events.published} == {None}  # not an S3 store


def test_writers_that_race_publish_each_transition_once() -> None:
    """Many writers (threads, each its own writer, as containers are) on one job: every
    record the store holds is published once, and no event has no record."""
    store = MemoryStore()
    events = RecordingPublisher()
    lock = threading.Lock()  # the memory store's dicts, not the writers' logic

    class LockedStore(MemoryStore):
        def get(self, key: str) -> Any:
            with lock:
                return store.get(key)

        def create(self, key: str, body: bytes, metadata: Mapping[str, str]) -> bool:
            with lock:
                return store.create(key, body, metadata)

        def replace(self, *args: Any) -> Any:
            with lock:
                return store.replace(*args)

    statuses = ["NORMAL", "EXCEPTION", "STOPPED", "NORMAL"]

    def run(writer_number: int) -> None:
        writer = SnapshotWriter(LockedStore(), events=events, sleep=lambda _: None)
        for step in range(10):  # the last, step 9, is EXCEPTION
            moment = at(step) + timedelta(milliseconds=writer_number)
            status = statuses[step % len(statuses)]
            writer.write(JOB, status_document(JOB, status, moment), moment)

    threads = [threading.Thread(target=run, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    records = store.transitions()
    # The first write (NORMAL, into an empty store) and the newest observation
    # (EXCEPTION) always stand: some transition is recorded whatever the interleaving.
    assert records
    assert events.ids() == Counter({event_id(record): 1 for record in records})


def test_a_writer_stopped_before_the_record_leaves_both_to_the_next_writer() -> None:
    """Killed between the swap and the record: the next writer publishes the staged
    record and its event (late, with the same id), once."""
    store = FaultyStore()
    events = RecordingPublisher()
    observe(store, JOB, "NORMAL", at(0), writer=SnapshotWriter(store, events=events))
    store.fail_publish = [Killed()]
    with pytest.raises(Killed):
        observe(store, JOB, "EXCEPTION", at(1), writer=SnapshotWriter(store, events=events))
    assert (store.transitions(), events.published) == ([], [])

    observe(store, JOB, "EXCEPTION", at(2), writer=SnapshotWriter(store, events=events))

    [record] = store.transitions()
    assert [published for published, _ in events.published] == [record]


def test_a_store_error_on_the_record_is_repaired_by_the_same_warm_writer() -> None:
    store = FaultyStore()
    events = RecordingPublisher()
    writer = SnapshotWriter(store, events=events)
    observe(store, JOB, "NORMAL", at(0), writer=writer)
    store.fail_publish = [StoreError("503 SlowDown")]

    with pytest.raises(StoreError):
        observe(store, JOB, "EXCEPTION", at(1), writer=writer)
    observe(store, JOB, "EXCEPTION", at(2), writer=writer)
    observe(store, JOB, "EXCEPTION", at(3), writer=writer)

    [record] = store.transitions()
    assert events.ids() == Counter({event_id(record): 1})


@pytest.mark.parametrize(
    "failure",
    [
        EventPublishError("bus throttled", retryable=True, error_code="ThrottlingException"),
        RuntimeError("a bug in a publisher"),
    ],
)
def test_a_failed_publish_is_logged_and_counted_and_the_snapshot_stands(
    failure: BaseException, caplog: pytest.LogCaptureFixture
) -> None:
    store = MemoryStore()
    metrics = ListMetrics()
    events = RecordingPublisher(failure)
    writer = SnapshotWriter(store, events=events, metrics=metrics)
    observe(store, JOB, "NORMAL", at(0), writer=writer)

    with caplog.at_level(logging.ERROR, logger="dlf-status"):
        written = observe(store, JOB, "EXCEPTION", at(1), writer=writer)
    observe(store, JOB, "NORMAL", at(2), writer=writer)

    assert (written.outcome, written.transitions) == (SnapshotOutcome.CHANGED, 1)
    assert store.latest(JOB)["job"]["status"] == "NORMAL"
    first, second = store.transitions()
    assert [record for record, _ in events.published] == [second]  # the first is not resent
    assert metrics.added == [("EventPublishFailures", 1)]
    [line] = [r for r in caplog.records if r.getMessage() == "transition event not published"]
    assert line.levelno == logging.ERROR
    assert first["observed_at"] == line.__dict__["observed_at"]


def test_an_s3_store_names_where_the_record_is() -> None:
    class BucketStore(MemoryStore):
        @property
        def location(self) -> str:
            return "s3://snapshots/dlf"

    store = BucketStore()
    events = RecordingPublisher()
    writer = SnapshotWriter(store, events=events)
    observe(store, JOB, "NORMAL", at(0), writer=writer)
    observe(store, JOB, "EXCEPTION", at(1), writer=writer)

    [(_, dataref)] = events.published
    [key] = [key for key in store.objects if key.startswith("transitions/")]
    assert dataref == f"s3://snapshots/dlf/{key}"


@pytest.mark.parametrize("name", ["作业 a/b%2F=~", "x\ufdd0 ☃"])
def test_the_dataref_is_a_uri_whose_path_is_the_key(name: str) -> None:
    class BucketStore(MemoryStore):
        @property
        def location(self) -> str:
            return "s3://snapshots/dlf"

    job = JobRef.parse("p1", name)
    store = BucketStore()
    events = RecordingPublisher()
    writer = SnapshotWriter(store, events=events)
    observe(store, job, "NORMAL", at(0), writer=writer)
    observe(store, job, "EXCEPTION", at(1), writer=writer)

    [(_, dataref)] = events.published
    [key] = [key for key in store.objects if key.startswith("transitions/")]
    assert dataref is not None
    # RFC 3986: ASCII only, '%' only as the start of an escape, no space.
    assert re.fullmatch(
        r"s3://snapshots/dlf/([A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-F]{2})+", dataref
    )
    assert unquote(urlsplit(dataref).path) == f"/dlf/{key}"


def test_the_root_publishes_to_the_configured_bus_from_every_writer() -> None:
    without = root_settings()
    with_bus = root_settings(EVENT_BUS_NAME="dlf-status-events")
    mine = RecordingPublisher()

    assert isinstance(bootstrap.build_event_publisher(without), NoEvents)
    publisher = bootstrap.build_event_publisher(with_bus)
    assert isinstance(publisher, EventBridgePublisher)
    assert publisher.bus_name == "dlf-status-events"
    service = bootstrap.build_status_service(with_bus, store=MemoryStore())
    assert isinstance(service.writer.events, EventBridgePublisher)
    given = bootstrap.build_status_service(with_bus, store=MemoryStore(), events=mine)
    assert given.writer.events is mine
    assert given.writer.metrics is given.metrics
    tick = bootstrap.build_tick_runner(with_bus, events=mine, read_job_list=lambda _: [])
    assert tick.poller.service.writer.events is mine
    worker = bootstrap.build_queue_worker(with_bus, events=mine)
    assert worker.service.writer.events is mine


def test_a_gone_job_and_its_return_are_published_once_each() -> None:
    """A job reported gone (its change to null) and back (from null) are transitions:
    each record is sent once, whoever reports the job gone and however often."""
    store = MemoryStore()
    events = RecordingPublisher()
    source: DocumentSource = {
        "project_id": PROJECT,
        "workspace": None,
        "job_name": JOB.job_name,
        "endpoint": "https://dayu-dlf.cn-north-4.myhuaweicloud.com",
    }
    reason: GoneReason = {"error_code": "DLF.0100", "error_msg": "The job not found"}
    observe(store, JOB, "EXCEPTION", at(0), writer=SnapshotWriter(store, events=events))

    for minute in (1, 2):  # two writers report it gone
        SnapshotWriter(store, events=events).write_gone(JOB, source, observed(minute), reason)
    observe(store, JOB, "NORMAL", at(3), writer=SnapshotWriter(store, events=events))

    gone, back = store.transitions()
    assert [record for record, _ in events.published] == [gone, back]
    assert events.ids() == Counter({event_id(gone): 1, event_id(back): 1})
    assert [(c["from"], c["to"]) for c in gone["changes"] if c["scope"] == "job"] == [
        ("EXCEPTION", None)
    ]
    assert [(c["from"], c["to"]) for c in back["changes"] if c["scope"] == "job"] == [
        (None, "NORMAL")
    ]


def observed(minutes: int) -> str:
    return at(minutes).isoformat(timespec="milliseconds").replace("+00:00", "Z")
