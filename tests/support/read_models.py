"""Shared by the read-model suites: the published schemas, and a store filled the way
the snapshot writer fills it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dlf_status.domain.model import JobRef
from dlf_status.domain.ports import ObjectStore
from dlf_status.service import SnapshotWrite, SnapshotWriter
from tests.support.documents import status_document as status_document  # re-exported
from tests.support.schemas import SCHEMAS as SCHEMAS  # re-exported
from tests.support.schemas import validator


def assert_valid(document: Mapping[str, Any], schema_file: str) -> None:
    """`document` is valid against the strict form of `schemas/<schema_file>`: a member
    the schema does not name fails (tests/support/schemas.py)."""
    errors = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message[:200]}"
        for error in validator(schema_file).iter_errors(document)
    ]
    assert errors == [], errors


def observe(
    store: ObjectStore,
    job: JobRef,
    status: str,
    observed_at: datetime,
    nodes: Mapping[str, str] | None = None,
    writer: SnapshotWriter | None = None,
) -> SnapshotWrite:
    """Store one observation as the service does (history, latest.json, transitions)."""
    document = status_document(job, status, observed_at, nodes)
    return (writer or SnapshotWriter(store)).write(job, document, observed_at)
