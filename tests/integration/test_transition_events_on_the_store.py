"""Transition events from snapshot writers on SeaweedFS and the local store, through
the real EventBridge publisher to moto's EventBridge (no local server exists), which
delivers them to a rule's SQS queue: one event per transition record, under
throttled entries, failed calls that the publisher retries, concurrent writers,
writers whose invocation has no time left for a record and its event; and a
publish that fails for good is logged and counted, and costs no snapshot."""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from moto import mock_aws

from dlf_status.adapters.events_eventbridge import EventBridgePublisher, make_events_client
from dlf_status.domain.events import EVENT_TYPE, event_id
from dlf_status.domain.model import JobRef
from dlf_status.domain.ports import ObjectStore
from dlf_status.domain.snapshots import SnapshotOutcome, latest_key
from dlf_status.errors import TransitionDeferred
from dlf_status.service import SnapshotWrite, SnapshotWriter, TickFreshness
from tests.integration.conftest import ListMetrics, stored_keys
from tests.support.fakes import Killed
from tests.support.read_models import observe, status_document

pytestmark = pytest.mark.integration

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
JOB = JobRef.parse(PROJECT, "orders stream")
START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
BUS = "dlf-status-transitions"


class Bus(NamedTuple):
    queue_url: str

    def received(self) -> list[dict[str, Any]]:
        """Every event the rule delivered, in order (each message deleted once read)."""
        sqs = boto3.client("sqs")
        envelopes: list[dict[str, Any]] = []
        while True:
            answer = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            messages = answer.get("Messages", [])
            if not messages:
                return envelopes
            for message in messages:
                envelopes.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[Bus]:
    """moto's EventBridge and SQS: a bus with a rule for every dlf-status event that
    sends them to a queue. Requests to SeaweedFS (loopback) pass moto untouched."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing-not-a-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-not-a-secret")
    with mock_aws():
        events, sqs = boto3.client("events"), boto3.client("sqs")
        events.create_event_bus(Name=BUS)
        queue_url = sqs.create_queue(QueueName="dlf-status-transitions")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        pattern = {"source": ["dlf-status"], "detail-type": [EVENT_TYPE]}
        events.put_rule(Name="all", EventBusName=BUS, EventPattern=json.dumps(pattern))
        events.put_targets(Rule="all", EventBusName=BUS, Targets=[{"Id": "q", "Arn": queue_arn}])
        yield Bus(queue_url)


def records_in(store: ObjectStore) -> list[dict[str, Any]]:
    records = []
    for key in stored_keys(store):
        if key.startswith("transitions/"):
            stored = store.get(key)
            assert stored is not None
            records.append(json.loads(stored.body))
    return records


def assert_one_event_per_record(store: ObjectStore, envelopes: list[dict[str, Any]]) -> None:
    """Each record the store holds was delivered once, as itself, under its own id;
    nothing else was delivered."""
    records = records_in(store)
    assert records
    delivered = Counter(envelope["detail"]["id"] for envelope in envelopes)
    assert delivered == Counter(event_id(record) for record in records)
    by_id = {envelope["detail"]["id"]: envelope["detail"]["data"] for envelope in envelopes}
    assert all(by_id[event_id(record)] == record for record in records)


def at(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


class ThrottledFirst:
    """The events client, but each entry's first PutEvents is answered as throttled
    (the entry error EventBridge returns under load) without reaching the bus."""

    def __init__(self) -> None:
        self.client = make_events_client()
        self.seen: set[str] = set()
        self.lock = threading.Lock()
        self.calls = 0

    def put_events(self, Entries: list[dict[str, Any]]) -> Any:  # noqa: N803 - boto3's name
        [entry] = Entries
        identity = json.loads(entry["Detail"])["id"]
        with self.lock:
            self.calls += 1
            first = identity not in self.seen
            self.seen.add(identity)
        if first:
            return {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"}],
            }
        return self.client.put_events(Entries=Entries)  # type: ignore[arg-type]


def test_throttled_entries_are_retried_and_delivered_once(store: ObjectStore, bus: Bus) -> None:
    client = ThrottledFirst()
    sleeps: list[float] = []
    publisher = EventBridgePublisher(
        BUS,
        client_factory=lambda: client,  # type: ignore[arg-type,return-value]
        sleep=sleeps.append,
        jitter=lambda: 1.0,
    )
    writer = SnapshotWriter(store, events=publisher)

    for step, status in enumerate(["NORMAL", "EXCEPTION", "EXCEPTION", "NORMAL", "STOPPED"]):
        observe(store, JOB, status, at(step), {"n1": status}, writer)

    envelopes = bus.received()
    assert_one_event_per_record(store, envelopes)
    assert len(envelopes) == 3
    assert client.calls == 2 * len(envelopes)
    assert sleeps == [0.1] * len(envelopes)
    first = envelopes[0]
    assert (first["source"], first["detail-type"]) == ("dlf-status", EVENT_TYPE)
    assert first["detail"]["subject"] == JOB.job_name
    assert [change["to"] for change in first["detail"]["data"]["changes"]] == ["EXCEPTION"] * 2


def _client_with(handler: Any, *, last: bool) -> Any:
    """The events client as the publisher makes it, with `handler` on the wire: before
    moto answers, or after it did (`last`). botocore calls every before-send handler,
    the most specific event name first: a handler that raises stops the rest."""
    made = make_events_client()
    if last:
        made.meta.events.register_last("before-send", handler)
    else:
        made.meta.events.register_first("before-send.events.PutEvents", handler)
    return made


def _identity(request: Any) -> str:
    return str(json.loads(json.loads(request.body)["Entries"][0]["Detail"])["id"])


def test_calls_that_never_arrive_are_retried_and_delivered_once(
    store: ObjectStore, bus: Bus
) -> None:
    """The first two PutEvents of every event fail to connect: the publisher sends the
    same entry again, and the bus gets it once."""
    attempts: Counter[str] = Counter()

    def unreachable_twice(request: Any, **_: Any) -> None:
        attempts[_identity(request)] += 1
        if attempts[_identity(request)] <= 2:
            raise EndpointConnectionError(endpoint_url=request.url)

    publisher = EventBridgePublisher(
        BUS, client_factory=lambda: _client_with(unreachable_twice, last=False)
    )
    writer = SnapshotWriter(store, events=publisher)
    for step, status in enumerate(["NORMAL", "EXCEPTION", "NORMAL"]):
        observe(store, JOB, status, at(step), None, writer)

    envelopes = bus.received()
    assert_one_event_per_record(store, envelopes)
    assert len(envelopes) == 2
    assert list(attempts.values()) == [3, 3]


def test_a_lost_answer_is_sent_again_under_the_same_id(store: ObjectStore, bus: Bus) -> None:
    """The bus took the event but its answer was lost: the publisher sends the entry again
    and the bus delivers it twice (EventBridge is at-least-once), with one id, the
    record's, so a consumer keeps one of them."""
    attempts: Counter[str] = Counter()

    def answer_lost_once(request: Any, **_: Any) -> None:
        attempts[_identity(request)] += 1
        if attempts[_identity(request)] == 1:
            raise ReadTimeoutError(endpoint_url=request.url)

    publisher = EventBridgePublisher(
        BUS, client_factory=lambda: _client_with(answer_lost_once, last=True)
    )
    writer = SnapshotWriter(store, events=publisher)
    for step, status in enumerate(["NORMAL", "EXCEPTION", "NORMAL"]):
        observe(store, JOB, status, at(step), None, writer)

    envelopes = bus.received()
    records = records_in(store)
    delivered = Counter(envelope["detail"]["id"] for envelope in envelopes)
    assert delivered == Counter({event_id(record): 2 for record in records})
    assert len({json.dumps(e["detail"], sort_keys=True) for e in envelopes}) == len(records)
    assert len({envelope["id"] for envelope in envelopes}) == 2 * len(records)  # EventBridge's


