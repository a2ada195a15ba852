"""The hostile corpus and generated text through the read routes (the fleet, history,
transitions): as job names, project ids, the workspace header and every query
parameter (cursor, limit, from, to, since, status, fail_on). Each value is read or
refused with a precise RFC 9457 problem naming its field; never a 500, never a
traceback, never a read outside the store.

Through the real server (`serve`) over HTTP where a client can send the value, and
as API Gateway events where only a gateway can (control characters in a header)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlf_status import bootstrap
from dlf_status.adapters.store_local import LocalDirectoryStore
from dlf_status.domain.model import JobRef
from dlf_status.entrypoints.http_api import StatusApi
from dlf_status.errors import ConfigurationError, InvalidInput
from dlf_status.service import SnapshotWriter
from tests.support.clock import FixedClock
from tests.support.events import http_api_event
from tests.support.read_models import observe
from tests.support.root import root_settings
from tests.support.serving import serving

pytestmark = pytest.mark.integration

CORPUS = json.loads((Path(__file__).with_name("corpus.json")).read_text(encoding="utf-8"))
STRINGS: list[str] = CORPUS["strings"]
NOT_UTF8: list[bytes] = [bytes.fromhex(value) for value in CORPUS["bytes_hex"]]
PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ROUTES = {"fleet": None, "history": "history", "transitions": "transitions"}
PARAMETERS = {
    "fleet": ("status", "fail_on", "limit", "cursor"),
    "history": ("from", "to", "limit", "cursor"),
    "transitions": ("since", "limit", "cursor"),
}
PROBLEM_TYPE = "urn:dlf-status:problem:invalid-input"


def accepted(project_id: str, job_name: str, workspace: str | None) -> bool:
    try:
        JobRef.parse(project_id, job_name, workspace)
    except InvalidInput:
        return False
    return True


class Reads(NamedTuple):
    api: StatusApi
    url: str
    snapshots: Path


def _refuse_status(job: JobRef, *, remaining_seconds: Any = None) -> Any:
    raise ConfigurationError("these tests read the store only")


@pytest.fixture(scope="module")
def reads(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reads]:
    """A store holding a job for every corpus name the function accepts (two
    observations each: a history and a transition), read by the routes as wired."""
    snapshots = tmp_path_factory.mktemp("hostile-reads")
    store = LocalDirectoryStore(snapshots)
    writer = SnapshotWriter(store)
    for name in STRINGS:
        if accepted(PROJECT, name, None):
            job = JobRef.parse(PROJECT, name)
            observe(store, job, "NORMAL", NOW - timedelta(hours=2), None, writer)
            observe(store, job, "EXCEPTION", NOW - timedelta(hours=1), None, writer)
    reader = bootstrap.build_store_reader(root_settings(), store=store, clock=FixedClock(NOW))
    api = StatusApi(_refuse_status, lambda: reader)
    with serving(api) as url:
        yield Reads(api, url, snapshots)
    escaped = [p for p in snapshots.rglob("*") if not p.resolve().is_relative_to(snapshots)]
    assert escaped == []


def check_refusal(status: int, content_type: str, text: str, field: str | tuple[str, ...]) -> None:
    """A precise problem: 400, problem JSON, never cached, naming the field."""
    assert "Traceback" not in text
    problem = json.loads(text)
    assert status == 400, problem
    assert content_type == "application/problem+json"
    assert (problem["type"], problem["status"]) == (PROBLEM_TYPE, 400)
    assert problem["field"] in ((field,) if isinstance(field, str) else field), problem


def check_read(status: int, text: str, kind: str) -> dict[str, Any]:
    assert "Traceback" not in text
    document: dict[str, Any] = json.loads(text)
    assert status in (200, 503) if kind == "fleet" else status == 200, document
    assert document["kind"] == kind
    return document


def job_path(job_name: str, route: str) -> str:
    return f"/v1/{PROJECT}/jobs/{quote(job_name, safe='', errors='surrogatepass')}/{route}"


@pytest.mark.parametrize("job_name", STRINGS, ids=range(len(STRINGS)))
@pytest.mark.parametrize("route", ["history", "transitions"])
def test_corpus_job_names_through_the_read_routes(job_name: str, route: str, reads: Reads) -> None:
    answer = requests.get(reads.url + job_path(job_name, route), timeout=10)

    if job_name in ("", ".", ".."):  # the client sends another path: no route
        assert answer.status_code == 404
        assert answer.json()["type"] == "urn:dlf-status:problem:route-not-found"
        return
    if not accepted(PROJECT, job_name, None):
        check_refusal(answer.status_code, answer.headers["Content-Type"], answer.text, "job_name")
        return
    page = check_read(answer.status_code, answer.text, route)
    assert page["job_name"] == job_name
    found = page["documents"] if route == "history" else page["records"]
    assert len(found) == (2 if route == "history" else 1)
    assert {item["source"]["job_name"] for item in found} == {job_name}


def test_the_fleet_holds_every_accepted_corpus_name_once(reads: Reads) -> None:
    answer = requests.get(f"{reads.url}/v1/{PROJECT}/jobs?limit=1000", timeout=10)

    fleet = check_read(answer.status_code, answer.text, "fleet")
    names = [row["job_name"] for row in fleet["jobs"]]
    assert sorted(names) == sorted({s for s in STRINGS if accepted(PROJECT, s, None)})


@pytest.mark.parametrize("raw", NOT_UTF8, ids=[value.hex() for value in NOT_UTF8])
@pytest.mark.parametrize("route", ["history", "transitions"])
def test_job_names_that_are_not_utf8_are_refused(raw: bytes, route: str, reads: Reads) -> None:
    path = f"/v1/{PROJECT}/jobs/{quote(raw, safe='')}/{route}"

    answer = requests.get(reads.url + path, timeout=10)

    check_refusal(answer.status_code, answer.headers["Content-Type"], answer.text, "job_name")


def _query_answer(reads: Reads, route: str, name: str, value: str) -> requests.Response:
    path = f"/v1/{PROJECT}/jobs" if route == "fleet" else job_path("job", route)
    encoded = quote(value, safe="", errors="surrogatepass")
    return requests.get(f"{reads.url}{path}?{name}={encoded}", timeout=10)


@pytest.mark.parametrize("value", STRINGS, ids=range(len(STRINGS)))
def test_corpus_values_in_every_query_parameter(value: str, reads: Reads) -> None:
    """A corpus value in any parameter is read, or refused naming that parameter."""
    for route, names in PARAMETERS.items():
        for name in names:
            answer = _query_answer(reads, route, name, value)

            if answer.status_code >= 400 and answer.status_code != 503:
                check_refusal(answer.status_code, answer.headers["Content-Type"], answer.text, name)
            else:
                check_read(answer.status_code, answer.text, route)


@pytest.mark.parametrize("route", list(PARAMETERS))
@pytest.mark.parametrize("raw", NOT_UTF8, ids=[value.hex() for value in NOT_UTF8])
def test_query_values_that_are_not_utf8_are_refused(route: str, raw: bytes, reads: Reads) -> None:
    path = f"/v1/{PROJECT}/jobs" if route == "fleet" else job_path("job", route)
    for name in PARAMETERS[route]:
        answer = requests.get(f"{reads.url}{path}?{name}={quote(raw, safe='')}", timeout=10)

        check_refusal(answer.status_code, answer.headers["Content-Type"], answer.text, name)


@pytest.mark.parametrize(
    ("route", "name", "value"),
    [
        ("fleet", "limit", "0"),
        ("fleet", "limit", "1001"),
        ("fleet", "limit", "-1"),
        ("fleet", "limit", "1e3"),
        ("fleet", "limit", "99999999999999999999999999"),
        ("fleet", "limit", "\u0661"),  # ARABIC-INDIC DIGIT ONE: int() would read it
        ("fleet", "limit", " 5"),
        ("fleet", "cursor", "not a cursor"),
        ("fleet", "cursor", "e30"),  # base64 of {}
        ("fleet", "cursor", "A" * 3000),
        ("fleet", "status", "RUNNING"),
        ("fleet", "status", "STALE"),  # a fail_on word, not a status
        ("fleet", "fail_on", "EXCEPTION,,"),
        ("history", "from", "yesterday"),
        ("history", "from", "2026-11-25T12:00:00"),
        ("history", "to", "2026-02-30T00:00:00Z"),
        ("history", "to", "+2026-11-25T00:00:00Z"),
        ("history", "limit", "101"),
        ("transitions", "since", "1764072000"),
        ("transitions", "since", "2026-11-25T25:00:00Z"),
        ("transitions", "limit", "501"),
    ],
)
def test_bad_values_get_a_problem_naming_their_parameter(
    route: str, name: str, value: str, reads: Reads
) -> None:
    answer = _query_answer(reads, route, name, value)

    check_refusal(answer.status_code, answer.headers["Content-Type"], answer.text, name)
    assert answer.headers["Cache-Control"] == "no-store"
    assert "ETag" not in answer.headers


def test_a_cursor_of_another_query_is_refused(reads: Reads) -> None:
    first = requests.get(f"{reads.url}/v1/{PROJECT}/jobs?limit=1", timeout=10).json()
    cursor = first["next_cursor"]
    assert cursor is not None

    elsewhere = [
        requests.get(f"{reads.url}/v1/otherproject/jobs?cursor={cursor}", timeout=10),
        requests.get(
            f"{reads.url}/v1/{PROJECT}/jobs?cursor={cursor}", headers={"workspace": "w"}, timeout=10
        ),
        requests.get(f"{reads.url}{job_path('job', 'history')}?cursor={cursor}", timeout=10),
    ]

    for answer in elsewhere:
        check_refusal(answer.status_code, answer.headers["Content-Type"], answer.text, "cursor")


@pytest.mark.parametrize("value", STRINGS, ids=range(len(STRINGS)))
def test_corpus_workspaces_and_project_ids_through_gateway_events(value: str, reads: Reads) -> None:
    """What no HTTP client sends (control characters in a header) a gateway event can
    carry: each value as the workspace and as the project id of every read route."""
    for route in ROUTES.values():
        for project_id, workspace, field in (
            (PROJECT, value, "workspace"),
            (value, None, "project_id"),
        ):
            event = http_api_event(project_id, "job", workspace=workspace, route=route)

            answer = reads.api.handle(event)

            kind = route or "fleet"
            if accepted(project_id, "job", workspace):
                document = check_read(answer["statusCode"], answer["body"], kind)
                assert (document["project_id"], document["workspace"]) == (
                    project_id,
                    JobRef.parse(project_id, "job", workspace).workspace,
                )
            else:
                content_type = answer["headers"]["Content-Type"]
                check_refusal(answer["statusCode"], content_type, answer["body"], field)


no_surrogates = st.characters(exclude_categories=["Cs"])


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    route=st.sampled_from(list(PARAMETERS)),
    data=st.data(),
    value=st.text(no_surrogates, max_size=60) | st.sampled_from(STRINGS),
)
def test_generated_query_values_are_read_or_refused_by_name(
    route: str, data: st.DataObject, value: str, reads: Reads
) -> None:
    name = data.draw(st.sampled_from(PARAMETERS[route]))
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        return  # a lone surrogate cannot be in a gateway event: the HTTP test sends them
    event = http_api_event(PROJECT, "job", route=ROUTES[route], query={name: value})

    answer = reads.api.handle(event)

    status, body = answer["statusCode"], answer["body"]
    if status >= 400 and status != 503:
        check_refusal(status, answer["headers"]["Content-Type"], body, name)
    else:
        check_read(status, body, route)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    job_name=st.text(no_surrogates, max_size=140),
    workspace=st.none() | st.text(no_surrogates, max_size=70),
)
def test_generated_names_and_workspaces_are_read_or_refused(
    job_name: str, workspace: str | None, reads: Reads
) -> None:
    for route in ("history", "transitions"):
        answer = reads.api.handle(
            http_api_event(PROJECT, job_name, workspace=workspace, route=route)
        )

        if accepted(PROJECT, job_name, workspace):
            check_read(answer["statusCode"], answer["body"], route)
        else:
            content_type = answer["headers"]["Content-Type"]
            check_refusal(
                answer["statusCode"], content_type, answer["body"], ("job_name", "workspace")
            )
