"""Transition records as CloudEvents on an EventBridge bus (moto: no local server exists)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from dlf_status.adapters.events_eventbridge import (
    ATTEMPT_SECONDS,
    BASE_DELAY_SECONDS,
    CONNECT_TIMEOUT_SECONDS,
    MAX_ATTEMPTS,
    READ_TIMEOUT_SECONDS,
    EventBridgePublisher,
    make_events_client,
    publish_worst_case,
)
from dlf_status.domain.events import (
    EVENT_TYPE,
    MAX_ENTRY_BYTES,
    NoEvents,
    entry_size,
    event_id,
    put_events_entry,
    transition_event,
)
from dlf_status.domain.model import JobRef
from dlf_status.domain.ports import EventPublisher
from dlf_status.errors import EventPublishError
from tests.support.event_patterns import matches
from tests.support.fakes import MemoryStore
from tests.support.read_models import observe
from tests.support.transitions import assert_valid_records

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
BUS = "dlf-status-events"
# What the README offers alerting: any change (job or node) to EXCEPTION.
TO_EXCEPTION = {
    "source": ["dlf-status"],
    "detail-type": [EVENT_TYPE],
    "detail": {"data": {"changes": {"to": ["EXCEPTION"]}}},
}


def records_of(*statuses: str, workspace: str | None = None, nodes: bool = False) -> list[Any]:
    """The transition records the real writer publishes for these observations."""
    store = MemoryStore()
    job = JobRef.parse(PROJECT, "job_sms", workspace)
    for step, status in enumerate(statuses):
        observe(
            store, job, status, START + timedelta(minutes=step), {"n1": status} if nodes else None
        )
    return store.transitions()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing-not-a-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-not-a-secret")
    with mock_aws():
        yield


def test_the_event_is_a_cloudevent_around_the_record() -> None:
    [record] = records_of("NORMAL", "EXCEPTION", workspace="ws1")

    event = transition_event(record, dataref="s3://bucket/transitions/x.json")

    assert event == {
        "specversion": "1.0",
        "id": event["id"],
        "source": f"urn:dlf-status:project:{PROJECT}:workspace:ws1",
        "type": "dlf-status.job.status-changed",
        "subject": "job_sms",
        "time": "2026-11-25T08:01:00.000Z",
        "dataschema": "urn:dlf-status:schema:status-transition:v1",
        "datacontenttype": "application/json",
        "dataref": "s3://bucket/transitions/x.json",
        "data": record,
    }
    assert len(event["id"]) == 32
    assert transition_event(records_of("NORMAL", "STOPPED")[0])["source"] == (
        f"urn:dlf-status:project:{PROJECT}"
    )


def test_the_id_is_stable_for_a_record_and_apart_for_a_repeated_pair_of_contents() -> None:
    records = records_of("NORMAL", "EXCEPTION", "NORMAL", "EXCEPTION")
    first, _, again = records

    assert (first["content_hash"], first["previous_content_hash"]) == (
        again["content_hash"],
        again["previous_content_hash"],
    )
    assert event_id(first) == event_id(json.loads(json.dumps(first)))
    assert len({event_id(record) for record in records}) == 3
    assert NoEvents().publish_transition(first) == event_id(first)


def test_an_oversized_event_carries_its_dataref_instead_of_its_record() -> None:
    [record] = records_of("NORMAL", "EXCEPTION")
    huge = {**record, "changes": record["changes"] * 3000}

    slim = put_events_entry(transition_event(huge, dataref="s3://b/k.json"), BUS)

    assert put_events_entry(transition_event(huge), BUS) is None
    assert slim is not None
    assert entry_size(slim) <= MAX_ENTRY_BYTES
    assert "data" not in json.loads(slim["Detail"])
    assert json.loads(slim["Detail"])["dataref"] == "s3://b/k.json"


@pytest.mark.usefixtures("aws")
def test_a_rule_on_the_bus_gets_the_events_of_its_job() -> None:
    events = boto3.client("events")
    sqs = boto3.client("sqs")
    events.create_event_bus(Name=BUS)
    queues = {}
    for subject in ("job_sms", "other_job"):
        queue = sqs.create_queue(QueueName=f"alerts-{subject}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        pattern = {
            "source": ["dlf-status"],
            "detail-type": [EVENT_TYPE],
            "detail": {"subject": [subject]},
        }
        events.put_rule(Name=subject, EventBusName=BUS, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=subject, EventBusName=BUS, Targets=[{"Id": "q", "Arn": queue_arn}])
        queues[subject] = queue
    publisher = EventBridgePublisher(BUS)
    records = records_of("NORMAL", "EXCEPTION", "NORMAL", "STOPPED", nodes=True)
    assert_valid_records(records)

    ids = [publisher.publish_transition(record) for record in records]
    received = sqs.receive_message(QueueUrl=queues["job_sms"], MaxNumberOfMessages=10)
    elsewhere = sqs.receive_message(QueueUrl=queues["other_job"], MaxNumberOfMessages=10)

    envelopes = [json.loads(message["Body"]) for message in received["Messages"]]
    assert [envelope["detail"]["id"] for envelope in envelopes] == ids
    assert [envelope["detail"]["data"] for envelope in envelopes] == records
    assert {(e["source"], e["detail-type"]) for e in envelopes} == {("dlf-status", EVENT_TYPE)}
    assert "Messages" not in elsewhere


def envelope_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """The event as a rule sees it: EventBridge's envelope around the entry."""
    entry = put_events_entry(transition_event(record), BUS)
    assert entry is not None
    return {
        "version": "0",
        "id": "11111111-2222-3333-4444-555555555555",
        "account": "123456789012",
        "region": "us-east-1",
        "time": "2026-11-25T08:01:00Z",
        "resources": [],
        "source": entry["Source"],
        "detail-type": entry["DetailType"],
        "detail": json.loads(entry["Detail"]),
    }


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        # NORMAL -> EXCEPTION (job and node), EXCEPTION -> NORMAL, NORMAL -> STOPPED
        (TO_EXCEPTION, [True, False, False]),
        (
            {"detail": {"data": {"changes": {"node": ["n1"], "to": ["STOPPED"]}}}},
            [False, False, True],
        ),
        ({"detail": {"data": {"changes": {"from": ["EXCEPTION"]}}}}, [False, True, False]),
        ({"detail": {"subject": ["job_sms"]}}, [True, True, True]),
        (
            {"detail": {"source": [{"prefix": f"urn:dlf-status:project:{PROJECT}"}]}},
            [True, True, True],
        ),
        ({"detail-type": ["Object Created"]}, [False, False, False]),
    ],
)
def test_rule_patterns_reach_into_the_record(pattern: dict[str, Any], expected: list[bool]) -> None:
    records = records_of("NORMAL", "EXCEPTION", "NORMAL", "STOPPED", nodes=True)

    assert [matches(pattern, envelope_of(record)) for record in records] == expected


