"""The listing contract on SeaweedFS (through the S3 adapter) and the local store,
and what only an S3 bucket shared with other tools can hold."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from dlf_status.adapters.store_s3 import S3Store
from dlf_status.domain.ports import ObjectStore
from dlf_status.errors import StoreError
from tests.support.listing_contract import (
    ListingContract,
    byte_order,
    directory_order,
    everything,
    put,
)
from tests.support.seaweed import SeaweedServer

pytestmark = pytest.mark.integration


class TestListing(ListingContract):
    @pytest.fixture
    def listing_store(self, store: ObjectStore) -> ObjectStore:
        return store

    def order_key(self, store: ObjectStore) -> Callable[[str], Any]:
        # SeaweedFS lists a directory's names in order, not whole keys in byte order.
        return directory_order if isinstance(store, S3Store) else byte_order


@pytest.fixture
def prefix() -> str:
    return f"listing-{uuid.uuid4().hex[:12]}"


def test_objects_of_other_tools_under_the_prefix_are_skipped_but_paged_over(
    seaweed: SeaweedServer, prefix: str
) -> None:
    client = seaweed.client()
    store = S3Store(client, seaweed.bucket, prefix)
    put(store, "history/b.json")
    put(store, "history/d.json")
    foreign = [
        f"{prefix}/",  # a console's "folder" marker
        f"{prefix}/history/a b.json",
        f"{prefix}/history/a+b.json",
        f"{prefix}/history/c%2F..%2Fx.json/é",
        f"{prefix}/history/line\nbreak.json",  # only URL-encoded listings carry these
        f"{prefix}/history/control\x01.json",
        f"{prefix}/history/c.json/",
    ]
    for key in foreign:
        client.put_object(Bucket=seaweed.bucket, Key=key, Body=b"not ours")

    listed = everything(store, "", limit=1)  # from the root: past the folder marker

    assert [item.key for item in listed] == [
        "_dlf-status/conditional-write-probe",  # written before the first write
        "_dlf-status/metadata-probe",
        "history/b.json",
        "history/d.json",
    ]


def test_a_listing_stays_below_the_store_prefix(seaweed: SeaweedServer, prefix: str) -> None:
    client = seaweed.client()
    store = S3Store(client, seaweed.bucket, prefix)
    neighbour = S3Store(client, seaweed.bucket, prefix + "-neighbour")
    put(store, "latest/a.json")
    put(neighbour, "latest/b.json")

    assert [item.key for item in everything(store, "latest/")] == ["latest/a.json"]
    assert [item.key for item in everything(neighbour, "latest/")] == ["latest/b.json"]


def test_an_unreachable_store_is_a_store_error(seaweed: SeaweedServer) -> None:
    client = seaweed.client()
    store = S3Store(client, "no-such-bucket-" + uuid.uuid4().hex[:8], "p")

    with pytest.raises(StoreError, match="cannot list s3://no-such-bucket-"):
        store.list_objects("latest/")
