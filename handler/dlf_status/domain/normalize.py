"""Upstream body -> the normalised status document v1. Pure; never raises.

The rules, in the order a reader needs them:

* every spelling the service is known to use for a field lands on one name
  (`startTime`/`starttime` -> `start_time`, `type`/`nodeType` -> `type`, ...); the
  first spelling present wins and any other spelling present is kept in `extra`
  under its own key, so no value and no spelling is lost;
* statuses fold into six (see `statuses.py`), `status_raw` keeps the upstream word;
* times become RFC 3339 UTC with milliseconds;
* a value that cannot be read becomes null, its raw value goes to `extra` and a
  violation names it: nothing the upstream sent is dropped;
* nodes are sorted by name (ties by content) and every key comes out sorted, so
  one body always gives the same bytes apart from `observed_at`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from dlf_status.domain import jsoncodec, paths
from dlf_status.domain.contract import ValidationReport, Violation
from dlf_status.domain.model import ValidationMode
from dlf_status.domain.statuses import STATUSES, UNKNOWN, normalise_status
from dlf_status.domain.timestamps import format_utc, to_rfc3339

SCHEMA_VERSION: Final = "1.0"

# canonical name -> upstream spellings, most authoritative first
JOB_TIMES: Final[dict[str, tuple[str, ...]]] = {
    "start_time": ("startTime", "starttime"),
    "end_time": ("endTime",),
    "last_update_time": ("lastUpdateTime",),
}
JOB_TEXTS: Final[dict[str, tuple[str, ...]]] = {
    "creator": ("createUser",),
    "last_modifier": ("lastModifiyUser",),
}
NODE_TEXTS: Final[dict[str, tuple[str, ...]]] = {
    "type": ("type", "nodeType"),
    "log_path": ("logPath",),
    "last_instance_status": ("lastInstanceStatus", "LastInstanceStatus"),
}
NODE_INTEGERS: Final[dict[str, tuple[str, ...]]] = {
    "job_instance_id": ("jobInstanceId",),
}
NODE_METRICS: Final[dict[str, tuple[str, ...]]] = {
    "buffer_records": ("bufferRecords",),
    "speed": ("speed",),
    "total_get_bytes": ("totalGetBytes",),
    "total_get_records": ("totalGetRecords",),
    "total_put_bytes": ("totalPutBytes",),
    "total_put_records": ("totalPutRecords",),
}


@dataclass(frozen=True)
class Source:
    """Where an observation came from; copied into the document as `source`."""

    project_id: str | None
    job_name: str | None
    workspace: str | None = None
    endpoint: str | None = None


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Reader:
    """Takes fields out of one upstream object, remembering what it did not take."""

    def __init__(self, obj: Mapping[str, Any], path: str, problems: list[Violation]) -> None:
        self._remaining = dict(obj)
        self._path = path
        self._problems = problems
        self.extra: dict[str, Any] = {}

    def take(self, spellings: tuple[str, ...]) -> tuple[str, Any] | None:
        present = [(key, self._remaining.pop(key)) for key in spellings if key in self._remaining]
        if not present:
            return None
        for key, value in present[1:]:
            self.extra[key] = value
        return present[0]

    def unreadable(self, key: str, value: Any, why: str) -> None:
        self.extra[key] = value
        self._problems.append(Violation(paths.child(self._path, key), why))

    def typed(self, spellings: tuple[str, ...], accept: Callable[[Any], bool], kind: str) -> Any:
        taken = self.take(spellings)
        if taken is None:
            return None
        key, value = taken
        if accept(value):
            return value
        self.unreadable(key, value, f"expected {kind}, got {type(value).__name__}; kept in extra")
        return None

    def time(self, spellings: tuple[str, ...]) -> str | None:
        taken = self.take(spellings)
        if taken is None:
            return None
        key, value = taken
        moment, why = to_rfc3339(value)
        if why is not None:
            self.unreadable(key, value, f"{why}; kept in extra")
        return moment

    def status(self) -> tuple[str, str | None]:
        raw = self.typed(("status",), _is_text, "a string")
        return (UNKNOWN, None) if raw is None else (normalise_status(raw), raw)

    def rest(self) -> dict[str, Any]:
        """Everything not taken, verbatim, plus what was taken but unreadable."""
        return {**self._remaining, **self.extra}


def _normalise_node(
    node: Mapping[str, Any], path: str, problems: list[Violation]
) -> dict[str, Any]:
    reader = _Reader(node, path, problems)
    name = reader.typed(("name",), _is_text, "a string")
    status, status_raw = reader.status()
    result: dict[str, Any] = {"name": name, "status": status, "status_raw": status_raw}
    for target, spellings in NODE_TEXTS.items():
        result[target] = reader.typed(spellings, _is_text, "a string")
    for target, spellings in NODE_INTEGERS.items():
        result[target] = reader.typed(spellings, _is_integer, "an integer")
    result["metrics"] = {
        target: reader.typed(spellings, _is_number, "a number")
        for target, spellings in NODE_METRICS.items()
    }
    result["extra"] = reader.rest()
    return result


def _sort_nodes(nodes: list[dict[str, Any]]) -> None:
    """Unnamed nodes first, then by name; equal names by content, so the order never
    depends on the upstream's. Content is serialised only when names repeat."""
    names = [node["name"] for node in nodes]
    if len(set(names)) == len(names):
        nodes.sort(key=lambda node: (node["name"] is not None, node["name"] or ""))
    else:
        nodes.sort(
            key=lambda node: (
                node["name"] is not None,
                node["name"] or "",
                jsoncodec.canonical_bytes(node),
            )
        )


