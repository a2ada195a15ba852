"""The credentials secret is read again at each call until one read succeeds
(bootstrap.build_authenticator, signing.DeferredAuthenticator).

A function is started as lambda_http starts one (startup.start, the composition
root), with DLF_CREDENTIALS_SECRET set and Secrets Manager at a port where nothing
listens yet; a server that answers GetSecretValue as Secrets Manager does (its JSON
protocol; moto's server needs Flask, which the project does not install) is started
there later. The upstream is pytest-httpserver.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from dlf_status import bootstrap
from dlf_status.entrypoints import startup
from dlf_status.entrypoints.http_api import StatusApi
from dlf_status.errors import ConfigurationError
from tests.integration.conftest import PROJECT, exchange_response, status_path
from tests.support.events import http_api_event
from tests.support.seaweed import free_ports

pytestmark = pytest.mark.integration

SECRET_ID = "dlf/credentials"
TOKEN = "fake-iam-token-from-the-secret-0001"


@pytest.fixture
def secrets_port(monkeypatch: pytest.MonkeyPatch) -> int:
    (port,) = free_ports(1)
    # boto3 reads these from the process's environment.
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    return port


def _start(upstream: HTTPServer, tmp_path: Any) -> StatusApi:
    started = startup.start(
        bootstrap.build_status_service,
        {
            "DLF_ENDPOINT": upstream.url_for("").rstrip("/"),
            "DLF_CREDENTIALS_SECRET": SECRET_ID,
            "SNAPSHOT_URI": str(tmp_path),
        },
    )
    assert not isinstance(started, ConfigurationError), started
    return StatusApi(started.observe)


def _call(api: StatusApi) -> tuple[int, dict[str, Any]]:
    answer = api.handle(http_api_event(PROJECT, "job_sms"), request_id="r")
    return answer["statusCode"], json.loads(answer["body"])


class _SecretsManager:
    """GetSecretValue over Secrets Manager's JSON protocol: the secret, or
    ResourceNotFoundException when there is none. Counts the reads."""

    def __init__(self, port: int, secret: str | None) -> None:
        self.reads = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                assert self.headers["X-Amz-Target"] == "secretsmanager.GetSecretValue"
                outer.reads += 1
                if secret is None:
                    status, answer = (
                        400,
                        {
                            "__type": "ResourceNotFoundException",
                            "message": "Secrets Manager can't find the specified secret.",
                        },
                    )
                else:
                    status, answer = 200, {"Name": SECRET_ID, "SecretString": secret}
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _secrets_manager(port: int, secret: str | None) -> _SecretsManager:
    return _SecretsManager(port, secret)


def test_a_secret_store_down_at_the_start_is_read_once_it_answers(
    secrets_port: int, upstream: HTTPServer, tmp_path: Any
) -> None:
    tokens: list[str | None] = []

    def respond(request: Request) -> Response:
        tokens.append(request.headers.get("X-Auth-Token"))
        return exchange_response("doc-2024-success")

    upstream.expect_request(status_path("job_sms")).respond_with_handler(respond)
    api = _start(upstream, tmp_path)  # nothing listens for Secrets Manager yet

    status, problem = _call(api)
    assert (status, problem["type"].rsplit(":", 1)[-1]) == (500, "configuration")
    assert "EndpointConnectionError" in problem["detail"]
    assert tokens == []  # the upstream was never called without credentials

    server = _secrets_manager(secrets_port, json.dumps({"auth_token": TOKEN}))
    try:
        first, _ = _call(api)
        second, _ = _call(api)
    finally:
        server.stop()

    assert (first, second) == (200, 200)
    assert tokens == [TOKEN, TOKEN]


def test_a_missing_secret_is_the_configuration_problem_at_every_call(
    secrets_port: int, upstream: HTTPServer, tmp_path: Any
) -> None:
    server = _secrets_manager(secrets_port, None)
    try:
        api = _start(upstream, tmp_path)
        answers = [_call(api) for _ in range(2)]
    finally:
        server.stop()

    for status, problem in answers:
        assert (status, problem["type"].rsplit(":", 1)[-1]) == (500, "configuration")
        assert "ResourceNotFoundException" in problem["detail"]
    assert server.reads == 3  # at the start, then at each call


def test_a_read_of_a_secrets_manager_that_never_answers_ends_after_one_attempt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The production client (make_secrets_client) against a server that accepts and
    never answers: its read timeout ends the one attempt, the bound a read inside an
    upstream call (after a rejection, or at max age) may add to it."""
    from dlf_status.adapters.secrets import make_secrets_client, read_credentials_secret
    from tests.support.faults import SilentServer

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing-not-a-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-not-a-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with SilentServer() as silent:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", silent.url)
        with pytest.raises(ConfigurationError, match="ReadTimeoutError"):
            read_credentials_secret(SECRET_ID, make_secrets_client())

    assert silent.connections == 1
