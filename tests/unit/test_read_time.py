"""A read's time budget (`readers.ReadTime`) over the memory store: each store call
spends a second of an invocation clock the test holds; nothing sleeps. The SeaweedFS
suite (tests/integration/test_read_time_budget.py) drives the routes; these cases reach
the walk's corners: history days listed empty before the time runs out, a fleet
listed in several pages, and no clock at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dlf_status.domain.model import JobRef
from dlf_status.domain.ports import ObjectListing, StoredObject
from dlf_status.entrypoints.problems import retry_after_seconds
from dlf_status.errors import StoreError, StoreTooSlow
from dlf_status.readers import NO_TIME_LEFT, ReadTime, StoreReader
from dlf_status.service import ANSWER_MARGIN_SECONDS
from tests.support.clock import FixedClock
from tests.support.fakes import MemoryStore
from tests.support.read_models import observe

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PROJECT = "p1"
JOB = JobRef.parse(PROJECT, "orders")
CALL_SECONDS = 2.0  # one call's worst case, as the reader is told
SPENT_PER_CALL = 1.0  # what each call spends of the test's clock


class SpendingStore:
    """`store`, each call spending SPENT_PER_CALL of `left` (None: not counting);
    `left_at_calls` holds what was left as each call started."""

    def __init__(self, store: MemoryStore, page_size: int = 1000) -> None:
        self.store = store
        self.page_size = page_size
        self.left: float | None = None
        self.left_at_calls: list[float] = []

    def _spend(self) -> None:
        if self.left is not None:
            self.left_at_calls.append(self.left)
            self.left -= SPENT_PER_CALL

    def remaining_seconds(self) -> float:
        assert self.left is not None
        return self.left

    def get(self, key: str) -> StoredObject | None:
        self._spend()
        return self.store.get(key)

    def list_objects(
        self, prefix: str, *, start_after: str = "", limit: int = 1000
    ) -> ObjectListing:
        self._spend()
        return self.store.list_objects(
            prefix, start_after=start_after, limit=min(limit, self.page_size)
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def _reader(store: SpendingStore) -> StoreReader:
    return StoreReader(store, FixedClock(NOW), workers=1, store_call_seconds=CALL_SECONDS)


def _outlived(store: SpendingStore) -> list[float]:
    """Calls that started without their worst case and the margin left."""
    return [left for left in store.left_at_calls if left < CALL_SECONDS + ANSWER_MARGIN_SECONDS]


def _walk(reader: StoreReader, job: JobRef, **query: Any) -> list[str]:
    """Every document's `observed_at`, following cursors with no time bound."""
    seen: list[str] = []
    cursor = query.pop("cursor", None)
    while True:
        page = reader.history(job, cursor=cursor, **query)
        seen.extend(document["observed_at"] for document in page["documents"])
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


def test_a_year_of_empty_days_is_skipped_in_a_few_listings() -> None:
    """Two documents a hundred days apart, asked from a year ago: one page holds both,
    and the empty days between cost a binary search each, not a listing per day."""
    store = SpendingStore(MemoryStore())
    older, newer = NOW - timedelta(days=300), NOW - timedelta(days=200)
    observe(store.store, JOB, "NORMAL", older)
    observe(store.store, JOB, "EXCEPTION", newer)
    reader = _reader(store)

    page = reader.history(JOB, start=NOW - timedelta(days=365))

    assert [document["observed_at"] for document in page["documents"]] == [
        "2026-05-09T12:00:00.000Z",
        "2026-01-29T12:00:00.000Z",
    ]
    assert page["next_cursor"] is None
    # The oldest day, today, two days found and three searches of at most ten probes.
    assert reader.last_cost.listing_calls <= 2 + 2 + 3 * 10


def test_a_history_inside_its_time_finds_a_document_past_empty_days() -> None:
    store = SpendingStore(MemoryStore())
    observe(store.store, JOB, "NORMAL", NOW - timedelta(days=10))
    reader = _reader(store)
    time = reader.read_time(store.remaining_seconds)

    store.left = 10.0  # eight calls: the oldest day, today, a few probes, the day, a GET
    page = reader.history(JOB, time=time)

    assert _outlived(store) == []
    assert [document["observed_at"] for document in page["documents"]] == [
        "2026-11-15T12:00:00.000Z"
    ]
    assert page["next_cursor"] is None