def _normalise_nodes(
    raw: Any, reader: _Reader, problems: list[Violation]
) -> tuple[list[dict[str, Any]], list[Any]]:
    """Normalised nodes, plus the entries that are not objects (kept verbatim)."""
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        reader.unreadable("nodes", raw, "expected a list of nodes; kept in extra")
        return [], []
    nodes: list[dict[str, Any]] = []
    unreadable: list[Any] = []
    for index, entry in enumerate(raw):
        path = paths.child(paths.child(paths.ROOT, "nodes"), index)
        if isinstance(entry, dict):
            nodes.append(_normalise_node(entry, path, problems))
        else:
            unreadable.append(entry)
            problems.append(Violation(path, "a node must be an object; kept in extra.nodes"))
    _sort_nodes(nodes)
    unreadable.sort(key=jsoncodec.canonical_bytes)
    return nodes, unreadable


def _merge(report: ValidationReport, problems: list[Violation]) -> list[dict[str, str]]:
    """The validator's violations, plus ours where it said nothing about that place."""
    seen = {violation.path for violation in report.violations}
    merged = set(report.violations)
    merged.update(problem for problem in problems if problem.path not in seen)
    return [violation.as_json() for violation in sorted(merged)]


def normalise(
    body: Any,
    *,
    source: Source,
    observed_at: datetime,
    report: ValidationReport,
    mode: ValidationMode = ValidationMode.LENIENT,
) -> dict[str, Any]:
    """Build the v1 document. Any JSON value is accepted; none raises."""
    problems: list[Violation] = []
    if isinstance(body, dict):
        reader = _Reader(body, paths.ROOT, problems)
        nodes_raw = reader.take(("nodes",))
        nodes, unreadable_nodes = _normalise_nodes(
            None if nodes_raw is None else nodes_raw[1], reader, problems
        )
        name = reader.typed(("name",), _is_text, "a string")
        status, status_raw = reader.status()
        job: dict[str, Any] = {"name": name, "status": status, "status_raw": status_raw}
        for target, spellings in JOB_TIMES.items():
            job[target] = reader.time(spellings)
        for target, spellings in JOB_TEXTS.items():
            job[target] = reader.typed(spellings, _is_text, "a string")
        extra = reader.rest()
        if unreadable_nodes:
            extra["nodes"] = unreadable_nodes
    else:
        problems.append(Violation(paths.ROOT, "the body is not a JSON object; kept in extra['$']"))
        job = {"name": None, "status": UNKNOWN, "status_raw": None}
        job.update(dict.fromkeys(JOB_TIMES))
        job.update(dict.fromkeys(JOB_TEXTS))
        nodes, extra = [], {"$": body}

    by_status = dict.fromkeys(STATUSES, 0)
    for node in nodes:
        by_status[node["status"]] += 1
    violations = _merge(report, problems)
    return {
        "schema_version": SCHEMA_VERSION,
        "observed_at": format_utc(observed_at),
        "source": {
            "project_id": source.project_id,
            "workspace": source.workspace,
            "job_name": source.job_name,
            "endpoint": source.endpoint,
        },
        "job": job,
        "nodes": nodes,
        "summary": {"node_count": len(nodes), "nodes_by_status": by_status},
        "validation": {
            "mode": str(mode),
            "valid": not violations,
            "violations": violations,
            "unknown_fields": list(report.unknown_fields),
        },
        "extra": extra,
    }


def content_hash(document: Mapping[str, Any]) -> str:
    """sha256 of the canonical document without the fields that change every poll."""
    stable = {key: value for key, value in document.items() if key not in VOLATILE_FIELDS}
    return jsoncodec.sha256_hex(jsoncodec.canonical_bytes(stable))


# Fields that say when or how a document was served, not what the upstream said.
VOLATILE_FIELDS: Final = frozenset({"observed_at", "stale", "stale_age_seconds"})
