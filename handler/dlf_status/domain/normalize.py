"""Upstream body -> the normalised status document v1. Pure; never raises.

The rules, in the order a reader needs them:

* every spelling the service is known to use for a field lands on one name
  (`startTime`/`starttime` -> `start_time`, `type`/`nodeType` -> `type`, ...); the
  first spelling present wins and any other spelling present is kept in `extra`
  under its own key, so no value and no spelling is lost;
* statuses fold into six (see `statuses.py`), `status_raw` keeps the upstream word;
* times become RFC 3339 UTC with milliseconds, read in the contract's forms only
  (`timestamps.py`); a time whose conversion is not the whole value (finer than a
  millisecond, a leap second) is set and its raw value kept in `extra` too, with no
  violation: the answer is valid;
* an optional field sent as null is absent (Java services write absent fields
  as null): the field is null, nothing goes to `extra`, no violation; a null
  spelling never outranks another spelling that has a value;
* counters are integers; an integral number written with a fraction or an
  exponent (`1.0`, `1e3`) is that integer, as JSON Schema reads it;
* a value that cannot be read becomes null, its raw value goes to `extra` and a
  violation names it: nothing the upstream sent is dropped;
* keys inside `extra` are encoded so that no two fold to one case-insensitive
  name, and deep subtrees are kept as JSON text (`extra_keys.py`): engines that
  infer a schema (DuckDB, Athena, Spark) read every document;
* nodes are sorted by name (ties by content) and every key comes out sorted, so
  one body always gives the same bytes apart from `observed_at`; node entries that
  are not objects stay in `extra.nodes` in the order sent.
"""

from __future__ import annotations

import functools
import hashlib
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Final, NamedTuple, cast

from dlf_status.domain import jsoncodec, paths
from dlf_status.domain.contract import ValidationReport, Violation, ViolationList
from dlf_status.domain.extra_keys import encode_extra
from dlf_status.domain.model import ValidationMode
from dlf_status.domain.statuses import STATUS_MAP, STATUSES, UNKNOWN, normalise_status
from dlf_status.domain.timestamps import TimeReading, format_utc, read_time

if TYPE_CHECKING:
    from dlf_status.domain.documents import (
        JobFields,
        NodeFields,
        StatusDocument,
        ViolationEntry,
    )

# 1.1: keys inside `extra` are encoded (extra_keys.py); 1.0 wrote them verbatim.
SCHEMA_VERSION: Final = "1.1"

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
# Integers in openapi.yaml (longs in the API Explorer definition [S6]).
NODE_COUNTERS: Final[dict[str, tuple[str, ...]]] = {
    "buffer_records": ("bufferRecords",),
    "total_get_bytes": ("totalGetBytes",),
    "total_get_records": ("totalGetRecords",),
    "total_put_bytes": ("totalPutBytes",),
    "total_put_records": ("totalPutRecords",),
}
# Records per second: no source types it, so a fraction is a value, not a fault.
NODE_RATES: Final[dict[str, tuple[str, ...]]] = {
    "speed": ("speed",),
}
NODE_METRICS: Final[dict[str, tuple[str, ...]]] = {**NODE_COUNTERS, **NODE_RATES}
# Fields whose key the contract requires: null there is a violation, not absence.
REQUIRED_FIELDS: Final = frozenset({"name"})


class Source(NamedTuple):
    """Where an observation came from; copied into the document as `source`."""

    project_id: str | None
    job_name: str | None
    workspace: str | None = None
    endpoint: str | None = None


# How a key is read: the classes its value may have and what to call them in a
# violation. Times accept no class as they are: they are converted, not checked.
_Kind = tuple[frozenset[type], str]
_TEXT: Final[_Kind] = (frozenset({str}), "a string")
_INTEGER: Final[_Kind] = (frozenset({int}), "an integer")
_NUMBER: Final[_Kind] = (frozenset({int, float}), "a number")
_TIME: Final[_Kind] = (frozenset(), "a time")
_FIELDS, _METRICS = 0, 1  # where a value goes: the object's fields or its metrics
# key -> (field, accepted classes, destination, spellings that outrank it, expected,
#         whether null means absent)
_Rule = tuple[str, frozenset[type], int, tuple[str, ...], str, bool]


