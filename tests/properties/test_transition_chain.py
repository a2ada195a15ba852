"""Exactly-once transitions over generated interleavings of writers (hypothesis).

Warm writers (which remember what they wrote) and new processes observe one job in
any order, with observation times that repeat and arrive late; any write may die or
meet a store error right after replacing latest.json. Whatever happened, once one
more observation is written the records form one chain that matches every version
latest.json held: no phantom, no missed transition.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from dlf_status.domain.documents import DocumentSource, GoneReason, StatusDocument
from dlf_status.domain.model import JobRef
from dlf_status.domain.normalize import content_hash
from dlf_status.errors import StoreError
from dlf_status.service import SnapshotWriter
from tests.support.documents import status_document
from tests.support.fakes import FaultyStore, Killed
from tests.support.transitions import assert_chain

JOB = JobRef.parse("p1", "job")
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
STATUSES = st.sampled_from(["NORMAL", "EXCEPTION", "STOPPED", "PAUSE"])
# Names may repeat: nodes that share a name are followed as a multiset.
NODES = st.lists(st.tuples(st.sampled_from(["a", "b"]), STATUSES), max_size=3)
WARM_WRITERS = 2


def observation(status: str, nodes: list[tuple[str, str]], minute: int) -> StatusDocument:
    return status_document(JOB, status, T0 + timedelta(minutes=minute), nodes)


OPERATIONS = st.lists(
    st.tuples(
        st.integers(0, WARM_WRITERS),  # a warm writer, or (WARM_WRITERS) a new process
        STATUSES,
        NODES,
        st.integers(0, 30),  # minutes: repeated and late observations included
        st.sampled_from(["none", "none", "store error", "killed"]),
    ),
    min_size=1,
    max_size=30,
)


def new_writer(store: FaultyStore) -> SnapshotWriter:
    return SnapshotWriter(store, sleep=lambda _: None)


@settings(max_examples=300, deadline=None)
@given(OPERATIONS)
def test_any_interleaving_of_writers_and_faults_leaves_one_matching_chain(
    operations: list[tuple[int, str, list[tuple[str, str]], int, str]],
) -> None:
    store = FaultyStore()
    warm = [new_writer(store) for _ in range(WARM_WRITERS)]
    for slot, status, nodes, minute, fault in operations:
        writer = warm[slot] if slot < WARM_WRITERS else new_writer(store)
        if fault == "store error":
            store.fail_publish.append(StoreError("SlowDown (HTTP 503)"))
        elif fault == "killed":
            store.fail_publish.append(Killed())
        moment = T0 + timedelta(minutes=minute)
        try:
            writer.write(JOB, observation(status, nodes, minute), moment)
        except StoreError:
            pass  # reported to the caller; the process lives on
        except Killed:
            if slot < WARM_WRITERS:
                warm[slot] = new_writer(store)  # the process is gone, and its memory
        store.fail_publish.clear()  # a fault is for one write only

    new_writer(store).write(JOB, observation("NORMAL", [], 60), T0 + timedelta(minutes=60))

    versions = store.latest_versions(JOB)
    # An older observation never replaced a newer one...
    moments = [(v["observed_at"], content_hash(v)) for v in versions]
    assert moments == sorted(set(moments))
    # ...and the records are the chain of what latest.json went through.
    assert_chain(store.transitions(), versions)


GONE = "GONE"  # the status call said DLF.0100: the writer marks the job gone
WITH_GONE = st.lists(
    st.tuples(
        st.integers(0, WARM_WRITERS),
        st.one_of(STATUSES, st.just(GONE)),
        NODES,
        st.integers(0, 30),
        st.sampled_from(["none", "none", "store error", "killed"]),
    ),
    min_size=1,
    max_size=30,
)


def at(minute: int) -> str:
    return (T0 + timedelta(minutes=minute)).isoformat(timespec="milliseconds")[:-6] + "Z"


@settings(max_examples=300, deadline=None)
@given(WITH_GONE, st.booleans())
def test_jobs_going_and_coming_back_leave_one_matching_chain(
    operations: list[tuple[int, str, list[tuple[str, str]], int, str]], ends_gone: bool
) -> None:
    """Gone documents among the versions: the job's change goes to null once per
    disappearance, comes back from null, and the chain still matches latest.json."""
    store = FaultyStore()
    warm = [new_writer(store) for _ in range(WARM_WRITERS)]
    source: DocumentSource = {
        "project_id": "p1",
        "workspace": None,
        "job_name": "job",
        "endpoint": None,
    }
    reason: GoneReason = {"error_code": "DLF.0100", "error_msg": "The job not found"}
    for slot, status, nodes, minute, fault in operations:
        writer = warm[slot] if slot < WARM_WRITERS else new_writer(store)
        if fault == "store error":
            store.fail_publish.append(StoreError("SlowDown (HTTP 503)"))
        elif fault == "killed":
            store.fail_publish.append(Killed())
        try:
            if status == GONE:
                writer.write_gone(JOB, source, at(minute), reason)
            else:
                writer.write(
                    JOB, observation(status, nodes, minute), T0 + timedelta(minutes=minute)
                )
        except StoreError:
            pass
        except Killed:
            if slot < WARM_WRITERS:
                warm[slot] = new_writer(store)
        store.fail_publish.clear()

    if ends_gone:
        new_writer(store).write_gone(JOB, source, at(60), reason)
    else:
        new_writer(store).write(JOB, observation("NORMAL", [], 60), T0 + timedelta(minutes=60))

    versions = store.latest_versions(JOB)
    moments = [(v["observed_at"], content_hash(v)) for v in versions]
    assert moments == sorted(set(moments))
    # A gone document never follows a gone document: each disappearance is one version.
    kinds = [v.get("kind") for v in versions]
    assert all(not (a == b == "job-gone") for a, b in itertools.pairwise(kinds))
    assert_chain(store.transitions(), versions)