def stubbed(*answers: dict[str, Any] | str) -> tuple[EventBridgePublisher, Stubber, list[float]]:
    client = boto3.client(
        "events",
        region_name="us-east-1",
        aws_access_key_id="testing-not-a-key",
        aws_secret_access_key="testing-not-a-secret",
    )
    stubber = Stubber(client)
    for answer in answers:
        if isinstance(answer, str):
            stubber.add_client_error("put_events", service_error_code=answer, http_status_code=400)
        else:
            stubber.add_response("put_events", answer)
    stubber.activate()
    sleeps: list[float] = []
    publisher = EventBridgePublisher(
        BUS, client_factory=lambda: client, sleep=sleeps.append, jitter=lambda: 1.0
    )
    return publisher, stubber, sleeps


def failed(code: str) -> dict[str, Any]:
    return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": code, "ErrorMessage": "no"}]}


ACCEPTED = {"FailedEntryCount": 0, "Entries": [{"EventId": "11111111-2222"}]}


def test_a_throttled_entry_is_retried_with_back_off() -> None:
    [record] = records_of("NORMAL", "EXCEPTION")
    publisher, stubber, sleeps = stubbed(
        failed("ThrottlingException"), failed("InternalFailure"), ACCEPTED
    )

    assert publisher.publish_transition(record) == event_id(record)

    stubber.assert_no_pending_responses()
    assert sleeps == [0.1, 0.2]


def test_an_entry_that_keeps_failing_is_one_retryable_error() -> None:
    [record] = records_of("NORMAL", "EXCEPTION")
    publisher, stubber, sleeps = stubbed(*[failed("ThrottlingException")] * MAX_ATTEMPTS)

    with pytest.raises(
        EventPublishError, match=f"in {MAX_ATTEMPTS} attempts: ThrottlingException"
    ) as error:
        publisher.publish_transition(record)

    assert (error.value.retryable, error.value.error_code) == (True, "ThrottlingException")
    assert len(sleeps) == MAX_ATTEMPTS - 1
    stubber.assert_no_pending_responses()


