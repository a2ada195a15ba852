"""Job lists from files and S3 (SeaweedFS); the fan-out queue (SQS, through moto:
no local SQS server runs here); `dlf-status poll`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pytest_httpserver import HTTPServer

from dlf_status.adapters.job_list import read_job_list
from dlf_status.adapters.queue_sqs import QueueError, SqsJobQueue
from dlf_status.entrypoints.cli import main
from dlf_status.errors import InvalidInput
from tests.integration.conftest import PROJECT, exchange_response, match_path
from tests.support.seaweed import SeaweedServer

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

    assert read_job_list(f"s3://{seaweed.bucket}/config/jobs.json", seaweed.endpoint) == JOBS


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
    assert failed == []
    assert sorted(json.loads(m["Body"])["job_name"] for m in received) == sorted(
        f"j{i}" for i in range(10)
    )


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
