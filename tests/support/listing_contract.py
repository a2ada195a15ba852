"""The listing contract of the `ObjectStore` port, asserted on every store.

A test module subclasses `ListingContract` and provides a `listing_store` fixture
that yields an empty store; the same assertions then hold for SeaweedFS through the
S3 adapter, the local directory store and the unit tests' memory store.

Order: AWS S3, the local store and the memory store list in byte order of the whole
key. SeaweedFS lists each directory's names in order instead (as comparing keys
segment by segment does), which differs only where one segment is a prefix of
another at the same depth ("a" before "a-b" there, after it in byte order). A
subclass names its store's order with `order_key`; every assertion about order and
`start_after` follows it, and pages must join into exactly what one call lists.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dlf_status.domain.model import JobRef
from dlf_status.domain.ports import MAX_LIST_PAGE, ListedObject, ObjectStore
from dlf_status.domain.snapshots import history_key, latest_key, staged_transition_key
from dlf_status.errors import InvalidInput

CORPUS = json.loads(
    (Path(__file__).resolve().parents[1] / "hostile" / "corpus.json").read_text(encoding="utf-8")
)
PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
HASH = "0123456789abcdef" * 4
SLOT = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)

# '-' (0x2d) and '.' (0x2e) sort before '/' (0x2f), '0' after it: a walk that sorts the
# names of one directory ("a" < "a-b") lists these in another order than S3 does.
ORDER_TRAP = ("t/a-b/x.json", "t/a.b/x.json", "t/a/x.json", "t/a/y/z.json", "t/a0/x.json")


def hostile_jobs() -> list[JobRef]:
    """Every corpus name that is a job name (the others are refused before any key)."""
    jobs = []
    for name in CORPUS["strings"]:
        try:
            jobs.append(JobRef.parse(PROJECT, name))
        except InvalidInput:
            continue
    jobs.append(JobRef.parse(PROJECT, "作业" * 60))  # cut and hashed: '~' in its key
    jobs.append(JobRef.parse(PROJECT, "a+b c", "ws"))  # '+' and ' ' differ once encoded
    return jobs


def everything(store: ObjectStore, prefix: str, limit: int = MAX_LIST_PAGE) -> list[ListedObject]:
    """Every listed object under `prefix`, page after page, checking each page."""
    found: list[ListedObject] = []
    start_after = ""
    for _ in range(10_000):
        page = store.list_objects(prefix, start_after=start_after, limit=limit)
        assert len(page.objects) <= limit
        assert not {item.key for item in page.objects} & {item.key for item in found}, (
            "a key listed twice: the listing went back"
        )
        found.extend(page.objects)
        if page.resume_after is None:
            return found
        assert page.resume_after != start_after, "a listing that does not advance"
        start_after = page.resume_after
    raise AssertionError("the listing never ended")


def put(store: ObjectStore, key: str, body: bytes = b"{}") -> None:
    assert store.create(key, body, {}) is True


def byte_order(key: str) -> Any:
    return key


def directory_order(key: str) -> Any:
    return key.split("/")


class ListingContract:
    """What every store's `list_objects` does. Needs a `listing_store` fixture."""

    def order_key(self, store: ObjectStore) -> Callable[[str], Any]:
        """How `store` orders keys (byte order unless a subclass says otherwise)."""
        return byte_order

    def in_order(self, store: ObjectStore, keys: Iterable[str]) -> list[str]:
        return sorted(keys, key=self.order_key(store))

    def test_an_empty_store_lists_nothing(self, listing_store: ObjectStore) -> None:
        listing = listing_store.list_objects("")

        assert listing.objects == ()
        assert listing.resume_after is None

    def test_keys_come_in_byte_order_with_the_version_get_returns(
        self, listing_store: ObjectStore
    ) -> None:
        for number, key in enumerate(reversed(ORDER_TRAP)):
            put(listing_store, key, b"x" * (number + 1))

        listed = everything(listing_store, "t/")

        assert [item.key for item in listed] == self.in_order(listing_store, ORDER_TRAP)
        if self.order_key(listing_store) is byte_order:
            assert [item.key for item in listed] == [
                "t/a-b/x.json",
                "t/a.b/x.json",
                "t/a/x.json",
                "t/a/y/z.json",
                "t/a0/x.json",
            ]
        for item in listed:
            stored = listing_store.get(item.key)
            assert stored is not None
            assert (item.version, item.size) == (stored.version, len(stored.body))

    @pytest.mark.parametrize("limit", [1, 2, 3])
    def test_pages_join_into_the_whole_listing(
        self, listing_store: ObjectStore, limit: int
    ) -> None:
        for key in ORDER_TRAP:
            put(listing_store, key)

        paged = everything(listing_store, "t/", limit=limit)

        assert paged == list(listing_store.list_objects("t/").objects)
        assert [item.key for item in paged] == self.in_order(listing_store, ORDER_TRAP)

    def test_a_full_page_says_where_to_resume(self, listing_store: ObjectStore) -> None:
        for key in ORDER_TRAP:
            put(listing_store, key)

        ordered = self.in_order(listing_store, ORDER_TRAP)

        first = listing_store.list_objects("t/", limit=2)
        last = listing_store.list_objects("t/", start_after=ordered[-2], limit=2)

        assert first.resume_after == ordered[1]
        assert [item.key for item in last.objects] == [ordered[-1]]
        assert last.resume_after is None

    @pytest.mark.parametrize(
        ("prefix", "start_after", "in_byte_order"),
        [
            ("t/a", "", ORDER_TRAP),  # a prefix that ends inside a segment
            ("t/a/", "", ("t/a/x.json", "t/a/y/z.json")),
            ("t/a/y", "", ("t/a/y/z.json",)),
            ("t/", "t/a.b/x.json", ("t/a/x.json", "t/a/y/z.json", "t/a0/x.json")),
            ("t/", "t/a/", ("t/a/x.json", "t/a/y/z.json", "t/a0/x.json")),  # not a key
            ("t/", "t/a/x.json~", ("t/a/y/z.json", "t/a0/x.json")),
            ("t/", "s", ORDER_TRAP),  # before the prefix
            ("t/", "u", ()),  # after everything
            ("u/", "", ()),
            ("t/a/x.json", "", ("t/a/x.json",)),  # the key itself
        ],
    )
    def test_prefix_and_start_after_select_by_key(
        self,
        listing_store: ObjectStore,
        prefix: str,
        start_after: str,
        in_byte_order: tuple[str, ...],
    ) -> None:
        for key in ORDER_TRAP:
            put(listing_store, key)
        put(listing_store, "tt/a.json")
        order = self.order_key(listing_store)

        listing = listing_store.list_objects(prefix, start_after=start_after)

        expected = [
            key
            for key in self.in_order(listing_store, [*ORDER_TRAP, "tt/a.json"])
            if key.startswith(prefix) and order(key) > order(start_after)
        ]
        if order is byte_order:
            assert expected == sorted(in_byte_order)
        assert [item.key for item in listing.objects] == expected
        assert listing.resume_after is None

    def test_hostile_job_names_list_as_the_keys_they_were_written_under(
        self, listing_store: ObjectStore
    ) -> None:
        keys = set()
        for job in hostile_jobs():
            keys.add(latest_key(job))
            keys.add(history_key(job, SLOT, HASH))
            keys.add(staged_transition_key(job, SLOT, HASH, HASH))
        for key in keys:
            put(listing_store, key, key.encode())

        listed = [
            item
            for root in ("_dlf-status/staged-transitions/", "history/", "latest/")
            for item in everything(listing_store, root, limit=7)
        ]

        assert [item.key for item in listed] == self.in_order(listing_store, keys)
        for item in listed:
            stored = listing_store.get(item.key)
            assert stored is not None
            assert stored.body == item.key.encode()
            assert stored.version == item.version

    def test_a_replaced_object_lists_its_new_version(self, listing_store: ObjectStore) -> None:
        key = latest_key(JobRef.parse(PROJECT, "job_sms"))
        first = listing_store.replace(key, b'{"v": 1}', {"content-hash": HASH}, None)
        assert first is not None
        second = listing_store.replace(key, b'{"v": 22}', {"content-hash": HASH}, first)

        listed = everything(listing_store, "latest/")

        assert listed == [ListedObject(key, str(second), len(b'{"v": 22}'))]
        assert second != first

    def test_a_listing_resumed_after_writes_sees_only_later_keys(
        self, listing_store: ObjectStore
    ) -> None:
        for key in ("t/b.json", "t/d.json", "t/f.json"):
            put(listing_store, key)
        first = listing_store.list_objects("t/", limit=2)
        assert first.resume_after == "t/d.json"

        put(listing_store, "t/a.json")  # before the position: not seen again
        put(listing_store, "t/e.json")  # after it: seen
        rest = everything_after(listing_store, "t/", first.resume_after)

        assert [item.key for item in rest] == ["t/e.json", "t/f.json"]

    @pytest.mark.parametrize("limit", [0, -1, MAX_LIST_PAGE + 1])
    def test_a_limit_out_of_range_is_a_bug(self, listing_store: ObjectStore, limit: int) -> None:
        with pytest.raises(ValueError, match="1 to 1000"):
            listing_store.list_objects("", limit=limit)


def everything_after(store: ObjectStore, prefix: str, start_after: str) -> list[ListedObject]:
    found: list[ListedObject] = []
    while True:
        page = store.list_objects(prefix, start_after=start_after)
        found.extend(page.objects)
        if page.resume_after is None:
            return found
        start_after = page.resume_after
