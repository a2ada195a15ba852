"""dlf-status's own HTTP API against its OpenAPI document (api/dlf-status.openapi.yaml),
checked by schemathesis against a running `dlf-status serve` (its server, its
handler), with pytest-httpserver as a healthy upstream and a store the suite fills
(a fleet with a failing and a stale job, a job with history and transitions); and the
document's rules for a job name and a status list against the function's, on the
hostile corpus and generated text."""

from __future__ import annotations

import atexit
import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance
from werkzeug import Request, Response

from dlf_status.adapters.store_local import LocalDirectoryStore
from dlf_status.domain import jsoncodec
from dlf_status.domain.model import JobRef, validate_job_name
from dlf_status.domain.readmodels import parse_fail_on, parse_statuses
from dlf_status.errors import InvalidInput
from dlf_status.service import SnapshotWriter
from tests.support.read_models import observe
from tests.support.root import api_from
from tests.support.schemas import SCHEMAS, schema_of
from tests.support.serving import serving

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
API = ROOT / "api" / "dlf-status.openapi.yaml"


# The strict forms of the published schemas, where the document's `../schemas/` finds them.
STRICT_COPY = Path(tempfile.mkdtemp(prefix="strict-api-"))
atexit.register(shutil.rmtree, STRICT_COPY, ignore_errors=True)


def _function_contract() -> Any:
    """The API as the function sees it: authorisation (SigV4) is API Gateway's, done
    before the function runs (checked in tests/infrastructure); `serve`, like the
    function, has none. Everything else is checked as written, and each body against
    the strict form of its published schema (tests/support/schemas.py): the published
    schemas let a later 1.x add members, but a member we write that they do not name
    is a mistake of ours."""
    document = yaml.safe_load(API.read_text(encoding="utf-8"))
    document.pop("security")
    (STRICT_COPY / "schemas").mkdir()
    for published in sorted(SCHEMAS.glob("*.schema.json")):
        strict = json.dumps(schema_of(published.name), ensure_ascii=False)
        (STRICT_COPY / "schemas" / published.name).write_text(strict, encoding="utf-8")
    schema = schemathesis.openapi.from_dict(document)
    # resolves ../schemas/ as from_path would, to the strict copies
    schema.location = (STRICT_COPY / API.parent.name / API.name).as_uri()
    return schema


SCHEMA = _function_contract()


@pytest.fixture(scope="module")
def healthy_upstream(make_httpserver: HTTPServer) -> Iterator[HTTPServer]:
    def answer(request: Request) -> Response:
        body = {"name": "job", "status": "NORMAL", "nodes": [{"name": "n", "status": "NORMAL"}]}
        return Response(jsoncodec.canonical_bytes(body), 200, content_type="application/json")

    make_httpserver.clear()
    # Any path: werkzeug decodes it before matching, and hostile names are the point.
    make_httpserver.expect_request(re.compile(".*")).respond_with_handler(answer)
    yield make_httpserver
    make_httpserver.clear()


# The document's examples (project_id, job_name) name what the suite stores, so that
# the examples schemathesis sends first reach a fleet, a history and transitions.
PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
SEEDED_JOB = "orders_stream"


def _seed(snapshots: Path) -> None:
    """A fleet of twelve jobs (one failing, one stale) and a job whose status changed."""
    store = LocalDirectoryStore(snapshots)
    writer = SnapshotWriter(store)
    now = datetime.now(UTC)
    for number in range(10):
        observe(store, JobRef.parse(PROJECT, f"job-{number:02}"), "NORMAL", now, None, writer)
    observe(store, JobRef.parse(PROJECT, "failing"), "EXCEPTION", now, None, writer)
    observe(store, JobRef.parse(PROJECT, "silent"), "NORMAL", now - timedelta(days=1), None, writer)
    for minutes, status in ((30, "NORMAL"), (20, "EXCEPTION"), (10, "NORMAL")):
        moment = now - timedelta(minutes=minutes)
        observe(store, JobRef.parse(PROJECT, SEEDED_JOB), status, moment, {"n": status}, writer)


