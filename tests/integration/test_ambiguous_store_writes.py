"""Writes the store applied but whose answer the writer never heard (a dropped
connection, a 500 InternalError after the object was written), on SeaweedFS behind a
real proxy on loopback: the retry that follows meets the writer's own object (412 on
a create-only PUT, a changed ETag on a compare-and-swap). The writer must read that
as its own write, never as another writer's: otherwise a transition's event is never
sent (each record's event is sent by the writer that created it, and by no other) and
a gone job is reported as gone by someone else."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from dlf_status.adapters.events_eventbridge import EventBridgePublisher
from dlf_status.adapters.store_s3 import S3Store
from dlf_status.domain import jsoncodec
from dlf_status.domain.model import JobRef
from dlf_status.domain.snapshots import SnapshotOutcome, latest_key
from dlf_status.errors import StoreError
from dlf_status.service import SnapshotWriter
from tests.integration import test_transition_events_on_the_store as events_suite
from tests.integration.conftest import check_transition_records, history_keys
from tests.integration.test_store_time_budget import PRECONDITION_FAILED
from tests.integration.test_transition_events_on_the_store import (
    BUS,
    Bus,
    assert_one_event_per_record,
    records_in,
)
from tests.support.faults import INTERNAL_ERROR, S3Proxy
from tests.support.read_models import observe, status_document
from tests.support.seaweed import (
    PATIENT_STORE_SECONDS,
    SeaweedServer,
    production_s3_client,
)

pytestmark = pytest.mark.integration

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
JOB = JobRef.parse(PROJECT, "orders stream")
START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)

Predicate = Callable[[str, str], bool]
# moto's EventBridge bus with a rule to an SQS queue, as the events suite has it.
bus = events_suite.bus


def first_put_of(part: str) -> Predicate:
    """True for the first PUT whose path holds `part`, then never again."""
    seen: list[str] = []

    def matches(method: str, path: str) -> bool:
        if method != "PUT" or part not in path or seen:
            return False
        seen.append(path)
        return True

    return matches


@pytest.fixture
def proxied(
    seaweed: SeaweedServer,
) -> Iterator[Callable[..., tuple[S3Store, S3Proxy]]]:
    """A production S3 store (make_s3_client: its retries, the direct PUT) reaching
    SeaweedFS through a proxy made with the given faults; a fresh prefix each. Its
    key is SeaweedFS's (moto replaces the environment's)."""
    made: list[tuple[S3Store, S3Proxy]] = []

    def make(strict: bool = True, **faults: object) -> tuple[S3Store, S3Proxy]:
        proxy = S3Proxy(seaweed.endpoint, lambda method, path: False, **faults)  # type: ignore[arg-type]
        proxy.__enter__()
        client = production_s3_client(proxy.url, PATIENT_STORE_SECONDS)
        store = S3Store(
            client,
            seaweed.bucket,
            f"ambiguous-{uuid.uuid4().hex[:12]}",
            require_conditional_writes=strict,
        )
        made.append((store, proxy))
        return store, proxy

    yield make
    for store, proxy in made:
        proxy.__exit__()
        check_transition_records(store)


def at(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


@pytest.mark.parametrize("fault", ["drop", "fail_after"])
def test_a_published_record_whose_answer_was_lost_is_sent_as_an_event_once(
    proxied: Callable[..., tuple[S3Store, S3Proxy]], bus: Bus, fault: str
) -> None:
    """The record's create-only PUT is applied, its answer lost (or a 500): the retry
    gets 412 from the writer's own record. The writer created it, so it sends the event."""
    store, proxy = proxied(**{fault: first_put_of("/transitions/")})
    writer = SnapshotWriter(store, events=EventBridgePublisher(BUS))

    observe(store, JOB, "NORMAL", at(0), None, writer)
    written = observe(store, JOB, "EXCEPTION", at(1), None, writer)

    assert proxy.dropped + proxy.failed_after == 1
    assert (written.outcome, written.transitions, written.repaired) == (
        SnapshotOutcome.CHANGED,
        1,
        0,
    )
    envelopes = bus.received()
    assert len(envelopes) == 1
    assert_one_event_per_record(store, envelopes)


@pytest.mark.parametrize("fault", ["drop", "fail_after"])
def test_a_history_object_whose_answer_was_lost_is_a_change(
    proxied: Callable[..., tuple[S3Store, S3Proxy]], fault: str
) -> None:
    """The same for a history object: the observation is `changed`, not `unchanged`."""
    store, proxy = proxied(**{fault: first_put_of("/history/")})

    written = observe(store, JOB, "NORMAL", at(0))

    assert proxy.dropped + proxy.failed_after == 1
    assert written.outcome is SnapshotOutcome.CHANGED


