"""A store in front of another: every call of the ObjectStore port passed on, for tests
that change one call (a refused GET, small listing pages) and keep the others real."""

from __future__ import annotations

from collections.abc import Mapping

from dlf_status.domain.ports import ObjectListing, ObjectStore, StoredObject


class StoreInFront:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    @property
    def location(self) -> str:
        return self.store.location

    def get(self, key: str) -> StoredObject | None:
        return self.store.get(key)

    def create(self, key: str, body: bytes, metadata: Mapping[str, str]) -> bool:
        return self.store.create(key, body, metadata)

    def replace(
        self, key: str, body: bytes, metadata: Mapping[str, str], expected_version: str | None
    ) -> str | None:
        return self.store.replace(key, body, metadata, expected_version)

    def list_objects(
        self, prefix: str, *, start_after: str = "", limit: int = 1000
    ) -> ObjectListing:
        return self.store.list_objects(prefix, start_after=start_after, limit=limit)
