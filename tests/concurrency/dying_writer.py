"""A writer process that dies (os._exit, as a Lambda stopped between two PUTs) right
after it replaced latest.json and before it published the transition record.

    python -m tests.concurrency.dying_writer ENDPOINT BUCKET PREFIX STATUS MINUTE
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

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


class DiesBeforePublishing(S3Store):
    def create(self, key: str, body: bytes, metadata: Mapping[str, str]) -> bool:
        if key.startswith("transitions/"):
            os._exit(KILLED)
        return super().create(key, body, metadata)


def main(endpoint: str, bucket: str, prefix: str, status: str, minute: int) -> None:
    store = DiesBeforePublishing(
        make_s3_client(endpoint, call_seconds=PATIENT_STORE_SECONDS), bucket, prefix
    )
    SnapshotWriter(store).write(JOB, observation(status, minute), T0 + timedelta(minutes=minute))


if __name__ == "__main__":
    endpoint, bucket, prefix, status, minute = sys.argv[1:6]
    main(endpoint, bucket, prefix, status, int(minute))