@pytest.mark.parametrize("fault", ["drop", "fail_after"])
def test_a_gone_document_whose_answer_was_lost_is_reported_by_its_writer(
    proxied: Callable[..., tuple[S3Store, S3Proxy]],
    fault: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The gone document's compare-and-swap is applied and its answer lost: the writer
    finds its own gone document, so it reported the job gone (`changed`: the tick
    counts it in JobsGone) and publishes the record as its own, not late."""
    store, proxy = proxied()
    writer = SnapshotWriter(store, sleep=lambda _: None)
    observe(store, JOB, "NORMAL", at(0), None, writer)
    setattr(proxy, fault, first_put_of("/latest.json"))

    with caplog.at_level(logging.INFO, logger="dlf-status"):
        written = writer.write_gone(
            JOB,
            {"project_id": PROJECT, "workspace": None, "job_name": JOB.job_name, "endpoint": "x"},
            "2026-11-25T08:05:00.000Z",
            {"error_code": "DLF.0100", "error_msg": "The job does not exist."},
        )

    assert proxy.dropped + proxy.failed_after == 1
    assert (written.outcome, written.transitions, written.repaired) == (
        SnapshotOutcome.CHANGED,
        1,
        0,
    )
    assert "transition record published late" not in [r.getMessage() for r in caplog.records]


@pytest.mark.parametrize("fault", ["drop", "fail_after"])
@pytest.mark.parametrize("path", ["put_object", "direct"])
def test_create_is_true_for_its_own_unheard_write_and_false_for_another_writers(
    proxied: Callable[..., tuple[S3Store, S3Proxy]], fault: str, path: str
) -> None:
    """Through boto3's put_object (its retries send the PUT again) and through the
    direct PUT (which retries a dropped connection itself, and hands a 500 to
    put_object): the call whose PUT was applied unheard gets True; a second call with
    the same bytes, refused by the first one's object, gets False."""
    store, proxy = proxied(**{fault: first_put_of("/history/")})
    if path == "direct":  # the first PutObject teaches the direct PUT where to send
        assert store.create("freshness/warm-up.json", b"{}", {})
    key = "history/project_id=p/date=2026-11-25/20261125T080000000Z-0123456789abcdef.json"

    assert store.create(key, b'{"n":1}', {"content-hash": "c"})
    assert not store.create(key, b'{"n":1}', {"content-hash": "c"})

    assert proxy.dropped + proxy.failed_after == 1
    stored = store.get(key)
    assert stored is not None
    assert stored.body == b'{"n":1}'


# What AWS answers a conditional write while another one on the key is in flight: the
# key may exist or not yet (the other write can still fail), so it proves neither.
CONDITIONAL_CONFLICT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ConditionalRequestConflict</Code>'
    b"<Message>A conflicting conditional operation is currently in progress against this "
    b"resource. Please try again.</Message></Error>"
)


def refusal(name: str) -> dict[str, object]:
    """The proxy's answer for a refused create-only PUT that the store did not apply:
    a 409 ConditionalRequestConflict, or a 412 from a store (or a proxy in front of
    it) that answers one and then 200 to the same PUT on retry."""
    if name == "409":
        return {"status": 409, "error": CONDITIONAL_CONFLICT}
    return {"status": 412, "error": PRECONDITION_FAILED}


def history_of(store: S3Store, digest: str) -> list[str]:
    return [key for key in history_keys(store) if key.endswith(f"-{digest[:16]}.json")]


@pytest.mark.parametrize("answer", ["409", "412"])
def test_a_history_create_refused_for_a_key_that_does_not_exist_stops_the_write(
    proxied: Callable[..., tuple[S3Store, S3Proxy]], answer: str
) -> None:
    """The history object's create-only PUT is refused without being applied: the key
    does not exist. latest.json must never name a content whose history object is
    missing: the write stops (failed), and latest.json keeps what it held."""
    store, proxy = proxied(**refusal(answer))
    writer = SnapshotWriter(store, sleep=lambda _: None)
    observe(store, JOB, "NORMAL", at(0), None, writer)
    proxy.throttle = first_put_of("/history/")

    with pytest.raises(StoreError, match="holds no object there"):
        writer.write(JOB, status_document(JOB, "EXCEPTION", at(1), None), at(1))

    assert proxy.throttled == 1
    stored = store.get(latest_key(JOB))
    assert stored is not None
    latest = jsoncodec.loads(stored.body, jsoncodec.STORED)
    digest = stored.metadata["content-hash"]
    assert latest["job"]["status"] == "NORMAL"
    assert history_of(store, digest) != []


