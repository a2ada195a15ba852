"""The fan-out queue: jobs of a big tick as SQS messages, for workers to poll.

Each send has a known worst case (`SEND_WORST_CASE_SECONDS`), so that the tick starts
one only while the invocation's remaining time can see it to its end (poller.py):
botocore's defaults (60 s to connect, 60 s to read, several attempts) would let one
slow call outlast the tick's whole timeout, and the report with it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from dlf_status.adapters.aws import bounded_config
from dlf_status.errors import QueueError, one_line

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# One SendMessageBatch in the same region answers in tens of milliseconds: these bound
# an attempt at dozens of times that. Two attempts (botocore's standard retries); the
# pause between them is at most 1 s (throttling), stretched by at most 5 s by an
# `x-amz-retry-after` header (botocore/retries/standard.py).
CONNECT_TIMEOUT_SECONDS: Final = 1.0
READ_TIMEOUT_SECONDS: Final = 3.0
ATTEMPTS: Final = 2
SEND_WORST_CASE_SECONDS: Final = ATTEMPTS * (CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS) + 6.0


def make_sqs_client() -> SQSClient:
    """The SQS client, its calls bounded as `SEND_WORST_CASE_SECONDS` says."""
    import boto3

    config = bounded_config(
        connect_seconds=CONNECT_TIMEOUT_SECONDS,
        read_seconds=READ_TIMEOUT_SECONDS,
        attempts=ATTEMPTS,
    )
    return boto3.client("sqs", config=config)


def message_body(message: dict[str, Any]) -> str:
    """Compact JSON with sorted keys and every non-ASCII character escaped. SQS refuses
    a message holding a character outside XML's set (U+FFFE, U+FFFF, ...), and a job
    name may hold one: escaped, every name the core accepts travels, and the worker's
    JSON parser gives it back unchanged. Its size stays far under SQS's limits: a
    message is at most about 14 KB (a 128-character name and a 1024-character tick id,
    12 bytes per escaped character), ten of them 140 KB."""
    return json.dumps(message, ensure_ascii=True, sort_keys=True, separators=(",", ":"))


class SqsJobQueue:
    def __init__(self, queue_url: str, client: SQSClient | None = None) -> None:
        self._url = queue_url
        self._client = client or make_sqs_client()

    def send(self, messages: list[dict[str, Any]]) -> dict[int, QueueError]:
        entries = [
            {"Id": str(index), "MessageBody": message_body(message)}
            for index, message in enumerate(messages)
        ]
        try:
            answer = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)  # type: ignore[arg-type]
        except (ClientError, BotoCoreError) as exc:
            raise QueueError(f"cannot send to the fan-out queue: {type(exc).__name__}") from None
        # A message is taken only when the answer says so by its Id: one the answer
        # names in neither list (or under an Id that is not ours) is not reported sent.
        sent = {str(entry.get("Id")) for entry in answer.get("Successful", [])}
        refused = {str(failure.get("Id")): failure for failure in answer.get("Failed", [])}
        failed: dict[int, QueueError] = {}
        for index in range(len(messages)):
            failure = refused.get(str(index))
            if failure is not None:
                failed[index] = QueueError(
                    f"the queue refused the message: {one_line(str(failure.get('Code')), 60)}",
                    # SenderFault: the message itself was refused; sending it again cannot help.
                    retryable=not failure.get("SenderFault", False),
                )
            elif str(index) not in sent:
                failed[index] = QueueError("the queue's answer does not say it took the message")
        return failed
