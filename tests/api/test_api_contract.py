"""dlf-status's own HTTP API against its OpenAPI document (api/dlf-status.openapi.yaml),
checked by schemathesis against a running `dlf-status serve` (its server, its
handler), with pytest-httpserver as a healthy upstream; and the document's rule for a
job name against the function's, on the hostile corpus and generated text."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from dlf_status.domain import jsoncodec
from dlf_status.domain.model import validate_job_name
from dlf_status.errors import InvalidInput
from tests.support.root import api_from
from tests.support.serving import serving

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
API = ROOT / "api" / "dlf-status.openapi.yaml"


def _function_contract() -> Any:
    """The API as the function sees it: authorisation (SigV4) is API Gateway's, done
    before the function runs (checked in tests/infrastructure); `serve`, like the
    function, has none. Everything else is checked as written."""
    document = yaml.safe_load(API.read_text(encoding="utf-8"))
    document.pop("security")
    schema = schemathesis.openapi.from_dict(document)
    schema.location = API.as_uri()  # resolves ../schemas/ as from_path would
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


@pytest.fixture(scope="module")
def served(healthy_upstream: HTTPServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    snapshots = tmp_path_factory.mktemp("api-snapshots")
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


@SCHEMA.parametrize()  # type: ignore[untyped-decorator]  # schemathesis ships no stubs for it
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_contract(case: Any, served: str) -> None:
    case.call_and_validate(base_url=served)


def _parameter_schema(name: str) -> dict[str, Any]:
    document = yaml.safe_load(API.read_text(encoding="utf-8"))
    [parameter] = [
        parameter
        for parameter in document["paths"]["/v1/{project_id}/jobs/{job_name}/status"]["get"][
            "parameters"
        ]
        if parameter["name"] == name
    ]
    schema: dict[str, Any] = parameter["schema"]
    return schema


JOB_NAME = _parameter_schema("job_name")
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
