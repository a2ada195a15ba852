"""A writer process that dies (os._exit, as a Lambda stopped or a process killed with
SIGKILL) at one store write: by default right after it replaced latest.json and before
it published the transition record.

    python -m tests.concurrency.dying_writer ENDPOINT BUCKET PREFIX STATUS MINUTE [AT]

AT is `WHEN:ROOT`: `before` or `after` the first write (create or replace) of a key
under ROOT (`history/`, `_dlf-status/`, `latest/`, `transitions/`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from dlf_status.adapters.store_s3 import S3Store, make_s3_client
from dlf_status.domain.documents import StatusDocument
from dlf_status.domain.model import JobRef
from dlf_status.service import SnapshotWriter
from tests.support.documents import status_document
from tests.support.seaweed import PATIENT_STORE_SECONDS

JOB = JobRef.parse("b384b9e9ab9b4ee8994c8633aabc9505", "dying")
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
KILLED = 137


def observation(status: str, minute: int) -> StatusDocument:
    return status_document(JOB, status, T0 + timedelta(minutes=minute))


DEFAULT_AT = "before:transitions/"


class DiesAtAWrite(S3Store):
    """Dies before or after its first write of a key under one root."""

    def __init__(self, client: Any, bucket: str, prefix: str, at: str) -> None:
        super().__init__(client, bucket, prefix)
        self.when, _, self.root = at.partition(":")

    def _at(self, key: str, when: str) -> None:
        if self.when == when and key.startswith(self.root):
            os._exit(KILLED)

    def create(self, key: str, body: bytes, metadata: Mapping[str, str]) -> bool:
        self._at(key, "before")
        created = super().create(key, body, metadata)
        self._at(key, "after")
        return created

    def replace(
        self, key: str, body: bytes, metadata: Mapping[str, str], expected_version: str | None
    ) -> str | None:
        self._at(key, "before")
        version = super().replace(key, body, metadata, expected_version)
        self._at(key, "after")
        return version


def main(
    endpoint: str, bucket: str, prefix: str, status: str, minute: int, at: str = DEFAULT_AT
) -> None:
    store = DiesAtAWrite(
        make_s3_client(endpoint, call_seconds=PATIENT_STORE_SECONDS), bucket, prefix, at
    )
    SnapshotWriter(store).write(JOB, observation(status, minute), T0 + timedelta(minutes=minute))


if __name__ == "__main__":
    endpoint, bucket, prefix, status, minute = sys.argv[1:6]
    main(endpoint, bucket, prefix, status, int(minute), *sys.argv[6:7])
