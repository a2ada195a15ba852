"""Queued jobs: an SQS batch in, a partial batch response out.

Each record is one fanned-out job. A job whose failure a retry may mend (its outcome
says `retryable`, decided from the error's class) is reported back to SQS, which
delivers it again and, after the queue's last receipt, to the dead-letter queue; so is
a job the invocation had no time left to start. The others are logged and dropped
(never retried: five failed signatures lock an AK).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

# At import, in the init: only the queue function imports this module, so only it pays
# for the batch utility (Powertools' SQS data classes come with it), and no invocation.
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)

from dlf_status.domain.ticks import JobResult
from dlf_status.entrypoints import events
from dlf_status.entrypoints.problems import logged_problem
from dlf_status.errors import InvalidInput, RetryLater
from dlf_status.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from dlf_status.poller import QueueWorker


def handle_batch(
    worker: QueueWorker, event: Any, remaining_seconds: Callable[[], float] | None = None
) -> dict[str, Any]:
    """Poll each record's job; the records to deliver again are the response's
    `batchItemFailures`. An event that is not an SQS batch gets a problem document.
    `remaining_seconds`: the invocation's time left (no record outruns it)."""
    try:
        _check_batch(event)
    except InvalidInput as error:
        return logged_problem(error)

    def poll(record: SQSRecord) -> None:
        # Each job's lines under its message id: a batch holds up to ten jobs. The id
        # is the event's, which a direct invocation may fill with anything.
        logger.set_correlation_id(events.sane_correlation_id(record.message_id) or uuid.uuid4().hex)
        outcome = worker.poll_message(record.body, remaining_seconds)
        if outcome.result is JobResult.NOT_REACHED:
            raise RetryLater(outcome.detail or "not reached")
        if outcome.failed and outcome.retryable:
            raise RetryLater(f"{outcome.error}: {outcome.detail}")

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(process_partial_response(event=event, record_handler=poll, processor=processor))


def _check_batch(event: Any) -> None:
    """What the batch utility needs: at least one record (SQS never sends none), each
    with an id and a body, from SQS."""
    records = event.get("Records") if isinstance(event, dict) else None
    if (
        not isinstance(records, list)
        or not records
        or not all(
            isinstance(record, dict)
            and record.get("eventSource") == "aws:sqs"
            and isinstance(record.get("messageId"), str)
            and isinstance(record.get("body"), str)
            for record in records
        )
    ):
        raise InvalidInput("not an SQS batch: expected Records of SQS messages")
