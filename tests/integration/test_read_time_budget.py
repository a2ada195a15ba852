"""The read routes inside the HTTP function's time, whatever the store's speed: the
fleet, history and transitions over SeaweedFS behind a real proxy on loopback that
stands for a store answering every request as late as the S3 client's timeouts allow.
Nothing sleeps: each request the proxy sees spends that much of an invocation clock
the test holds (`SlowStoreClock`, as for the writes).

No request may end with less than the answer's margin left (Lambda's timeout would cut
it, and API Gateway answer its own 5xx). A read short of time answers what it read: a
fleet row not read says so, a page comes back short with a cursor that goes on from
there; with no time for even the first listing, a 503 problem with Retry-After. None
of them is kept by a cache as if it were the whole answer.

The reader runs one worker here: the clock spends each request's time in turn, which
is the wall time only when the requests run one after another. (Concurrent GETs are
each checked as they start, so each ends in time just the same.)"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import pytest

from dlf_status import bootstrap
from dlf_status.adapters.store_s3 import S3Store, s3_call_worst_case
from dlf_status.domain.model import JobRef
from dlf_status.entrypoints.http_api import StatusApi
from dlf_status.errors import ConfigurationError
from dlf_status.service import ANSWER_MARGIN_SECONDS, SnapshotWriter
from tests.integration.test_store_time_budget import (
    REQUEST_SECONDS,
    STORE_TIMEOUT,
    SlowStoreClock,
)
from tests.support.events import http_api_event
from tests.support.faults import S3Proxy
from tests.support.read_models import observe
from tests.support.root import root_settings
from tests.support.seaweed import (
    SeaweedServer,
    production_s3_client,
)

pytestmark = pytest.mark.integration

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
FLEET_SIZE = 20
HISTORY_JOB = JobRef.parse(PROJECT, "orders stream")
# Ten observations of one job, a minute apart, its status changing at each: ten
# history objects, nine transition records.
HISTORY_START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
HISTORY_STATUSES = ("NORMAL", "EXCEPTION") * 5
# What one call needs left before it starts: its worst case and the answer's margin.
CALL_NEEDS = s3_call_worst_case(STORE_TIMEOUT) + ANSWER_MARGIN_SECONDS
PLENTY = 1000.0


class SlowStore(NamedTuple):
    api: StatusApi
    clock: SlowStoreClock
    proxy: S3Proxy
    store: S3Store


def _refuse_status(job: JobRef, *, remaining_seconds: Any = None) -> Any:
    raise ConfigurationError("these tests read the store only")


@pytest.fixture
def slow_store(seaweed: SeaweedServer) -> Iterator[SlowStore]:
    """The HTTP API's read routes as the function builds them (STORE_TIMEOUT 2 s, an
    S3 store), reaching SeaweedFS through the proxy; a fleet of FLEET_SIZE jobs, one
    of them with a history."""
    clock = SlowStoreClock()

    def spend(method: str, path: str) -> bool:
        clock.saw(method, path)
        return False  # every request is forwarded

    proxy = S3Proxy(seaweed.endpoint, spend)
    proxy.__enter__()
    client = production_s3_client(proxy.url, STORE_TIMEOUT)
    prefix = f"reads-{uuid.uuid4().hex[:12]}"
    store = S3Store(client, seaweed.bucket, prefix)
    writer = SnapshotWriter(store)
    for number in range(FLEET_SIZE - 1):
        observe(store, JobRef.parse(PROJECT, f"job-{number:02}"), "NORMAL", HISTORY_START)
    for step, status in enumerate(HISTORY_STATUSES):
        observe(store, HISTORY_JOB, status, HISTORY_START + timedelta(minutes=step), None, writer)
    settings = root_settings(
        SNAPSHOT_URI=f"s3://{seaweed.bucket}/{prefix}", STORE_TIMEOUT=str(STORE_TIMEOUT)
    )

    def reader() -> Any:
        made = bootstrap.build_store_reader(settings, store=store)
        made.workers = 1  # see the module's docstring
        return made

    try:
        yield SlowStore(StatusApi(_refuse_status, reader), clock, proxy, store)
    finally:
        proxy.__exit__()


def _get(
    slow: SlowStore,
    route: str | None,
    left: float,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One invocation with `left` seconds to go: the clock starts anew."""
    slow.clock.left_at_requests.clear()
    slow.clock.start(left)
    event = http_api_event(
        PROJECT,
        None if route is None else HISTORY_JOB.job_name,
        route=route,
        query=query,
        headers=headers,
    )
    return slow.api.handle(event, request_id="r-1", remaining_seconds=slow.clock.remaining_seconds)


def _body(answer: dict[str, Any]) -> Any:
    return json.loads(answer["body"])


ROUTES = (None, "history", "transitions")


@pytest.mark.parametrize("route", ROUTES, ids=["fleet", "history", "transitions"])
@pytest.mark.parametrize("left", [3.0, 8.0, 12.0, 16.0, 20.0, 25.0])
def test_a_read_route_never_outlives_the_invocation(
    slow_store: SlowStore, route: str | None, left: float
) -> None:
    answer = _get(slow_store, route, left)

    assert slow_store.clock.outlived() == []
    assert answer["statusCode"] in (200, 503), answer["body"][:300]


@pytest.mark.parametrize("route", ROUTES, ids=["fleet", "history", "transitions"])
def test_no_time_for_the_first_listing_is_a_503_to_retry(
    slow_store: SlowStore, route: str | None
) -> None:
    answer = _get(slow_store, route, CALL_NEEDS - REQUEST_SECONDS / 4)

    assert slow_store.clock.left_at_requests == []  # nothing was started
    assert answer["statusCode"] == 503
    assert answer["headers"]["Content-Type"] == "application/problem+json"
    assert answer["headers"]["Cache-Control"] == "no-store"
    assert int(answer["headers"]["Retry-After"]) >= 1
    problem = _body(answer)
    assert problem["type"] == "urn:dlf-status:problem:store-too-slow"
    assert problem["status"] == 503
    assert "no time left" in problem["detail"]