def test_concurrent_writers_publish_each_transition_once(store: ObjectStore, bus: Bus) -> None:
    """Four writers (each its own publisher and events client, as containers are) race
    on one job over one store, observing the same statuses a millisecond apart. The
    first write (NORMAL, into an empty store) and the newest observation (EXCEPTION)
    always stand, so some transition is recorded whatever the interleaving."""
    statuses = ["NORMAL", "EXCEPTION", "STOPPED", "NORMAL"]
    failures: list[BaseException] = []
    start = threading.Barrier(4)

    def run(number: int) -> None:
        writer = SnapshotWriter(store, events=EventBridgePublisher(BUS), sleep=lambda _: None)
        start.wait()
        try:
            for step in range(10):
                moment = at(step) + timedelta(milliseconds=number)
                status = statuses[step % len(statuses)]
                writer.write(JOB, status_document(JOB, status, moment), moment)
        except BaseException as error:  # noqa: BLE001 - reported by the test thread
            failures.append(error)

    threads = [threading.Thread(target=run, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert_one_event_per_record(store, bus.received())


def test_a_publish_that_fails_for_good_is_logged_and_the_snapshot_stands(
    store: ObjectStore, bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    """A bus that does not exist (or a role without events:PutEvents) refuses every
    call: the writer logs it, counts it, and every object is written all the same."""
    metrics = ListMetrics()
    refused = SnapshotWriter(store, events=EventBridgePublisher("no-such-bus"), metrics=metrics)
    working = SnapshotWriter(store, events=EventBridgePublisher(BUS))
    observe(store, JOB, "NORMAL", at(0), None, refused)

    with caplog.at_level(logging.ERROR, logger="dlf-status"):
        written = observe(store, JOB, "EXCEPTION", at(1), None, refused)
    later = observe(store, JOB, "NORMAL", at(2), None, working)

    assert (written.outcome, written.transitions) == (SnapshotOutcome.CHANGED, 1)
    assert (later.outcome, later.transitions) == (SnapshotOutcome.CHANGED, 1)
    failed, delivered = records_in(store)
    assert [envelope["detail"]["id"] for envelope in bus.received()] == [event_id(delivered)]
    assert ("EventPublishFailures", 1.0) in [(name, value) for name, value, _ in metrics.added]
    [line] = [r for r in caplog.records if r.getMessage() == "transition event not published"]
    assert line.__dict__["observed_at"] == failed["observed_at"]
    assert [key.split("/")[0] for key in stored_keys(store) if key.endswith(".json")].count(
        "history"
    ) == 3


class Invocation:
    """A Lambda invocation's remaining time, as the test sets it (nothing sleeps)."""

    def __init__(self, left: float) -> None:
        self.left = left

    def remaining_seconds(self) -> float:
        return self.left


class SlowBus:
    """The real publisher in front of a bus as slow as the publisher lets it be: every
    publish takes its whole worst case. One started with less of the invocation left
    never ends: Lambda's timeout stops the process in it (`Killed`)."""

    def __init__(self) -> None:
        self.publisher = EventBridgePublisher(BUS)
        self.started = 0

    @property
    def worst_case_seconds(self) -> float:
        return self.publisher.worst_case_seconds

    def publish_transition(
        self,
        record: Mapping[str, Any],
        *,
        dataref: str | None = None,
        remaining_seconds: Callable[[], float] | None = None,
    ) -> str:
        self.started += 1
        if remaining_seconds is not None and remaining_seconds() < self.worst_case_seconds:
            raise Killed
        return self.publisher.publish_transition(
            record, dataref=dataref, remaining_seconds=remaining_seconds
        )


STORE_CALL_SECONDS = 2.0


def write(
    writer: SnapshotWriter,
    status: str,
    minute: int,
    invocation: Invocation,
    tick: TickFreshness | None = None,
) -> SnapshotWrite | None:
    """One observation written within `invocation`; None when Lambda's timeout ended it."""
    document = status_document(JOB, status, at(minute), None)
    try:
        return writer.write(
            JOB, document, at(minute), tick=tick, remaining_seconds=invocation.remaining_seconds
        )
    except Killed:
        return None


def test_a_writer_out_of_time_for_the_event_leaves_the_record_to_the_next_writer(
    store: ObjectStore, bus: Bus
) -> None:
    """The invocation has less left than the record's PUT and a publish at its worst:
    the writer does not start them (Lambda would stop it between the two, and no later
    writer would send an event for a record already published). latest.json owes the
    record, and the next writer, in another container, publishes it and its event."""
    slow = SlowBus()
    plenty = Invocation(300.0)
    short = Invocation(slow.worst_case_seconds - 0.001)
    late = SnapshotWriter(store, events=slow, store_call_seconds=STORE_CALL_SECONDS)
    write(late, "NORMAL", 0, plenty)

    written = write(late, "EXCEPTION", 1, short)
    next_writer = SnapshotWriter(store, events=slow, store_call_seconds=STORE_CALL_SECONDS)
    repaired = write(next_writer, "EXCEPTION", 2, plenty)

    assert_one_event_per_record(store, bus.received())
    assert written is not None
    assert (written.outcome, written.transitions) == (SnapshotOutcome.CHANGED, 0)
    assert repaired is not None
    assert (repaired.outcome, repaired.repaired) == (SnapshotOutcome.UNCHANGED, 1)
    assert slow.started == 1


@pytest.mark.parametrize("next_tick", ["same container", "new container"])
def test_a_deferred_record_goes_out_at_the_next_tick_though_nothing_changes(
    store: ObjectStore, bus: Bus, next_tick: str
) -> None:
    """A steady tick makes no store call for an unchanged job, but never for one whose
    latest.json owes a record: the container that deferred it remembers it owed, and a
    new container finds its version in no freshness record and reads it. So the next
    tick sends it, though the job stays as it is; the tick after confirms the job."""
    slow = SlowBus()
    plenty = Invocation(300.0)
    short = Invocation(slow.worst_case_seconds - 0.001)
    first = SnapshotWriter(store, events=slow, store_call_seconds=STORE_CALL_SECONDS)

    def tick(writer: SnapshotWriter, status: str, minute: int, left: Invocation) -> SnapshotWrite:
        freshness = writer.begin_tick([JOB])
        written = write(writer, status, minute, left, freshness)
        assert written is not None
        writer.finish_tick(freshness, f"tick-{minute}", at(minute))
        return written

    tick(first, "NORMAL", 0, plenty)
    tick(first, "NORMAL", 5, plenty)
    deferred = tick(first, "EXCEPTION", 10, short)
    assert bus.received() == []
    writer = (
        first
        if next_tick == "same container"
        else SnapshotWriter(store, events=slow, store_call_seconds=STORE_CALL_SECONDS)
    )
    repaired = tick(writer, "EXCEPTION", 15, plenty)
    steady = tick(writer, "EXCEPTION", 20, plenty)

    assert_one_event_per_record(store, bus.received())
    assert (deferred.outcome, deferred.transitions) == (SnapshotOutcome.CHANGED, 0)
    assert (repaired.outcome, repaired.repaired) == (SnapshotOutcome.UNCHANGED, 1)
    assert steady.outcome is SnapshotOutcome.CONFIRMED


def test_a_writer_out_of_time_for_an_owed_record_does_not_replace_its_latest(
    store: ObjectStore, bus: Bus
) -> None:
    """latest.json owes a record and the invocation cannot cover it: replacing
    latest.json would lose the record, publishing it might lose its event. The write
    stops (retryable), its observation kept in history; the next writer with time
    publishes both records, each with its event."""
    slow = SlowBus()
    plenty = Invocation(300.0)
    short = Invocation(slow.worst_case_seconds - 0.001)
    writer = SnapshotWriter(store, events=slow, store_call_seconds=STORE_CALL_SECONDS)
    write(writer, "NORMAL", 0, plenty)
    write(writer, "EXCEPTION", 1, short)

    with pytest.raises(TransitionDeferred, match="the next observation of the job"):
        write(SnapshotWriter(store, events=slow), "NORMAL", 2, short)
    latest = store.get(latest_key(JOB))
    assert latest is not None
    assert (
        json.loads(latest.body)["observed_at"]
        == status_document(JOB, "EXCEPTION", at(1), None)["observed_at"]
    )
    written = write(SnapshotWriter(store, events=slow), "NORMAL", 3, plenty)

    assert written is not None
    assert (written.transitions, written.repaired) == (1, 1)
    envelopes = bus.received()
    assert_one_event_per_record(store, envelopes)
    assert [e["detail"]["data"]["changes"][0]["to"] for e in envelopes] == ["EXCEPTION", "NORMAL"]
    assert slow.started == 2