def test_a_search_past_empty_days_short_of_time_goes_on_from_where_it_reached() -> None:
    store = SpendingStore(MemoryStore())
    observe(store.store, JOB, "NORMAL", NOW - timedelta(days=300))
    reader = _reader(store)
    time = reader.read_time(store.remaining_seconds)

    store.left = CALL_SECONDS + ANSWER_MARGIN_SECONDS + 3  # the oldest day, today, 2 probes
    page = reader.history(JOB, time=time)

    assert _outlived(store) == []
    assert len(store.left_at_calls) == 4
    assert page["documents"] == []
    assert page["next_cursor"] is not None
    assert time.cut
    store.left = None
    assert _walk(reader, JOB, cursor=page["next_cursor"]) == _walk(reader, JOB)


def test_documents_found_past_empty_days_but_not_read_in_time_give_a_cursor() -> None:
    """The walk found the day's documents and had no time left to GET them: the page
    is empty with a cursor at the start of that day (the days after it are empty),
    not a 503 that would make the next request walk the same days again."""
    store = SpendingStore(MemoryStore())
    observe(store.store, JOB, "NORMAL", NOW - timedelta(days=300, minutes=5))
    observe(store.store, JOB, "EXCEPTION", NOW - timedelta(days=300))
    reader = _reader(store)
    reader.history(JOB)
    listings = reader.last_cost.listing_calls
    time = reader.read_time(store.remaining_seconds)

    store.left = CALL_SECONDS + ANSWER_MARGIN_SECONDS + listings - 1  # every listing, no GET
    page = reader.history(JOB, time=time)

    assert _outlived(store) == []
    assert len(store.left_at_calls) == listings
    assert page["documents"] == []
    assert time.cut
    store.left = None
    rest = _walk(reader, JOB, cursor=page["next_cursor"])
    assert rest == _walk(reader, JOB)
    assert len(rest) == 2


def test_a_history_with_no_time_to_list_its_first_day_is_too_slow() -> None:
    store = SpendingStore(MemoryStore())
    observe(store.store, JOB, "NORMAL", NOW - timedelta(minutes=5))
    reader = _reader(store)

    store.left = CALL_SECONDS + ANSWER_MARGIN_SECONDS + 0.5  # the oldest day only
    with pytest.raises(StoreTooSlow, match="no time left"):
        reader.history(JOB, time=reader.read_time(store.remaining_seconds))
    assert _outlived(store) == []
    assert len(store.left_at_calls) == 1


def test_a_fleet_short_of_time_reads_what_fits_and_the_next_request_reads_on() -> None:
    store = SpendingStore(MemoryStore())
    for number in range(6):
        observe(store.store, JobRef.parse(PROJECT, f"job-{number}"), "NORMAL", NOW)
    reader = _reader(store)
    time = reader.read_time(store.remaining_seconds)

    store.left = 6.0  # two listings (a freshness one), two GETs
    fleet = reader.fleet(PROJECT, time=time)

    assert _outlived(store) == []
    assert time.cut
    assert fleet["summary"]["job_count"] == 6
    unread = [row["job_name"] for row in fleet["jobs"] if row.get("error") == NO_TIME_LEFT]
    assert len(unread) == 4
    store.left = 6.0
    store.left_at_calls.clear()
    again = reader.fleet(PROJECT, time=reader.read_time(store.remaining_seconds))
    still = [row["job_name"] for row in again["jobs"] if row.get("error") == NO_TIME_LEFT]
    assert len(still) == 2
    assert set(still) < set(unread)


def test_a_fleet_that_cannot_list_its_next_page_is_too_slow() -> None:
    """Its summary would count only some of the jobs: no fleet rather than a wrong one."""
    store = SpendingStore(MemoryStore(), page_size=2)
    for number in range(6):
        observe(store.store, JobRef.parse(PROJECT, f"job-{number}"), "NORMAL", NOW)
    reader = _reader(store)

    store.left = 5.0  # freshness, the first page and its first GET
    with pytest.raises(StoreTooSlow, match="list the fleet"):
        reader.fleet(PROJECT, time=reader.read_time(store.remaining_seconds))
    assert _outlived(store) == []


def test_without_a_clock_nothing_is_cut() -> None:
    """The CLI and `serve` pass no remaining time: every call starts."""
    time = ReadTime(None, CALL_SECONDS)
    assert time.allows(calls=1000)
    assert not time.cut


def test_only_a_slow_stores_problem_says_when_to_retry() -> None:
    assert retry_after_seconds(StoreTooSlow("slow")) == 5
    assert retry_after_seconds(StoreError("down")) is None
    assert issubclass(StoreTooSlow, StoreError)