def test_a_publish_takes_at_most_its_worst_case(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each attempt's timeouts, and full jitter's longest pauses between them: what
    a writer must have left before it starts a record and its event."""
    publisher = EventBridgePublisher(BUS)

    assert publisher.worst_case_seconds == publish_worst_case(MAX_ATTEMPTS)
    pauses = [BASE_DELAY_SECONDS * 2**n for n in range(MAX_ATTEMPTS - 1)]
    assert publish_worst_case(MAX_ATTEMPTS) == pytest.approx(
        MAX_ATTEMPTS * (CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS) + sum(pauses)
    )
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing-not-a-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-not-a-secret")
    config: Any = make_events_client().meta.config
    assert (config.connect_timeout, config.read_timeout) == (
        CONNECT_TIMEOUT_SECONDS,
        READ_TIMEOUT_SECONDS,
    )
    assert config.retries["total_max_attempts"] == 1


def test_no_attempt_starts_that_the_remaining_time_cannot_see_to_its_end() -> None:
    """A throttled entry is sent again only while a pause and a whole attempt are left:
    the publish ends inside the invocation, with one retryable error."""
    [record] = records_of("NORMAL", "EXCEPTION")
    publisher, stubber, sleeps = stubbed(failed("ThrottlingException"), ACCEPTED)
    left = [ATTEMPT_SECONDS, ATTEMPT_SECONDS + BASE_DELAY_SECONDS / 2]

    with pytest.raises(EventPublishError, match="no time left to publish") as error:
        publisher.publish_transition(record, remaining_seconds=lambda: left.pop(0))

    assert (error.value.retryable, error.value.error_code) == (True, "ThrottlingException")
    assert sleeps == []
    assert left == []
    with pytest.raises(EventPublishError, match="no time left to publish"):
        publisher.publish_transition(record, remaining_seconds=lambda: ATTEMPT_SECONDS / 2)
    with pytest.raises(EventPublishError, match="no time left to publish"):  # NaN: no time
        publisher.publish_transition(record, remaining_seconds=lambda: float("nan"))
    assert publisher.publish_transition(record, remaining_seconds=lambda: ATTEMPT_SECONDS) == (
        event_id(record)
    )
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize("code", ["AccessDeniedException", "MalformedDetail", "InvalidArgument"])
def test_a_refused_entry_is_final(code: str) -> None:
    [record] = records_of("NORMAL", "EXCEPTION")
    publisher, stubber, sleeps = stubbed(failed(code))

    with pytest.raises(EventPublishError, match=code) as error:
        publisher.publish_transition(record)

    assert error.value.retryable is False
    assert sleeps == []
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("code", "attempts", "retryable"),
    [("ResourceNotFoundException", 1, False), ("ThrottlingException", MAX_ATTEMPTS, True)],
)
def test_a_call_that_fails_whole_is_one_error(code: str, attempts: int, retryable: bool) -> None:
    """Retried by this module (botocore makes one attempt) when it may pass."""
    [record] = records_of("NORMAL", "EXCEPTION")
    publisher, stubber, sleeps = stubbed(*[code] * attempts)

    with pytest.raises(EventPublishError, match=code) as error:
        publisher.publish_transition(record)

    assert error.value.retryable is retryable
    assert len(sleeps) == attempts - 1
    stubber.assert_no_pending_responses()


def test_an_event_too_large_without_a_dataref_is_refused_before_any_call() -> None:
    [record] = records_of("NORMAL", "EXCEPTION")
    publisher, stubber, _ = stubbed()

    with pytest.raises(EventPublishError, match="larger than EventBridge accepts") as error:
        publisher.publish_transition({**record, "changes": record["changes"] * 3000})

    assert error.value.retryable is False
    stubber.assert_no_pending_responses()


def test_both_publishers_are_event_publishers() -> None:
    publishers: list[EventPublisher] = [EventBridgePublisher(BUS), NoEvents()]  # mypy checks

    assert [type(publisher).__name__ for publisher in publishers] == [
        "EventBridgePublisher",
        "NoEvents",
    ]


def test_the_client_is_made_at_the_first_publish_only() -> None:
    [record] = records_of("NORMAL", "EXCEPTION")
    stubbed_publisher, _, _ = stubbed(ACCEPTED, ACCEPTED)
    made: list[str] = []

    def factory() -> Any:
        made.append("client")
        return stubbed_publisher._events()

    publisher = EventBridgePublisher(BUS, client_factory=factory)
    assert made == []
    publisher.publish_transition(record)
    publisher.publish_transition(record)

    assert made == ["client"]


def test_importing_the_publisher_imports_no_aws_sdk() -> None:
    code = (
        "import sys, dlf_status.adapters.events_eventbridge, dlf_status.domain.events; "
        "print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "[]"
