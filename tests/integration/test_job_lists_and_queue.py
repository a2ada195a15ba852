"""Job lists from files and S3 (SeaweedFS); the fan-out queue (SQS, through moto:
no local SQS server runs here); `dlf-status poll`."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pytest_httpserver import HTTPServer

from dlf_status.adapters.aws import S3ClientFor, s3_clients
from dlf_status.adapters.job_list import MAX_JOB_LIST_BYTES, read_job_list
from dlf_status.adapters.queue_sqs import SqsJobQueue
from dlf_status.entrypoints.cli import main
from dlf_status.errors import ConfigurationError, InvalidInput, QueueError, StoreError
from tests.integration.conftest import PROJECT, exchange_response, match_path
from tests.support.faults import S3Proxy
from tests.support.seaweed import (
    ACCESS_KEY,
    PATIENT_STORE_SECONDS,
    REGION,
    SeaweedServer,
    free_ports,
)

pytestmark = pytest.mark.integration

JOBS = [
    {"project_id": PROJECT, "job_name": "a"},
    {"project_id": PROJECT, "job_name": "b", "workspace": "w1"},
]


def test_a_json_job_list_is_read_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "jobs.json"
    path.write_text(json.dumps({"jobs": JOBS}))

    assert read_job_list(str(path)) == {"jobs": JOBS}


def test_a_yaml_job_list_is_read_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text(f"jobs:\n  - project_id: {PROJECT}\n    job_name: a\n")

    assert read_job_list(str(path)) == {"jobs": [{"project_id": PROJECT, "job_name": "a"}]}


def test_a_job_list_is_read_from_s3(
    seaweed: SeaweedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.seaweed import ACCESS_KEY, REGION, SECRET_KEY

    seaweed.client().put_object(
        Bucket=seaweed.bucket, Key="config/jobs.json", Body=json.dumps(JOBS)
    )
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)

    assert (
        read_job_list(f"s3://{seaweed.bucket}/config/jobs.json", clients(seaweed.endpoint)) == JOBS
    )


@pytest.fixture
def s3_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.seaweed import ACCESS_KEY, REGION, SECRET_KEY

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


def test_an_s3_list_over_the_limit_is_refused_on_its_length(
    seaweed: SeaweedServer, s3_credentials: None
) -> None:
    key = f"config/{uuid.uuid4().hex}/big.json"
    seaweed.client().put_object(
        Bucket=seaweed.bucket, Key=key, Body=b" " * MAX_JOB_LIST_BYTES + b"[]"
    )

    with pytest.raises(InvalidInput, match="is larger than 1,048,576 bytes"):
        read_job_list(f"s3://{seaweed.bucket}/{key}", clients(seaweed.endpoint))


def test_an_s3_list_with_an_alias_bomb_is_refused(
    seaweed: SeaweedServer, s3_credentials: None
) -> None:
    key = f"config/{uuid.uuid4().hex}/jobs.yaml"
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    seaweed.client().put_object(Bucket=seaweed.bucket, Key=key, Body=bomb.encode())

    with pytest.raises(InvalidInput, match=r"uses a YAML alias \(\*a\)"):
        read_job_list(f"s3://{seaweed.bucket}/{key}", clients(seaweed.endpoint))


def clients(endpoint: str) -> S3ClientFor:
    return s3_clients(endpoint, "auto", call_seconds=PATIENT_STORE_SECONDS)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("s3://", "names no bucket"),
        ("s3://bad!bucket/jobs.json", "names bucket 'bad!bucket'"),
        ("s3://snapshots/", "names no object key"),
        ("s3://snapshots/a/../jobs.json", "'..' segment"),
    ],
)
def test_an_s3_uri_that_names_no_list_is_invalid_input(
    seaweed: SeaweedServer, s3_credentials: None, uri: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        read_job_list(uri, clients(seaweed.endpoint))

    assert message in caught.value.detail


@pytest.mark.parametrize(
    ("uri", "code"),
    [
        ("s3://snapshots/config/absent.json", "NoSuchKey"),
        # a legacy name this store does not hold fails at the request, not at start
        ("s3://Bad_Bucket/jobs.json", "NoSuchBucket"),
    ],
)
def test_an_s3_list_that_is_not_there_is_the_deployments_problem(
    seaweed: SeaweedServer, s3_credentials: None, uri: str, code: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        read_job_list(uri, clients(seaweed.endpoint))

    assert caught.value.detail == f"cannot read the job list {uri}: {code}"
    assert caught.value.retryable is True


def test_an_s3_list_it_may_not_read_is_the_deployments_problem(
    seaweed: SeaweedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)

    with pytest.raises(ConfigurationError, match="cannot read the job list s3://snapshots/"):
        read_job_list("s3://snapshots/config/jobs.json", clients(seaweed.endpoint))


def test_an_s3_outage_or_throttling_is_a_store_error_not_the_lists(
    seaweed: SeaweedServer, s3_credentials: None
) -> None:
    (closed,) = free_ports(1)
    with S3Proxy(seaweed.endpoint, lambda method, path: True) as throttling:
        for endpoint in (f"http://127.0.0.1:{closed}", throttling.url):
            with pytest.raises(StoreError, match="cannot read the job list") as caught:
                read_job_list("s3://snapshots/config/jobs.json", clients(endpoint))
            assert caught.value.retryable is True


class EndlessObject:
    """An S3 endpoint whose GetObject answer never ends and states no length."""

    def __init__(self) -> None:
        self.sent = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> EndlessObject:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._listener.close()

    def _serve(self) -> None:
        try:
            connection, _ = self._listener.accept()
        except OSError:
            return
        with connection:
            request = b""
            while b"\r\n\r\n" not in request:
                request += connection.recv(4096)
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
            try:
                while True:
                    connection.sendall(chunk)
                    self.sent += 65536
            except OSError:
                return  # the reader hung up: what it should do


def test_an_s3_list_without_a_length_is_read_only_to_the_limit(s3_credentials: None) -> None:
    """The call returning at all is the proof: the object never ends."""
    with (
        EndlessObject() as store,
        pytest.raises(InvalidInput, match="is larger than 1,048,576 bytes"),
    ):
        read_job_list("s3://snapshots/config/jobs.json", clients(store.url))


def test_a_600_mb_list_costs_the_limit_not_its_size(tmp_path: Path) -> None:
    """Peak memory of a fresh process reading it (a sparse file: no disk used). VmHWM,
    not getrusage's ru_maxrss, which on Linux carries the parent's (pytest's) peak over
    fork and exec."""
    path = tmp_path / "jobs.json"
    with path.open("wb") as handle:
        handle.truncate(600 << 20)
    script = (
        "import pathlib, sys\n"
        "from dlf_status.adapters.job_list import read_job_list\n"
        "from dlf_status.errors import InvalidInput\n"
        "try:\n    read_job_list(sys.argv[1])\n"
        "except InvalidInput as error:\n    print(error.detail)\n"
        "status = pathlib.Path('/proc/self/status').read_text()\n"
        "print([line.split()[1] for line in status.splitlines() if line.startswith('VmHWM:')][0])\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    )

    detail, peak_kib = result.stdout.splitlines()
    assert "is larger than 1,048,576 bytes" in detail
    assert int(peak_kib) < 300 * 1024  # the file alone would be 600 MiB


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("jobs.json", "{not json", "not valid JSON"),
        ("jobs.yaml", "jobs: [unclosed\nsecret: hunter2", r"not valid YAML \(line"),
        ("missing.json", None, "No such file"),
    ],
)
def test_a_bad_job_list_is_invalid_input_without_quoting_it(
    tmp_path: Path, name: str, content: str | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)

    with pytest.raises(InvalidInput, match=message) as caught:
        read_job_list(str(path))

    assert "hunter2" not in caught.value.detail


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def test_the_queue_sends_one_message_per_job(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="dlf-status-jobs")["QueueUrl"]
    messages = [{"project_id": PROJECT, "job_name": f"j{i}", "tick_id": "t"} for i in range(10)]

    failed = SqsJobQueue(url, sqs).send(messages)

    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert failed == {}
    assert sorted(json.loads(m["Body"])["job_name"] for m in received) == sorted(
        f"j{i}" for i in range(10)
    )


def test_each_message_the_queue_refuses_keeps_its_own_retry_policy(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQS refuses messages one by one in a 200 answer: SenderFault says the message
    itself is at fault (never worth sending again), otherwise the queue is."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    answer = {
        "Successful": [{"Id": "0", "MessageId": "m0", "MD5OfMessageBody": "x"}],
        "Failed": [
            {"Id": "1", "SenderFault": True, "Code": "InvalidParameterValue", "Message": "no"},
            {"Id": "2", "SenderFault": False, "Code": "InternalError", "Message": "later"},
        ],
    }
    httpserver.expect_request("/", method="POST").respond_with_data(
        json.dumps(answer), content_type="application/x-amz-json-1.0"
    )
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=httpserver.url_for(""))
    queue = SqsJobQueue(httpserver.url_for("/123456789012/jobs"), sqs)

    failed = queue.send([{"job_name": name} for name in ("a", "b", "c")])

    assert sorted(failed) == [1, 2]
    assert (failed[1].retryable, failed[2].retryable) == (False, True)
    assert "InvalidParameterValue" in failed[1].detail


def test_an_unknown_queue_is_a_queue_error(sqs: Any) -> None:
    queue = SqsJobQueue("https://sqs.us-east-1.amazonaws.com/123456789012/nope", sqs)

    with pytest.raises(QueueError, match="cannot send"):
        queue.send([{"job_name": "j"}])


@pytest.fixture
def poll_environment(upstream: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DLF_ENDPOINT", upstream.url_for("").rstrip("/"))
    monkeypatch.setenv("DLF_AUTH_TOKEN", "poll-token")
    monkeypatch.setenv("DLF_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("SNAPSHOT_URI", str(tmp_path / "snapshots"))
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        "jobs:\n"
        + "".join(
            f"  - {{project_id: {PROJECT}, job_name: {name}}}\n" for name in ("ok1", "ok2", "gone")
        )
    )
    return jobs


def test_poll_prints_progress_lines_and_a_summary_and_exits_1_on_a_failure(
    upstream: HTTPServer, poll_environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("ok1", "ok2"):
        upstream.expect_request(match_path(name)).respond_with_response(
            exchange_response("doc-2024-success")
        )
    upstream.expect_request(match_path("gone")).respond_with_response(
        exchange_response("doc-2024-failure-dlf0100")
    )

    code = main(["poll", "--jobs", str(poll_environment), "--concurrency", "2"])

    out, err = capsys.readouterr()
    assert code == 1
    assert sorted(line.split()[1:3] for line in err.splitlines()) == [
        ["failed", "gone"],
        ["ok", "ok1"],
        ["ok", "ok2"],
    ]
    assert out.splitlines()[0].endswith("3 jobs, 2 ok, 1 failed, 0 not reached")
    assert any(line.startswith("gone ") and "JobNotFound" in line for line in out.splitlines())


def test_poll_exits_0_when_every_job_succeeds(
    upstream: HTTPServer, poll_environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upstream.expect_request(match_path("ok1")).respond_with_response(
        exchange_response("doc-2024-success")
    )
    poll_environment.write_text(f"- {{project_id: {PROJECT}, job_name: ok1}}\n")

    assert main(["poll", "--jobs", str(poll_environment)]) == 0


def test_poll_with_an_unreadable_list_exits_2(
    poll_environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["poll", "--jobs", str(poll_environment.with_name("nope.yaml"))]) == 2
    assert "cannot read the job list" in capsys.readouterr().err