def _rules(*tables: tuple[Mapping[str, tuple[str, ...]], _Kind, int]) -> dict[str, _Rule]:
    rules: dict[str, _Rule] = {}
    tables = (({"name": ("name",), "status_raw": ("status",)}, _TEXT, _FIELDS), *tables)
    for table, (accepted, expected), destination in tables:
        for target, spellings in table.items():
            if len(spellings) > 2:
                # `_read`'s common case looks for the one spelling that outranks a key.
                raise ValueError(f"{target}: at most two spellings; `_read` checks one")
            for rank, key in enumerate(spellings):
                optional = key not in REQUIRED_FIELDS
                rules[key] = (target, accepted, destination, spellings[:rank], expected, optional)
    return rules


# One pass over an object's keys through these tables, rather than one lookup per
# spelling: bodies of a thousand nodes are common, and this keeps each node to a
# couple of microseconds.
_JOB_RULES: Final = _rules((JOB_TIMES, _TIME, _FIELDS), (JOB_TEXTS, _TEXT, _FIELDS))
_NODE_RULES: Final = _rules(
    (NODE_TEXTS, _TEXT, _FIELDS),
    (NODE_INTEGERS, _INTEGER, _FIELDS),
    (NODE_COUNTERS, _INTEGER, _METRICS),
    (NODE_RATES, _NUMBER, _METRICS),
)
_JOB_FIELDS: Final = {
    "name": None,
    "status": UNKNOWN,
    "status_raw": None,
    **dict.fromkeys(JOB_TIMES),
    **dict.fromkeys(JOB_TEXTS),
}
# In sorted key order, as they are serialised: sorting already sorted keys is cheap.
_NODE_FIELDS: Final = dict(
    sorted(
        {
            "name": None,
            "status": UNKNOWN,
            "status_raw": None,
            "metrics": None,
            "extra": None,
            **dict.fromkeys(NODE_TEXTS),
            **dict.fromkeys(NODE_INTEGERS),
        }.items()
    )
)
_NO_METRICS: Final = dict.fromkeys(sorted(NODE_METRICS))  # sorted too
# An integral float (1e300) as an int would have more digits than any integer the
# upstream may send, and than dlf-status reads back from a stored document: past
# this bound it is kept as the float it is, in extra.
_INTEGRAL_FLOAT_BOUND: Final = float(10**jsoncodec.MAX_INTEGER_DIGITS)
_NODES_PATH: Final = paths.child(paths.ROOT, "nodes")


# A job's start time is the same on every poll, and reading a time takes about 2 us
# (4 of a 50-node answer's 92 us went to its two times): the last values read are
# kept. Only integers of 64 bits (not booleans, nor floats, which read differently
# though equal in Python) and strings of 64 characters: no cached value is large
# (README: What bounds memory).
_read_time_cached: Final = functools.lru_cache(maxsize=256)(read_time)
_CACHED_TIME_LENGTH: Final = 64
_CACHED_TIME_BOUND: Final = 2**63


def _read_time(value: Any) -> TimeReading:
    """`read_time`, from the cache when the value is small."""
    if value.__class__ is int:
        if -_CACHED_TIME_BOUND <= value < _CACHED_TIME_BOUND:
            return _read_time_cached(value)
    elif value.__class__ is str and len(value) <= _CACHED_TIME_LENGTH:
        return _read_time_cached(value)
    return read_time(value)


