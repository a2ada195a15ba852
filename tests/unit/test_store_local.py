from __future__ import annotations

from pathlib import Path

import pytest

from dlf_status.adapters.store_local import LocalDirectoryStore
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
