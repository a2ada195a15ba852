"""A write inside the invocation's time, whatever the store's speed: SeaweedFS behind a
real proxy on loopback that stands for a store answering every request as late as the
S3 client's timeouts allow. Nothing sleeps: each request the proxy sees spends that
much of an invocation clock the test holds, and records what was left when it came.

A request that ends with less than the answer's margin left is one Lambda's timeout
may cut (and API Gateway answers its own 5xx): none may ever be sent. A write that runs
out of time stops between two calls, says `failed`, and the next writer completes it:
latest.json holds the newest observation and the transition is recorded once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pytest_httpserver import HTTPServer

from dlf_status.adapters.store_s3 import (
    STORE_ATTEMPTS,
    S3Store,
    s3_call_worst_case,
)
from dlf_status.adapters.upstream_http import HttpUpstreamClient
from dlf_status.bootstrap import build_status_service, store_call_worst_case, store_write_check
from dlf_status.domain.model import JobRef
from dlf_status.domain.snapshots import SnapshotOutcome, latest_key
from dlf_status.errors import StoreError, UpstreamError
from dlf_status.service import ANSWER_MARGIN_SECONDS, SnapshotWriter
from tests.integration.conftest import (
    check_transition_records,
    exchange_response,
    match_path,
)
from tests.integration.test_transition_events_on_the_store import at, records_in
from tests.support.faults import S3Proxy
from tests.support.read_models import observe, status_document
from tests.support.root import root_settings
from tests.support.seaweed import (
    SeaweedServer,
    production_s3_client,
)

pytestmark = pytest.mark.integration

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
JOB = JobRef.parse(PROJECT, "orders stream")
STORE_TIMEOUT = 2.0
# One request of a store that answers as late as the client lets it: a connect and a
# read, each at its timeout's share (store_s3.s3_timeouts).
REQUEST_SECONDS = STORE_TIMEOUT / STORE_ATTEMPTS
PRECONDITION_FAILED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code>'
    b"<Message>At least one of the pre-conditions you specified did not hold</Message>"
    b"</Error>"
)


class SlowStoreClock:
    """The invocation's remaining time; each request the proxy sees spends
    REQUEST_SECONDS of it. `left_at_requests`: what was left as each one came."""

    def __init__(self) -> None:
        self.left: float | None = None  # None: no deadline (the writer before the test's)
        self.left_at_requests: list[tuple[str, str, float]] = []

    def start(self, left: float) -> None:
        self.left = left

    def remaining_seconds(self) -> float:
        assert self.left is not None
        return self.left

    def saw(self, method: str, path: str) -> None:
        if self.left is not None:
            self.left_at_requests.append((method, path, self.left))
            self.left -= REQUEST_SECONDS

    def outlived(self) -> list[tuple[str, str, float]]:
        """Requests that ended with less than the answer's margin left."""
        return [
            request
            for request in self.left_at_requests
            if request[2] - REQUEST_SECONDS < ANSWER_MARGIN_SECONDS
        ]


Made = tuple[S3Store, S3Proxy, SlowStoreClock]


@pytest.fixture
def slow_store(seaweed: SeaweedServer) -> Iterator[Callable[..., Made]]:
    """A production S3 store (make_s3_client, STORE_TIMEOUT 2 s) reaching SeaweedFS
    through the proxy; `refuse(method, path)` answers that request 412 itself."""
    made: list[Made] = []

    def make(refuse: Callable[[str, str], bool] = lambda method, path: False) -> Made:
        clock = SlowStoreClock()

        def hook(method: str, path: str) -> bool:
            timed = clock.left is not None  # the earlier writers' requests pass
            clock.saw(method, path)
            return timed and refuse(method, path)

        proxy = S3Proxy(seaweed.endpoint, hook, status=412, error=PRECONDITION_FAILED)
        proxy.__enter__()
        client = production_s3_client(proxy.url, STORE_TIMEOUT)
        store = S3Store(client, seaweed.bucket, f"budget-{uuid.uuid4().hex[:12]}")
        made.append((store, proxy, clock))
        return store, proxy, clock

    yield make
    for store, proxy, _ in made:
        proxy.__exit__()
        check_transition_records(store)


def new_container_writer(store: S3Store) -> SnapshotWriter:
    """A new container's writer as production builds it: nothing remembered, the
    store's conditional-write check pending."""
    settings = root_settings(SNAPSHOT_URI="s3://snapshots/x", STORE_TIMEOUT=str(STORE_TIMEOUT))
    return SnapshotWriter(
        store,
        store_call_seconds=store_call_worst_case(settings),
        write_check=store_write_check(settings, store),
    )


def writer_of(store: S3Store) -> SnapshotWriter:
    """A new container's writer (it remembers nothing), as production builds it."""
    return SnapshotWriter(store, store_call_seconds=s3_call_worst_case(STORE_TIMEOUT))


