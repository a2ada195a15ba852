"""The fan-out path against the limits of the real services: what SQS accepts in a
message body, the tick's time budget when it sends hundreds of batches, and the queue
worker's remaining time. The upstream is pytest-httpserver on loopback, the store a
local directory, SQS moto (it has no local server)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from pytest_httpserver import HTTPServer

from dlf_status import bootstrap
from dlf_status.adapters.queue_sqs import SEND_WORST_CASE_SECONDS, SqsJobQueue
from dlf_status.adapters.store_local import LocalDirectoryStore
from dlf_status.adapters.upstream_http import HttpUpstreamClient
from dlf_status.domain.contract import ResponseValidator
from dlf_status.domain.model import JobRef
from dlf_status.domain.ticks import JobResult, job_entries
from dlf_status.domain.timestamps import format_utc
from dlf_status.entrypoints import queue, schedule
from dlf_status.errors import InvalidInput, TickFailed
from dlf_status.poller import SLOT_AHEAD, SLOT_BEHIND
from dlf_status.service import StatusService
from tests.integration.conftest import PROJECT, TickingClock, exchange_response, match_path
from tests.support.events import queue_event
from tests.support.root import root_settings

pytestmark = pytest.mark.integration


def _sqs_allows(char: str) -> bool:
    """The characters SQS documents for a message body (the XML 1.0 Char production):
    #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF."""
    code = ord(char)
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


def _accepted_name(name: str) -> bool:
    try:
        JobRef.parse(PROJECT, name)
    except InvalidInput:
        return False
    return True


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        # A session of its own: boto3's default one would keep these credentials for
        # every later test of the process.
        yield boto3.session.Session().client("sqs", region_name="us-east-1")


def test_every_job_name_the_core_accepts_travels_in_a_body_sqs_accepts(sqs: Any) -> None:
    """SQS refuses a body holding a character outside XML's set (InvalidMessageContents),
    which moto does not check: so the bodies it stores are checked here, and read back
    as the worker reads them."""
    url = sqs.create_queue(QueueName="dlf-status-jobs")["QueueUrl"]
    job_queue = SqsJobQueue(url, sqs)

    @settings(max_examples=60, deadline=None)
    @given(name=st.text(min_size=1, max_size=128).filter(_accepted_name))
    @example(name="job\uffff")
    @example(name="\ufffejob")
    @example(name="\U0001f600" * 128)
    def check(name: str) -> None:
        job = JobRef.parse(PROJECT, name)
        message = {"project_id": job.project_id, "job_name": job.job_name, "tick_id": "t"}

        assert job_queue.send([message]) == {}
        [received] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=received["ReceiptHandle"])

        body = received["Body"]
        assert all(_sqs_allows(char) for char in body)
        assert job_entries([json.loads(body)])[0] == (job,)

    check()


def test_ten_messages_of_the_longest_names_and_tick_id_fit_one_batch(sqs: Any) -> None:
    """SendMessageBatch takes 256 KiB for its ten bodies together (the smallest limit
    SQS has documented): the longest job name and tick id, in characters escaped as
    twelve bytes each, still fit."""
    url = sqs.create_queue(QueueName="dlf-status-jobs")["QueueUrl"]
    messages = [
        {"project_id": "p" * 64, "job_name": "\U0001f600" * 128, "tick_id": "\U0001f600" * 1024}
        for _ in range(10)
    ]

    assert SqsJobQueue(url, sqs).send(messages) == {}
    bodies = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sum(len(message["Body"].encode()) for message in bodies) <= 256 * 1024


@pytest.fixture
def service(
    make_client: Callable[..., HttpUpstreamClient], validator: ResponseValidator, tmp_path: Path
) -> StatusService:
    return bootstrap.build_status_service(
        root_settings(),
        upstream=make_client(),
        store=LocalDirectoryStore(tmp_path / "snapshots"),
        validator=validator,
        clock=TickingClock(),
    )


def _names(count: int) -> list[dict[str, str]]:
    return [{"project_id": PROJECT, "job_name": f"job-{index}"} for index in range(count)]


