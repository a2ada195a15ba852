"""Writers of one job in separate processes (separate `SnapshotWriter`s, each with its
own memory of the latest.json it wrote), interleaved on SeaweedFS and the local store:
the transition records must form one chain (each `from` the previous `to`, in
`observed_at` order) that matches what latest.json went through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dlf_status.domain import jsoncodec
from dlf_status.domain.model import JobRef
from dlf_status.domain.ports import ObjectStore
from dlf_status.domain.snapshots import SnapshotOutcome, latest_key
from dlf_status.service import SnapshotWriter
from tests.integration.conftest import check_transition_records
from tests.integration.test_transition_events_on_the_store import records_in
from tests.support.read_models import observe

pytestmark = pytest.mark.integration

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
JOB = JobRef.parse(PROJECT, "orders stream")
START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
SOURCE: Any = {"project_id": PROJECT, "workspace": None, "job_name": JOB.job_name, "endpoint": "x"}
REASON: Any = {"error_code": "DLF.0100", "error_msg": "The job does not exist."}


def at(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


def stamp(minutes: int) -> str:
    return at(minutes).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def job_chain(store: ObjectStore) -> list[tuple[str | None, str | None]]:
    """The job-level changes of the store's records, in observed_at order."""
    changes = []
    for record in sorted(records_in(store), key=lambda record: str(record["observed_at"])):
        [job] = [change for change in record["changes"] if change.get("node") is None]
        changes.append((job["from"], job["to"]))
    return changes


def test_a_job_gone_again_after_another_writer_saw_it_back_is_reported_gone(
    store: ObjectStore,
) -> None:
    """Process A reports the job gone; process B observes it back; A is told again that
    it is gone. A remembers its gone document, but latest.json moved on: A must not
    answer `unchanged` from memory, or the second disappearance is never recorded."""
    process_a, process_b = SnapshotWriter(store), SnapshotWriter(store)
    observe(store, JOB, "NORMAL", at(0), None, process_a)
    assert process_a.write_gone(JOB, SOURCE, stamp(1), REASON).outcome is SnapshotOutcome.CHANGED
    observe(store, JOB, "STOPPED", at(2), None, process_b)

    again = process_a.write_gone(JOB, SOURCE, stamp(3), REASON)

    assert again.outcome is SnapshotOutcome.CHANGED
    stored = store.get(latest_key(JOB))
    assert stored is not None
    assert jsoncodec.loads(stored.body, jsoncodec.STORED)["observed_at"] == stamp(3)
    assert job_chain(store) == [("NORMAL", None), (None, "STOPPED"), ("STOPPED", None)]
    check_transition_records(store)