def _read_slowly(
    obj: Mapping[str, Any],
    key: str,
    value: Any,
    rule: _Rule,
    destinations: tuple[dict[str, Any], ...],
    extra: dict[str, Any],
    problems: list[Violation],
    node_index: int | None,
) -> None:
    """The uncommon cases: a null, an outranked spelling, a time, an integral float,
    a value of the wrong kind."""
    target, accepted, destination, outranked_by, expected, optional = rule
    if value is None and optional:
        return
    if (
        outranked_by
        and not obj.keys().isdisjoint(outranked_by)
        and any(obj.get(spelling) is not None for spelling in outranked_by)
    ):
        extra[key] = value
        return
    if value.__class__ in accepted:
        destinations[destination][target] = value
        return
    if value.__class__ is float and accepted is _INTEGER[0] and value.is_integer():
        if abs(value) < _INTEGRAL_FLOAT_BOUND:
            destinations[destination][target] = int(value)
            return
        why: str | None = (
            f"{value!r} is an integer of more than {jsoncodec.MAX_INTEGER_DIGITS} digits, "
            "past the bound on one answer's integers"
        )
        whole = False
    elif accepted:
        why = f"expected {expected}, got {type(value).__name__}"
        whole = False  # the field is null: the value goes to extra
    else:
        # A time is converted; when the conversion is not the whole value (a fraction
        # finer than a millisecond) the raw value is kept too, without a violation.
        reading = _read_time(value)
        destinations[destination][target] = reading.time
        why, whole = reading.problem, reading.exact
    if not whole:
        extra[key] = value
    if why is not None:
        where = paths.ROOT if node_index is None else paths.child(_NODES_PATH, node_index)
        problems.append(Violation(paths.child(where, key), f"{why}; kept in extra"))


def _read(
    obj: Mapping[str, Any],
    rules: Mapping[str, _Rule],
    destinations: tuple[dict[str, Any], ...],
    problems: list[Violation],
    node_index: int | None,
) -> dict[str, Any]:
    """Fill the destinations (fields, metrics) from `obj`; return the rest, verbatim.

    Called once per node (a thousand is common): the common case (the right kind, no
    other spelling of the field present) costs a handful of operations per key; the
    rest is `_read_slowly`.
    """
    extra: dict[str, Any] = {}
    rule_for = rules.get
    for key, value in obj.items():
        rule = rule_for(key)
        if rule is None:
            extra[key] = value
        # One spelling at most outranks a key (`_rules`): `in`, not `isdisjoint`, which
        # cost 0.1 us a node with `LastInstanceStatus` (5 us of a 50-node answer).
        elif value.__class__ in rule[1] and (not rule[3] or rule[3][0] not in obj):
            destinations[rule[2]][rule[0]] = value
        else:
            _read_slowly(obj, key, value, rule, destinations, extra, problems, node_index)
    fields = destinations[_FIELDS]
    raw_status = fields["status_raw"]
    if raw_status is not None:
        fields["status"] = STATUS_MAP.get(raw_status) or normalise_status(raw_status)
    return extra


def _sort_nodes(nodes: list[NodeFields]) -> None:
    """Unnamed nodes first, then by name; equal names by content, so the order never
    depends on the upstream's. Content is serialised only when names repeat."""
    names = list(map(itemgetter("name"), nodes))  # in C: 0.9 us for 50 nodes, not 1.5
    distinct = len(set(names)) == len(names)
    if distinct and None not in names:
        nodes.sort(key=itemgetter("name"))
    elif distinct:
        nodes.sort(key=lambda node: (node["name"] is not None, node["name"] or ""))
    else:
        nodes.sort(
            key=lambda node: (
                node["name"] is not None,
                node["name"] or "",
                jsoncodec.sort_key(node),
            )
        )


