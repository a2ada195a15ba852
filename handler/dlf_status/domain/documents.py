"""The shapes of what dlf-status writes: the v1 status document and its parts, the
transition record, and the part of a document transitions compare.

TypedDicts: at run time they are plain dicts (the normaliser builds them, orjson
writes them, a consumer reads them), so typing them costs nothing per document. The
hot path imports this module only under TYPE_CHECKING: creating these classes costs
about 2 ms, a cold start's worth of care. The published JSON Schemas
(`schemas/status-document.v1.schema.json`, `schemas/status-transition.v1.schema.json`)
stay the contract; a test checks that these keys are theirs.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict


class DocumentSource(TypedDict):
    """Where an observation came from: the job as requested, and the upstream."""

    project_id: str | None
    workspace: str | None
    job_name: str | None
    endpoint: str | None


class JobFields(TypedDict):
    name: str | None
    status: str  # one of statuses.STATUSES
    status_raw: str | None
    start_time: str | None
    end_time: str | None
    last_update_time: str | None
    creator: str | None
    last_modifier: str | None


class NodeMetrics(TypedDict):
    buffer_records: int | None
    speed: int | float | None
    total_get_bytes: int | None
    total_get_records: int | None
    total_put_bytes: int | None
    total_put_records: int | None


class NodeFields(TypedDict):
    name: str | None
    type: str | None
    status: str  # one of statuses.STATUSES
    status_raw: str | None
    log_path: str | None
    last_instance_status: str | None
    job_instance_id: int | None
    metrics: NodeMetrics
    extra: dict[str, Any]


class Summary(TypedDict):
    node_count: int
    nodes_by_status: dict[str, int]


class ViolationEntry(TypedDict):
    path: str
    message: str


class Validation(TypedDict):
    mode: str  # a ValidationMode
    valid: bool
    violations: list[ViolationEntry]
    unknown_fields: list[str]


class _StoredDocument(TypedDict):
    schema_version: str
    observed_at: str
    source: DocumentSource
    job: JobFields
    nodes: list[NodeFields]
    summary: Summary
    validation: Validation
    extra: dict[str, Any]


# A class of its own rather than NotRequired[...]: the keys stay right at run time
# too (`__optional_keys__`), where the annotations are strings.
class StatusDocument(_StoredDocument, total=False):
    """The normalised status document, v1 (schema_version 1.0 or 1.1)."""

    # Only on an answer served from a snapshot (never stored).
    stale: bool
    stale_age_seconds: float


# `from` is a Python keyword: the functional form keeps the JSON names.
StatusChange = TypedDict(
    "StatusChange",
    {
        "scope": Literal["job", "node"],
        "node": str | None,
        "from": str | None,
        "from_raw": str | None,
        "to": str | None,
        "to_raw": str | None,
    },
)


class TransitionRecord(TypedDict):
    """What `transitions/` holds: one change of statuses between two documents."""

    schema_version: str
    kind: str  # transitions.TRANSITION_KIND
    source: DocumentSource
    job_name: str | None  # the upstream's `name` in the new document
    observed_at: str
    previous_observed_at: str
    content_hash: str
    previous_content_hash: str
    changes: list[StatusChange]


class JobStatus(TypedDict):
    status: str | None  # None: the job is gone (its latest.json a GoneDocument)
    status_raw: str | None


class NodeStatus(TypedDict):
    name: str | None
    status: str
    status_raw: str | None


class StatusView(TypedDict):
    """The part of a document transitions compare: small enough to remember."""

    observed_at: str
    job: JobStatus
    nodes: list[NodeStatus]


class GoneReason(TypedDict):
    """What the upstream said when asked for a job that had left the job list."""

    error_code: str | None
    error_msg: str | None


class GoneDocument(TypedDict):
    """What latest.json holds once a job is reported gone (`schemas/job-gone.v1.schema.json`):
    not a status document, so that no consumer reads a status into it."""

    kind: str  # gone.GONE_KIND
    schema_version: str
    observed_at: str  # when the status call confirmed that the job does not exist
    source: DocumentSource
    reason: GoneReason
    last_observed_at: str | None  # the job's last status document; None if it had none
    last_content_hash: str | None
