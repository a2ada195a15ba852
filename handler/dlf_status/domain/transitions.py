"""Status transitions between two documents of one job. Pure.

A transition record says what changed (the job's status, a node's status, a node
that appeared or went away), from when to when, so consumers can subscribe to
changes (S3 event notifications on `transitions/`) instead of diffing snapshots.

A record is only ever computed between a version of latest.json and the document
that replaced it by compare-and-swap (see `service.SnapshotWriter`), so the records
of a job form one chain: each record's `from` is the previous record's `to`.
Records are published as `schemas/status-transition.v1.schema.json`.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Final, Literal, TypeAlias

if TYPE_CHECKING:
    from dlf_status.domain.documents import (
        StatusChange,
        StatusDocument,
        StatusView,
        TransitionRecord,
    )

    # What statuses are read from: a whole document, or the view a writer remembers.
    Statuses: TypeAlias = StatusDocument | StatusView

TRANSITION_SCHEMA_VERSION: Final = "1.0"
TRANSITION_KIND: Final = "status-transition"


def status_view(document: StatusDocument) -> StatusView:
    """The part of a document that transitions compare: small enough to remember."""
    job = document["job"]
    return {
        "observed_at": document["observed_at"],
        "job": {"status": job["status"], "status_raw": job["status_raw"]},
        "nodes": [
            {"name": node["name"], "status": node["status"], "status_raw": node["status_raw"]}
            for node in document["nodes"]
        ],
    }


_Status: TypeAlias = tuple[str, str | None]


def _job_status(document: Statuses) -> _Status | None:
    """The job's status and word; None for a job that is gone (see domain/gone.py)."""
    job = document["job"]
    status = job["status"]
    return None if status is None else (status, job["status_raw"])


def _node_statuses(document: Statuses) -> dict[str, Counter[_Status]]:
    """Each node name's statuses, as a multiset: several nodes may share a name."""
    statuses: dict[str, Counter[_Status]] = {}
    for node in document.get("nodes", ()):
        name = node.get("name")
        if isinstance(name, str):
            statuses.setdefault(name, Counter())[(node["status"], node["status_raw"])] += 1
    return statuses


def status_changes(previous: Statuses, current: Statuses) -> list[StatusChange]:
    """Job and node status changes, job first, then nodes by name. Empty: no change.

    A change is also a change of the upstream word (`status_raw`) under the same
    normalised status (PAUSE -> DISABLE are both STOPPED): consumers may care. A job
    that is gone has no status: its change is to or from `null`.
    Nodes without a name cannot be followed from one document to the next and
    are left out. Nodes that share a name cannot be told apart: their statuses are
    compared as a multiset, and each status that went away is paired, in sort
    order, with one that came, the rest being nodes of that name that went away
    (to null) or appeared (from null). So any change among them is a change.
    """
    changes: list[StatusChange] = []
    before, after = _job_status(previous), _job_status(current)
    if before != after:
        changes.append(_change("job", None, before, after))
    old_nodes, new_nodes = _node_statuses(previous), _node_statuses(current)
    for name in sorted(old_nodes.keys() | new_nodes.keys()):
        old, new = old_nodes.get(name, Counter()), new_nodes.get(name, Counter())
        if old == new:
            continue
        gone = sorted((old - new).elements(), key=_order)
        came = sorted((new - old).elements(), key=_order)
        for index in range(max(len(gone), len(came))):
            changes.append(
                _change(
                    "node",
                    name,
                    gone[index] if index < len(gone) else None,
                    came[index] if index < len(came) else None,
                )
            )
    return changes


def _order(status: _Status) -> tuple[str, bool, str]:
    return status[0], status[1] is not None, status[1] or ""


def _change(
    scope: Literal["job", "node"],
    node: str | None,
    before: tuple[str, str | None] | None,
    after: tuple[str, str | None] | None,
) -> StatusChange:
    return {
        "scope": scope,
        "node": node,
        "from": None if before is None else before[0],
        "from_raw": None if before is None else before[1],
        "to": None if after is None else after[0],
        "to_raw": None if after is None else after[1],
    }


def transition_record(
    previous: Statuses,
    current: StatusDocument,
    changes: list[StatusChange],
    *,
    previous_hash: str,
    current_hash: str,
) -> TransitionRecord:
    """The record stored under transitions/: small, self-describing, versioned.

    The content hashes tie it to the history objects of both documents.
    """
    return {
        "schema_version": TRANSITION_SCHEMA_VERSION,
        "kind": TRANSITION_KIND,
        "source": current["source"],
        "job_name": current["job"]["name"],
        "observed_at": current["observed_at"],
        "previous_observed_at": previous["observed_at"],
        "content_hash": current_hash,
        "previous_content_hash": previous_hash,
        "changes": changes,
    }
