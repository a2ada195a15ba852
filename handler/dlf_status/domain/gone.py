"""A job that left the job list and that the upstream confirms does not exist. Pure.

Discovery (`tick_discovery.py`) only suspects a job is gone: it was in the last
complete listing of a discovery and is not in this one. The job's status call
decides: `DLF.0100` (JobNotFound) confirms it, and the snapshot writer then replaces
the job's latest.json with a *gone document* (below) by the same compare-and-swap as
any observation, with a transition record whose job change goes to `null` (and each
named node's too: the nodes went with the job). So:

* the job is reported gone once: whoever replaces the last status document with a
  gone document writes the record; a writer that finds a gone document there writes
  nothing;
* consumers of `latest/` never read a status into a job that is gone: a gone document
  has no `job`, `nodes` or `summary` (in SQL `job.status` is NULL), and says
  `"kind": "job-gone"`; the fleet leaves it out;
* the chain of records holds: the record to `null` starts from the last status
  document's statuses, and when the job reappears its first observation replaces the
  gone document and its record starts from `null` (job and nodes).

A gone document is never a history object: history holds what the upstream said
about a job, and the upstream said nothing but "no such job".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from dlf_status.domain.transitions import TRANSITION_KIND, status_changes, status_view

if TYPE_CHECKING:
    from dlf_status.domain.documents import (
        DocumentSource,
        GoneDocument,
        StatusDocument,
        StatusView,
        TransitionRecord,
    )

GONE_KIND: Final = "job-gone"
GONE_SCHEMA_VERSION: Final = "1.0"
# Transition records that can say `null` for the job (a job gone, a job back): the
# minor version that allowed it. Records of other changes keep TRANSITION_SCHEMA_VERSION.
GONE_RECORD_SCHEMA_VERSION: Final = "1.1"


def is_gone_document(document: object) -> bool:
    """Whether a parsed latest.json is a gone document."""
    return isinstance(document, Mapping) and document.get("kind") == GONE_KIND


def gone_document(
    source: DocumentSource,
    observed_at: str,
    *,
    error_code: str | None,
    error_msg: str | None,
    last_observed_at: str | None,
    last_content_hash: str | None,
) -> GoneDocument:
    """What replaces a job's latest.json when its status call says it does not exist."""
    return {
        "kind": GONE_KIND,
        "schema_version": GONE_SCHEMA_VERSION,
        "observed_at": observed_at,
        "source": source,
        "reason": {"error_code": error_code, "error_msg": error_msg},
        "last_observed_at": last_observed_at,
        "last_content_hash": last_content_hash,
    }


def gone_view(observed_at: str) -> StatusView:
    """The statuses of a gone job, as transitions compare them: no job, no node."""
    return {"observed_at": observed_at, "job": {"status": None, "status_raw": None}, "nodes": []}


def statuses_of(document: Mapping[str, Any]) -> StatusView:
    """What a version of latest.json says about statuses: a status document's, or
    nothing at all for a gone document."""
    if is_gone_document(document):
        return gone_view(str(document["observed_at"]))
    view: StatusView = status_view(document)  # type: ignore[arg-type]
    return view


def record_schema_version(previous: StatusView, current: StatusView, default: str) -> str:
    """The record's schema version: 1.1 when its job change says `null` on a side."""
    if previous["job"]["status"] is None or current["job"]["status"] is None:
        return GONE_RECORD_SCHEMA_VERSION
    return default


def gone_record(
    previous: StatusView,
    gone: GoneDocument,
    *,
    previous_hash: str,
    current_hash: str,
) -> TransitionRecord | None:
    """The record of a job going away: its job change to `null`, then each named node's,
    from the statuses of the latest.json the gone document replaces. None when that
    held no status (it was a gone document already)."""
    changes = status_changes(previous, gone_view(gone["observed_at"]))
    if not changes:
        return None
    return {
        "schema_version": GONE_RECORD_SCHEMA_VERSION,
        "kind": TRANSITION_KIND,
        "source": gone["source"],
        # No upstream document names the job: the name it was asked for.
        "job_name": gone["source"]["job_name"],
        "observed_at": gone["observed_at"],
        "previous_observed_at": previous["observed_at"],
        "content_hash": current_hash,
        "previous_content_hash": previous_hash,
        "changes": changes,
    }


def reappeared(previous: StatusView, document: StatusDocument) -> bool:
    """Whether `document` replaces a gone job's latest.json: its record says so."""
    return previous["job"]["status"] is None and document["job"]["status"] is not None
