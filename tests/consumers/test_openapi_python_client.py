"""The HTTP API's contract as a client generator reads it: openapi-python-client (pinned)
generates a Python client from api/dlf-status.openapi.bundled.json, the client passes
mypy --strict, and every route's answers from a running `dlf-status serve` (status
fresh and stale, 304s, the fleet whole, paged, filtered, empty and failing, history and
transitions pages, empty ones, problems) parse through its models and come back as the
same JSON. The upstream's openapi.yaml goes through the same generator: a consumer may
call DataArts Studio itself with the client it makes.

Found this way: the source document's `../schemas/` references stop the generator with
an error (hence the bundle, scripts/build_schemas.py), a page's copy of the document
schema made two models of one title (refused), and `"const": true` without a type made
code that is not Python (`if stale != Trueand not ...`)."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import pytest
from openapi_spec_validator import validate
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from contract_tests.support import (
    FIXTURES,
    LIST_VALID_FIXTURES,
    OPENAPI_YAML,
    ROOT,
    VALID_FIXTURES,
    load_exchange,
    read_fixture,
)
from dlf_status.adapters.store_local import LocalDirectoryStore
from dlf_status.domain import jsoncodec
from dlf_status.domain.model import JobRef
from dlf_status.service import SnapshotWriter
from tests.support.read_models import observe
from tests.support.root import api_from
from tests.support.serving import serving

pytestmark = pytest.mark.integration

BUNDLED_API = ROOT / "api" / "dlf-status.openapi.bundled.json"
BIN = Path(sys.executable).parent
PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
PACKAGE = "dlf_status_client"
FLAKY = "flaky"  # has a snapshot; its upstream now fails: served stale
GONE = "gone"  # DLF.0100 upstream: a 404 problem
BIG = 2**64 + 1  # a counter no 64-bit integer holds


def generate(spec: Path, output: Path) -> str:
    """openapi-python-client's package generated from `spec` into `output`; fails the
    test on any error or warning it prints (a warning means a route or a model left out)."""
    done = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            *("generate", "--path", str(spec), "--output-path", str(output), "--meta", "none"),
        ],
        capture_output=True,
        text=True,
        check=False,
        # its post-generation hooks run ruff from PATH: the pinned one beside it
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    said = done.stdout + done.stderr
    assert done.returncode == 0, said[-4000:]
    assert not re.search(r"warning|error|unable", said, re.IGNORECASE), said[-4000:]
    return said


# The generator's own fixed file, the same whatever the document: with mypy 2, its
# `__exit__(*args: Any)` forwarding is an arg-type error (openapi-python-client's, not
# the document's). What the document makes (models/, api/) must be clean.
GENERATORS_OWN = "client.py"


def type_check(package: Path, cache: Path) -> None:
    """mypy --strict over the generated package: no error in a file made from the document."""
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cache), package.name],
        cwd=package.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    said = done.stdout + done.stderr
    errors = [
        line
        for line in said.splitlines()
        if ": error:" in line and not line.startswith(f"{package.name}/{GENERATORS_OWN}:")
    ]
    assert errors == [], said[-4000:]
    assert re.search(r"(Success|Found \d+ errors? in 1 file)", said), said[-4000:]


def imported(parent: Path, package: str) -> ModuleType:
    """`package` (generated under `parent`) imported as a consumer's code imports it."""
    sys.path.insert(0, str(parent))
    try:
        return importlib.import_module(package)
    finally:
        sys.path.remove(str(parent))