@pytest.fixture(scope="module")
def served(healthy_upstream: HTTPServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    snapshots = tmp_path_factory.mktemp("api-snapshots")
    _seed(snapshots)
    environment = {
        "DLF_ENDPOINT": healthy_upstream.url_for("").rstrip("/"),
        "DLF_AK": "APICONTRACTAK",
        "DLF_SK": "api-contract-sk-not-a-secret",
        "DLF_MAX_ATTEMPTS": "1",
        "SNAPSHOT_URI": str(snapshots),
        "LOG_LEVEL": "ERROR",
    }
    with serving(api_from(environment)) as url:
        yield url
    outside = [
        path for path in snapshots.rglob("*") if not path.resolve().is_relative_to(snapshots)
    ]
    assert outside == []


def _documented_exemptions(case: Any, response: Any) -> list[Any]:
    """The checks an answer the document itself describes would fail, and only those:
    a failing fleet is a deliberate 503 (not a server error), and two refusals of
    values that fit their schema are documented (no schema can say them): a cursor
    the server did not issue (it is opaque and bound to its query) and `from` not
    earlier than `to`."""
    exempt: list[Any] = []
    body = response.json() if response.content else None
    if not isinstance(body, dict):
        return exempt
    if case.operation.definition.raw.get("operationId") == "getFleet" and (
        response.status_code == 503 and body.get("failing") is True
    ):
        exempt.append(not_a_server_error)
    if response.status_code == 400 and (
        body.get("field") == "cursor"
        or (body.get("field") == "from" and body.get("detail") == "from must be earlier than to")
    ):
        exempt.append(positive_data_acceptance)
    return exempt


@SCHEMA.parametrize()  # type: ignore[untyped-decorator]  # schemathesis ships no stubs for it
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_contract(case: Any, served: str) -> None:
    response = case.call(base_url=served)
    case.validate_response(response, excluded_checks=_documented_exemptions(case, response))


def _document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(API.read_text(encoding="utf-8"))
    return document


def _parameter_schema(
    name: str, path: str = "/v1/{project_id}/jobs/{job_name}/status"
) -> dict[str, Any]:
    document = _document()
    parameters = [
        document["components"]["parameters"][p["$ref"].rpartition("/")[2]] if "$ref" in p else p
        for p in document["paths"][path]["get"]["parameters"]
    ]
    [parameter] = [parameter for parameter in parameters if parameter["name"] == name]
    schema: dict[str, Any] = parameter["schema"]
    return schema


def test_every_route_of_the_function_is_in_the_document() -> None:
    from dlf_status.entrypoints.events import ROUTES

    assert set(_document()["paths"]) == {route.value for route in ROUTES}


JOB_NAME = _parameter_schema("job_name")
STATUS = _parameter_schema("status", "/v1/{project_id}/jobs")
FAIL_ON = _parameter_schema("fail_on", "/v1/{project_id}/jobs")
HOSTILE = json.loads((ROOT / "tests" / "hostile" / "corpus.json").read_text(encoding="utf-8"))


def _documented_as_valid(job_name: str) -> bool:
    return (
        JOB_NAME["minLength"] <= len(job_name) <= JOB_NAME["maxLength"]
        and re.search(JOB_NAME["pattern"], job_name) is not None
    )


def _accepted(job_name: str) -> bool:
    try:
        validate_job_name(job_name)
    except InvalidInput:
        return False
    return True


# Lone surrogates are left out: no UTF-8 URL can carry one (they stand for bytes that
# are not UTF-8, which tests/hostile shows are refused).
@pytest.mark.parametrize(
    "job_name", [value for value in HOSTILE["strings"] if not re.search("[\ud800-\udfff]", value)]
)
def test_the_documented_job_name_is_the_accepted_one_on_the_corpus(job_name: str) -> None:
    assert _documented_as_valid(job_name) == _accepted(job_name)


@settings(max_examples=500)
@given(st.text(max_size=140))
def test_the_documented_job_name_is_the_accepted_one(job_name: str) -> None:
    assert _documented_as_valid(job_name) == _accepted(job_name)


def _documented_list(schema: dict[str, Any], value: str) -> bool:
    return len(value) <= schema["maxLength"] and re.search(schema["pattern"], value) is not None


def _accepted_list(parse: Any, value: str) -> bool:
    try:
        parse(value)
    except InvalidInput:
        return False
    return True


status_words = st.sampled_from(
    ["NORMAL", "exception", "Stopped", "STALE", "unknown", "STARTING", "stopping", "RUNNING"]
)
status_lists = st.lists(
    st.tuples(
        st.sampled_from(["", " ", "\t", "\n", "\u00a0"]), status_words, st.sampled_from(["", " "])
    ),
    max_size=4,
).map(lambda words: ",".join(f"{a}{w}{b}" for a, w, b in words))


@settings(max_examples=500)
@given(st.one_of(status_lists, st.text(max_size=40), st.from_regex(STATUS["pattern"])))
def test_the_documented_status_lists_are_the_accepted_ones(value: str) -> None:
    assert _documented_list(STATUS, value) == _accepted_list(parse_statuses, value)
    assert _documented_list(FAIL_ON, value) == _accepted_list(parse_fail_on, value)
