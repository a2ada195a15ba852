"""The listing contract on the unit tests' memory store, and the local store's own rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dlf_status.adapters.store_local import LocalDirectoryStore
from dlf_status.domain.model import JobRef
from dlf_status.domain.ports import ObjectStore
from dlf_status.domain.snapshots import latest_key
from dlf_status.errors import StoreError
from tests.support.fakes import MemoryStore
from tests.support.listing_contract import PROJECT, ListingContract, everything, put


class TestMemoryStoreListing(ListingContract):
    @pytest.fixture
    def listing_store(self) -> ObjectStore:
        return MemoryStore()


class TestLocalStoreListing(ListingContract):
    @pytest.fixture
    def listing_store(self, tmp_path: Path) -> ObjectStore:
        return LocalDirectoryStore(tmp_path / "snapshots")


def test_the_local_store_lists_none_of_its_housekeeping(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)
    key = latest_key(JobRef.parse(PROJECT, "job_sms"))
    first = store.replace(key, b"1", {"content-hash": "x"}, None)
    store.replace(key, b"2", {"content-hash": "y"}, first)
    (tmp_path / ".staging").mkdir(exist_ok=True)
    (tmp_path / ".staging" / ("0" * 32 + ".tmp")).write_bytes(b"left by a dead writer")
    housekeeping = sorted(
        path.name for path in tmp_path.rglob("*") if path.is_file() and path.name != "latest.json"
    )
    assert housekeeping, "the store wrote no lock or metadata file: nothing is checked"

    assert [item.key for item in everything(store, "")] == [key]


def test_the_local_store_follows_no_symbolic_link(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (outside / "job_name=x").mkdir(parents=True)
    (outside / "job_name=x" / "latest.json").write_bytes(b"secret")
    (outside / "loose.json").write_bytes(b"secret")
    store = LocalDirectoryStore(root)
    put(store, "latest/real.json")
    (root / "latest" / "linked").symlink_to(outside)
    (root / "latest" / "file-link.json").symlink_to(outside / "loose.json")
    (root / "elsewhere").symlink_to(outside)

    assert [item.key for item in everything(store, "")] == ["latest/real.json"]
    assert store.list_objects("elsewhere/job_name=x/").objects == ()
    assert store.list_objects("latest/linked/").objects == ()


def test_the_local_store_skips_names_that_are_not_keys(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)
    put(store, "history/a.json")
    (tmp_path / "history" / "with space.json").write_bytes(b"{}")
    (tmp_path / "history" / "sub dir").mkdir()
    (tmp_path / "history" / "sub dir" / "a.json").write_bytes(b"{}")
    os.mkfifo(tmp_path / "history" / "b.json")

    assert [item.key for item in everything(store, "")] == ["history/a.json"]


def test_a_root_that_is_not_a_directory_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    store = LocalDirectoryStore(tmp_path / "file")

    with pytest.raises(StoreError, match="cannot list"):
        store.list_objects("")


def test_a_store_not_written_yet_lists_nothing(tmp_path: Path) -> None:
    listing = LocalDirectoryStore(tmp_path / "not-yet").list_objects("latest/")

    assert (listing.objects, listing.resume_after) == ((), None)
