from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

import pytest

from dlf_status.adapters.store_local import (
    STAGING_DIRECTORY,
    STALE_STAGED_SECONDS,
    LocalDirectoryStore,
)
from dlf_status.errors import StoreError

KEY = "latest/project_id=p/workspace=w/job_name=j/latest.json"


def test_create_writes_once_and_never_overwrites(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)

    assert store.create("history/a/x.json", b"first", {}) is True
    assert store.create("history/a/x.json", b"second", {}) is False

    stored = store.get("history/a/x.json")
    assert stored is not None
    assert stored.body == b"first"


def test_replace_needs_the_current_version(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)

    first = store.replace(KEY, b"v1", {}, expected_version=None)
    assert first is not None
    assert store.replace(KEY, b"v2", {}, expected_version=None) is None
    assert store.replace(KEY, b"v2", {}, expected_version="not-the-version") is None
    second = store.replace(KEY, b"v2", {}, expected_version=first)

    stored = store.get(KEY)
    assert stored is not None
    assert (stored.body, stored.version) == (b"v2", second)


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)
    store.create("history/a/x.json", b"1", {})
    store.create("history/a/x.json", b"2", {})
    store.replace(KEY, b"3", {}, expected_version=None)

    leftovers = [path.name for path in tmp_path.rglob("*.tmp")]

    assert leftovers == []


def test_a_missing_key_reads_as_none(tmp_path: Path) -> None:
    assert LocalDirectoryStore(tmp_path).get(KEY) is None


@pytest.mark.parametrize("key", ["../escape.json", "latest/../../escape.json", "/etc/passwd"])
def test_a_key_outside_the_root_is_refused(tmp_path: Path, key: str) -> None:
    store = LocalDirectoryStore(tmp_path / "root")

    with pytest.raises(StoreError, match="unsafe"):
        store.create(key, b"x", {})

    assert not (tmp_path / "escape.json").exists()


def test_an_unwritable_root_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    store = LocalDirectoryStore(blocker)

    with pytest.raises(StoreError, match="cannot write"):
        store.create("history/x.json", b"x", {})


def staged_file(root: Path, name: str = "0123456789abcdef0123456789abcdef.tmp") -> Path:
    staging = root / STAGING_DIRECTORY
    staging.mkdir(parents=True, exist_ok=True)
    path = staging / name
    path.write_bytes(b"left by a writer that died")
    return path


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)


def test_writes_stage_under_one_directory_and_leave_it_empty(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)
    store.create("history/a/x.json", b"1", {})
    store.replace(KEY, b"2", {}, expected_version=None)

    assert list((tmp_path / STAGING_DIRECTORY).iterdir()) == []


def test_the_sweep_removes_old_staged_files_nobody_holds(tmp_path: Path) -> None:
    old = staged_file(tmp_path)
    age(old, STALE_STAGED_SECONDS + 60)

    assert LocalDirectoryStore(tmp_path).sweep_staged() == 1
    assert not old.exists()


def test_the_first_write_sweeps(tmp_path: Path) -> None:
    old = staged_file(tmp_path)
    age(old, STALE_STAGED_SECONDS + 60)

    LocalDirectoryStore(tmp_path).create("history/a/x.json", b"1", {})

    assert not old.exists()


def test_the_sweep_keeps_recent_foreign_and_odd_files(tmp_path: Path) -> None:
    recent = staged_file(tmp_path, "a" * 32 + ".tmp")
    foreign = staged_file(tmp_path, "notes.tmp")
    target = staged_file(tmp_path, "target-of-a-link")
    link = tmp_path / STAGING_DIRECTORY / ("b" * 32 + ".tmp")
    link.symlink_to(target)
    for path in (foreign, target, link):
        age(path, STALE_STAGED_SECONDS + 60)

    assert LocalDirectoryStore(tmp_path).sweep_staged() == 0
    assert recent.exists()
    assert foreign.exists()
    assert link.is_symlink()
    assert target.exists()


def test_the_sweep_never_removes_a_file_whose_lock_is_held(tmp_path: Path) -> None:
    """An old file a writer still holds (its own open file description, as another
    process would have) stays."""
    held = staged_file(tmp_path)
    age(held, STALE_STAGED_SECONDS + 60)
    with held.open("rb") as writer:
        fcntl.flock(writer.fileno(), fcntl.LOCK_EX)

        assert LocalDirectoryStore(tmp_path).sweep_staged() == 0
        assert held.exists()

    assert LocalDirectoryStore(tmp_path).sweep_staged() == 1


def test_replace_keeps_the_metadata_of_each_version_and_only_of_it(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)
    first = store.replace(KEY, b"v1", {"Transition-Record": "abc"}, expected_version=None)
    # A writer that stopped after writing the metadata of a version never renamed in.
    (tmp_path / KEY).with_name(".latest.json.ffffffff.meta").write_text('{"x": "stray"}')

    read_first = store.get(KEY)
    store.replace(KEY, b"v2", {"content-hash": "h2"}, expected_version=first)
    read_second = store.get(KEY)

    assert read_first is not None
    assert dict(read_first.metadata) == {"transition-record": "abc"}
    assert read_second is not None
    assert dict(read_second.metadata) == {"content-hash": "h2"}
    sidecars = sorted(path.name for path in (tmp_path / KEY).parent.glob(".*.meta"))
    assert len(sidecars) == 1  # the replaced version's and the stray one are gone


def test_created_objects_carry_no_metadata(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)
    store.create("history/a/x.json", b"1", {"content-hash": "h"})

    stored = store.get("history/a/x.json")

    assert stored is not None
    assert dict(stored.metadata) == {}
