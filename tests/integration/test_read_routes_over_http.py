"""The read routes over real HTTP (`dlf-status serve`'s server and handler on loopback),
over SeaweedFS and the local store filled by the real snapshot writer: a fleet of
hundreds paged, filtered, failing with fail_on and flagging stale jobs; history
between RFC 3339 bounds, newest first; 304s for every route until the store changes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

import pytest
import requests

from dlf_status import bootstrap
from dlf_status.adapters.store_local import LocalDirectoryStore
from dlf_status.adapters.store_s3 import S3Store
from dlf_status.domain.model import JobRef
from dlf_status.domain.ports import ObjectStore
from dlf_status.entrypoints.http_api import StatusApi
from dlf_status.errors import ConfigurationError
from dlf_status.readers import StoreReader
from dlf_status.service import SnapshotWriter
from tests.support.clock import FixedClock
from tests.support.read_models import assert_valid, observe
from tests.support.root import root_settings
from tests.support.seaweed import SeaweedServer
from tests.support.serving import serving

pytestmark = pytest.mark.integration

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
FLEET_SIZE = 260
# No STOPPING job: fail_on=STOPPING is a fleet that does not fail.
CYCLE = ("NORMAL", "NORMAL", "NORMAL", "EXCEPTION", "STOPPED", "INIT", "WHATEVER")
HISTORY_JOB = JobRef.parse("orders-project", "orders/stream 1")  # a fleet of its own
HISTORY_START = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
HISTORY_STATUSES = ("NORMAL", "EXCEPTION", "NORMAL", "STOPPED", "NORMAL", "EXCEPTION", "NORMAL")


def history_moment(step: int) -> datetime:
    return HISTORY_START + timedelta(hours=7 * step)


class Served(NamedTuple):
    url: str
    store: ObjectStore
    reader: StoreReader


def _fill(store: ObjectStore) -> None:
    """FLEET_SIZE jobs cycling through CYCLE, one in ten last seen an hour ago (stale
    at the default 900 s); a job in a workspace and one of another project, which
    the fleet never shows; a job whose status changed over three days."""
    writer = SnapshotWriter(store)
    for number in range(FLEET_SIZE):
        age = timedelta(hours=1) if number % 10 == 9 else timedelta(minutes=1)
        observe(
            store,
            JobRef.parse(PROJECT, f"job-{number:03}"),
            CYCLE[number % 7],
            NOW - age,
            None,
            writer,
        )
    observe(store, JobRef.parse(PROJECT, "elsewhere", "ws1"), "EXCEPTION", NOW, None, writer)
    observe(store, JobRef.parse("otherproject", "job-000"), "EXCEPTION", NOW, None, writer)
    for step, status in enumerate(HISTORY_STATUSES):
        observe(store, HISTORY_JOB, status, history_moment(step), {"n1": status}, writer)


def _refuse_status(job: JobRef, *, remaining_seconds: Any = None) -> Any:
    raise ConfigurationError("these tests read the store only")


@pytest.fixture(scope="module", params=["s3", "local"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """The API over a store filled once per module: the read routes as the root wires
    them (api_for), with a fixed clock so that ages and staleness are known."""
    if request.param == "s3":
        seaweed: SeaweedServer = request.getfixturevalue("seaweed")
        store: ObjectStore = S3Store(
            seaweed.client(), seaweed.bucket, f"read-routes-{uuid.uuid4().hex[:12]}"
        )
    else:
        store = LocalDirectoryStore(Path(tmp_path_factory.mktemp("read-routes")))
    _fill(store)
    reader = bootstrap.build_store_reader(root_settings(), store=store, clock=FixedClock(NOW))
    api = StatusApi(_refuse_status, lambda: reader, stale_after=900)
    with serving(api) as url:
        yield Served(url, store, reader)


def get(served: Served, path: str, **headers: str) -> requests.Response:
    return requests.get(served.url + path, headers=headers, timeout=30)


def fleet_pages(served: Served, query: str) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    cursor = ""
    while True:
        answer = get(served, f"/v1/{PROJECT}/jobs?{query}{cursor}")
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert_valid(page, "fleet.v1.schema.json")
        pages.append(page)
        if page["next_cursor"] is None:
            return pages
        assert len(pages) < 50
        cursor = f"&cursor={page['next_cursor']}"


def test_a_fleet_of_hundreds_pages_over_http(served: Served) -> None:
    pages = fleet_pages(served, "limit=70")

    rows = [row for page in pages for row in page["jobs"]]
    assert [row["job_name"] for row in rows] == [f"job-{n:03}" for n in range(FLEET_SIZE)]
    assert [len(page["jobs"]) for page in pages] == [70, 70, 70, 50]
    assert [row["status"] for row in rows[:7]] == [
        "NORMAL", "NORMAL", "NORMAL", "EXCEPTION", "STOPPED", "STARTING", "UNKNOWN",
    ]  # fmt: skip
    summary = pages[0]["summary"]
    assert all(page["summary"] == summary for page in pages)
    assert summary["job_count"] == FLEET_SIZE
    assert summary["jobs_by_status"] == {
        "STARTING": sum(1 for n in range(FLEET_SIZE) if n % 7 == 5),
        "NORMAL": sum(1 for n in range(FLEET_SIZE) if n % 7 < 3),
        "EXCEPTION": sum(1 for n in range(FLEET_SIZE) if n % 7 == 3),
        "STOPPING": 0,
        "STOPPED": sum(1 for n in range(FLEET_SIZE) if n % 7 == 4),
        "UNKNOWN": sum(1 for n in range(FLEET_SIZE) if n % 7 == 6),
    }
    assert summary["overall"] == "EXCEPTION"


def test_staleness_is_flagged_in_each_row_and_counted(served: Served) -> None:
    [page] = fleet_pages(served, "limit=1000")

    stale = [row["job_name"] for row in page["jobs"] if row["stale"]]
    assert stale == [f"job-{n:03}" for n in range(FLEET_SIZE) if n % 10 == 9]
    assert page["summary"]["stale"] == len(stale)
    assert page["stale_after_seconds"] == 900
    ages = {row["job_name"]: row["age_seconds"] for row in page["jobs"]}
    assert (ages["job-009"], ages["job-010"]) == (3600, 60)


def test_a_status_filter_selects_rows_and_keeps_the_whole_summary(served: Served) -> None:
    everything = fleet_pages(served, "limit=1000")[0]["summary"]

    pages = fleet_pages(served, "status=exception,%20Unknown&limit=25")

    names = [row["job_name"] for page in pages for row in page["jobs"]]
    assert names == [f"job-{n:03}" for n in range(FLEET_SIZE) if n % 7 in (3, 6)]
    assert all(page["summary"] == everything for page in pages)
    assert {tuple(page["status_filter"]) for page in pages} == {("EXCEPTION", "UNKNOWN")}


def _without(document: dict[str, Any], *names: str) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in names}


@pytest.mark.parametrize("fail_on", ["EXCEPTION", "stopping,STALE", "UNKNOWN"])
def test_fail_on_answers_503_with_the_same_document(served: Served, fail_on: str) -> None:
    """503 when any job of the whole fleet (not only the page) is in a fail_on status,
    the same body a 200 would have, with its tag and freshness."""
    page_of_one = f"/v1/{PROJECT}/jobs?limit=1&status=NORMAL"
    calm = get(served, page_of_one + "&fail_on=STOPPING")

    failing = get(served, f"{page_of_one}&fail_on={quote(fail_on)}")

    assert calm.status_code == 200
    assert failing.status_code == 503
    assert failing.headers["Content-Type"] == "application/json"
    assert failing.headers["Cache-Control"] == calm.headers["Cache-Control"]
    assert failing.headers["ETag"] != calm.headers["ETag"]
    body = failing.json()
    assert_valid(body, "fleet.v1.schema.json")
    assert (body["failing"], calm.json()["failing"]) == (True, False)
    assert [row["job_name"] for row in body["jobs"]] == ["job-000"]  # NORMAL, not failing
    assert _without(body, "fail_on", "failing") == _without(calm.json(), "fail_on", "failing")


def test_a_failing_fleet_is_a_503_even_to_a_matching_if_none_match(served: Served) -> None:
    path = f"/v1/{PROJECT}/jobs?fail_on=EXCEPTION&limit=5"
    first = get(served, path)

    again = get(served, path, **{"If-None-Match": first.headers["ETag"]})

    assert (first.status_code, again.status_code) == (503, 503)
    assert again.json() == first.json()


def test_the_fleet_is_304_until_a_job_changes_and_costs_listings_only(served: Served) -> None:
    """In a workspace of its own, so that the other tests' fleet stays as filled."""
    workspace = f"ws-{uuid.uuid4().hex[:8]}"
    for number, status in enumerate(["NORMAL", "NORMAL", "STOPPED"]):
        job = JobRef.parse(PROJECT, f"w-{number}", workspace)
        observe(served.store, job, status, NOW - timedelta(minutes=5))
    path = f"/v1/{PROJECT}/jobs?limit=2"
    first = get(served, path, workspace=workspace)
    tag = first.headers["ETag"]

    unchanged = get(served, path, workspace=workspace, **{"If-None-Match": tag})
    cost = served.reader.last_cost
    observe(
        served.store,
        JobRef.parse(PROJECT, "w-2", workspace),
        "EXCEPTION",
        NOW - timedelta(minutes=1),
    )
    changed = get(served, path, workspace=workspace, **{"If-None-Match": tag})

    assert (first.status_code, unchanged.status_code, changed.status_code) == (200, 304, 200)
    assert unchanged.content == b""
    assert unchanged.headers["ETag"] == tag
    assert unchanged.headers["Cache-Control"] == first.headers["Cache-Control"] == "max-age=30"
    assert unchanged.headers["Vary"] == "workspace"
    # Warm: a listing of latest/ and one of freshness/, no GET: every latest.json is
    # known by its listed ETag (and there is no freshness record to read).
    assert (cost.listing_calls, cost.reads) == (2, 0)
    # w-2 is not on the page, but the summary (and so the answer) changed.
    assert changed.headers["ETag"] != tag
    assert changed.json()["jobs"] == first.json()["jobs"]
    assert changed.json()["summary"]["overall"] == "EXCEPTION"
    assert served.reader.last_cost.reads == 1
    other_workspace = get(served, path, **{"If-None-Match": tag})
    assert other_workspace.status_code == 200


