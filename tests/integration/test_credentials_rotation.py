"""Credentials that change while a container is warm: the secret is rotated, a token
expires, a leaked AK is replaced and deleted (bootstrap.build_authenticator,
signing.DeferredAuthenticator, upstream_http's auth-rejection path).

Secrets Manager is moto (no local server exists); the secret is rotated mid-test
with `put_secret_value`. The upstream is pytest-httpserver, threaded, and accepts only
the credentials it is told are current: the AK of the AK/SK signature's
Authorization header, or the X-Auth-Token. The service and the tick are built as the
functions build them, with an injected clock for the re-read interval.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from dlf_status import bootstrap
from dlf_status.config import Settings
from dlf_status.entrypoints import schedule
from dlf_status.observability import REDACTOR
from dlf_status.poller import TickRunner
from dlf_status.service import StatusService
from tests.integration.conftest import PROJECT, exchange_response

pytestmark = pytest.mark.integration

SECRET_ID = "dlf/credentials"
OLD = {"ak": "FAKEROTATIONAKOLD0001", "sk": "fake-rotation-sk-old-0001"}
NEW = {"ak": "FAKEROTATIONAKNEW0002", "sk": "fake-rotation-sk-new-0002"}
OLD_TOKEN = {"auth_token": "fake-rotation-iam-token-old-0001"}
NEW_TOKEN = {"auth_token": "fake-rotation-iam-token-new-0002"}
THREADS = 4
_ACCESS = re.compile(r"Access=([^,]+),")


class Clock:
    """The authenticator's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Upstream:
    """Answers a status call when signed with the current credentials, else the
    gateway's 401. Counts what it accepted and rejected. `hold` makes the first
    rejected calls wait for each other, so that every tick thread is known to have
    signed with the old credentials before any learns they are rejected."""

    def __init__(self, accepted: dict[str, str]) -> None:
        self.accepted = accepted
        self.rejected = 0
        self.answered = 0
        self.lock = threading.Lock()
        self.hold: threading.Barrier | None = None

    def __call__(self, request: Request) -> Response:
        if "auth_token" in self.accepted:
            current = request.headers.get("X-Auth-Token") == self.accepted["auth_token"]
        else:
            found = _ACCESS.search(request.headers.get("Authorization", ""))
            current = found is not None and found.group(1) == self.accepted["ak"]
        if not current:
            with self.lock:
                self.rejected += 1
            if self.hold is not None:
                self.hold.wait(timeout=30)  # a guard against a hang, not a timing
            return exchange_response("gateway-401-signature")
        with self.lock:
            self.answered += 1
        return exchange_response("doc-2024-success")