def _normalise_nodes(raw: Any, problems: list[Violation]) -> tuple[list[NodeFields], list[Any]]:
    """Normalised nodes, plus the entries that are not objects (kept verbatim)."""
    if not isinstance(raw, list):
        problems.append(Violation(_NODES_PATH, "expected a list of nodes; kept in extra"))
        return [], []
    built: list[dict[str, Any]] = []
    unreadable: list[Any] = []
    for index, entry in enumerate(raw):
        if isinstance(entry, dict):
            fields, metrics = _NODE_FIELDS.copy(), _NO_METRICS.copy()
            extra = _read(entry, _NODE_RULES, (fields, metrics), problems, index)
            fields["extra"] = encode_extra(extra) if extra else extra
            fields["metrics"] = metrics
            built.append(fields)
        else:
            unreadable.append(entry)
            where = paths.child(_NODES_PATH, index)
            problems.append(Violation(where, "a node must be an object; kept in extra.nodes"))
    # Built from the tables above, key by key: every NodeFields key is there.
    nodes = cast("list[NodeFields]", built)
    _sort_nodes(nodes)
    # Not sorted: the order sent is all that says where each one was (with the
    # violations' paths), and one body still gives one order.
    return nodes, unreadable


def _merge(report: ValidationReport, problems: list[Violation]) -> list[ViolationEntry]:
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
) -> StatusDocument:
    """Build the v1 document. Any JSON value is accepted; none raises."""
    problems: list[Violation] = ViolationList()  # bounded: see contract.MAX_LISTED
    if isinstance(body, dict):
        job = _JOB_FIELDS.copy()
        extra = _read(body, _JOB_RULES, (job,), problems, None)
        nodes: list[NodeFields] = []
        if "nodes" in body:
            del extra["nodes"]
        if body.get("nodes") is not None:  # optional: null is absent
            nodes, unreadable_nodes = _normalise_nodes(body["nodes"], problems)
            if not isinstance(body["nodes"], list):
                extra["nodes"] = body["nodes"]
            elif unreadable_nodes:
                extra["nodes"] = unreadable_nodes
    else:
        problems.append(Violation(paths.ROOT, "the body is not a JSON object; kept in extra['$']"))
        job, nodes, extra = dict(_JOB_FIELDS), [], {"$": body}

    by_status = dict.fromkeys(STATUSES, 0)
    by_status.update(Counter(map(itemgetter("status"), nodes)))
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
        "job": cast("JobFields", job),
        "nodes": nodes,
        "summary": {"node_count": len(nodes), "nodes_by_status": by_status},
        "validation": {
            "mode": str(mode),
            "valid": not violations,
            "violations": violations,
            "unknown_fields": list(report.unknown_fields),
        },
        "extra": encode_extra(extra) if extra else extra,
    }


def content_hash(document: Mapping[str, Any]) -> str:
    """sha256 of the canonical document without the fields that change every poll.

    The definition (README: Snapshots). A document being written is hashed by
    `encode_document`, from the one serialisation it is stored and served as."""
    stable = {key: value for key, value in document.items() if key not in VOLATILE_FIELDS}
    return jsoncodec.sha256_hex(jsoncodec.canonical_bytes(stable))


class EncodedDocument(NamedTuple):
    """A document serialised once: the canonical bytes that are stored and served, and
    its content hash."""

    body: bytes
    content_hash: str


def encode_document(document: Mapping[str, Any]) -> EncodedDocument:
    """`canonical_bytes(document)` and `content_hash(document)` from one serialisation.

    Top-level keys are sorted, so the canonical document without its volatile members
    is the same member bytes, those left out: the hash is fed the members, not a
    second serialisation. (A document with integers past 64 bits, written by the
    standard library, is hashed by the definition instead.) A property test holds both
    equal to the definitions."""
    members, subsets_canonical = jsoncodec.canonical_members(document)
    body = b"{" + b",".join(member for _, member in members) + b"}"
    if not subsets_canonical:
        return EncodedDocument(body, content_hash(document))
    digest = hashlib.sha256(b"{")
    separator = b""
    for key, member in members:
        if key not in VOLATILE_FIELDS:
            digest.update(separator)
            digest.update(member)
            separator = b","
    digest.update(b"}")
    return EncodedDocument(body, digest.hexdigest())


# Fields that say when or how a document was served, not what the upstream said.
VOLATILE_FIELDS: Final = frozenset({"observed_at", "stale", "stale_age_seconds"})
