"""A job reported gone: its latest.json becomes a gone document, with one transition
record to null; a job that comes back resumes the chain from null; consumers of the
store (stale answers, the fleet) never read a status into a gone job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dlf_status.domain.contract import ValidationReport
from dlf_status.domain.documents import DocumentSource, GoneReason, StatusDocument
from dlf_status.domain.gone import GONE_KIND, is_gone_document
from dlf_status.domain.model import JobRef
from dlf_status.domain.normalize import Source, content_hash, normalise
from dlf_status.domain.snapshots import SnapshotOutcome
from dlf_status.errors import JobNotFound, StoreError, UpstreamErrorInfo, UpstreamTimeout
from dlf_status.readers import StoreReader
from dlf_status.service import SnapshotWriter
from tests.support.clock import FixedClock
from tests.support.fakes import FakeUpstream, FaultyStore, MemoryStore, json_answer
from tests.support.read_models import assert_valid
from tests.support.root import fake_service
from tests.support.transitions import assert_chain

JOB = JobRef.parse("p1", "orders", "ws1")
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
SOURCE: DocumentSource = {
    "project_id": "p1",
    "workspace": "ws1",
    "job_name": "orders",
    "endpoint": "https://dayu-dlf.cn-north-4.myhuaweicloud.com",
}
REASON: GoneReason = {"error_code": "DLF.0100", "error_msg": "The job not found"}
NOT_FOUND = json_answer(400, {"error_code": "DLF.0100", "error_msg": "The job not found"})


def observation(status: str, nodes: dict[str, str], minute: int) -> StatusDocument:
    return normalise(
        {
            "name": "orders",
            "status": status,
            "nodes": [{"name": name, "status": value} for name, value in nodes.items()],
        },
        source=Source("p1", "orders", "ws1"),
        observed_at=T0 + timedelta(minutes=minute),
        report=ValidationReport(),
    )


def at(minute: int) -> str:
    return (T0 + timedelta(minutes=minute)).isoformat(timespec="milliseconds")[:-6] + "Z"


def writer(store: MemoryStore) -> SnapshotWriter:
    return SnapshotWriter(store, sleep=lambda _: None)


def observe(store: MemoryStore, status: str, nodes: dict[str, str], minute: int) -> None:
    document = observation(status, nodes, minute)
    writer(store).write(JOB, document, T0 + timedelta(minutes=minute))


def test_a_gone_job_gets_a_gone_document_and_one_record_to_null() -> None:
    store = MemoryStore()
    observe(store, "NORMAL", {"a": "NORMAL", "b": "EXCEPTION"}, 0)

    written = writer(store).write_gone(JOB, SOURCE, at(5), REASON)

    assert written.outcome is SnapshotOutcome.CHANGED
    assert written.transitions == 1
    gone = store.latest(JOB)
    assert_valid(gone, "job-gone.v1.schema.json")
    assert gone["kind"] == GONE_KIND
    assert (gone["observed_at"], gone["last_observed_at"]) == (at(5), at(0))
    assert gone["reason"] == REASON
    (record,) = store.transitions()
    assert record["schema_version"] == "1.1"
    assert record["job_name"] == "orders"
    assert [(c["scope"], c["node"], c["from"], c["to"]) for c in record["changes"]] == [
        ("job", None, "NORMAL", None),
        ("node", "a", "NORMAL", None),
        ("node", "b", "EXCEPTION", None),
    ]
    assert record["content_hash"] == content_hash(gone)
    assert_chain(store.transitions(), store.latest_versions(JOB))
    assert not any("gone" in key for key in store.history())
    assert len(store.history()) == 1  # the observation's; a gone document is never history


@pytest.mark.parametrize("warm", [True, False], ids=["the same writer", "a new writer"])
def test_a_job_reported_gone_is_reported_once(warm: bool) -> None:
    store = MemoryStore()
    first = writer(store)
    first.write(JOB, observation("NORMAL", {}, 0), T0)
    first.write_gone(JOB, SOURCE, at(5), REASON)

    again = (first if warm else writer(store)).write_gone(JOB, SOURCE, at(10), REASON)

    assert (again.outcome, again.transitions) == (SnapshotOutcome.UNCHANGED, 0)
    assert len(store.transitions()) == 1
    assert store.latest(JOB)["observed_at"] == at(5)


def test_a_job_that_comes_back_resumes_the_chain_from_null() -> None:
    store = MemoryStore()
    observe(store, "NORMAL", {"a": "NORMAL"}, 0)
    writer(store).write_gone(JOB, SOURCE, at(5), REASON)

    back = observation("STARTING", {"a": "STARTING", "c": "NORMAL"}, 10)
    written = writer(store).write(JOB, back, T0 + timedelta(minutes=10))

    assert (written.outcome, written.transitions) == (SnapshotOutcome.CHANGED, 1)
    records = store.transitions()
    assert [(c["scope"], c["node"], c["from"], c["to"]) for c in records[-1]["changes"]] == [
        ("job", None, None, "STARTING"),
        ("node", "a", None, "STARTING"),
        ("node", "c", None, "NORMAL"),
    ]
    assert records[-1]["schema_version"] == "1.1"
    assert records[-1]["previous_content_hash"] == records[0]["content_hash"]
    assert len(store.history()) == 2
    assert_chain(records, store.latest_versions(JOB))


def test_a_job_never_observed_is_marked_gone_without_a_record() -> None:
    store = MemoryStore()

    written = writer(store).write_gone(JOB, SOURCE, at(5), REASON)

    assert (written.outcome, written.transitions) == (SnapshotOutcome.CHANGED, 0)
    gone = store.latest(JOB)
    assert (gone["last_observed_at"], gone["last_content_hash"]) == (None, None)
    assert store.transitions() == []


def test_an_observation_newer_than_the_not_found_answer_wins() -> None:
    store = MemoryStore()
    observe(store, "NORMAL", {}, 10)

    written = writer(store).write_gone(JOB, SOURCE, at(5), REASON)

    assert written.outcome is SnapshotOutcome.SUPERSEDED
    assert not is_gone_document(store.latest(JOB))
    assert store.transitions() == []


def test_a_record_the_last_observation_owes_is_published_before_the_job_goes() -> None:
    store = FaultyStore()
    store_writer = writer(store)
    store_writer.write(JOB, observation("NORMAL", {}, 0), T0)
    store.fail_publish.append(StoreError("SlowDown (HTTP 503)"))
    with pytest.raises(StoreError):
        store_writer.write(JOB, observation("EXCEPTION", {}, 1), T0 + timedelta(minutes=1))
    assert store.transitions() == []  # staged, owed by latest.json

    written = writer(store).write_gone(JOB, SOURCE, at(5), REASON)

    assert (written.transitions, written.repaired) == (1, 1)
    assert [record["changes"][0]["to"] for record in store.transitions()] == ["EXCEPTION", None]
    assert_chain(store.transitions(), store.latest_versions(JOB))


def test_a_gone_document_that_loses_a_race_is_written_against_the_new_version() -> None:
    store = MemoryStore()
    observe(store, "NORMAL", {}, 0)
    store.races_to_lose = 1
    store.racer = observation("EXCEPTION", {}, 1)

    written = writer(store).write_gone(JOB, SOURCE, at(5), REASON)

    assert written.outcome is SnapshotOutcome.CHANGED
    (record,) = [r for r in store.transitions() if r["changes"][0]["to"] is None]
    assert record["changes"][0]["from"] == "EXCEPTION"
    assert store.latest(JOB)["last_observed_at"] == at(1)


def test_the_service_marks_a_job_gone_after_its_status_call_said_so() -> None:
    store = MemoryStore()
    service = fake_service(
        FakeUpstream([json_answer(200, {"name": "orders", "status": "NORMAL"})]),
        store,
        clock=FixedClock(T0),
    )
    service.observe(JOB)
    service.clock = FixedClock(T0 + timedelta(minutes=5))
    service.upstream = FakeUpstream([NOT_FOUND])
    with pytest.raises(JobNotFound) as raised:
        service.observe(JOB)

    mark = service.record_gone(JOB, raised.value)

    assert (mark.snapshot, mark.store_error) == (SnapshotOutcome.CHANGED, None)
    gone = store.latest(JOB)
    assert gone["reason"]["error_code"] == "DLF.0100"
    assert gone["observed_at"] == at(5)
    assert gone["source"]["endpoint"] == service.upstream.endpoint


def test_a_store_failure_while_marking_a_job_gone_is_reported_not_raised() -> None:
    store = FaultyStore()
    store.fail_replace.append(StoreError("AccessDenied"))
    service = fake_service(store=store)

    mark = service.record_gone(JOB, JobNotFound("gone", UpstreamErrorInfo(400, "DLF.0100")))

    assert mark.snapshot is SnapshotOutcome.FAILED
    assert mark.store_error is not None
    assert "AccessDenied" in mark.store_error.detail


def test_a_gone_job_is_never_served_stale() -> None:
    store = MemoryStore()
    writer(store).write(JOB, observation("NORMAL", {}, 0), T0)
    writer(store).write_gone(JOB, SOURCE, at(5), REASON)
    service = fake_service(FakeUpstream([UpstreamTimeout("slow")]), store)

    with pytest.raises(UpstreamTimeout):
        service.observe(JOB)


def test_the_fleet_leaves_a_gone_job_out() -> None:
    store = MemoryStore()
    other = JobRef.parse("p1", "clicks", "ws1")
    clicks = normalise(
        {"name": "clicks", "status": "EXCEPTION"},
        source=Source("p1", "clicks", "ws1"),
        observed_at=T0,
        report=ValidationReport(),
    )
    writer(store).write(JOB, observation("NORMAL", {}, 0), T0)
    writer(store).write(other, clicks, T0)
    writer(store).write_gone(JOB, SOURCE, at(5), REASON)

    fleet = StoreReader(store, FixedClock(T0 + timedelta(minutes=6))).fleet("p1", "ws1")

    assert [row["job_name"] for row in fleet["jobs"]] == ["clicks"]
    assert fleet["summary"]["job_count"] == 1
    assert fleet["summary"]["jobs_by_status"]["EXCEPTION"] == 1
    assert fleet["summary"]["unreadable"] == 0
