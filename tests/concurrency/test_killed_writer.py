"""A writer process killed between the swap of latest.json and the publication of its
transition record: the next process publishes the record, and the chain is whole."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from dlf_status.adapters.store_s3 import S3Store, make_s3_client
from dlf_status.domain import jsoncodec
from dlf_status.service import SnapshotWriter
from tests.concurrency.dying_writer import JOB, KILLED, T0, observation
from tests.integration.conftest import stored_keys
from tests.support.seaweed import (
    ACCESS_KEY,
    PATIENT_STORE_SECONDS,
    REGION,
    SECRET_KEY,
    SeaweedServer,
)
from tests.support.transitions import assert_chain

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_a_record_owed_by_a_killed_process_is_published_by_the_next(
    seaweed: SeaweedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in (
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ("AWS_DEFAULT_REGION", REGION),
    ):
        monkeypatch.setenv(name, value)
    prefix = f"killed-{uuid.uuid4().hex[:8]}"
    store = S3Store(
        make_s3_client(seaweed.endpoint, call_seconds=PATIENT_STORE_SECONDS), seaweed.bucket, prefix
    )
    first = observation("NORMAL", 0)
    SnapshotWriter(store).write(JOB, first, T0)

    died = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.concurrency.dying_writer",
            seaweed.endpoint,
            seaweed.bucket,
            prefix,
            "EXCEPTION",
            "1",
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    owed = store.get(next(key for key in stored_keys(store) if key.startswith("latest/")))
    assert died.returncode == KILLED
    assert owed is not None
    assert "transition-record" in owed.metadata
    assert not [key for key in stored_keys(store) if key.startswith("transitions/")]

    third = observation("STOPPED", 2)
    written = SnapshotWriter(store).write(JOB, third, T0)  # the next process

    records = [
        jsoncodec.loads(stored.body)
        for key in stored_keys(store)
        if key.startswith("transitions/") and (stored := store.get(key)) is not None
    ]
    assert (written.transitions, written.repaired) == (1, 1)
    assert_chain(records, [first, jsoncodec.loads(owed.body), third])