def test_a_fan_out_sends_no_batch_it_has_no_time_left_to_see_through(
    sqs: Any, service: StatusService
) -> None:
    """With less time left than a send at its worst and the answer, no batch is sent:
    its jobs are reported not reached (the tick answers), not cut off by the timeout."""
    url = sqs.create_queue(QueueName="dlf-status-jobs")["QueueUrl"]
    runner = bootstrap.build_tick_runner(
        root_settings(FANOUT_THRESHOLD="1"), service=service, queue=SqsJobQueue(url, sqs)
    )
    # Enough time for the first two batches, then too little.
    left = iter([300.0, 300.0])

    report = schedule.run_tick(
        runner, {"jobs": _names(25)}, remaining_seconds=lambda: next(left, SEND_WORST_CASE_SECONDS)
    )

    received: list[str] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            received.append(json.loads(message["Body"])["job_name"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    results = {outcome["job_name"]: outcome["result"] for outcome in report["outcomes"]}
    assert sorted(received) == sorted(f"job-{index}" for index in range(20))
    assert [name for name, result in results.items() if result == "not-reached"] == [
        f"job-{index}" for index in range(20, 25)
    ]


def test_a_queued_job_with_too_little_time_left_goes_back_to_the_queue_unpolled(
    upstream: HTTPServer, service: StatusService
) -> None:
    """A record started without the time to finish would let Lambda's timeout end the
    batch: SQS would deliver all of it again, the records already done too. It is
    reported back by its messageId instead, and the upstream is not called for it."""
    upstream.expect_request(match_path("job-0")).respond_with_response(
        exchange_response("doc-2024-success")
    )
    variables = root_settings()
    worker = bootstrap.build_queue_worker(variables, service=service)
    bodies = [json.dumps(message) for message in _names(3)]
    # A job is started with a whole upstream deadline and a store call left: the first
    # record has a second more than that, and once its upstream call is made, a second
    # less (still plenty for its store calls).
    allowance = variables.upstream.deadline + variables.store_timeout

    def left() -> float:
        return allowance + (1.0 if not upstream.log else -1.0)

    answer = queue.handle_batch(worker, queue_event(bodies), left)

    assert answer == {
        "batchItemFailures": [{"itemIdentifier": "message-1"}, {"itemIdentifier": "message-2"}]
    }
    assert [request.path for request, _ in upstream.log] == [f"/v1/{PROJECT}/jobs/job-0/status"]


_PRINTABLE_TEXT = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=64
)
_UNPRINTABLE_CHAR = st.one_of(
    st.characters(whitelist_categories=("Cc", "Zl", "Zp")),
    st.integers(0xD800, 0xDFFF).map(chr),
)


def test_a_tick_id_that_is_not_text_fails_the_tick_before_any_job_is_sent(
    sqs: Any, service: StatusService
) -> None:
    """A tick id names the tick in its queued jobs, where the worker's strict parser
    refuses a lone surrogate: every job of the tick would be dropped there. Control
    characters would reach logs and freshness records. The tick fails instead."""
    url = sqs.create_queue(QueueName="dlf-status-jobs")["QueueUrl"]
    runner = bootstrap.build_tick_runner(
        root_settings(FANOUT_THRESHOLD="1"), service=service, queue=SqsJobQueue(url, sqs)
    )

    @settings(max_examples=40, deadline=None)
    @given(prefix=_PRINTABLE_TEXT, bad=_UNPRINTABLE_CHAR, key=st.sampled_from(["tick_id", "id"]))
    @example(prefix="tick", bad="\ud800", key="tick_id")
    def check(prefix: str, bad: str, key: str) -> None:
        event: dict[str, Any] = {key: prefix + bad}
        if key == "tick_id":
            event["jobs"] = _names(3)
        else:  # a classic rule's Scheduled Event: its id names the tick
            event.update({"source": "aws.events", "detail-type": "Scheduled Event"})
        with pytest.raises(TickFailed, match=key):
            schedule.run_tick(runner, event)
        assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)

    check()


def test_every_tick_id_a_tick_takes_reaches_the_worker_as_a_job_it_polls(
    sqs: Any, upstream: HTTPServer, service: StatusService
) -> None:
    upstream.expect_request(
        re.compile(f"/v1/{PROJECT}/jobs/job-[01]/status")
    ).respond_with_response(exchange_response("doc-2024-success"))
    url = sqs.create_queue(QueueName="dlf-status-jobs")["QueueUrl"]
    runner = bootstrap.build_tick_runner(
        root_settings(FANOUT_THRESHOLD="1"), service=service, queue=SqsJobQueue(url, sqs)
    )
    worker = bootstrap.build_queue_worker(root_settings(), service=service)

    @settings(max_examples=40, deadline=None)
    @given(tick_id=_PRINTABLE_TEXT)
    @example(tick_id="\U0001f600\uffff\ufffe")
    def check(tick_id: str) -> None:
        report = schedule.run_tick(runner, {"tick_id": tick_id, "jobs": _names(2)})
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

        outcomes = [worker.poll_message(message["Body"]) for message in messages]

        assert (report["tick_id"], report["enqueued"]) == (tick_id, 2)
        assert sorted((outcome.job_name, outcome.result) for outcome in outcomes) == [
            ("job-0", JobResult.OK),
            ("job-1", JobResult.OK),
        ]

    check()