def history_path(**query: str) -> str:
    encoded = "&".join(f"{name}={quote(value, safe='')}" for name, value in query.items())
    job_name = quote(HISTORY_JOB.job_name, safe="")
    return f"/v1/{HISTORY_JOB.project_id}/jobs/{job_name}/history?{encoded}"


def observed(step: int) -> str:
    return history_moment(step).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_history_pages_newest_first_over_every_day(served: Served) -> None:
    pages = [get(served, history_path(limit="2")).json()]
    while pages[-1]["next_cursor"] is not None:
        assert len(pages) < 20
        cursor = pages[-1]["next_cursor"]
        pages.append(get(served, history_path(limit="2", cursor=cursor)).json())

    for page in pages:
        assert_valid(page, "history-page.v1.schema.json")
    documents = [document for page in pages for document in page["documents"]]
    assert [d["observed_at"] for d in documents] == [
        observed(step) for step in reversed(range(len(HISTORY_STATUSES)))
    ]
    assert [d["job"]["status"] for d in documents] == [
        "NORMAL", "EXCEPTION", "NORMAL", "STOPPED", "NORMAL", "EXCEPTION", "NORMAL",
    ][::-1]  # fmt: skip
    assert {d["source"]["job_name"] for d in documents} == {HISTORY_JOB.job_name}