@pytest.fixture(scope="module")
def api_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated package (its directory), made once for the module."""
    package = tmp_path_factory.mktemp("api-client") / PACKAGE
    generate(BUNDLED_API, package)  # --meta none: the output is the package itself
    return package


def test_the_generated_api_client_passes_mypy_strict(api_client: Path, tmp_path: Path) -> None:
    type_check(api_client, tmp_path / "mypy")


def test_the_generated_client_has_an_operation_per_route(api_client: Path) -> None:
    """Each operationId of the source document is a module of the client: no route
    was left out for a schema the generator could not read."""
    source = json.loads(BUNDLED_API.read_text(encoding="utf-8"))
    operations = {
        re.sub(r"(?<!^)([A-Z])", r"_\1", operation["operationId"]).lower()
        for path in source["paths"].values()
        for operation in path.values()
    }
    generated = {module.stem for module in (api_client / "api" / "default").glob("get_*.py")}
    assert (
        operations
        == generated
        == {
            "get_job_status",
            "get_fleet",
            "get_job_history",
            "get_job_transitions",
        }
    )


def test_the_bundle_is_a_valid_openapi_document_that_stands_alone() -> None:
    """Valid OpenAPI 3.1, and no reference leaves the file (no `../schemas/`, no `$defs`
    that a generator would resolve against the wrong base)."""
    text = BUNDLED_API.read_text(encoding="utf-8")
    validate(json.loads(text))
    references = set(re.findall(r'"\$ref": "([^"]*)"', text))
    assert references, "the bundle refers to nothing: the test reads it wrong"
    assert {
        reference for reference in references if not reference.startswith("#/components/")
    } == set()


class Answer(NamedTuple):
    label: str
    status: int
    body: Any  # the JSON the server sent (None: no body)
    parsed: Any  # what the generated client made of it


def _upstream(request: Request) -> Response:
    job_name = request.path.split("/")[4]
    if job_name == FLAKY:
        return Response(b"busy", 503, content_type="text/plain")
    if job_name == GONE:
        exchange = load_exchange(FIXTURES / "valid" / "doc-2024-failure-dlf0100.json")
        return Response(exchange.body, exchange.status, headers=dict(exchange.headers))
    node = {"name": "n", "status": "NORMAL", "totalGetBytes": BIG, "speed": 1.5}
    body = {"name": job_name, "status": "NORMAL", "startTime": 1, "nodes": [node], "Odd": None}
    return Response(jsoncodec.canonical_bytes(body), 200, content_type="application/json")


def _seed(snapshots: Path) -> None:
    """A fleet of six (one failing, one stale, one served stale) and a job that changed."""
    store = LocalDirectoryStore(snapshots)
    writer = SnapshotWriter(store)
    now = datetime.now(UTC)
    for number in range(3):
        observe(store, JobRef.parse(PROJECT, f"job-{number}"), "NORMAL", now, None, writer)
    observe(store, JobRef.parse(PROJECT, "failing"), "EXCEPTION", now, None, writer)
    observe(store, JobRef.parse(PROJECT, "silent"), "NORMAL", now - timedelta(days=1), None, writer)
    observe(store, JobRef.parse(PROJECT, FLAKY), "NORMAL", now, None, writer)
    for minutes, status in ((30, "NORMAL"), (20, "EXCEPTION"), (10, "STOPPED")):
        moment = now - timedelta(minutes=minutes)
        observe(store, JobRef.parse(PROJECT, "orders"), status, moment, {"n": status}, writer)


@pytest.fixture(scope="module")
def answers(api_client: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Answer]:
    """Every kind of answer, asked through the generated client of a running `serve`."""
    client_package = imported(api_client.parent, PACKAGE)
    routes = importlib.import_module(f"{PACKAGE}.api.default")
    operations = {
        name: importlib.import_module(f"{routes.__name__}.{name}")
        for name in ("get_job_status", "get_fleet", "get_job_history", "get_job_transitions")
    }
    snapshots = tmp_path_factory.mktemp("client-snapshots")
    _seed(snapshots)
    upstream = HTTPServer(host="127.0.0.1", port=0)
    upstream.expect_request(re.compile(".*")).respond_with_handler(_upstream)
    upstream.start()
    environment = {
        "DLF_ENDPOINT": upstream.url_for("").rstrip("/"),
        "DLF_AK": "CLIENTTESTAK",
        "DLF_SK": "client-test-sk-not-a-secret",
        "DLF_MAX_ATTEMPTS": "1",
        "SNAPSHOT_URI": str(snapshots),
        "LOG_LEVEL": "ERROR",
    }
    found: list[Answer] = []
    try:
        with (
            serving(api_from(environment)) as url,
            client_package.Client(base_url=url, raise_on_unexpected_status=True) as client,
        ):

            def ask(label: str, operation: str, *arguments: str, **query: Any) -> Any:
                call: Callable[..., Any] = operations[operation].sync_detailed
                answer = call(*arguments, client=client, **query)
                body = json.loads(answer.content) if answer.content else None
                found.append(Answer(label, int(answer.status_code), body, answer.parsed))
                return answer

            fresh = ask("status fresh", "get_job_status", PROJECT, "orders")
            ask(
                "status 304",
                "get_job_status",
                PROJECT,
                "orders",
                if_none_match=fresh.headers["etag"],
            )
            ask("status stale", "get_job_status", PROJECT, FLAKY)
            ask("status job not found", "get_job_status", PROJECT, GONE)
            ask("status bad project", "get_job_status", "a.b", "orders")
            fleet = ask("fleet", "get_fleet", PROJECT)
            ask("fleet 304", "get_fleet", PROJECT, if_none_match=fleet.headers["etag"])
            ask("fleet failing", "get_fleet", PROJECT, fail_on="EXCEPTION,STALE")
            ask("fleet filtered", "get_fleet", PROJECT, status="exception,unknown")
            ask("fleet empty", "get_fleet", "no-such-project")
            ask("fleet of a workspace", "get_fleet", PROJECT, workspace="ws-1")
            page = ask("fleet page 1", "get_fleet", PROJECT, limit=4)
            ask("fleet last page", "get_fleet", PROJECT, limit=4, cursor=page.parsed.next_cursor)
            page = ask("history page 1", "get_job_history", PROJECT, "orders", limit=2)
            ask("history page 2", "get_job_history", PROJECT, "orders", limit=2,
                cursor=page.parsed.next_cursor)  # fmt: skip
            ask("history empty", "get_job_history", PROJECT, "never-observed")
            now = datetime.now(UTC)
            ask("history bounded", "get_job_history", PROJECT, "orders",
                from_=now - timedelta(minutes=25), to=now)  # fmt: skip
            ask("history bad bounds", "get_job_history", PROJECT, "orders",
                from_=now, to=now - timedelta(days=1))  # fmt: skip
            page = ask("transitions page 1", "get_job_transitions", PROJECT, "orders", limit=1)
            ask("transitions page 2", "get_job_transitions", PROJECT, "orders", limit=1,
                cursor=page.parsed.next_cursor)  # fmt: skip
            ask("transitions empty", "get_job_transitions", PROJECT, "never-observed")
            ask("transitions bad limit", "get_job_transitions", PROJECT, "orders", limit=0)
    finally:
        upstream.clear()
        upstream.stop()
    return found


EXPECTED = {  # label: (status, the model the client parses it into; None: no body)
    "status fresh": (200, "DlfStatusNormalisedStatusDocumentV1"),
    "status 304": (304, None),
    "status stale": (200, "DlfStatusNormalisedStatusDocumentV1"),
    "status job not found": (404, "Problem"),
    "status bad project": (400, "Problem"),
    "fleet": (200, "DlfStatusFleetDocumentV1"),
    "fleet 304": (304, None),
    "fleet failing": (503, "DlfStatusFleetDocumentV1"),
    "fleet filtered": (200, "DlfStatusFleetDocumentV1"),
    "fleet empty": (200, "DlfStatusFleetDocumentV1"),
    "fleet of a workspace": (200, "DlfStatusFleetDocumentV1"),
    "fleet page 1": (200, "DlfStatusFleetDocumentV1"),
    "fleet last page": (200, "DlfStatusFleetDocumentV1"),
    "history page 1": (200, "DlfStatusHistoryPageV1"),
    "history page 2": (200, "DlfStatusHistoryPageV1"),
    "history empty": (200, "DlfStatusHistoryPageV1"),
    "history bounded": (200, "DlfStatusHistoryPageV1"),
    "history bad bounds": (400, "Problem"),
    "transitions page 1": (200, "DlfStatusTransitionsPageV1"),
    "transitions page 2": (200, "DlfStatusTransitionsPageV1"),
    "transitions empty": (200, "DlfStatusTransitionsPageV1"),
    "transitions bad limit": (400, "Problem"),
}


def test_every_kind_of_answer_was_asked(answers: list[Answer]) -> None:
    assert [answer.label for answer in answers] == list(EXPECTED)


@pytest.mark.parametrize("label", list(EXPECTED))
def test_the_generated_client_parses_the_answer_losing_nothing(
    answers: list[Answer], label: str
) -> None:
    """The answer parses into its model, and the model gives back the very JSON sent:
    every member, every null, integers past 64 bits exact."""
    answer = next(answer for answer in answers if answer.label == label)
    status, model = EXPECTED[label]
    assert answer.status == status, answer.body
    if model is None:
        assert (answer.body, answer.parsed) == (None, None)
        return
    assert type(answer.parsed).__name__ == model
    assert answer.parsed.to_dict() == answer.body


def test_the_answers_hold_what_the_routes_promise(answers: list[Answer]) -> None:
    """The scenario reached each branch it names (so the round trips above cover them)."""
    by_label = {answer.label: answer.body for answer in answers}
    assert by_label["status fresh"]["nodes"][0]["metrics"]["total_get_bytes"] == BIG
    assert by_label["status stale"]["stale"] is True
    assert by_label["fleet failing"]["failing"] is True
    assert by_label["fleet empty"]["jobs"] == []
    assert [row["status"] for row in by_label["fleet filtered"]["jobs"]] == ["EXCEPTION"]
    assert by_label["fleet page 1"]["next_cursor"] is not None
    assert by_label["fleet last page"]["next_cursor"] is None
    assert len(by_label["fleet page 1"]["jobs"]) + len(by_label["fleet last page"]["jobs"]) == 7
    history = by_label["history page 1"]["documents"] + by_label["history page 2"]["documents"]
    assert [document["job"]["status"] for document in history] == [
        "NORMAL",  # the status route's observation
        "STOPPED",
        "EXCEPTION",
        "NORMAL",
    ]
    assert by_label["history empty"]["documents"] == []
    assert by_label["transitions empty"]["records"] == []
    assert by_label["status job not found"]["type"] == "urn:dlf-status:problem:job-not-found"
    # an aware datetime's "+00:00" reached the function intact (sent as %2B)
    assert len(by_label["history bounded"]["documents"]) == 3
    assert by_label["history bad bounds"]["field"] in ("from", "to")


def test_the_generated_client_keeps_a_stale_answer_typed(answers: list[Answer]) -> None:
    """`stale` is a bool attribute of the document model (`"const": true` alone once
    made the generator write code that does not compile)."""
    stale = next(answer for answer in answers if answer.label == "status stale").parsed
    fresh = next(answer for answer in answers if answer.label == "status fresh").parsed
    assert stale.stale is True
    assert "stale" not in fresh.to_dict()


@pytest.fixture(scope="module")
def upstream_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    package = tmp_path_factory.mktemp("upstream-client") / "dataarts_client"
    generate(OPENAPI_YAML, package)
    return package


def test_the_upstream_client_passes_mypy_strict(upstream_client: Path, tmp_path: Path) -> None:
    type_check(upstream_client, tmp_path / "mypy")


UPSTREAM_BODIES = [
    pytest.param(fixture, model, id=fixture.stem)
    for fixtures, model in ((VALID_FIXTURES, "RealTimeJobStatus"), (LIST_VALID_FIXTURES, "JobList"))
    for fixture in fixtures
    if read_fixture(fixture)["status"] == 200 and isinstance(read_fixture(fixture)["body"], dict)
]


@pytest.mark.parametrize(("fixture", "model"), UPSTREAM_BODIES)
def test_the_upstream_client_reads_every_recorded_answer(
    upstream_client: Path, fixture: Path, model: str
) -> None:
    """Each recorded 200 of the upstream parses into the generated model and comes
    back the same: the hand-written contract says what DataArts Studio really sends."""
    models = imported(upstream_client.parent, f"{upstream_client.name}.models")
    body = read_fixture(fixture)["body"]
    assert getattr(models, model).from_dict(body).to_dict() == body