@pytest.mark.parametrize("answer", ["409", "412"])
def test_a_record_create_refused_for_a_key_that_does_not_exist_is_published_later(
    proxied: Callable[..., tuple[S3Store, S3Proxy]], bus: Bus, answer: str
) -> None:
    """The transition record's create-only PUT is refused without being applied. The
    warm writer must not count the record as published by someone else: its next
    write publishes it, so the chain NORMAL→EXCEPTION→STOPPED is whole, each record
    sent as an event once."""
    store, proxy = proxied(**refusal(answer))
    writer = SnapshotWriter(store, sleep=lambda _: None, events=EventBridgePublisher(BUS))
    observe(store, JOB, "NORMAL", at(0), None, writer)
    proxy.throttle = first_put_of("/transitions/")
    with pytest.raises(StoreError, match="not published yet"):  # what the caller hears
        observe(store, JOB, "EXCEPTION", at(1), None, writer)
    observe(store, JOB, "STOPPED", at(2), None, writer)

    assert proxy.throttled == 1
    chain = sorted(
        (record["observed_at"], record["changes"][0]["from"], record["changes"][0]["to"])
        for record in records_in(store)
    )
    assert [(old, new) for _, old, new in chain] == [
        ("NORMAL", "EXCEPTION"),
        ("EXCEPTION", "STOPPED"),
    ]
    envelopes = bus.received()
    assert len(envelopes) == 2
    assert_one_event_per_record(store, envelopes)


def test_a_record_applied_unheard_whose_head_fails_is_still_sent_as_an_event(
    proxied: Callable[..., tuple[S3Store, S3Proxy]], bus: Bus
) -> None:
    """The record's PUT is applied and answered 500 (S3 documents that a 500 may come for
    an applied write), the retry gets 412, and the HEAD
    that would tell whose object it is fails too. The writer cannot tell: it sends the
    event (the same id whoever sends it, so a duplicate is one a consumer drops),
    because the next writer finds the record published and sends nothing."""
    store, proxy = proxied(
        fail_after=first_put_of("/transitions/"), status=500, error=INTERNAL_ERROR
    )
    writer = SnapshotWriter(store, sleep=lambda _: None, events=EventBridgePublisher(BUS))
    observe(store, JOB, "NORMAL", at(0), None, writer)
    proxy.throttle = lambda method, path: method == "HEAD"
    with pytest.raises(StoreError, match="its event is sent"):
        observe(store, JOB, "EXCEPTION", at(1), None, writer)
    proxy.throttle = lambda method, path: False
    observe(store, JOB, "EXCEPTION", at(2), None, SnapshotWriter(store))  # another process

    assert proxy.failed_after == 1
    envelopes = bus.received()
    assert len(envelopes) >= 1
    assert_one_event_per_record(store, envelopes[:1])
    assert {envelope["detail"]["id"] for envelope in envelopes} == {envelopes[0]["detail"]["id"]}


def test_a_record_applied_unheard_on_a_store_that_keeps_no_metadata_is_sent_as_an_event(
    proxied: Callable[..., tuple[S3Store, S3Proxy]], bus: Bus
) -> None:
    """A store that drops user metadata (which only SNAPSHOT_CONSISTENCY=best-effort
    writes to) cannot echo the write id: the writer whose record PUT was applied
    unheard (500) cannot tell its own object from another's, so it sends the event
    rather than lose it; the next writer sends nothing."""
    store, proxy = proxied(
        strict=False,
        fail_after=first_put_of("/transitions/"),
        status=500,
        error=INTERNAL_ERROR,
        keep_metadata=False,
    )
    writer = SnapshotWriter(store, sleep=lambda _: None, events=EventBridgePublisher(BUS))
    observe(store, JOB, "NORMAL", at(0), None, writer)
    with pytest.raises(StoreError, match="carries no write id"):
        observe(store, JOB, "EXCEPTION", at(1), None, writer)
    observe(store, JOB, "EXCEPTION", at(2), None, SnapshotWriter(store))  # another process

    assert proxy.failed_after == 1
    assert_one_event_per_record(store, bus.received())