@pytest.mark.parametrize(
    "offset",
    [
        # Minutes past the bounds: the test's clock moves a second per reading.
        SLOT_AHEAD + timedelta(minutes=1),
        -SLOT_BEHIND - timedelta(minutes=1),
        timedelta(days=-20000),
    ],
    ids=["ahead", "behind", "1970"],
)
def test_a_slot_far_from_the_clock_is_refused_by_the_tick_and_the_worker(
    upstream: HTTPServer, service: StatusService, tmp_path: Path, offset: timedelta
) -> None:
    """The slot names the history object: year 9999 or 1970 would file an observation
    where no date-range reader looks. The tick fails; the worker refuses the message
    for good without calling the upstream; nothing is written."""
    now = service.clock.now()
    scheduled = format_utc(now + offset)
    runner = bootstrap.build_tick_runner(root_settings(), service=service, fan_out=False)
    worker = bootstrap.build_queue_worker(root_settings(), service=service)
    message = json.dumps({**_names(1)[0], "scheduled_time": scheduled})

    with pytest.raises(TickFailed, match="scheduled_time"):
        schedule.run_tick(runner, {"jobs": _names(1), "scheduled_time": scheduled})
    outcome = worker.poll_message(message)

    assert (outcome.result, outcome.error, outcome.retryable) == (
        JobResult.FAILED,
        "InvalidInput",
        False,
    )
    assert upstream.log == []
    assert not any(path.is_file() for path in (tmp_path / "snapshots").rglob("*"))


def test_a_slot_within_the_bounds_names_the_history_object(
    upstream: HTTPServer, service: StatusService, tmp_path: Path
) -> None:
    upstream.expect_request(match_path("job-0")).respond_with_response(
        exchange_response("doc-2024-success")
    )
    now = service.clock.now()
    slot = now - SLOT_BEHIND + timedelta(hours=1)
    worker = bootstrap.build_queue_worker(root_settings(), service=service)

    outcome = worker.poll_message(json.dumps({**_names(1)[0], "scheduled_time": format_utc(slot)}))

    history = [path.name for path in (tmp_path / "snapshots").rglob("history/**/*.json")]
    assert outcome.result is JobResult.OK
    assert [name[:15] for name in history] == [slot.strftime("%Y%m%dT%H%M%S")]


# What Lambda's runtime takes as a function's result at most (its error names it).
LAMBDA_RESULT_BYTES = 6_291_556


def test_a_tick_of_very_many_outcomes_answers_within_lambdas_result_limit(
    upstream: HTTPServer, service: StatusService
) -> None:
    """Over 6 MB of result, Lambda's runtime fails the invocation after the tick did
    its work, and Lambda runs it twice more. The result keeps the summary whole and
    the outcomes of the jobs that did not succeed, in order, while they fit."""
    upstream.expect_request(
        re.compile(f"/v1/{PROJECT}/jobs/job-[0-2]/status")
    ).respond_with_response(exchange_response("doc-2024-success"))
    runner = bootstrap.build_tick_runner(root_settings(), service=service, fan_out=False)
    refused = 100_000
    jobs: list[Any] = [*_names(3), *(["not a job"] * refused)]

    result = schedule.run_tick(runner, {"jobs": jobs})

    assert len(json.dumps(result)) <= LAMBDA_RESULT_BYTES
    assert (result["jobs"], result["ok"], result["failed"]) == (3 + refused, 3, refused)
    kept = result["outcomes"]
    assert {outcome["result"] for outcome in kept} == {"failed"}
    assert [outcome["detail"] for outcome in kept[:2]] == [
        "entry 3: not an object",
        "entry 4: not an object",
    ]
    assert result["outcomes_omitted"] == 3 + refused - len(kept)


def test_a_message_the_queues_answer_does_not_account_for_is_not_reported_sent(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SendMessageBatch's 200 answer lists each entry as Successful or Failed by Id.
    One it names in neither list, or under an Id that is not ours, was not shown to
    be taken: it is failed (retryable), never enqueued, and the answer never crashes
    the tick."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    answer = {
        "Successful": [{"Id": "0", "MessageId": "m0", "MD5OfMessageBody": "x"}],
        "Failed": [{"Id": "not-ours", "SenderFault": True, "Code": "InvalidParameterValue"}],
    }
    httpserver.expect_request("/", method="POST").respond_with_data(
        json.dumps(answer), content_type="application/x-amz-json-1.0"
    )
    sqs = boto3.session.Session().client(
        "sqs", region_name="us-east-1", endpoint_url=httpserver.url_for("")
    )

    failed = SqsJobQueue(httpserver.url_for("/123456789012/jobs"), sqs).send(
        [{"job_name": name} for name in ("a", "b", "c")]
    )

    assert sorted(failed) == [1, 2]
    assert all(error.retryable for error in failed.values())


def test_a_send_to_a_queue_that_never_answers_ends_after_its_attempts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The production SQS client (make_sqs_client) against a server that accepts and
    never answers: its read timeout ends each attempt, and it makes ATTEMPTS of them,
    the figures SEND_WORST_CASE_SECONDS is made of. A fan-out send then fails as a
    queue failure the tick reports, not a hang past the tick's timeout."""
    from dlf_status.adapters.queue_sqs import ATTEMPTS, make_sqs_client
    from dlf_status.errors import QueueError
    from tests.support.faults import SilentServer

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing-not-a-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-not-a-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with SilentServer() as silent:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", silent.url)
        jobs = SqsJobQueue(f"{silent.url}/123456789012/jobs", make_sqs_client())
        with pytest.raises(QueueError, match="cannot send to the fan-out queue: ReadTimeoutError"):
            jobs.send([{"project_id": PROJECT, "job_name": "job"}])

    assert silent.connections == ATTEMPTS
