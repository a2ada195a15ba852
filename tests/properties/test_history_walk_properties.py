"""History's walk, newest first, over any spread of documents (dense days, years of
empty ones, documents on the bounds): following `next_cursor` gives every document in
[from, to) once, in order, and with a time budget per request every page either moves
on or is the `store-too-slow` refusal of a request that could do nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlf_status.domain.model import JobRef
from dlf_status.domain.timestamps import format_utc
from dlf_status.errors import StoreTooSlow
from dlf_status.readers import StoreReader
from dlf_status.service import ANSWER_MARGIN_SECONDS
from tests.support.clock import FixedClock
from tests.support.fakes import MemoryStore
from tests.support.read_models import observe
from tests.unit.test_read_time import CALL_SECONDS, SpendingStore

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
JOB = JobRef.parse("p1", "orders")
SPAN_MINUTES = 800 * 24 * 60

# Minutes before NOW: clustered (several on one day) and spread over two years.
offsets = st.lists(
    st.one_of(
        st.integers(0, SPAN_MINUTES),
        st.integers(0, SPAN_MINUTES).map(lambda minute: minute - minute % 1440 + 700),
    ),
    min_size=0,
    max_size=8,
    unique=True,
)
bounds = st.tuples(
    st.none() | st.integers(-60, SPAN_MINUTES + 2000), st.none() | st.integers(-60, SPAN_MINUTES)
)


def _store(minutes: list[int]) -> tuple[SpendingStore, list[datetime]]:
    store = SpendingStore(MemoryStore())
    moments = sorted(NOW - timedelta(minutes=minute) for minute in minutes)
    for number, moment in enumerate(moments):  # a status change each: an object each
        observe(store.store, JOB, ("NORMAL", "EXCEPTION")[number % 2], moment)
    return store, moments


def _bounds(start: int | None, end: int | None) -> tuple[datetime | None, datetime | None]:
    low = None if start is None else NOW - timedelta(minutes=start)
    high = None if end is None else NOW - timedelta(minutes=end)
    if low is not None and high is not None and low >= high:
        return high, low + timedelta(minutes=1)
    return low, high


def _expected(moments: list[datetime], start: datetime | None, end: datetime | None) -> list[str]:
    high = end or NOW
    low = start or high - timedelta(days=400)  # HISTORY_DAYS_WITHOUT_FROM before `to`
    return [format_utc(moment) for moment in reversed(moments) if low <= moment < high]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(minutes=offsets, bound=bounds, limit=st.integers(1, 4))
def test_every_document_in_the_bounds_once_in_order(
    minutes: list[int], bound: tuple[int | None, int | None], limit: int
) -> None:
    store, moments = _store(minutes)
    start, end = _bounds(*bound)
    reader = StoreReader(store, FixedClock(NOW), workers=1, store_call_seconds=CALL_SECONDS)

    seen: list[str] = []
    cursor = None
    for _ in range(len(moments) + 30):
        page = reader.history(JOB, start=start, end=end, limit=limit, cursor=cursor)
        assert len(page["documents"]) <= limit
        seen.extend(document["observed_at"] for document in page["documents"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert cursor is None
    assert seen == _expected(moments, start, end)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(minutes=offsets, bound=bounds, limit=st.integers(1, 4), calls=st.integers(1, 12))
def test_pages_short_of_time_move_on_and_lose_nothing(
    minutes: list[int], bound: tuple[int | None, int | None], limit: int, calls: int
) -> None:
    """Each request may start `calls` store calls: a page it answers is followed; a
    refusal (only with fewer than three calls) is asked again with no bound (a retry
    that gets through). Every page moves on."""
    store, moments = _store(minutes)
    start, end = _bounds(*bound)
    reader = StoreReader(store, FixedClock(NOW), workers=1, store_call_seconds=CALL_SECONDS)

    seen: list[str] = []
    cursor = None
    # Two calls a request may move on by one day only: the bound is the span's days.
    for _ in range(2 * 800 + 10 * len(moments) + 10):
        store.left = CALL_SECONDS + ANSWER_MARGIN_SECONDS + calls - 1
        store.left_at_calls.clear()
        try:
            page = reader.history(
                JOB,
                start=start,
                end=end,
                limit=limit,
                cursor=cursor,
                time=reader.read_time(store.remaining_seconds),
            )
        except StoreTooSlow:
            # Three calls (the oldest day, a day, a GET) always move on: the walk
            # keeps the time to read one document it found, or its cursor skips the
            # empty days it walked.
            assert calls < 3
            store.left = None
            page = reader.history(JOB, start=start, end=end, limit=limit, cursor=cursor)
        assert cursor is None or page["next_cursor"] != cursor or page["documents"]
        seen.extend(document["observed_at"] for document in page["documents"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert cursor is None
    assert seen == _expected(moments, start, end)
