"""Hostile job names, project ids, workspaces and events: a 400 (exit 2 on the CLI) or
correct encoding; never a request to another path or host, never an injected header,
never a snapshot outside its prefix, never an unhandled exception.

A committed corpus (corpus.json) and hypothesis-generated strings, through the real
server (`serve`), the real HTTP client and a real upstream on loopback."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from dlf_status import bootstrap
from dlf_status.adapters.store_local import LocalDirectoryStore
from dlf_status.config import Settings
from dlf_status.domain import jsoncodec
from dlf_status.domain.model import JobRef
from dlf_status.domain.snapshots import history_key, is_safe_key, latest_key
from dlf_status.entrypoints import queue, schedule
from dlf_status.entrypoints.cli import main
from dlf_status.entrypoints.direct import DirectInvocation
from dlf_status.entrypoints.http_api import StatusApi
from dlf_status.errors import InvalidInput, TickFailed
from dlf_status.poller import QueueWorker, TickRunner
from tests.properties.strategies import json_values
from tests.support.events import http_api_event, queue_event, rest_api_event, scheduled_event
from tests.support.serving import serving

pytestmark = pytest.mark.integration

CORPUS = json.loads((Path(__file__).with_name("corpus.json")).read_text(encoding="utf-8"))
STRINGS: list[str] = CORPUS["strings"]
NOT_UTF8: list[bytes] = [bytes.fromhex(value) for value in CORPUS["bytes_hex"]]
PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
# What our client sends, and nothing else: a value in any other header is an injection.
EXPECTED_HEADERS = {
    "accept",
    "accept-encoding",
    "connection",
    "content-type",
    "host",
    "user-agent",
    "x-project-id",
    "x-sdk-date",
    "authorization",
    "workspace",
}


class Recorder:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self.lock:
            self.requests.append((request.environ["RAW_URI"], dict(request.headers)))
        body = {"name": "job", "status": "NORMAL"}
        return Response(jsoncodec.canonical_bytes(body), 200, content_type="application/json")


@pytest.fixture(scope="module")
def recorder(make_httpserver: HTTPServer) -> Iterator[Recorder]:
    recording = Recorder()
    make_httpserver.clear()
    make_httpserver.expect_request(re.compile(".*")).respond_with_handler(recording)
    yield recording
    make_httpserver.clear()


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile-snapshots")


class Functions(NamedTuple):
    """One deployment's service behind each trigger's handler, built by the root."""

    http: StatusApi
    direct: DirectInvocation
    ticks: TickRunner
    worker: QueueWorker


@pytest.fixture(scope="module")
def app(make_httpserver: HTTPServer, recorder: Recorder, snapshots: Path) -> Functions:
    settings = Settings.from_environ(
        {
            "DLF_ENDPOINT": make_httpserver.url_for("").rstrip("/"),
            "DLF_AK": "HOSTILEAK",
            "DLF_SK": "hostile-sk-not-a-secret",
            "DLF_MAX_ATTEMPTS": "1",
            "SNAPSHOT_URI": str(snapshots),
        }
    )
    service = bootstrap.build_status_service(settings)
    return Functions(
        StatusApi(service.observe),
        DirectInvocation(service.observe),
        bootstrap.build_tick_runner(settings, service=service),
        bootstrap.build_queue_worker(settings, service=service),
    )


@pytest.fixture(scope="module")
def served(app: Functions) -> Iterator[str]:
    with serving(app.http) as url:
        yield url


def accepted(project_id: str, job_name: str, workspace: str | None) -> bool:
    try:
        JobRef.parse(project_id, job_name, workspace)
    except InvalidInput:
        return False
    return True


def check_answer(
    answer: dict[str, Any] | requests.Response,
    recorder: Recorder,
    seen_before: int,
    job: tuple[str, str, str | None],
    snapshots: Path,
) -> None:
    """The one rule for every hostile value: refused, or encoded and contained."""
    status = answer["statusCode"] if isinstance(answer, dict) else answer.status_code
    headers = answer["headers"] if isinstance(answer, dict) else answer.headers
    body = json.loads(answer["body"] if isinstance(answer, dict) else answer.text)
    new_requests = recorder.requests[seen_before:]
    if accepted(*job):
        assert status == 200, body
        [(raw_uri, sent)] = new_requests
        ref = JobRef.parse(*job)
        sent_headers = {name.lower(): value for name, value in sent.items()}
        assert raw_uri == (
            f"/v1/{quote(ref.project_id, safe='')}/jobs/{quote(ref.job_name, safe='')}/status"
        )
        assert set(sent_headers) <= EXPECTED_HEADERS
        assert sent_headers.get("workspace") == ref.workspace
        assert (snapshots / latest_key(ref)).is_file()
    else:
        assert status in (400, 404), body
        assert headers["Content-Type"] == "application/problem+json"
        assert body["status"] == status
        assert new_requests == []
    escaped = [
        p for p in snapshots.rglob("*") if not p.resolve().is_relative_to(snapshots.resolve())
    ]
    assert escaped == []


@pytest.mark.parametrize("job_name", STRINGS, ids=range(len(STRINGS)))
def test_corpus_job_names_through_the_real_server(
    job_name: str, served: str, recorder: Recorder, snapshots: Path
) -> None:
    seen = len(recorder.requests)
    encoded = quote(job_name, safe="", errors="surrogatepass")

    answer = requests.get(f"{served}/v1/{PROJECT}/jobs/{encoded}/status", timeout=10)

    check_answer(answer, recorder, seen, (PROJECT, job_name, None), snapshots)


@pytest.mark.parametrize("raw", NOT_UTF8, ids=[value.hex() for value in NOT_UTF8])
def test_job_names_that_are_not_utf8_are_refused(
    raw: bytes, served: str, recorder: Recorder
) -> None:
    seen = len(recorder.requests)

    answer = requests.get(f"{served}/v1/{PROJECT}/jobs/{quote(raw, safe='')}/status", timeout=10)

    assert answer.status_code == 400
    assert answer.json()["field"] == "job_name"
    assert recorder.requests[seen:] == []


@pytest.mark.parametrize("value", STRINGS, ids=range(len(STRINGS)))
def test_corpus_project_ids_and_workspaces_through_gateway_events(
    value: str, app: Functions, recorder: Recorder, snapshots: Path
) -> None:
    for job, event in (
        ((value, "job", None), http_api_event(value, "job")),
        ((PROJECT, "job", value), http_api_event(PROJECT, "job", workspace=value)),
        ((PROJECT, value, None), rest_api_event(PROJECT, value)),
    ):
        seen = len(recorder.requests)
        check_answer(app.http.handle(event), recorder, seen, job, snapshots)


@pytest.mark.parametrize("value", STRINGS, ids=range(len(STRINGS)))
def test_corpus_values_through_direct_invocations(
    value: str, app: Functions, recorder: Recorder, snapshots: Path
) -> None:
    for job in ((value, "job", None), (PROJECT, value, None), (PROJECT, "job", value)):
        seen = len(recorder.requests)

        answer = app.direct.handle({"project_id": job[0], "job_name": job[1], "workspace": job[2]})

        if accepted(*job):
            ref = JobRef.parse(*job)
            assert answer["source"]["job_name"] == ref.job_name
            [(raw_uri, _)] = recorder.requests[seen:]
            assert raw_uri == f"/v1/{ref.project_id}/jobs/{quote(ref.job_name, safe='')}/status"
            assert (snapshots / latest_key(ref)).is_file()
        else:
            assert answer["status"] == 400
            assert answer["type"].endswith(":invalid-input")
            assert recorder.requests[seen:] == []


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    project_id=st.sampled_from([PROJECT, "p_1", "x"]) | st.text(max_size=70),
    job_name=st.text(max_size=140) | st.sampled_from(STRINGS),
    workspace=st.none() | st.text(max_size=70),
)
def test_generated_values_are_refused_or_contained(
    project_id: str,
    job_name: str,
    workspace: str | None,
    app: Functions,
    recorder: Recorder,
    snapshots: Path,
) -> None:
    seen = len(recorder.requests)

    answer = app.http.handle(http_api_event(project_id, job_name, workspace=workspace))

    check_answer(answer, recorder, seen, (project_id, job_name, workspace), snapshots)


@settings(max_examples=300, deadline=None)
@given(job_name=st.text(min_size=1, max_size=128), workspace=st.none() | st.text(max_size=64))
def test_no_accepted_name_gives_a_key_outside_its_prefix(
    job_name: str, workspace: str | None
) -> None:
    try:
        job = JobRef.parse(PROJECT, job_name, workspace)
    except InvalidInput:
        return
    from datetime import UTC, datetime

    for key in (latest_key(job), history_key(job, datetime(2026, 1, 1, tzinfo=UTC), "a" * 64)):
        assert is_safe_key(key)
        assert len(key.split("/")) == (5 if key.startswith("latest/") else 6)
        assert all(len(segment.encode()) <= 255 for segment in key.split("/"))
        LocalDirectoryStore(Path("/nonexistent-root"))._path(key)  # refuses escapes by raising


EVENT_TEMPLATES = [
    http_api_event(PROJECT, "job"),
    rest_api_event(PROJECT, "job"),
    scheduled_event(),
    {"project_id": PROJECT, "job_name": "job"},
    queue_event([json.dumps({"project_id": PROJECT, "job_name": "job"})]),
]


def _mutated(event: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    mutated: dict[str, Any] = json.loads(json.dumps(event))
    mutated[key] = value
    return mutated


def _tick_or_refusal(app: Functions, event: Any) -> Any:
    try:
        return schedule.run_tick(app.ticks, event)
    except TickFailed as refusal:  # by design: the scheduler records a failed invocation
        return refusal


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    event=json_values
    | st.builds(
        _mutated,
        st.sampled_from(EVENT_TEMPLATES),
        st.sampled_from(
            [
                "requestContext",
                "headers",
                "pathParameters",
                "rawPath",
                "httpMethod",
                "path",
                "version",
                "jobs",
                "tick_id",
                "scheduled_time",
                "source",
                "id",
                "time",
                "Records",
            ]
        ),
        json_values,
    )
)
def test_malformed_events_get_a_clear_answer_never_a_crash(event: Any, app: Functions) -> None:
    """Whatever event reaches whichever function: its own answer, never a traceback."""
    answer = app.http.handle(event)
    assert answer["statusCode"] in (200, 400, 404, 405)
    assert "Traceback" not in answer["body"]

    direct = app.direct.handle(event)
    if "schema_version" not in direct:  # a document, or a problem
        assert direct["status"] in (400, 404, 502)

    tick = _tick_or_refusal(app, event)
    if isinstance(tick, TickFailed):  # a schedule that cannot run fails its invocation
        assert tick.detail
    else:
        assert len(tick["outcomes"]) == tick["jobs"]

    batch = queue.handle_batch(app.worker, event)
    if "batchItemFailures" not in batch:
        assert (batch["status"], batch["type"]) == (400, "urn:dlf-status:problem:invalid-input")


@pytest.mark.parametrize("value", STRINGS[:30], ids=range(30))
def test_the_cli_refuses_or_accepts_without_a_traceback(
    value: str,
    make_httpserver: HTTPServer,
    recorder: Recorder,
    snapshots: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DLF_ENDPOINT", make_httpserver.url_for("").rstrip("/"))
    monkeypatch.setenv("DLF_AUTH_TOKEN", "cli-hostile-token")
    monkeypatch.setenv("SNAPSHOT_URI", str(snapshots))

    code = main(["get", PROJECT, value])

    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert code == (0 if accepted(PROJECT, value, None) else 2)
    if code == 2:
        assert err.count("\n") == 1
