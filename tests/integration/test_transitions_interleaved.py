"""Transitions as they happened, with a warm `dlf-status serve` and CLI `dlf-status get`s
taking turns on one job: a real upstream on loopback whose answer the test switches,
and SeaweedFS.

The warm server remembers the latest.json it wrote; each `get` is a new process that
changes latest.json behind its back. The records must be exactly the changes between
successive observations: no NORMAL->STOPPED beside NORMAL->EXCEPTION->STOPPED.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from dlf_status.adapters.store_s3 import S3Store
from dlf_status.domain import jsoncodec
from dlf_status.domain.ports import ObjectStore
from dlf_status.domain.snapshots import SnapshotOutcome, latest_key
from dlf_status.service import StatusService
from tests.integration.conftest import JOB, PROJECT, TickingClock, match_path, stored_keys
from tests.support.fakes import Killed
from tests.support.seaweed import (
    ACCESS_KEY,
    PATIENT_STORE_SECONDS,
    REGION,
    SECRET_KEY,
    SeaweedServer,
    free_ports,
)
from tests.support.transitions import assert_chain

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
DLF_STATUS = str(Path(sys.executable).parent / "dlf-status")
# (who observes, what the upstream answers): the sequence, then more turns,
# unchanged answers included.
TURNS = [
    ("serve", "NORMAL"),
    ("get", "EXCEPTION"),
    ("serve", "STOPPED"),
    ("get", "STOPPED"),
    ("serve", "NORMAL"),
    ("serve", "NORMAL"),
    ("get", "EXCEPTION"),
    ("serve", "EXCEPTION"),
    ("get", "NORMAL"),
    ("serve", "STOPPED"),
]


class SwitchableUpstream:
    """Answers with the status it is set to, for the job and its one node."""

    def __init__(self) -> None:
        self.status = "NORMAL"

    def __call__(self, _: Request) -> Response:
        body = {
            "name": "job_sms",
            "status": self.status,
            "nodes": [{"name": "DLI_SMS", "status": self.status}],
        }
        return Response(json.dumps(body), 200, content_type="application/json")


@pytest.fixture
def environment(upstream: HTTPServer, seaweed: SeaweedServer) -> dict[str, str]:
    return {
        **os.environ,
        "DLF_ENDPOINT": upstream.url_for("").rstrip("/"),
        "DLF_AK": "INTERLEAVEDAK",
        "DLF_SK": "interleaved-sk-not-a-secret",
        "DLF_MAX_ATTEMPTS": "1",
        "SNAPSHOT_URI": f"s3://{seaweed.bucket}/interleaved-{uuid.uuid4().hex[:8]}",
        "STORE_TIMEOUT": str(PATIENT_STORE_SECONDS),
        "AWS_ENDPOINT_URL_S3": seaweed.endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
    }


@pytest.fixture
def warm_server(environment: dict[str, str]) -> Iterator[str]:
    """`dlf-status serve` in its own process, kept running across the turns."""
    (port,) = free_ports(1)
    process = subprocess.Popen(
        [DLF_STATUS, "serve", "--host", "127.0.0.1", "--port", str(port)],
        stderr=subprocess.PIPE,
        env=environment,
        cwd=ROOT,
    )
    try:
        assert process.stderr is not None
        ready = process.stderr.readline().decode()  # printed once it listens
        assert "serving" in ready, ready
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()


def test_a_warm_server_and_cli_gets_record_only_the_transitions_that_happened(
    upstream: HTTPServer, environment: dict[str, str], warm_server: str, seaweed: SeaweedServer
) -> None:
    answer = SwitchableUpstream()
    upstream.expect_request(match_path("job_sms")).respond_with_handler(answer)
    observed: list[dict[str, Any]] = []

    for who, status in TURNS:
        answer.status = status
        if who == "serve":
            response = requests.get(f"{warm_server}/v1/{PROJECT}/jobs/job_sms/status", timeout=60)
            assert response.status_code == 200, response.text
            assert response.headers["X-Dlf-Snapshot"] in ("changed", "unchanged")
            observed.append(response.json())
        else:
            result = subprocess.run(
                [DLF_STATUS, "get", PROJECT, "job_sms"],
                capture_output=True,
                env=environment,
                cwd=ROOT,
                timeout=120,
                check=False,
            )
            assert (result.returncode, result.stderr) == (0, b"")
            observed.append(json.loads(result.stdout))

    bucket, _, prefix = environment["SNAPSHOT_URI"].removeprefix("s3://").partition("/")
    store = S3Store(seaweed.client(), bucket, prefix)
    records = [
        jsoncodec.loads(stored.body)
        for key in stored_keys(store)
        if key.startswith("transitions/") and (stored := store.get(key)) is not None
    ]
    job_changes = [
        (change["from"], change["to"])
        for record in sorted(records, key=lambda r: r["observed_at"])
        for change in record["changes"]
        if change["scope"] == "job"
    ]
    assert [document["job"]["status"] for document in observed] == [s for _, s in TURNS]
    assert job_changes == [
        ("NORMAL", "EXCEPTION"),
        ("EXCEPTION", "STOPPED"),
        ("STOPPED", "NORMAL"),
        ("NORMAL", "EXCEPTION"),
        ("EXCEPTION", "NORMAL"),
        ("NORMAL", "STOPPED"),
    ]
    # Every observation became latest.json in turn: the chain is theirs, nodes included.
    assert_chain(records, observed)


class _DiesBeforePublishing:
    """A store whose process dies right after latest.json was swapped, before the
    transition record is published (a Lambda stopped between two PUTs)."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def create(self, key: str, body: bytes, metadata: Mapping[str, str]) -> bool:
        if key.startswith("transitions/"):
            raise Killed
        return self._store.create(key, body, metadata)


def test_on_every_store_a_record_owed_by_a_dead_writer_is_published_by_the_next(
    upstream: HTTPServer, store: ObjectStore, make_service: Callable[..., StatusService]
) -> None:
    answer = SwitchableUpstream()
    upstream.expect_request(match_path("job_sms")).respond_with_handler(answer)

    def container(minute: int, on: ObjectStore = store) -> StatusService:
        service = make_service(store=on)
        service.clock = TickingClock(T0 + timedelta(minutes=minute))
        return service

    observed = [container(0).observe(JOB).document]
    answer.status = "EXCEPTION"
    with pytest.raises(Killed):
        container(1, _DiesBeforePublishing(store)).observe(JOB)
    assert not [key for key in stored_keys(store) if key.startswith("transitions/")]
    observed.append(jsoncodec.loads(_latest(store)))
    answer.status = "STOPPED"

    later = container(2).observe(JOB)  # a new container: only the store to go by
    observed.append(later.document)

    records = [
        jsoncodec.loads(stored.body)
        for key in stored_keys(store)
        if key.startswith("transitions/") and (stored := store.get(key)) is not None
    ]
    assert later.snapshot is SnapshotOutcome.CHANGED
    assert len(records) == 2
    assert_chain(records, observed)


def _latest(store: ObjectStore) -> bytes:
    stored = store.get(latest_key(JOB))
    assert stored is not None
    return stored.body
