"""A writer process killed between the swap of latest.json and the publication of its
transition record: the next process publishes the record, and the chain is whole."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from dlf_status.adapters.store_s3 import S3Store
from dlf_status.domain import jsoncodec
from dlf_status.domain.normalize import content_hash
from dlf_status.service import SnapshotWriter
from tests.concurrency.dying_writer import JOB, KILLED, T0, observation
from tests.integration.conftest import stored_keys
from tests.support.seaweed import (
    ACCESS_KEY,
    PATIENT_STORE_SECONDS,
    REGION,
    SECRET_KEY,
    SeaweedServer,
    production_s3_client,
)
from tests.support.transitions import assert_chain

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _dying_writer(
    seaweed: SeaweedServer, prefix: str, *at: str
) -> subprocess.CompletedProcess[bytes]:
    """A process that writes EXCEPTION (observation 1) and dies as `dying_writer` says."""
    credentials = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.concurrency.dying_writer",
            *(seaweed.endpoint, seaweed.bucket, prefix, "EXCEPTION", "1", *at),
        ],
        env={**os.environ, **credentials, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_a_record_owed_by_a_killed_process_is_published_by_the_next(
    seaweed: SeaweedServer,
) -> None:
    prefix = f"killed-{uuid.uuid4().hex[:8]}"
    store = S3Store(
        production_s3_client(seaweed.endpoint, PATIENT_STORE_SECONDS), seaweed.bucket, prefix
    )
    first = observation("NORMAL", 0)
    SnapshotWriter(store).write(JOB, first, T0)

    died = _dying_writer(seaweed, prefix)
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


@pytest.mark.parametrize(
    "at",
    [
        "before:history/",
        "after:history/",
        "before:_dlf-status/",
        "after:_dlf-status/",
        "before:latest/",
        "after:latest/",
        "after:transitions/",
    ],
)
def test_a_writer_killed_at_any_write_leaves_a_chain_the_next_writer_completes(
    seaweed: SeaweedServer, at: str
) -> None:
    """A process killed (SIGKILL's exit, no cleanup) before or after any write of an
    observation that changes the status: whatever it left, the next process's write
    leaves one chain that matches the versions latest.json held, every history object
    it names exists, and the record of every swap is published."""
    prefix = f"killed-{uuid.uuid4().hex[:8]}"
    store = S3Store(
        production_s3_client(seaweed.endpoint, PATIENT_STORE_SECONDS), seaweed.bucket, prefix
    )
    first = observation("NORMAL", 0)
    SnapshotWriter(store).write(JOB, first, T0)
    latest_key = next(key for key in stored_keys(store) if key.startswith("latest/"))

    died = _dying_writer(seaweed, prefix, at)
    left = store.get(latest_key)
    assert died.returncode == KILLED
    assert left is not None
    third = observation("STOPPED", 2)
    SnapshotWriter(store).write(JOB, third, T0 + timedelta(minutes=2))  # the next process

    held = [first, jsoncodec.loads(left.body), third]
    if held[1]["observed_at"] == first["observed_at"]:
        held = [first, third]  # killed before its swap: latest.json never held it
    records = [
        jsoncodec.loads(stored.body)
        for key in stored_keys(store)
        if key.startswith("transitions/") and (stored := store.get(key)) is not None
    ]
    assert_chain(records, held)
    history = [key for key in stored_keys(store) if key.startswith("history/")]
    for version in held:
        digest = content_hash(version)
        assert [key for key in history if key.endswith(f"-{digest[:16]}.json")], version
