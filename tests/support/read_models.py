"""Shared by the read-model suites: the published schemas, and a store filled the way
the snapshot writer fills it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from dlf_status.domain.model import JobRef
from dlf_status.domain.ports import ObjectStore
from dlf_status.service import SnapshotWrite, SnapshotWriter
from tests.support.documents import status_document as status_document  # re-exported

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


@cache
def _registry() -> Registry[Any]:
    resources = []
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


@cache
def validator(schema_file: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / schema_file).read_text(encoding="utf-8"))
    return Draft202012Validator(schema, registry=_registry())


def assert_valid(document: Mapping[str, Any], schema_file: str) -> None:
    """`document` is valid against `schemas/<schema_file>` (references resolved)."""
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
