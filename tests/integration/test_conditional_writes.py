"""SNAPSHOT_CONSISTENCY against real servers: SeaweedFS honours conditional writes,
`rclone serve s3` accepts them and ignores them.

A strict store proves the store honours them once, before its first write, on
`_dlf-status/conditional-write-probe`, and that it keeps user metadata on
`_dlf-status/metadata-probe`; a store that does not is refused for good, a probe that
fails for another reason is tried again on the next write.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from dlf_status.adapters.store_s3 import (
    METADATA_PROBE_KEY,
    PROBE_KEY,
    PROBE_KEYS,
    S3Store,
    make_s3_client,
)
from dlf_status.domain.documents import StatusDocument
from dlf_status.domain.model import JobRef
from dlf_status.domain.snapshots import SnapshotOutcome
from dlf_status.errors import ConditionalWritesIgnored, StoreError, UserMetadataDropped
from dlf_status.service import SnapshotWriter
from tests.integration.conftest import PROJECT, exchange_response, match_path, stored_keys
from tests.support.documents import status_document
from tests.support.faults import NO_SUCH_KEY, S3Proxy
from tests.support.rclone import RcloneS3Server
from tests.support.seaweed import (
    ACCESS_KEY,
    PATIENT_STORE_SECONDS,
    REGION,
    SECRET_KEY,
    SeaweedServer,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
JOB = JobRef.parse(PROJECT, "job_sms")


@pytest.fixture(autouse=True)
def _store_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The production client reads them from the environment, as in Lambda."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


def document(status: str = "NORMAL") -> StatusDocument:
    return status_document(JOB, status, datetime.now(UTC))


def counted(store: S3Store) -> list[tuple[str, str]]:
    """Every request the store's client sends, as (operation, key)."""
    sent: list[tuple[str, str]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        sent.append((model.name, params.get("Key", "")))

    store.client.meta.events.register("before-parameter-build.s3", record)
    return sent


def fresh_store(endpoint: str, bucket: str, **options: Any) -> S3Store:
    return S3Store(
        make_s3_client(endpoint, call_seconds=PATIENT_STORE_SECONDS),
        bucket,
        f"cw-{uuid.uuid4().hex[:10]}",
        **options,
    )


def test_a_store_that_ignores_conditional_writes_is_refused_before_anything_is_written(
    rclone_s3: RcloneS3Server,
) -> None:
    store = fresh_store(rclone_s3.endpoint, rclone_s3.bucket)
    sent = counted(store)

    with pytest.raises(ConditionalWritesIgnored, match="ignores conditional writes") as refused:
        SnapshotWriter(store).write(JOB, document(), datetime.now(UTC))
    with pytest.raises(ConditionalWritesIgnored):
        store.create("history/x.json", b"{}", {})

    assert "If-None-Match" in refused.value.detail
    assert "SNAPSHOT_CONSISTENCY=best-effort" in refused.value.detail
    assert stored_keys(store) == [PROBE_KEY]
    # The refusal is remembered: the second write sent nothing.
    puts = [key for operation, key in sent if operation == "PutObject"]
    assert len(puts) == 2
    assert all(key.endswith(PROBE_KEY) for key in puts)


def test_best_effort_writes_to_a_store_that_ignores_conditional_writes(
    rclone_s3: RcloneS3Server,
) -> None:
    store = fresh_store(rclone_s3.endpoint, rclone_s3.bucket, require_conditional_writes=False)

    written = SnapshotWriter(store).write(JOB, document(), datetime.now(UTC))

    assert written.outcome is SnapshotOutcome.CHANGED
    assert PROBE_KEY not in stored_keys(store)
    assert [key.split("/", 1)[0] for key in stored_keys(store)] == ["history", "latest"]


def test_a_store_that_honours_conditional_writes_is_probed_once_per_container(
    seaweed: SeaweedServer,
) -> None:
    store = fresh_store(seaweed.endpoint, seaweed.bucket)
    sent = counted(store)
    writer = SnapshotWriter(store)

    writer.write(JOB, document("NORMAL"), datetime.now(UTC))
    writer.write(JOB, document("EXCEPTION"), datetime.now(UTC))
    probes_of_first_container = [key for _, key in sent if key.endswith(PROBE_KEY)]
    # A second container on the same prefix: the probe key exists, one PUT fewer.
    prefix = store.location.split("/", 3)[3]
    second = S3Store(
        make_s3_client(seaweed.endpoint, call_seconds=PATIENT_STORE_SECONDS), seaweed.bucket, prefix
    )
    sent_by_second = counted(second)
    SnapshotWriter(second).write(JOB, document("STOPPED"), datetime.now(UTC))

    # create-only twice (the second refused), then If-Match on a wrong ETag (refused)
    assert len(probes_of_first_container) == 3
    assert len([key for _, key in sent_by_second if key.endswith(PROBE_KEY)]) == 2
    # The metadata probe: written once (HEAD, PUT, HEAD), read back once per container.
    assert [operation for operation, key in sent if key.endswith(METADATA_PROBE_KEY)] == [
        "HeadObject",
        "PutObject",
        "HeadObject",
    ]
    assert [operation for operation, key in sent_by_second if key.endswith(METADATA_PROBE_KEY)] == [
        "HeadObject"
    ]
    assert set(PROBE_KEYS) <= set(stored_keys(store))


def test_a_store_that_keeps_no_user_metadata_is_refused_before_anything_is_written(
    seaweed: SeaweedServer,
) -> None:
    """SeaweedFS behind a proxy that drops every `x-amz-meta-*` header of its answers:
    the store honours conditional writes but never gives back what latest.json says
    about the transition record it owes."""
    with S3Proxy(seaweed.endpoint, lambda method, path: False, keep_metadata=False) as proxy:
        store = fresh_store(proxy.url, seaweed.bucket)
        sent = counted(store)

        with pytest.raises(UserMetadataDropped, match="keeps no user metadata") as refused:
            SnapshotWriter(store).write(JOB, document(), datetime.now(UTC))
        with pytest.raises(UserMetadataDropped):
            store.create("history/x.json", b"{}", {})
        sent_while_refused = list(sent)
        best_effort = S3Store(
            make_s3_client(proxy.url, call_seconds=PATIENT_STORE_SECONDS),
            seaweed.bucket,
            store.location.split("/", 3)[3],
            require_conditional_writes=False,
        )
        written = SnapshotWriter(best_effort).write(JOB, document(), datetime.now(UTC))

    assert "SNAPSHOT_CONSISTENCY=best-effort" in refused.value.detail
    assert not isinstance(refused.value, ConditionalWritesIgnored)
    # The write read latest.json and wrote only the probes (the metadata probe: HEAD,
    # PUT, HEAD); the refusal is remembered: the second write sent nothing.
    probed = [(operation, key.split("/", 1)[1]) for operation, key in sent_while_refused]
    assert [call for call in probed if call[0] != "GetObject"] == [
        ("PutObject", PROBE_KEY),
        ("PutObject", PROBE_KEY),
        ("PutObject", PROBE_KEY),
        ("HeadObject", METADATA_PROBE_KEY),
        ("PutObject", METADATA_PROBE_KEY),
        ("HeadObject", METADATA_PROBE_KEY),
    ]
    assert written.outcome is SnapshotOutcome.CHANGED
    assert [key.split("/", 1)[0] for key in stored_keys(store)] == [
        "_dlf-status",
        "_dlf-status",
        "history",
        "latest",
    ]


def test_a_probe_that_fails_for_another_reason_is_tried_again(seaweed: SeaweedServer) -> None:
    down = {"now": True}
    with S3Proxy(seaweed.endpoint, lambda method, path: down["now"]) as proxy:
        store = S3Store(
            make_s3_client(proxy.url, call_seconds=PATIENT_STORE_SECONDS),
            seaweed.bucket,
            f"cw-{uuid.uuid4().hex[:10]}",
        )
        with pytest.raises(StoreError, match="check conditional writes") as failed:
            store.create("history/x.json", b"{}", {})
        down["now"] = False

        created = store.create("history/x.json", b"{}", {})

    assert not isinstance(failed.value, ConditionalWritesIgnored)
    assert created is True


def _cli(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dlf_status.entrypoints.cli", *arguments],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


@pytest.fixture
def cli_environment(upstream: HTTPServer, rclone_s3: RcloneS3Server) -> dict[str, str]:
    upstream.expect_request(match_path("job_sms")).respond_with_response(
        exchange_response("doc-2024-success")
    )
    return {
        **os.environ,
        "DLF_ENDPOINT": upstream.url_for("").rstrip("/"),
        "DLF_AK": "CLIAKNOTASECRET",
        "DLF_SK": "cli-sk-not-a-secret",
        "SNAPSHOT_URI": f"s3://{rclone_s3.bucket}/cli-{uuid.uuid4().hex[:8]}",
        "STORE_TIMEOUT": str(PATIENT_STORE_SECONDS),
        "AWS_ENDPOINT_URL_S3": rclone_s3.endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
    }


def test_the_cli_refuses_a_store_that_ignores_conditional_writes_in_one_line(
    cli_environment: dict[str, str],
) -> None:
    result = _cli(cli_environment, "get", PROJECT, "job_sms")

    assert result.returncode == 5
    assert result.stderr.count("\n") == 1
    assert "conditional" in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(result.stdout)["job"]["status"] == "NORMAL"  # the answer is still given


def test_the_cli_accepts_it_with_best_effort(cli_environment: dict[str, str]) -> None:
    result = _cli(
        {**cli_environment, "SNAPSHOT_CONSISTENCY": "best-effort"}, "get", PROJECT, "job_sms"
    )

    assert (result.returncode, result.stderr) == (0, "")


def test_a_tick_reports_every_job_failed_with_the_reason(
    upstream: HTTPServer, rclone_s3: RcloneS3Server, validator: Any
) -> None:
    from dlf_status import bootstrap
    from dlf_status.config import Settings
    from dlf_status.entrypoints import schedule

    for name in ("job_a", "job_b"):
        upstream.expect_request(match_path(name)).respond_with_response(
            exchange_response("doc-2024-success")
        )
    settings = Settings.from_environ(
        {
            "DLF_ENDPOINT": upstream.url_for("").rstrip("/"),
            "DLF_AK": "CONDITIONALAK",
            "DLF_SK": "conditional-sk-not-a-secret",
            "DLF_MAX_ATTEMPTS": "1",
            "POLL_CONCURRENCY": "2",
        }
    )
    service = bootstrap.build_status_service(
        settings, store=fresh_store(rclone_s3.endpoint, rclone_s3.bucket), validator=validator
    )

    report = schedule.run_tick(
        bootstrap.build_tick_runner(settings, service=service),
        {"jobs": [{"project_id": PROJECT, "job_name": name} for name in ("job_a", "job_b")]},
    )

    outcomes: list[dict[str, Any]] = report["outcomes"]
    assert [(o["result"], o["error"]) for o in outcomes] == [
        ("failed", "ConditionalWritesIgnored"),
        ("failed", "ConditionalWritesIgnored"),
    ]
    assert all("ignores conditional writes" in o["detail"] for o in outcomes)


def test_replacing_a_version_that_is_gone_is_a_lost_race_not_a_failure(
    seaweed: SeaweedServer,
) -> None:
    # SeaweedFS answers 412 here; AWS answers 404 NoSuchKey, played by the proxy.
    with S3Proxy(
        seaweed.endpoint,
        lambda method, path: method == "PUT" and "/latest/" in path,
        status=404,
        error=NO_SUCH_KEY,
    ) as aws_like:
        store = S3Store(
            make_s3_client(aws_like.url, call_seconds=PATIENT_STORE_SECONDS),
            seaweed.bucket,
            f"cw-{uuid.uuid4().hex[:10]}",
        )
        key = "latest/project_id=p/workspace=w/job_name=j/latest.json"

        replaced = store.replace(key, b"{}", {}, expected_version='"0123"')
        with pytest.raises(StoreError, match="NoSuchKey"):
            store.replace(key, b"{}", {}, expected_version=None)  # no race: a failure

    assert replaced is None


def test_a_swap_applied_but_never_acknowledged_is_this_writers_success(
    seaweed: SeaweedServer, caplog: pytest.LogCaptureFixture
) -> None:
    # The proxy forwards the PUT of latest.json, SeaweedFS applies it, and the answer
    # is lost: the client retries the same conditional PUT and meets its own write.
    armed = {"drop": False}

    def drop(method: str, path: str) -> bool:
        if method == "PUT" and path.endswith("/latest.json") and armed["drop"]:
            armed["drop"] = False
            return True
        return False

    with S3Proxy(seaweed.endpoint, lambda method, path: False, drop=drop) as proxy:
        store = fresh_store(proxy.url, seaweed.bucket)
        writer = SnapshotWriter(store)
        writer.write(JOB, document("NORMAL"), datetime.now(UTC))
        armed["drop"] = True
        exception = document("EXCEPTION")

        written = writer.write(JOB, exception, datetime.now(UTC))

    assert proxy.dropped == 1
    assert (written.outcome, written.transitions, written.repaired) == (
        SnapshotOutcome.CHANGED,
        1,
        0,
    )
    assert "transition record published late" not in {r.getMessage() for r in caplog.records}
    [latest] = [key for key in stored_keys(store) if key.startswith("latest/")]
    stored = store.get(latest)
    assert stored is not None
    assert json.loads(stored.body)["observed_at"] == exception["observed_at"]
    assert len([key for key in stored_keys(store) if key.startswith("transitions/")]) == 1
