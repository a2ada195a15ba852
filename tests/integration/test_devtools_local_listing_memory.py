"""Listing a local store holds a chunk of a file at a time, never the file: `drift`
lists every object of `latest/` and `history/`, and a file that is not ours may be
gigabytes (its size is then counted as too large, its body never read)."""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

from dlf_status.adapters.store_local import LocalDirectoryStore
from dlf_status.drift import DriftReader

HUGE = 64 << 20
KEY = "latest/project_id=p/workspace=_/job_name=a/latest.json"


def zeros_digest(size: int) -> str:
    digest = hashlib.sha256()
    block = bytes(1 << 20)
    for _ in range(size // len(block)):
        digest.update(block)
    return digest.hexdigest()


def test_a_huge_file_is_listed_with_its_size_and_digest_without_being_held(
    tmp_path: Path,
) -> None:
    path = tmp_path / KEY
    path.parent.mkdir(parents=True)
    with path.open("wb") as handle:
        handle.truncate(HUGE)  # sparse: no disk used
    store = LocalDirectoryStore(tmp_path)

    tracemalloc.start()
    try:
        listing = store.list_objects("latest/")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    (listed,) = listing.objects
    assert (listed.key, listed.size) == (KEY, HUGE)
    assert listed.version == zeros_digest(HUGE)
    assert peak < HUGE // 8


def test_drift_counts_it_as_too_large_within_the_same_bound(tmp_path: Path) -> None:
    path = tmp_path / KEY
    path.parent.mkdir(parents=True)
    with path.open("wb") as handle:
        handle.truncate(HUGE)

    tracemalloc.start()
    try:
        report = DriftReader(LocalDirectoryStore(tmp_path)).report()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert report["skipped"]["too_large"] == 1
    assert report["documents_read"] == 0
    assert peak < HUGE // 8
