"""Upgrading from the releases that percent-encoded every byte beyond ASCII: a job
named beyond ASCII has a new key. Its first observation there is a transition from
what the old key holds, and the fleet has one row per job, never the old one beside
the new one (README "Upgrading")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dlf_status.domain import jsoncodec
from dlf_status.domain.gone import gone_document
from dlf_status.domain.model import JobRef
from dlf_status.domain.ports import MAX_LIST_PAGE, ObjectListing
from dlf_status.domain.snapshots import (
    SnapshotOutcome,
    latest_key,
    moved_latest_key,
)
from dlf_status.readers import StoreReader
from dlf_status.service import SnapshotWriter
from tests.support.documents import status_document
from tests.support.fakes import MemoryStore
from tests.support.read_models import observe

PROJECT = "p1"
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
MOVED = JobRef.parse(PROJECT, "作业")
# Cut in its old key (3 x 9 escaped bytes per character), whole in its new one.
MOVED_CUT = JobRef.parse(PROJECT, "作业" * 40)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def written_by_an_earlier_release(
    store: MemoryStore, job: JobRef, status: str, when: datetime
) -> str:
    key = moved_latest_key(job)
    assert key is not None
    store._put(key, jsoncodec.canonical_bytes(status_document(job, status, when)))
    return key


def writer(store: MemoryStore) -> SnapshotWriter:
    return SnapshotWriter(store, sleep=lambda _: None)


class FixedClock:
    def now(self) -> datetime:
        return at(10)


# --- the writer ------------------------------------------------------------------------


def test_the_first_observation_at_the_new_key_is_a_transition_from_the_old_one() -> None:
    store = MemoryStore()
    old_key = written_by_an_earlier_release(store, MOVED, "NORMAL", at(0))
    before = store.objects[old_key]

    written = writer(store).write(MOVED, status_document(MOVED, "EXCEPTION", at(1)), at(1))

    assert (written.outcome, written.transitions) == (SnapshotOutcome.CHANGED, 1)
    [record] = store.transitions()
    assert record["previous_observed_at"] == "2026-11-25T08:00:00.000Z"
    assert [(c["from"], c["to"]) for c in record["changes"]] == [("NORMAL", "EXCEPTION")]
    assert store.latest(MOVED)["job"]["status"] == "EXCEPTION"
    assert store.objects[old_key] == before  # nothing moved or deleted
    assert len(store.history()) == 1  # the new key's history starts


def test_the_same_status_at_the_new_key_is_no_transition() -> None:
    store = MemoryStore()
    written_by_an_earlier_release(store, MOVED_CUT, "NORMAL", at(0))

    written = writer(store).write(MOVED_CUT, status_document(MOVED_CUT, "NORMAL", at(1)), at(1))

    assert (written.outcome, written.transitions) == (SnapshotOutcome.CHANGED, 0)
    assert store.transitions() == []


def test_the_old_key_is_read_once_and_never_once_the_new_key_holds_the_job() -> None:
    store = MemoryStore()
    old_key = written_by_an_earlier_release(store, MOVED, "NORMAL", at(0))
    writer(store).write(MOVED, status_document(MOVED, "EXCEPTION", at(1)), at(1))
    assert store.reads.count(old_key) == 1

    writer(store).write(MOVED, status_document(MOVED, "STOPPED", at(2)), at(2))  # a cold writer

    assert store.reads.count(old_key) == 1
    assert [
        [(c["from"], c["to"]) for c in record["changes"]] for record in store.transitions()
    ] == [[("NORMAL", "EXCEPTION")], [("EXCEPTION", "STOPPED")]]


def test_a_tick_reads_the_old_key_only_when_its_listing_has_it() -> None:
    store = MemoryStore()
    new_job = JobRef.parse(PROJECT, "新作业")  # never written by an earlier release
    written_by_an_earlier_release(store, MOVED, "NORMAL", at(0))
    tick_writer = writer(store)
    tick = tick_writer.begin_tick([MOVED, new_job])
    store.reads.clear()

    tick_writer.write(new_job, status_document(new_job, "NORMAL", at(1)), at(1), tick=tick)
    assert store.reads == []  # absent from the listing, old key and new: no GET at all
    tick_writer.write(MOVED, status_document(MOVED, "STOPPED", at(1)), at(1), tick=tick)

    assert store.reads == [moved_latest_key(MOVED)]
    assert len(store.transitions()) == 1


def test_a_name_of_ascii_never_looks_for_an_old_key() -> None:
    store = MemoryStore()
    job = JobRef.parse(PROJECT, "job/with spaces")

    writer(store).write(job, status_document(job, "NORMAL", at(1)), at(1))

    assert moved_latest_key(job) is None
    assert store.reads == [latest_key(job)]


def test_an_old_latest_observed_after_this_observation_is_not_a_previous_one() -> None:
    store = MemoryStore()
    written_by_an_earlier_release(store, MOVED, "NORMAL", at(5))

    written = writer(store).write(MOVED, status_document(MOVED, "EXCEPTION", at(1)), at(1))

    assert written.transitions == 0


def test_a_job_reported_gone_first_at_its_new_key_is_a_transition_from_the_old_one() -> None:
    store = MemoryStore()
    written_by_an_earlier_release(store, MOVED, "NORMAL", at(0))
    source = status_document(MOVED, "NORMAL", at(0))["source"]

    written = writer(store).write_gone(
        MOVED,
        source,
        "2026-11-25T08:01:00.000Z",
        {"error_code": "DLF.0100", "error_msg": "gone"},
    )

    assert (written.outcome, written.transitions) == (SnapshotOutcome.CHANGED, 1)
    [record] = store.transitions()
    assert (record["changes"][0]["from"], record["changes"][0]["to"]) == ("NORMAL", None)
    assert store.latest(MOVED)["last_observed_at"] == "2026-11-25T08:00:00.000Z"


def test_a_job_gone_at_its_old_key_is_not_reported_gone_again() -> None:
    store = MemoryStore()
    source = status_document(MOVED, "NORMAL", at(0))["source"]
    old_gone = gone_document(
        source,
        "2026-11-25T08:05:00.000Z",
        error_code="DLF.0100",
        error_msg="gone",
        last_observed_at="2026-11-25T08:00:00.000Z",
        last_content_hash="a" * 64,
    )
    store._put(moved_latest_key(MOVED) or "", jsoncodec.canonical_bytes(old_gone))

    written = writer(store).write_gone(
        MOVED, source, "2026-11-25T08:20:00.000Z", {"error_code": "DLF.0100", "error_msg": "gone"}
    )

    assert (written.outcome, written.transitions) == (SnapshotOutcome.UNCHANGED, 0)
    assert store.transitions() == []
    assert store.latest(MOVED) == old_gone  # the new key holds it: no old key read again
    store.reads.clear()
    again = writer(store).write_gone(
        MOVED, source, "2026-11-25T08:30:00.000Z", {"error_code": "DLF.0100", "error_msg": "gone"}
    )
    assert again.outcome is SnapshotOutcome.UNCHANGED
    assert store.reads == [latest_key(MOVED)]


# --- the fleet -------------------------------------------------------------------------


def test_the_fleet_leaves_the_old_row_out_once_the_new_key_holds_the_job() -> None:
    store = MemoryStore()
    for job in (MOVED, MOVED_CUT):
        written_by_an_earlier_release(store, job, "NORMAL", at(0))
        observe(store, job, "EXCEPTION", at(1))
    observe(store, JobRef.parse(PROJECT, "ascii"), "NORMAL", at(1))

    document = StoreReader(store, FixedClock(), workers=1).fleet(PROJECT)

    assert sorted(row["job_name"] for row in document["jobs"]) == sorted(
        ["ascii", MOVED.job_name, MOVED_CUT.job_name]
    )
    assert {row["status"] for row in document["jobs"]} == {"EXCEPTION", "NORMAL"}
    assert document["summary"]["job_count"] == 3
    assert document["summary"]["jobs_by_status"]["EXCEPTION"] == 2


def test_a_job_not_observed_since_the_upgrade_keeps_its_old_row() -> None:
    store = MemoryStore()
    written_by_an_earlier_release(store, MOVED, "NORMAL", at(0))
    store._put(  # an unreadable one: named after its (old) key
        moved_latest_key(JobRef.parse(PROJECT, "坏")) or "", b"{not json"
    )
    observe(store, JobRef.parse(PROJECT, "ascii"), "NORMAL", at(1))

    document = StoreReader(store, FixedClock(), workers=1).fleet(PROJECT)

    assert sorted(row["job_name"] for row in document["jobs"]) == ["ascii", "作业", "坏"]
    assert document["summary"]["job_count"] == 3
    assert document["summary"]["unreadable"] == 1


def test_old_and_new_rows_pair_up_across_listing_pages_and_fleet_pages() -> None:
    store = MemoryStore()
    names = [f"作业{index:03d}" for index in range(30)]
    for name in names:
        job = JobRef.parse(PROJECT, name)
        written_by_an_earlier_release(store, job, "NORMAL", at(0))
        observe(store, job, "STOPPED", at(1))
    small_pages = PagedStore(store)

    reader = StoreReader(small_pages, FixedClock(), workers=1)
    rows: list[str] = []
    cursor = None
    while True:
        document = reader.fleet(PROJECT, limit=7, cursor=cursor)
        assert document["summary"]["job_count"] == 30
        rows += [row["job_name"] for row in document["jobs"]]
        cursor = document["next_cursor"]
        if cursor is None:
            break

    assert rows == names
    assert small_pages.listings > 6  # the old keys and the new ones on different pages


def test_a_gone_job_at_its_new_key_leaves_the_fleet_with_its_old_row() -> None:
    store = MemoryStore()
    written_by_an_earlier_release(store, MOVED, "NORMAL", at(0))
    writer(store).write_gone(
        MOVED,
        status_document(MOVED, "NORMAL", at(0))["source"],
        "2026-11-25T08:01:00.000Z",
        {"error_code": "DLF.0100", "error_msg": "gone"},
    )

    document = StoreReader(store, FixedClock(), workers=1).fleet(PROJECT)

    assert document["jobs"] == []
    assert document["summary"]["job_count"] == 0


def test_the_fleet_reads_no_old_key_that_a_new_key_supersedes() -> None:
    store = MemoryStore()
    written_by_an_earlier_release(store, MOVED, "NORMAL", at(0))
    observe(store, MOVED, "EXCEPTION", at(1))
    reader = StoreReader(store, FixedClock(), workers=1)
    store.reads.clear()

    reader.fleet(PROJECT)

    assert reader.last_cost.reads == 1
    assert moved_latest_key(MOVED) not in store.reads


def test_old_keys_do_not_spend_the_read_budget_of_the_jobs_observed_since() -> None:
    store = MemoryStore()
    jobs = [JobRef.parse(PROJECT, f"作业{index:02d}") for index in range(8)]
    for job in jobs:
        written_by_an_earlier_release(store, job, "NORMAL", at(0))
        observe(store, job, "EXCEPTION", at(1))
    reader = StoreReader(PagedStore(store), FixedClock(), workers=1, max_fleet_reads=10)

    document = reader.fleet(PROJECT)

    assert [row["status"] for row in document["jobs"]] == ["EXCEPTION"] * 8
    assert reader.last_cost.reads == 8


def test_old_keys_are_read_after_the_jobs_observed_since() -> None:
    store = MemoryStore()
    observed = [JobRef.parse(PROJECT, f"作业{index:02d}") for index in range(8)]
    for job in observed:
        observe(store, job, "EXCEPTION", at(1))
    waiting = [JobRef.parse(PROJECT, f"旧作业{index:02d}") for index in range(8)]
    for job in waiting:  # not observed since the upgrade: their old rows are their rows
        written_by_an_earlier_release(store, job, "NORMAL", at(0))
    reader = StoreReader(PagedStore(store), FixedClock(), workers=1, max_fleet_reads=10)

    document = reader.fleet(PROJECT, limit=100)

    statuses = {row["job_name"]: row["status"] for row in document["jobs"]}
    assert all(statuses[job.job_name] == "EXCEPTION" for job in observed)
    assert sorted(statuses[job.job_name] for job in waiting) == ["NORMAL"] * 2 + ["UNKNOWN"] * 6


def test_a_job_whose_old_cut_fell_before_its_first_character_beyond_ascii_has_one_row() -> None:
    # Old value: 61 x "%21" = 183 characters, cut before the CJK; new: 189 bytes, whole.
    edge = JobRef.parse(PROJECT, "!" * 61 + "作作")
    store = MemoryStore()
    written_by_an_earlier_release(store, edge, "NORMAL", at(0))
    observe(store, edge, "EXCEPTION", at(1))

    document = StoreReader(store, FixedClock(), workers=1).fleet(PROJECT)

    assert [row["status"] for row in document["jobs"]] == ["EXCEPTION"]
    assert document["summary"]["job_count"] == 1


class PagedStore(MemoryStore):
    """The same objects, listed ten keys a call."""

    def __init__(self, inner: MemoryStore) -> None:
        super().__init__(inner.objects, inner.versions, inner.metadata, inner.replaced)

    def list_objects(
        self, prefix: str, *, start_after: str = "", limit: int = MAX_LIST_PAGE
    ) -> ObjectListing:
        return super().list_objects(prefix, start_after=start_after, limit=min(limit, 10))