class SecretReads:
    """Counts GetSecretValue calls made by any boto3 client of the default session."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, **_: Any) -> None:
        self.count += 1


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, SecretReads]]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    reads = SecretReads()
    with mock_aws():
        boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION
        assert session is not None
        session.events.register("before-call.secrets-manager.GetSecretValue", reads)
        yield boto3.client("secretsmanager", region_name="us-east-1"), reads


@pytest.fixture
def threaded_upstream() -> Iterator[HTTPServer]:
    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def _settings(upstream: HTTPServer, tmp_path: Path, **more: str) -> Settings:
    return Settings.from_environ(
        {
            "DLF_ENDPOINT": upstream.url_for("").rstrip("/"),
            "DLF_CREDENTIALS_SECRET": SECRET_ID,
            "SNAPSHOT_URI": str(tmp_path),
            "POLL_CONCURRENCY": str(THREADS),
            **more,
        }
    )


def _service(settings: Settings, clock: Clock) -> StatusService:
    authenticator = bootstrap.build_authenticator(settings, monotonic=clock)
    client = bootstrap.build_upstream_client(settings, authenticator=authenticator)
    return bootstrap.build_status_service(settings, upstream=client)


def _tick(runner: TickRunner, tick_id: str, jobs: int) -> list[dict[str, Any]]:
    event = {
        "jobs": [{"project_id": PROJECT, "job_name": f"job-{i}"} for i in range(jobs)],
        "tick_id": tick_id,
        "scheduled_time": "2026-11-25T10:00:00Z",
    }
    outcomes: list[dict[str, Any]] = schedule.run_tick(runner, event)["outcomes"]
    return outcomes


def _serving(
    client: Any,
    upstream: HTTPServer,
    secret: dict[str, str],
    *,
    accepted: dict[str, str] | None = None,
) -> Upstream:
    """The secret created holding `secret`, and the upstream answering every status
    call, accepting only `accepted` (the secret's credentials unless said)."""
    client.create_secret(Name=SECRET_ID, SecretString=json.dumps(secret))
    serving = Upstream(dict(secret if accepted is None else accepted))
    upstream.expect_request(re.compile(r"^/v1/.*/status$")).respond_with_handler(serving)
    return serving


def _results(outcomes: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(outcome["result"], outcome.get("error")) for outcome in outcomes]


def test_a_tick_across_a_rotation_reads_the_secret_once_and_retries_each_rejected_call_once(
    secrets: tuple[Any, SecretReads], threaded_upstream: HTTPServer, tmp_path: Path
) -> None:
    client, reads = secrets
    upstream = _serving(client, threaded_upstream, OLD)
    settings = _settings(threaded_upstream, tmp_path)
    runner = bootstrap.build_tick_runner(settings, service=_service(settings, Clock()))

    first = _tick(runner, "before", 2 * THREADS)
    assert _results(first) == [("ok", None)] * (2 * THREADS)
    assert (reads.count, upstream.rejected, upstream.answered) == (1, 0, 2 * THREADS)

    # The AK is replaced and the old one deleted: only the new one is accepted.
    client.put_secret_value(SecretId=SECRET_ID, SecretString=json.dumps(NEW))
    upstream.accepted = dict(NEW)
    upstream.hold = threading.Barrier(THREADS)

    second = _tick(runner, "after", 2 * THREADS)

    assert _results(second) == [("ok", None)] * (2 * THREADS)
    # Each thread's first call was signed with the old AK and rejected, once; the
    # secret was read again once for all of them; every retry and later call used
    # the new AK.
    assert upstream.rejected == THREADS
    assert reads.count == 2
    assert upstream.answered == 4 * THREADS
    assert NEW["sk"] not in REDACTOR.text(f"signed with {NEW['sk']}")
    assert OLD["sk"] not in REDACTOR.text(f"signed with {OLD['sk']}")


def test_an_expired_token_is_replaced_at_the_first_rejection(
    secrets: tuple[Any, SecretReads], threaded_upstream: HTTPServer, tmp_path: Path
) -> None:
    client, reads = secrets
    upstream = _serving(client, threaded_upstream, OLD_TOKEN)
    settings = _settings(threaded_upstream, tmp_path, POLL_CONCURRENCY="1")
    runner = bootstrap.build_tick_runner(settings, service=_service(settings, Clock()))
    assert _results(_tick(runner, "before", 1)) == [("ok", None)]

    client.put_secret_value(SecretId=SECRET_ID, SecretString=json.dumps(NEW_TOKEN))
    upstream.accepted = dict(NEW_TOKEN)

    assert _results(_tick(runner, "after", 3)) == [("ok", None)] * 3
    assert (upstream.rejected, reads.count, upstream.answered) == (1, 2, 4)


def test_credentials_rejected_and_unchanged_are_never_sent_again_in_the_same_call(
    secrets: tuple[Any, SecretReads], threaded_upstream: HTTPServer, tmp_path: Path
) -> None:
    client, reads = secrets
    upstream = _serving(
        client, threaded_upstream, OLD, accepted=NEW
    )  # the secret was never updated
    settings = _settings(threaded_upstream, tmp_path, POLL_CONCURRENCY="1")
    clock = Clock()
    runner = bootstrap.build_tick_runner(settings, service=_service(settings, clock))

    results = _results(_tick(runner, "wrong", 3))

    assert results == [("failed", "UpstreamAuthRejected")] * 3
    # One call each, never retried with the same credentials; one re-read found the
    # secret unchanged, and the next rejections within the bound read nothing.
    assert (upstream.rejected, reads.count) == (3, 2)

    clock.now += 60.0  # past the bound on re-reads after a rejection
    assert _results(_tick(runner, "later", 1)) == [("failed", "UpstreamAuthRejected")]
    assert (upstream.rejected, reads.count) == (4, 3)


def test_the_secret_is_read_again_after_its_max_age_without_a_rejection(
    secrets: tuple[Any, SecretReads], threaded_upstream: HTTPServer, tmp_path: Path
) -> None:
    client, reads = secrets
    upstream = _serving(client, threaded_upstream, OLD)
    settings = _settings(
        threaded_upstream, tmp_path, POLL_CONCURRENCY="1", DLF_CREDENTIALS_MAX_AGE="600"
    )
    clock = Clock()
    runner = bootstrap.build_tick_runner(settings, service=_service(settings, clock))
    assert _results(_tick(runner, "first", 1)) == [("ok", None)]

    # A graceful rotation: the new AK works before the secret holds it.
    client.put_secret_value(SecretId=SECRET_ID, SecretString=json.dumps(NEW))
    clock.now += 599.0
    assert _results(_tick(runner, "young", 1)) == [("ok", None)]
    assert reads.count == 1  # still young: not read again
    upstream.accepted = dict(NEW)
    clock.now += 1.0

    assert _results(_tick(runner, "old", 2)) == [("ok", None)] * 2
    assert (reads.count, upstream.rejected, upstream.answered) == (2, 0, 4)