@pytest.mark.parametrize("left", [3.2, 8.0, 9.5, 12.0, 30.0])
def test_a_write_never_outlives_the_invocation_and_the_next_writer_completes_it(
    slow_store: Callable[..., Made], left: float
) -> None:
    """The upstream answered with `left` seconds of the invocation to go; the store
    answers every request at its timeouts."""
    store, _, clock = slow_store()
    observe(store, JOB, "NORMAL", at(0), None, writer_of(store))

    clock.start(left)
    try:
        outcome = (
            writer_of(store)
            .write(
                JOB,
                status_document(JOB, "EXCEPTION", at(1), None),
                at(1),
                remaining_seconds=clock.remaining_seconds,
            )
            .outcome
        )
    except StoreError:
        outcome = SnapshotOutcome.FAILED

    assert clock.outlived() == []
    assert outcome in (SnapshotOutcome.CHANGED, SnapshotOutcome.FAILED)
    if left >= 30:  # time for every call at its worst
        assert outcome is SnapshotOutcome.CHANGED
    clock.left = None
    observe(store, JOB, "EXCEPTION", at(2), None, writer_of(store))
    [record] = records_in(store)
    assert (record["changes"][0]["from"], record["changes"][0]["to"]) == ("NORMAL", "EXCEPTION")
    latest = store.get(latest_key(JOB))
    assert latest is not None
    assert b'"EXCEPTION"' in latest.body


def test_a_write_out_of_time_says_so_and_stops_before_its_next_call(
    slow_store: Callable[..., Made],
) -> None:
    """Time for the read and the history object only: no staged record, no swap."""
    store, _, clock = slow_store()
    observe(store, JOB, "NORMAL", at(0), None, writer_of(store))
    needed = s3_call_worst_case(STORE_TIMEOUT) + ANSWER_MARGIN_SECONDS

    clock.start(needed + REQUEST_SECONDS)  # after two requests, less than a call needs
    with pytest.raises(StoreError, match="no time left to stage the transition record"):
        writer_of(store).write(
            JOB,
            status_document(JOB, "EXCEPTION", at(1), None),
            at(1),
            remaining_seconds=clock.remaining_seconds,
        )

    assert [method for method, _, _ in clock.left_at_requests] == ["GET", "PUT"]
    assert "/history/" in clock.left_at_requests[1][1]
    assert records_in(store) == []


def test_the_compare_and_swap_retries_stop_in_time(slow_store: Callable[..., Made]) -> None:
    """Another writer seems to win every swap (the store answers 412 to each PUT of
    latest.json): the writer reads and tries again only while time is left."""
    store, _, clock = slow_store(
        refuse=lambda method, path: method == "PUT" and path.split("?")[0].endswith("latest.json")
    )
    observe(store, JOB, "NORMAL", at(0), None, writer_of(store))

    clock.start(16.0)
    with pytest.raises(StoreError, match="no time left"):
        writer_of(store).write(
            JOB,
            status_document(JOB, "EXCEPTION", at(1), None),
            at(1),
            remaining_seconds=clock.remaining_seconds,
        )

    assert clock.outlived() == []
    swaps = [path for method, path, _ in clock.left_at_requests if method == "PUT"]
    assert sum(path.split("?")[0].endswith("latest.json") for path in swaps) >= 2


def test_a_stores_retry_after_header_never_stretches_the_pause() -> None:
    """botocore would pause up to 5 s longer for `x-amz-retry-after`: the client drops
    it before the retry handler reads it, so a call keeps to `s3_call_worst_case`. A
    raw loopback store answers every GET 503 SlowDown with the header."""
    seen: list[str | None] = []
    requests: list[str] = []

    class SlowDownForever(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            requests.append(self.path)
            body = b"<Error><Code>SlowDown</Code><Message>slow down</Message></Error>"
            self.send_response(503)
            self.send_header("x-amz-retry-after", "4000")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowDownForever)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = production_s3_client(f"http://127.0.0.1:{server.server_address[1]}", STORE_TIMEOUT)
        client.meta.events.register(
            "needs-retry.s3",
            lambda response=None, **_: seen.append(
                None if response is None else response[0].headers.get("x-amz-retry-after")
            ),
        )
        with pytest.raises(StoreError, match="SlowDown"):
            S3Store(client, "snapshots").get("latest/x.json")
    finally:
        server.shutdown()
        server.server_close()

    assert len(requests) == STORE_ATTEMPTS
    assert seen == [None] * STORE_ATTEMPTS


@pytest.mark.parametrize("left", [0.0, -1.0, float("nan"), 1.0])
def test_a_ticks_freshness_record_waits_for_time_or_reports_its_jobs_failed(
    slow_store: Callable[..., Made], left: float
) -> None:
    """A warm tick confirms an unchanged job (no store call), and its last job ended
    with `left` seconds of the invocation: less than the freshness record's PUT needs
    at its worst. No request is sent; the job is reported failed, and forgotten (the
    next tick writes its latest.json)."""
    store, _, clock = slow_store()
    writer = writer_of(store)
    observe(store, JOB, "NORMAL", at(0), None, writer)
    tick = writer.begin_tick([JOB])
    confirmed = writer.write(
        JOB, status_document(JOB, "NORMAL", at(1), None), at(1), tick=tick
    ).outcome

    clock.start(left)
    failed = writer.finish_tick(tick, "tick-1", at(1), clock.remaining_seconds)

    assert confirmed is SnapshotOutcome.CONFIRMED
    assert clock.left_at_requests == []
    assert list(failed) == [(PROJECT, None, JOB.job_name)]
    assert (
        "no time left to write the freshness record" in failed[(PROJECT, None, JOB.job_name)].detail
    )
    clock.left = None
    again = writer.begin_tick([JOB])
    assert (
        writer.write(JOB, status_document(JOB, "NORMAL", at(2), None), at(2), tick=again).outcome
        is SnapshotOutcome.UNCHANGED
    )


