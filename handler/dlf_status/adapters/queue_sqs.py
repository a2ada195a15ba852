"""The fan-out queue: jobs of a big tick as SQS messages, for workers to poll."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from dlf_status.domain import jsoncodec
from dlf_status.errors import QueueError, one_line

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsJobQueue:
    def __init__(self, queue_url: str, client: SQSClient | None = None) -> None:
        self._url = queue_url
        self._client = client or boto3.client("sqs")

    def send(self, messages: list[dict[str, Any]]) -> dict[int, QueueError]:
        entries = [
            {"Id": str(index), "MessageBody": jsoncodec.canonical_bytes(message).decode("utf-8")}
            for index, message in enumerate(messages)
        ]
        try:
            answer = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)  # type: ignore[arg-type]
        except (ClientError, BotoCoreError) as exc:
            raise QueueError(f"cannot send to the fan-out queue: {type(exc).__name__}") from None
        return {
            int(failure["Id"]): QueueError(
                f"the queue refused the message: {one_line(str(failure.get('Code')), 60)}",
                # SenderFault: the message itself was refused; sending it again cannot help.
                retryable=not failure.get("SenderFault", False),
            )
            for failure in answer.get("Failed", [])
        }
