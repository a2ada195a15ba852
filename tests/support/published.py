"""Every kind of document dlf-status publishes, made by the product itself, for the
consumer suites (tests/consumers) to read with the tools consumers use.

The service, the tick runner, the HTTP API and the drift reader are built by the
composition root (bootstrap.py) over a real local store and a real HTTP upstream on
loopback, and asked for what a deployment answers and stores: status documents
(fresh, stale, of every recorded answer, with counters past 2^53 and 2^64), gone
documents, transition records of schema 1.0 and 1.1 (a job gone and back), freshness
records, fleet pages (filtered, failing, paged, with an unreadable latest.json),
history and transitions pages (paged, bounded), and drift reports. Each comes as the
bytes the store holds or the API and the CLI write, so a consumer's parser meets
exactly what it would meet. The committed goldens (contract_tests/golden*/) are
status documents too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from contract_tests.support import (
    FIXTURES,
    GOLDEN,
    INVALID_FIXTURES,
    ROOT,
    load_exchange,
    read_fixture,
    success_fixtures,
)
from dlf_status import bootstrap
from dlf_status.config import Settings
from dlf_status.domain import jsoncodec
from dlf_status.domain.model import JobRef
from dlf_status.domain.snapshots import latest_key
from dlf_status.entrypoints import schedule
from dlf_status.entrypoints.http_api import StatusApi, api_for
from dlf_status.errors import JobNotFound
from dlf_status.service import StatusService
from tests.support.events import http_api_event
from tests.support.root import root_settings

SCHEMAS = ROOT / "schemas"
HAND_GOLDEN = ROOT / "contract_tests" / "golden-by-hand"
PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
WORKSPACE = "ws-1"
START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)

DOCUMENT = "status-document.v1.schema.json"
GONE = "job-gone.v1.schema.json"
TRANSITION = "status-transition.v1.schema.json"
FRESHNESS = "status-freshness.v1.schema.json"
FLEET = "fleet.v1.schema.json"
HISTORY = "history-page.v1.schema.json"
TRANSITIONS = "transitions-page.v1.schema.json"
DRIFT = "drift-report.v1.schema.json"
KINDS = (DOCUMENT, GONE, TRANSITION, FRESHNESS, FLEET, HISTORY, TRANSITIONS, DRIFT)

# Counters a JavaScript number cannot hold exactly (2^53 + 1, 2^64 + 1, 10^20 + 7),
# and one past 2^53 that it can (2^60).
BIG_COUNTERS = {
    "totalGetBytes": 2**53 + 1,
    "totalPutBytes": 2**64 + 1,
    "totalGetRecords": 2**60,
    "bufferRecords": 10**20 + 7,
}


class Published(NamedTuple):
    """One document as a consumer receives it: the schema that describes it, where it
    came from, and its bytes."""

    schema: str
    label: str
    text: str

    def parsed(self) -> Any:
        return json.loads(self.text)


@dataclass
class SteppingClock:
    """Every reading one minute later: each observation is newer than the last."""

    moment: datetime = START

    def now(self) -> datetime:
        self.moment += timedelta(minutes=1)
        return self.moment


class Upstream:
    """What the loopback upstream answers for each job: a recorded exchange, or a body."""

    def __init__(self, server: HTTPServer) -> None:
        self.answers: dict[str, Response] = {}
        server.expect_request(re.compile(r"^/v1/.*/status$")).respond_with_handler(self.answer)

    def answer(self, request: Request) -> Response:
        job_name = request.path.split("/")[4]
        answer = self.answers[job_name]
        return Response(answer.get_data(), status=answer.status_code, headers=answer.headers)

    def body(self, job_name: str, body: Any) -> None:
        self.answers[job_name] = Response(
            json.dumps(body), status=200, content_type="application/json;charset=UTF-8"
        )

    def recorded(self, job_name: str, fixture: Path) -> None:
        exchange = load_exchange(fixture)
        self.answers[job_name] = Response(
            exchange.body, status=exchange.status, headers=dict(exchange.headers)
        )


def files(directory: Path) -> list[Published]:
    return [
        Published(DOCUMENT, f"{directory.name}/{path.stem}", path.read_text(encoding="utf-8"))
        for path in sorted(directory.glob("*.json"))
    ]


STORED_KINDS = {
    "history": DOCUMENT,
    "latest": DOCUMENT,
    "transitions": TRANSITION,
    "freshness": FRESHNESS,
}


def stored(snapshots: Path, skip: frozenset[str]) -> list[Published]:
    """Every object of the local store, by its kind (its root, and `kind` in latest/)."""
    found = []
    for path in sorted(snapshots.rglob("*.json")):
        key = path.relative_to(snapshots).as_posix()
        if key in skip:
            continue
        root = key.split("/")[0]
        if root not in STORED_KINDS:
            continue  # the local store's own bookkeeping (staging), not a published object
        text = path.read_text(encoding="utf-8")
        schema = STORED_KINDS[root]
        if root == "latest" and json.loads(text).get("kind") == "job-gone":
            schema = GONE
        found.append(Published(schema, f"store/{key}", text))
    return found


def answer_body(api: StatusApi, event: Mapping[str, Any]) -> tuple[int, str]:
    answer = api.handle(event)
    return int(answer["statusCode"]), str(answer["body"])


def pages(
    api: StatusApi, schema: str, label: str, job_name: str | None, **query: str
) -> list[Published]:
    """A read route's answer (`job_name` None: the fleet), then the pages its cursor
    leads to (at most four)."""
    route_name = {FLEET: None, HISTORY: "history", TRANSITIONS: "transitions"}[schema]
    found: list[Published] = []
    while len(found) < 4:
        event = http_api_event(PROJECT, job_name, route=route_name, query=dict(query) or None)
        status, body = answer_body(api, event)
        assert status in (200, 503), (status, body)  # 503: a failing fleet, same document
        found.append(Published(schema, f"{label} page {len(found) + 1} ({status})", body))
        page = json.loads(body)
        if page["next_cursor"] is None or page.get("has_more") is False:
            break
        query["cursor"] = page["next_cursor"]
    return found


@dataclass
class Deployment:
    """The service, the tick runner and the API, built by the composition root over a
    local store and the loopback upstream, as `dlf-status serve` builds them."""

    upstream: Upstream
    settings: Settings
    service: StatusService
    api: StatusApi

    @classmethod
    def over(cls, server: HTTPServer, snapshots: Path) -> Deployment:
        settings = root_settings(
            DLF_ENDPOINT=server.url_for("").rstrip("/"),
            SNAPSHOT_URI=str(snapshots),
            VALIDATION_MODE="lenient",
            DLF_MAX_ATTEMPTS="1",
        )
        service = bootstrap.build_status_service(settings, clock=SteppingClock())
        return cls(Upstream(server), settings, service, api_for(settings, service))

    def observe(self, job_name: str, body: Any) -> None:
        self.upstream.body(job_name, body)
        self.service.observe(JobRef.parse(PROJECT, job_name))

    def gone(self, job_name: str) -> None:
        """The upstream says the job does not exist; the service records it gone."""
        job = JobRef.parse(PROJECT, job_name)
        self.upstream.recorded(job_name, FIXTURES / "valid" / "doc-2024-failure-dlf0100.json")
        try:
            self.service.observe(job)
        except JobNotFound as gone:
            self.service.record_gone(job, gone)
        else:
            raise AssertionError(f"the upstream said {job_name} is gone; the service did not")


def observe_recorded_answers(deployment: Deployment) -> None:
    """Every recorded 200 answer the store keeps a document of (lenient mode keeps the
    known-bad ones too, with their violations), and counters no double holds."""
    recorded = success_fixtures() + [
        path
        for path in INVALID_FIXTURES
        if read_fixture(path)["status"] == 200 and isinstance(read_fixture(path).get("body"), dict)
    ]
    for fixture in recorded:
        deployment.upstream.recorded(fixture.stem, fixture)
        deployment.service.observe(JobRef.parse(PROJECT, fixture.stem))
    node = {"name": "n", "status": "NORMAL", **BIG_COUNTERS, "speed": 1523.75}
    deployment.observe(
        "big-counters", {"name": "big-counters", "status": "NORMAL", "nodes": [node]}
    )


def observe_changes(deployment: Deployment) -> None:
    """A job that changes (a node appears, the job fails, the node goes), goes away and
    comes back: transition records of 1.0, then 1.1 with the job null on each side;
    and a job that goes away for good (its latest.json a gone document)."""
    shapes: list[dict[str, Any]] = [
        {"name": "flapping", "status": "NORMAL"},
        {"name": "flapping", "status": "NORMAL", "nodes": [{"name": "a", "status": "INIT"}]},
        {"name": "flapping", "status": "ABNORMAL", "nodes": [{"name": "a", "status": "NORMAL"}]},
        {"name": "flapping", "status": "STOPPED"},
    ]
    for shape in shapes:
        deployment.observe("flapping", shape)
    deployment.observe("retired", {"name": "retired", "status": "STOPPED"})
    deployment.gone("flapping")
    deployment.gone("retired")
    deployment.observe("flapping", shapes[0])


def tick_twice(deployment: Deployment) -> None:
    """Two ticks in a workspace over unchanged jobs: the second confirms them in a
    freshness record instead of writing them again."""
    names = [f"ticked-{index}" for index in range(3)]
    for name in names:
        deployment.upstream.body(name, {"name": name, "status": "NORMAL", "nodes": [{"name": "n"}]})
    runner = bootstrap.build_tick_runner(
        deployment.settings, service=deployment.service, fan_out=False
    )
    jobs = [{"project_id": PROJECT, "job_name": name, "workspace": WORKSPACE} for name in names]
    for tick_id in ("first", "second"):
        report = schedule.run_tick(runner, {"jobs": jobs, "tick_id": tick_id})
        assert report["failed"] == 0, report


def ask_the_status_route(deployment: Deployment) -> list[Published]:
    """A fresh answer, then the same job served stale (the upstream's 200 is no object)."""
    event = http_api_event(PROJECT, "doc-2024-success")
    status, fresh = answer_body(deployment.api, event)
    assert status == 200, fresh
    deployment.upstream.body("doc-2024-success", ["not", "a", "status", "answer"])
    status, stale = answer_body(deployment.api, event)
    assert status == 200, stale
    assert json.loads(stale)["stale"] is True, stale
    return [
        Published(DOCUMENT, "api status fresh", fresh),
        Published(DOCUMENT, "api status stale", stale),
    ]


def read_the_store(deployment: Deployment) -> list[Published]:
    """The read routes' pages: every fleet branch, paged history and transitions."""
    api = deployment.api
    found = pages(api, FLEET, "fleet", None)
    found += pages(api, FLEET, "fleet by 3", None, limit="3")
    found += pages(
        api, FLEET, "fleet failing", None, status="exception,unknown", fail_on="EXCEPTION,STALE"
    )
    status, body = answer_body(api, http_api_event(PROJECT, None, route=None, workspace=WORKSPACE))
    found.append(Published(FLEET, f"fleet of {WORKSPACE} ({status})", body))
    for job_name in ("flapping", "big-counters", "never-observed"):
        found += pages(api, HISTORY, f"history {job_name}", job_name, limit="2")
        found += pages(api, TRANSITIONS, f"transitions {job_name}", job_name, limit="2")
    bounded = {"from": "2026-11-20T08:03:00Z", "limit": "1"}
    found += pages(api, HISTORY, "history bounded", "flapping", **bounded)
    found += pages(api, TRANSITIONS, "transitions since", "flapping", since="2026-11-20T08:04:00Z")
    return found


def drift_reports(deployment: Deployment) -> list[Published]:
    """`dlf-status drift --json` over the whole store, and since two days."""
    reader = bootstrap.build_drift_reader(deployment.settings)
    return [
        Published(
            DRIFT, f"drift since {since}", jsoncodec.pretty_bytes(reader.report(since)).decode()
        )
        for since in (None, date(2026, 11, 20), date(2099, 1, 1))
    ]


def publish_everything(server: HTTPServer, snapshots: Path) -> list[Published]:
    """Run a small deployment over `snapshots` and collect what it publishes."""
    deployment = Deployment.over(server, snapshots)
    observe_recorded_answers(deployment)
    observe_changes(deployment)
    tick_twice(deployment)
    published = ask_the_status_route(deployment)
    # A latest.json that is not a status document: its fleet row says why.
    corrupt = latest_key(JobRef.parse(PROJECT, "corrupt"))
    (snapshots / corrupt).parent.mkdir(parents=True)
    (snapshots / corrupt).write_bytes(b"{not json")
    published += read_the_store(deployment)
    published += drift_reports(deployment)
    published += stored(snapshots, skip=frozenset({corrupt}))
    return published + files(GOLDEN) + files(HAND_GOLDEN)