@pytest.mark.parametrize("left", [0.0, -1.0, float("nan"), 1.0])
@pytest.mark.parametrize("gone", [False, True])
def test_a_write_with_no_time_left_writes_nothing_and_says_so(
    slow_store: Callable[..., Made], left: float, gone: bool
) -> None:
    """Remaining time of 0, negative, not a number, or less than one call: not one
    request, a `StoreError` saying why, and the store as it was (a warm writer too,
    which needs no read first)."""
    store, _, clock = slow_store()
    writer = writer_of(store)
    observe(store, JOB, "NORMAL", at(0), None, writer)
    before = store.get(latest_key(JOB))

    def attempt() -> object:
        if gone:
            return writer.write_gone(
                JOB,
                {
                    "project_id": PROJECT,
                    "workspace": None,
                    "job_name": JOB.job_name,
                    "endpoint": "x",
                },
                "2026-11-25T08:01:00.000Z",
                {"error_code": "DLF.0100", "error_msg": "The job does not exist."},
                clock.remaining_seconds,
            )
        return writer.write(
            JOB,
            status_document(JOB, "EXCEPTION", at(1), None),
            at(1),
            remaining_seconds=clock.remaining_seconds,
        )

    clock.start(left)
    with pytest.raises(StoreError, match="no time left"):
        attempt()

    assert clock.left_at_requests == []
    clock.left = None
    assert store.get(latest_key(JOB)) == before
    assert records_in(store) == []


@pytest.mark.parametrize(
    "left", [s3_call_worst_case(STORE_TIMEOUT) + ANSWER_MARGIN_SECONDS + REQUEST_SECONDS, 30.0]
)
def test_a_new_containers_first_write_keeps_its_probe_within_the_time(
    seaweed: SeaweedServer, left: float
) -> None:
    """A strict store checks that the store honours conditional writes before its first
    write (up to three PUTs). A new container's first write, with time for one store
    call and a request more: each of the check's PUTs is a call of its own, started
    only with its worst case left, and so is the write's next call after it.
    The store answers every other PUT 503 SlowDown (the first attempt of each:
    botocore retries it)."""
    clock = SlowStoreClock()
    puts: list[str] = []

    def slow_down_every_other_put(method: str, path: str) -> bool:
        clock.saw(method, path)
        if method != "PUT" or clock.left is None:
            return False
        puts.append(path)
        return len(puts) % 2 == 1

    with S3Proxy(seaweed.endpoint, slow_down_every_other_put) as proxy:
        store = S3Store(
            production_s3_client(proxy.url, STORE_TIMEOUT),
            seaweed.bucket,
            f"budget-{uuid.uuid4().hex[:12]}",
        )
        writer = new_container_writer(store)
        clock.start(left)
        try:
            outcome = writer.write(
                JOB,
                status_document(JOB, "NORMAL", at(0), None),
                at(0),
                remaining_seconds=clock.remaining_seconds,
            ).outcome
        except StoreError as error:
            outcome, detail = SnapshotOutcome.FAILED, error.detail

    assert clock.outlived() == []
    if left >= 30:
        assert outcome is SnapshotOutcome.CHANGED
    else:
        assert outcome is SnapshotOutcome.FAILED
        assert "no time left to" in detail
        assert "/history/" not in str(clock.left_at_requests)


@pytest.mark.parametrize("left", [float("nan"), 0.0])
def test_a_failed_upstream_with_no_time_left_reads_no_stale_snapshot(
    slow_store: Callable[..., Made],
    upstream: HTTPServer,
    make_client: Callable[..., HttpUpstreamClient],
    left: float,
) -> None:
    """The upstream fails and a snapshot could stand in, but the invocation's remaining
    time is none (0, or not a number): the stale fallback sends no GET, and the
    upstream's failure is the answer."""
    store, _, clock = slow_store()
    observe(store, JOB, "NORMAL", at(0), None, writer_of(store))
    upstream.expect_request(match_path(JOB.job_name)).respond_with_response(
        exchange_response("server-503-json")
    )
    service = build_status_service(
        root_settings(SNAPSHOT_URI="s3://snapshots/x", STORE_TIMEOUT=str(STORE_TIMEOUT)),
        upstream=make_client(max_attempts=1),
        store=store,
    )

    clock.start(left)
    with pytest.raises(UpstreamError):
        service.observe(JOB, serve_stale=True, remaining_seconds=clock.remaining_seconds)

    assert clock.left_at_requests == []
    clock.left = None
