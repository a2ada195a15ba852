"""dlf-status's own HTTP API against its OpenAPI document (api/dlf-status.openapi.yaml),
checked by schemathesis against a running `dlf-status serve` (its server, its
handler), with pytest-httpserver as a healthy upstream."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from dlf_status.bootstrap import build_function_app
from dlf_status.domain import jsoncodec
from dlf_status.entrypoints.local_server import make_server
from dlf_status.observability import NullMetrics

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
    server = make_server(build_function_app(environment, NullMetrics()), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    outside = [
        path for path in snapshots.rglob("*") if not path.resolve().is_relative_to(snapshots)
    ]
    assert outside == []


@SCHEMA.parametrize()  # type: ignore[untyped-decorator]  # schemathesis ships no stubs for it
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_contract(case: Any, served: str) -> None:
    case.call_and_validate(base_url=served)
