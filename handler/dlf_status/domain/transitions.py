"""Status transitions between two documents of one job. Pure.

A transition record says what changed (the job's status, a node's status, a node
that appeared or went away), from when to when, so consumers can subscribe to
changes (S3 event notifications on `transitions/`) instead of diffing snapshots.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dlf_status.domain.normalize import SCHEMA_VERSION

Document = Mapping[str, Any]


def _node_statuses(document: Document) -> dict[str, tuple[str, str | None]]:
    statuses: dict[str, tuple[str, str | None]] = {}
    for node in document.get("nodes", ()):
        name = node.get("name")
        if isinstance(name, str) and name not in statuses:
            statuses[name] = (node["status"], node["status_raw"])
    return statuses


def status_changes(previous: Document, current: Document) -> list[dict[str, Any]]:
    """Job and node status changes, job first, then nodes by name. Empty: no change.

    A change is also a change of the upstream word (`status_raw`) under the same
    normalised status (PAUSE -> DISABLE are both STOPPED): consumers may care.
    """
    changes: list[dict[str, Any]] = []
    before, after = previous["job"], current["job"]
    if (before["status"], before["status_raw"]) != (after["status"], after["status_raw"]):
        changes.append(
            _change(
                "job",
                None,
                (before["status"], before["status_raw"]),
                (after["status"], after["status_raw"]),
            )
        )
    old_nodes, new_nodes = _node_statuses(previous), _node_statuses(current)
    for name in sorted(old_nodes.keys() | new_nodes.keys()):
        old, new = old_nodes.get(name), new_nodes.get(name)
        if old != new:
            changes.append(_change("node", name, old, new))
    return changes


def _change(
    scope: str,
    node: str | None,
    before: tuple[str, str | None] | None,
    after: tuple[str, str | None] | None,
) -> dict[str, Any]:
    return {
        "scope": scope,
        "node": node,
        "from": None if before is None else before[0],
        "from_raw": None if before is None else before[1],
        "to": None if after is None else after[0],
        "to_raw": None if after is None else after[1],
    }


def transition_record(
    previous: Document, current: Document, changes: list[dict[str, Any]]
) -> dict[str, Any]:
    """The record stored under transitions/: small, self-describing, versioned."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "status-transition",
        "source": current["source"],
        "job_name": current["job"]["name"],
        "observed_at": current["observed_at"],
        "previous_observed_at": previous["observed_at"],
        "changes": changes,
    }
