"""A legacy bucket name (capitals, an underscore: us-east-1 buckets made before 2018)
end to end: SNAPSHOT_URI and JOBS_URI accept it, S3_ADDRESSING_STYLE=auto addresses
it path-style, snapshots land and the job list is read, on a real S3 server that
takes such names (`rclone serve s3`; SeaweedFS refuses them at CreateBucket).

The endpoint is a host name, not an IP literal or `localhost` (those are path-style
whatever the bucket), resolved to the loopback server in this process only: so only
the bucket name can make `auto` choose path-style. Virtual-hosted would ask for
`Legacy_Bucket.s3.dlf-status.test`, which resolves nowhere. (botocore itself falls
back to path-style for a name that is no DNS label, so the client's configured style
is checked as well as the URLs sent.)
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from dlf_status.bootstrap import build_job_list_reader, build_store
from dlf_status.config import Settings
from dlf_status.domain.contract import ValidationReport
from dlf_status.domain.model import JobRef
from dlf_status.domain.normalize import Source, normalise
from dlf_status.domain.snapshots import SnapshotOutcome
from dlf_status.service import SnapshotWriter
from tests.integration.conftest import PROJECT
from tests.support.rclone import RcloneS3Server
from tests.support.seaweed import ACCESS_KEY, PATIENT_STORE_SECONDS, REGION, SECRET_KEY

pytestmark = pytest.mark.integration

LEGACY_BUCKET = "Legacy_Bucket"
HOST = "s3.dlf-status.test"  # .test is reserved (RFC 2606): never a real host
JOB = JobRef.parse(PROJECT, "job_sms")


@pytest.fixture(scope="module")
def legacy_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RcloneS3Server]:
    """An rclone server whose bucket is named as S3 allowed before 2018."""
    server = RcloneS3Server(tmp_path_factory.mktemp("legacy"), bucket=LEGACY_BUCKET).start()
    yield server
    server.stop()


@pytest.fixture
def endpoint(legacy_s3: RcloneS3Server, monkeypatch: pytest.MonkeyPatch) -> str:
    """The server under a host name that resolves to it in this process only."""
    resolve = socket.getaddrinfo

    def loopback_for_our_host(host: Any, *args: Any, **kwargs: Any) -> Any:
        return resolve("127.0.0.1" if host == HOST else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_for_our_host)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    return f"http://{HOST}:{legacy_s3.port}"


def test_snapshots_land_in_a_legacy_bucket_addressed_path_style(
    endpoint: str, legacy_s3: RcloneS3Server
) -> None:
    settings = Settings.from_environ(
        {
            "DLF_REGION": "cn-north-4",
            "DLF_AUTH_TOKEN": "token-value",
            "SNAPSHOT_URI": f"s3://{LEGACY_BUCKET}/legacy",
            "STORE_TIMEOUT": str(PATIENT_STORE_SECONDS),
            "AWS_ENDPOINT_URL_S3": endpoint,
            # rclone ignores conditional writes: the strict probe would refuse it
            "SNAPSHOT_CONSISTENCY": "best-effort",
        }
    )
    store: Any = build_store(settings)
    document = normalise(
        {"name": "job_sms", "status": "NORMAL"},
        source=Source(PROJECT, "job_sms"),
        observed_at=datetime.now(UTC),
        report=ValidationReport(),
    )

    sent: list[str] = []
    store.client.meta.events.register(
        "before-send.s3", lambda request, **_: sent.append(request.url)
    )

    written = SnapshotWriter(store).write(JOB, document, datetime.now(UTC))

    assert written.outcome is SnapshotOutcome.CHANGED
    # auto chose path-style for the name itself (botocore would also fall back to it
    # for a name that is no DNS label, so the client's setting is checked too)
    assert store.client.meta.config.s3["addressing_style"] == "path"
    assert sent
    assert all(url.startswith(f"{endpoint}/{LEGACY_BUCKET}/legacy/") for url in sent)
    listed = legacy_s3.client().list_objects_v2(Bucket=LEGACY_BUCKET, Prefix="legacy/")
    keys = [item["Key"] for item in listed.get("Contents", [])]
    assert {key.split("/")[1] for key in keys} == {"history", "latest"}
    latest = next(key for key in keys if key.split("/")[1] == "latest")
    stored = legacy_s3.client().get_object(Bucket=LEGACY_BUCKET, Key=latest)["Body"].read()
    assert json.loads(stored)["job"]["status"] == "NORMAL"


def test_a_job_list_is_read_from_a_legacy_bucket(endpoint: str, legacy_s3: RcloneS3Server) -> None:
    jobs = [{"project_id": PROJECT, "job_name": "job_sms"}]
    legacy_s3.client().put_object(
        Bucket=LEGACY_BUCKET, Key="config/jobs.json", Body=json.dumps(jobs).encode()
    )
    uri = f"s3://{LEGACY_BUCKET}/config/jobs.json"
    settings = Settings.from_environ(
        {
            "DLF_REGION": "cn-north-4",
            "DLF_AUTH_TOKEN": "token-value",
            "JOBS_URI": uri,
            "STORE_TIMEOUT": str(PATIENT_STORE_SECONDS),
            "AWS_ENDPOINT_URL_S3": endpoint,
        }
    )

    assert settings.jobs_uri == uri
    assert build_job_list_reader(settings)(uri) == jobs