def test_a_fleet_short_of_time_says_which_rows_it_did_not_read(slow_store: SlowStore) -> None:
    cut = _get(slow_store, None, 25.0)

    assert slow_store.clock.outlived() == []
    assert cut["statusCode"] == 200
    document = _body(cut)
    unread = [row for row in document["jobs"] if row.get("error") == "not read: no time left"]
    read = [row for row in document["jobs"] if row["valid"]]
    assert unread
    assert read
    assert len(unread) + len(read) == FLEET_SIZE
    assert all(row["status"] == "UNKNOWN" for row in unread)
    assert document["summary"]["job_count"] == FLEET_SIZE  # every job listed, counted
    # Never kept as the whole fleet: revalidated at each use.
    assert cut["headers"]["Cache-Control"] == "no-cache"

    # The next invocation, with time, reads on (the cache keeps what was read) and the
    # answer held before is not the one now: never a 304 for it.
    whole = _get(slow_store, None, PLENTY, headers={"If-None-Match": cut["headers"]["ETag"]})
    assert whole["statusCode"] == 200
    assert whole["headers"]["ETag"] != cut["headers"]["ETag"]
    assert whole["headers"]["Cache-Control"].startswith("max-age=")
    assert all(row["valid"] for row in _body(whole)["jobs"])
    reads = [
        method for method, path, _ in slow_store.clock.left_at_requests if "list-type" not in path
    ]
    assert len(reads) == len(unread)  # only what the cut answer had not read


@pytest.mark.parametrize("route", ["history", "transitions"])
def test_a_page_short_of_time_goes_on_from_its_cursor_and_loses_nothing(
    slow_store: SlowStore, route: str
) -> None:
    items = "documents" if route == "history" else "records"
    whole = _body(_get(slow_store, route, PLENTY))[items]
    assert len(whole) == (10 if route == "history" else 9)

    collected: list[Any] = []
    cursor: str | None = None
    cut_pages = 0
    for _ in range(20):
        answer = _get(slow_store, route, 16.0, None if cursor is None else {"cursor": cursor})
        assert slow_store.clock.outlived() == []
        assert answer["statusCode"] == 200
        page = _body(answer)
        assert page["unreadable"] == []
        collected.extend(page[items])
        more = page["next_cursor"] is not None if route == "history" else page["has_more"]
        if more and len(page[items]) < page["limit"]:  # cut short of time
            cut_pages += 1
            assert answer["headers"]["Cache-Control"] == "no-cache"
        else:
            assert answer["headers"]["Cache-Control"].startswith("max-age=")
        if not more:
            break
        cursor = page["next_cursor"]
    assert cut_pages >= 1
    assert collected == whole


# A job of another workspace (the fleet's counts stay the fixture's) with two documents
# a hundred days apart, the newer two hundred days ago.
SPARSE_JOB = JobRef.parse(PROJECT, "rarely changes", "sparse")
A_YEAR_AGO = (datetime.now(UTC) - timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sparse_history(slow: SlowStore, left: float, cursor: str | None = None) -> dict[str, Any]:
    slow.clock.left_at_requests.clear()
    slow.clock.start(left)
    query = {"from": A_YEAR_AGO}  # one query: a cursor is bound to it
    if cursor is not None:
        query["cursor"] = cursor
    event = http_api_event(
        PROJECT, SPARSE_JOB.job_name, route="history", query=query, headers={"workspace": "sparse"}
    )
    return slow.api.handle(event, request_id="r-1", remaining_seconds=slow.clock.remaining_seconds)


def test_a_year_of_empty_days_is_neither_a_503_nor_a_page_per_month(slow_store: SlowStore) -> None:
    """`?from=<a year ago>` for a job with two documents: both in one page, found in a
    few one-key listings; short of time, pages that move on past the empty days (the
    cursor pins the query's `from`), never the 503 of a walk that found documents and
    could not read them, nothing skipped or repeated."""
    now = datetime.now(UTC).replace(microsecond=0)
    observe(slow_store.store, SPARSE_JOB, "NORMAL", now - timedelta(days=300))
    observe(slow_store.store, SPARSE_JOB, "EXCEPTION", now - timedelta(days=200))

    whole = _sparse_history(slow_store, PLENTY)
    assert whole["statusCode"] == 200
    page = _body(whole)
    assert [document["observed_at"][:10] for document in page["documents"]] == [
        (now - timedelta(days=200)).date().isoformat(),
        (now - timedelta(days=300)).date().isoformat(),
    ]
    assert page["next_cursor"] is None
    listings = [path for _, path, _ in slow_store.clock.left_at_requests if "list-type" in path]
    assert len(listings) <= 25  # a listing per day would be 366

    # Time for six calls per request: each page moves on, and the whole comes through.
    collected: list[Any] = []
    cursor: str | None = None
    answers = 0
    while True:
        answer = _sparse_history(slow_store, CALL_NEEDS + 5 * REQUEST_SECONDS, cursor)
        answers += 1
        assert slow_store.clock.outlived() == []
        assert answer["statusCode"] == 200, answer["body"][:300]
        page = _body(answer)
        collected.extend(page["documents"])
        if page["next_cursor"] is None:
            break
        assert page["next_cursor"] != cursor
        cursor = page["next_cursor"]
        assert answers < 30
    assert collected == _body(whole)["documents"]