def test_history_bounds_are_rfc3339_from_inclusive_to_exclusive(served: Served) -> None:
    """Bounds in any offset: 2026-11-23T10:00+07:00 is 03:00Z, step 1's time."""
    in_bangkok = history_moment(1).astimezone(UTC).replace(tzinfo=None).isoformat()
    bounded = get(
        served,
        history_path(**{"from": "2026-11-23T10:00:00+07:00", "to": observed(4), "limit": "100"}),
    )
    assert in_bangkok == "2026-11-23T03:00:00"

    page = bounded.json()
    assert bounded.status_code == 200, page
    assert_valid(page, "history-page.v1.schema.json")
    assert [d["observed_at"] for d in page["documents"]] == [observed(3), observed(2), observed(1)]
    assert page["next_cursor"] is None
    assert page["from"] == observed(1)
    assert page["to"] == observed(4)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": observed(3), "to": observed(3)}, "from"),  # empty: from must be earlier
        ({"from": "2026-11-24T10:00:00"}, "from"),  # no offset
        ({"to": "2026-11-24"}, "to"),
        ({"to": "2026-13-01T00:00:00Z"}, "to"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"since": observed(1)}, "query"),
    ],
)
def test_history_refuses_bad_bounds_with_the_field(
    served: Served, query: dict[str, str], field: str
) -> None:
    answer = get(served, history_path(**query))

    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.headers["Cache-Control"] == "no-store"
    problem = answer.json()
    assert (problem["type"], problem["field"]) == ("urn:dlf-status:problem:invalid-input", field)


def test_history_and_transitions_are_304_until_the_job_changes(served: Served) -> None:
    workspace = f"ws-{uuid.uuid4().hex[:8]}"  # apart from the fleet the other tests read
    job = JobRef.parse(PROJECT, "changing", workspace)
    base = f"/v1/{PROJECT}/jobs/{job.job_name}"
    observe(served.store, job, "NORMAL", NOW - timedelta(minutes=3))
    observe(served.store, job, "EXCEPTION", NOW - timedelta(minutes=2))
    paths = [f"{base}/history?to={quote(observed(99))}", f"{base}/transitions"]
    first = [get(served, path, workspace=workspace) for path in paths]

    unchanged = [
        get(
            served, path, workspace=workspace, **{"If-None-Match": f'"x", {answer.headers["ETag"]}'}
        )
        for path, answer in zip(paths, first, strict=True)
    ]
    observe(served.store, job, "NORMAL", NOW - timedelta(minutes=1))
    changed = [
        get(served, path, workspace=workspace, **{"If-None-Match": answer.headers["ETag"]})
        for path, answer in zip(paths, first, strict=True)
    ]

    assert [answer.status_code for answer in first + unchanged + changed] == [200] * 2 + [
        304
    ] * 2 + [200] * 2
    assert [answer.content for answer in unchanged] == [b"", b""]
    assert len(first[0].json()["documents"]) == 2
    assert len(changed[0].json()["documents"]) == 3
    records = changed[1].json()["records"]
    assert [[change["to"] for change in r["changes"]] for r in records] == [
        ["EXCEPTION"],
        ["NORMAL"],
    ]
