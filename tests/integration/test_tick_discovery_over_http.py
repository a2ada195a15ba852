"""Discovery inside scheduled ticks, end to end: the job list and the status call
served over real HTTP on loopback (signed requests), snapshots and the discovered
listings in SeaweedFS (and the local directory store). The list pages each way the
sources allow, changes between calls, fails mid-listing and lies about `total`; a
job that leaves it is reported gone once and polled again when it comes back."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from dlf_status import bootstrap
from dlf_status.adapters.upstream_http import HttpUpstreamClient
from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import ResponseValidator
from dlf_status.domain.gone import is_gone_document
from dlf_status.domain.model import JobRef
from dlf_status.domain.ports import ObjectStore
from dlf_status.domain.snapshots import latest_key
from dlf_status.entrypoints import schedule
from tests.integration.conftest import PROJECT, TickingClock, stored_keys
from tests.support.job_list_server import (
    JSON,
    Mutation,
    OffsetMeaning,
    SimulatedJobList,
    TotalMeaning,
)
from tests.support.root import root_settings

pytestmark = pytest.mark.integration

WORKSPACE = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
NAMES = [f"stream-{index:03d}" for index in range(230)]
DISCOVER = {"project_id": PROJECT, "workspace": WORKSPACE, "discover": True}
BUSY = (503, {"error_code": "APIG.1000", "error_msg": "busy", "request_id": "r"})
_STATUS = re.compile(rf"^/v1/{PROJECT}/jobs/(?P<name>[^/]+)/status$")


class DataArts:
    """One workspace served over HTTP: the job list (simulated paging) and the status
    call (200 for a listed job, DLF.0100 otherwise), every request kept."""

    def __init__(self, listing: SimulatedJobList) -> None:
        self.listing = listing
        self.status_requests: list[str] = []
        self.list_requests = 0

    def __call__(self, request: Request) -> Response:
        match = _STATUS.match(request.path)
        if match is None:
            self.list_requests += 1
            assert request.headers.get("workspace") == WORKSPACE
            assert request.args["jobType"] == "REAL_TIME"
            return self.listing.werkzeug_handler(request)
        name = match["name"]
        self.status_requests.append(name)
        if name in self.listing.names:
            body: dict[str, Any] = {"name": name, "status": "NORMAL"}
            return Response(jsoncodec.canonical_bytes(body), status=200, headers=JSON)
        body = {"error_code": "DLF.0100", "error_msg": "The job not found"}
        return Response(jsoncodec.canonical_bytes(body), status=400, headers=JSON)


Report = dict[str, Any]
Tick = Callable[..., Report]


@pytest.fixture
def serve(upstream: HTTPServer) -> Callable[[SimulatedJobList], DataArts]:
    def start(listing: SimulatedJobList) -> DataArts:
        served = DataArts(listing)
        upstream.expect_request(re.compile(rf"^/v1/{PROJECT}/jobs.*")).respond_with_handler(served)
        return served

    return start


def ticks(
    make_client: Callable[..., HttpUpstreamClient],
    store: ObjectStore,
    validator: ResponseValidator,
) -> Tick:
    """Run one scheduled tick over `jobs` as the schedule function does (its report is
    the result), against the loopback upstream and `store`; each tick is a new
    container (nothing remembered)."""
    clock = TickingClock()
    number = 0

    def run(jobs: list[Any], **client: Any) -> Report:
        nonlocal number
        number += 1
        settings = root_settings(POLL_CONCURRENCY="8")
        service = bootstrap.build_status_service(
            settings,
            upstream=make_client(**client),
            store=store,
            validator=validator,
            clock=clock,
            pool_size=8,
        )
        runner = bootstrap.build_tick_runner(settings, service=service, fan_out=False)
        return schedule.run_tick(runner, {"jobs": jobs, "tick_id": f"exec-{number}"})

    return run


@pytest.fixture
def tick(
    make_client: Callable[..., HttpUpstreamClient],
    s3_store: ObjectStore,
    validator: ResponseValidator,
) -> Tick:
    """Ticks against SeaweedFS."""
    return ticks(make_client, s3_store, validator)


@pytest.fixture
def tick_anywhere(
    make_client: Callable[..., HttpUpstreamClient],
    store: ObjectStore,
    validator: ResponseValidator,
) -> Tick:
    """Ticks against SeaweedFS and the local directory store."""
    return ticks(make_client, store, validator)


def by_result(report: Report) -> dict[str, set[str | None]]:
    found: dict[str, set[str | None]] = {}
    for outcome in report["outcomes"]:
        found.setdefault(outcome["result"], set()).add(outcome.get("job_name"))
    return found


def stored_latest(store: ObjectStore) -> set[str]:
    return {key for key in stored_keys(store) if key.endswith("/latest.json")}


@pytest.mark.parametrize(
    "meaning",
    [OffsetMeaning.RECORDS, OffsetMeaning.PAGES_FROM_0, OffsetMeaning.PAGES_FROM_1],
)
@pytest.mark.parametrize(
    ("max_limit", "refuse"),
    [(1000, False), (50, False), (50, True)],
    ids=["limit honoured", "limit clamped to 50", "limit over 50 refused"],
)
def test_a_tick_polls_every_discovered_job_once_however_the_list_pages(
    meaning: OffsetMeaning,
    max_limit: int,
    refuse: bool,
    serve: Callable[[SimulatedJobList], DataArts],
    tick: Tick,
    s3_store: ObjectStore,
) -> None:
    served = serve(SimulatedJobList(list(NAMES), meaning, max_limit, refuse))

    report = tick(
        [{"project_id": PROJECT, "job_name": "stream-007", "workspace": WORKSPACE}, DISCOVER]
    )

    assert by_result(report) == {"ok": set(NAMES)}
    assert sorted(served.status_requests) == NAMES  # stream-007 once, explicit and listed
    (found,) = report["discoveries"]
    assert (found["ok"], found["jobs"], found["added"], found["complete"]) == (True, 230, 229, True)
    assert found["requests"] == served.list_requests
    latest = stored_latest(s3_store)
    assert latest == {latest_key(JobRef.parse(PROJECT, name, WORKSPACE)) for name in NAMES}
    assert any(key.startswith("_dlf-status/discovered/") for key in stored_keys(s3_store))


@pytest.mark.parametrize("meaning", [OffsetMeaning.RECORDS, OffsetMeaning.PAGES_FROM_0])
def test_a_job_deleted_mid_listing_is_reported_gone_and_one_created_is_polled(
    meaning: OffsetMeaning,
    serve: Callable[[SimulatedJobList], DataArts],
    tick: Tick,
    s3_store: ObjectStore,
) -> None:
    listing = SimulatedJobList(list(NAMES), meaning)
    served = serve(listing)
    tick([DISCOVER])
    listing.requests.clear()
    listing.mutations = (
        Mutation(at=2, create=False, position=5),
        Mutation(at=3, create=True, position=9),
    )
    served.status_requests.clear()

    report = tick([DISCOVER])

    (deleted,), (created,) = listing.deleted, listing.created
    results = by_result(report)
    assert results["gone"] == {deleted}
    assert created in results["ok"]
    assert results["ok"] == set(listing.names)
    (found,) = report["discoveries"]
    assert found["complete"]
    assert found["findings"]  # the listing says it changed while it was read
    assert is_gone_document(_latest(s3_store, deleted))


def test_an_error_mid_listing_is_a_failed_row_and_the_last_listing_is_polled(
    serve: Callable[[SimulatedJobList], DataArts], tick: Tick
) -> None:
    listing = SimulatedJobList(list(NAMES), OffsetMeaning.PAGES_FROM_0)
    served = serve(listing)
    tick([DISCOVER])
    listing.requests.clear()
    listing.fail_at = {2: BUSY, 3: BUSY}
    served.status_requests.clear()

    report = tick(
        [{"project_id": PROJECT, "job_name": "explicit", "workspace": WORKSPACE}, DISCOVER],
        max_attempts=2,
    )

    row = report["outcomes"][0]
    assert (row.get("job_name"), row["result"], row["error"], row["retryable"]) == (
        None,
        "failed",
        "UpstreamUnavailable",
        True,
    )
    assert "failed at offset 2" in row["detail"]
    assert "HTTP 503" in row["detail"]
    assert by_result(report)["ok"] == set(NAMES)  # the last complete listing's jobs
    assert "explicit" in served.status_requests  # the explicit job is still polled
    assert "gone" not in by_result(report)


@pytest.mark.parametrize("lie", [0, 7, 100_000])
def test_a_total_that_lies_changes_nothing_in_the_tick(
    lie: int, serve: Callable[[SimulatedJobList], DataArts], tick: Tick
) -> None:
    serve(SimulatedJobList(list(NAMES), total_meaning=TotalMeaning.LIE, lie=lie))

    report = tick([DISCOVER])

    assert by_result(report) == {"ok": set(NAMES)}
    assert f"total says {lie}, the list holds {len(NAMES)}" in report["discoveries"][0]["findings"]


def test_a_gone_job_is_reported_once_not_polled_again_and_polled_when_it_comes_back(
    serve: Callable[[SimulatedJobList], DataArts], tick_anywhere: Tick, store: ObjectStore
) -> None:
    tick = tick_anywhere
    listing = SimulatedJobList(["alpha", "beta", "gamma"])
    served = serve(listing)
    tick([DISCOVER])
    listing.names.remove("beta")

    second = tick([DISCOVER])
    served.status_requests.clear()
    third = tick([DISCOVER])
    listing.names.append("beta")
    fourth = tick([DISCOVER])

    assert by_result(second) == {"ok": {"alpha", "gamma"}, "gone": {"beta"}}
    assert by_result(third) == {"ok": {"alpha", "gamma"}}
    assert "beta" not in served.status_requests[: len(third["outcomes"])]
    assert by_result(fourth) == {"ok": {"alpha", "beta", "gamma"}}
    beta = JobRef.parse(PROJECT, "beta", WORKSPACE)
    records = _records(store, "beta")
    assert [(r["changes"][0]["from"], r["changes"][0]["to"]) for r in records] == [
        ("NORMAL", None),
        (None, "NORMAL"),
    ]
    assert [r["schema_version"] for r in records] == ["1.1", "1.1"]
    assert not is_gone_document(_latest(store, "beta"))
    assert latest_key(beta) in stored_latest(store)


def _latest(store: ObjectStore, name: str) -> dict[str, Any]:
    stored = store.get(latest_key(JobRef.parse(PROJECT, name, WORKSPACE)))
    assert stored is not None
    document: dict[str, Any] = jsoncodec.loads(stored.body)
    return document


def _records(store: ObjectStore, name: str) -> list[dict[str, Any]]:
    """The job's transition records, oldest first (each checked by the store fixture)."""
    records = []
    for key in stored_keys(store):
        if key.startswith("transitions/") and f"job_name={name}/" in key:
            stored = store.get(key)
            assert stored is not None
            records.append(jsoncodec.loads(stored.body))
    return sorted(records, key=lambda record: record["observed_at"])
