"""Read models over the snapshot store: the fleet, a job's history, its transitions. Pure.

The documents (`schemas/fleet.v1.schema.json`, `history-page.v1`, `transitions-page.v1`)
are built here from what `readers.StoreReader` lists and reads; the reader does the
I/O. Everything a request may ask for is parsed and checked here too, so the routes
and the CLI refuse the same input in the same words.

* **The fleet** is one row per `latest.json` of a project and workspace; its summary
  counts every job, whatever the filter and the page. `overall` is the worst status
  present, in `SEVERITY` order. A `latest.json` that cannot be read is a row whose
  status is UNKNOWN, flagged invalid, with its `error`: never a failure of the fleet.
* **Pages** are positioned by keys, never by offsets: a cursor names the last key a
  page returned, so pages stay right while writers add and replace objects.
* **Cursors** are opaque to callers (base64url of a small JSON object) and bound to
  the query they came from: a cursor used with another job, workspace or bounds is
  refused, not misread.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final, NamedTuple, TypedDict
from urllib.parse import unquote, unquote_to_bytes

from dlf_status.domain import jsoncodec
from dlf_status.domain.documents import StatusDocument, TransitionRecord
from dlf_status.domain.gone import is_gone_document
from dlf_status.domain.snapshots import (
    ENCODED_VALUE,
    LATEST_NAME,
    encode_partition_value,
    moved_job_value,
    only_earlier_releases_write,
)
from dlf_status.domain.statuses import STATUSES
from dlf_status.domain.timestamps import format_utc
from dlf_status.errors import InvalidInput

READ_MODEL_SCHEMA_VERSION: Final = "1.0"
FLEET_KIND: Final = "fleet"
HISTORY_KIND: Final = "history"
TRANSITIONS_KIND: Final = "transitions"

# Worst first. An uptime check asks "is something down, or might it be?":
# EXCEPTION      the job failed;
# UNKNOWN        nobody can say it runs: an upstream word we do not know, a status that
#                was not sent, or a latest.json we could not read; treated as possibly down;
# STOPPING       leaving service, and a stop that lasts is a stop that hangs;
# STOPPED        not processing (stop, pause and disable all fold here): down for the
#                data, though often on purpose, so below the states nobody chose;
# STARTING       on its way to NORMAL by itself;
# NORMAL         running (OVERLOAD folds here: busy, but processing).
SEVERITY: Final = ("EXCEPTION", "UNKNOWN", "STOPPING", "STOPPED", "STARTING", "NORMAL")
UNKNOWN: Final = "UNKNOWN"
# A `fail_on` word beside the statuses: a job whose latest snapshot is stale. Without it
# a dead poller leaves every job NORMAL forever.
STALE: Final = "STALE"

DEFAULT_STALE_AFTER_SECONDS: Final = 900.0  # three polls of the default five-minute schedule
MAX_STALE_AFTER_SECONDS: Final = 366 * 86_400.0

# Page sizes: (default, most). History pages carry whole documents (a job with many
# nodes makes a large one); fleet rows and transition records are small.
FLEET_PAGE: Final = (100, 1000)
HISTORY_PAGE: Final = (20, 100)
TRANSITIONS_PAGE: Final = (100, 500)

MAX_CURSOR_LENGTH: Final = 2048
_CURSOR_VERSION: Final = 1
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_FLEET_KEY = re.compile(f"job_name=({ENCODED_VALUE})/latest\\.json")
_CURSOR_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")  # base64url without padding


# --- request parameters ------------------------------------------------------------


def parse_limit(value: object, page: tuple[int, int], field: str = "limit") -> int:
    """A page size from a query string or a number; absent: the page's default."""
    default, most = page
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 6:
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise InvalidInput(f"{field} must be a whole number from 1 to {most}", field=field)
    if not 1 <= number <= most:
        raise InvalidInput(f"{field} must be a whole number from 1 to {most}", field=field)
    return number


def parse_time(value: object, field: str) -> datetime | None:
    """An RFC 3339 time with its offset (`2026-11-25T08:00:00Z`), as UTC, to the
    millisecond (as documents are); absent: None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise InvalidInput(
            f"{field} must be an RFC 3339 time with an offset, like 2026-11-25T08:00:00Z",
            field=field,
        )
    text = value.upper()
    fraction = re.search(r"\.([0-9]+)", text)
    if fraction is not None and len(fraction[1]) > 6:  # Python reads microseconds at most
        text = text.replace(fraction[0], "." + fraction[1][:6], 1)
    # RFC 3339 allows a leap second (`23:59:60Z`), which Python cannot hold. No object
    # is named in it (clocks repeat or smear :59), so as a bound it is the instant the
    # next second starts: the same objects fall on either side of it.
    leap = text[17:19] == "60"
    if leap:
        text = text[:17] + "59" + text[19:]
    refused = InvalidInput(f"{field} is not a time that exists: {value!r:.60}", field=field)
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        raise refused from None
    try:
        moment = local.astimezone(UTC)
    except OverflowError:
        # A time that exists but falls outside the years 1 to 9999 once in UTC
        # (0001-01-01T00:00:00+01:00): no object is older or newer, so the bound
        # is the first or last representable millisecond.
        moment = _EARLIEST if local.year == 1 else _LATEST
    if leap:
        if (moment.hour, moment.minute) != (23, 59):
            raise refused  # leap seconds end a UTC day, never another minute
        moment = moment.replace(microsecond=0) + _ONE_SECOND if moment < _LATEST_SECOND else _LATEST
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


_EARLIEST: Final = datetime.min.replace(tzinfo=UTC)
_LATEST: Final = datetime.max.replace(tzinfo=UTC)
_LATEST_SECOND: Final = _LATEST.replace(microsecond=0)
_ONE_SECOND: Final = timedelta(seconds=1)


def parse_statuses(value: object, field: str = "status") -> frozenset[str] | None:
    """`EXCEPTION,UNKNOWN` (any case, spaces around words allowed); absent: None (all)."""
    if value is None or value == "":
        return None
    return _status_words(value, field, allowed=STATUSES)


def parse_fail_on(value: object, field: str = "fail_on") -> frozenset[str]:
    """Statuses that make the fleet fail, and STALE; absent: none."""
    if value is None or value == "":
        return frozenset()
    return _status_words(value, field, allowed=(*STATUSES, STALE))


def _status_words(value: object, field: str, allowed: Collection[str]) -> frozenset[str]:
    """ASCII only, as statuses fold (domain/statuses.py): a word with the long s
    (U+017F) is no status here either, though Python's upper() would fold it."""
    if not isinstance(value, str) or len(value) > 200 or not value.isascii():
        raise InvalidInput(f"{field} must be a comma-separated list of statuses", field=field)
    words = frozenset(word.strip(" \t").upper() for word in value.split(","))
    unknown = sorted(word for word in words if word not in allowed)
    if unknown:
        shown = ", ".join(repr(word[:40]) for word in unknown[:3])
        raise InvalidInput(
            f"{field} holds {shown}: each must be one of {', '.join(allowed)}", field=field
        )
    return words


def parse_stale_after(value: object, field: str = "stale_after") -> float:
    if value is None or value == "":
        return DEFAULT_STALE_AFTER_SECONDS
    try:
        seconds = float(value) if isinstance(value, str | int | float) else -1.0
    except ValueError:
        seconds = -1.0
    if isinstance(value, bool) or not 0 < seconds <= MAX_STALE_AFTER_SECONDS:
        raise InvalidInput(
            f"{field} must be a number of seconds above 0, at most {MAX_STALE_AFTER_SECONDS:.0f}",
            field=field,
        )
    return seconds


# --- cursors -------------------------------------------------------------------------


def query_scope(*parts: str | None) -> str:
    """What a cursor is bound to: a digest of the query's fixed parts (None and every
    text stay apart: they are hashed as a JSON array)."""
    return hashlib.sha256(jsoncodec.canonical_bytes(list(parts))).hexdigest()[:16]


def encode_cursor(kind: str, scope: str, position: str) -> str:
    payload = jsoncodec.canonical_bytes(
        {"v": _CURSOR_VERSION, "k": kind, "s": scope, "p": position}
    )
    return base64.urlsafe_b64encode(payload).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: object, kind: str, scope: str) -> str | None:
    """The position a cursor names; None without a cursor. Anything else is refused."""
    if cursor is None or cursor == "":
        return None
    refused = InvalidInput(
        "cursor is not one this query returned: start again without it", field="cursor"
    )
    if (
        not isinstance(cursor, str)
        or len(cursor) > MAX_CURSOR_LENGTH
        or not _CURSOR_ALPHABET.fullmatch(cursor)
    ):
        raise refused  # base64 would skip other characters, and read another cursor
    try:
        payload = jsoncodec.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise refused from None
    if (
        not isinstance(payload, dict)
        or type(payload.get("v")) is not int  # `true` and `1.0` equal 1 in Python
        or payload.get("v") != _CURSOR_VERSION
        or payload.get("k") != kind
        or payload.get("s") != scope
        or not isinstance(payload.get("p"), str)
    ):
        raise refused
    position: str = payload["p"]
    return position


# --- the fleet -----------------------------------------------------------------------


class FleetEntry(NamedTuple):
    """What a fleet row needs from one version of latest.json: a few hundred bytes,
    kept by the reader's cache instead of the document."""

    job_name: str
    status: str
    status_raw: str | None
    observed_at: str | None
    node_count: int | None
    nodes_by_status: dict[str, int] | None
    valid: bool
    error: str | None
    # latest.json is a gone document (domain/gone.py): the job left the fleet.
    gone: bool = False


class FleetRow(TypedDict):
    job_name: str
    status: str
    status_raw: str | None
    observed_at: str | None
    age_seconds: float | None
    stale: bool
    node_count: int | None
    nodes_by_status: dict[str, int] | None
    valid: bool
    error: str | None


class FleetSummary(TypedDict):
    job_count: int
    jobs_by_status: dict[str, int]
    stale: int
    invalid: int
    unreadable: int
    overall: str | None


class FleetDocument(TypedDict):
    kind: str
    schema_version: str
    project_id: str
    workspace: str | None
    generated_at: str
    stale_after_seconds: float
    status_filter: list[str] | None
    fail_on: list[str]
    failing: bool
    summary: FleetSummary
    jobs: list[FleetRow]
    limit: int
    next_cursor: str | None


def fleet_key_job_name(relative_key: str) -> str | None:
    """The job name a key below a workspace's `latest/` prefix is named after (decoded,
    and cut for long names: see snapshots.py), or None when the key is no latest.json."""
    match = _FLEET_KEY.fullmatch(relative_key)
    if match is None:
        return None
    return unquote(match[1], errors="replace")


def moved_fleet_key(relative_key: str, job_name: str) -> str | None:
    """The key below a workspace's `latest/` prefix that the job `job_name` has now,
    when `relative_key` is the one an earlier release gave it (snapshots.py)."""
    if "%" not in relative_key:
        return None  # the usual case: only an escape can be an earlier release's
    match = _FLEET_KEY.fullmatch(relative_key)
    value = None if match is None else moved_job_value(match[1], job_name)
    return None if value is None else f"job_name={value}/{LATEST_NAME}"


def is_earlier_release_fleet_key(relative_key: str) -> bool:
    """Whether a key below a workspace's `latest/` prefix is one only an earlier
    release writes (its job's latest.json may be elsewhere now: snapshots.py)."""
    match = _FLEET_KEY.fullmatch(relative_key)
    return match is not None and only_earlier_releases_write(match[1])


def superseding_fleet_key(relative_key: str) -> str | None:
    """The key an earlier release's `relative_key` names now, when the key alone
    tells (an uncut value decodes to the whole name): no GET needed to see that a
    listed new key supersedes it. None when cut, or not an earlier release's."""
    if not is_earlier_release_fleet_key(relative_key):
        return None
    value = relative_key[len("job_name=") : -len(f"/{LATEST_NAME}")]
    if "~" in value:
        return None  # cut: only the document names the job
    name = unquote_to_bytes(value).decode("utf-8")  # is_earlier_release...: it decodes
    return f"job_name={encode_partition_value(name)}/{LATEST_NAME}"


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def unreadable_entry(job_name: str, error: str) -> FleetEntry:
    return FleetEntry(job_name, UNKNOWN, None, None, None, None, False, error)


def fleet_entry(body: bytes, key_job_name: str) -> FleetEntry:
    """The row data of one latest.json; an unreadable one is an UNKNOWN, invalid entry
    saying why (the name then comes from the key, cut if the name was long)."""
    try:
        document = jsoncodec.loads(body)
    except jsoncodec.JsonDecodeError as error:
        return unreadable_entry(key_job_name, f"latest.json is not JSON: {str(error)[:120]}")
    if is_gone_document(document):
        return FleetEntry(key_job_name, UNKNOWN, None, None, None, None, False, None, gone=True)
    problem = _not_a_status_document(document)
    if problem is not None:
        return unreadable_entry(key_job_name, f"latest.json is not a status document: {problem}")
    source_name = document["source"].get("job_name")
    job = document["job"]
    summary = document["summary"]
    return FleetEntry(
        job_name=source_name if isinstance(source_name, str) else key_job_name,
        status=job["status"],
        status_raw=job["status_raw"],
        observed_at=document["observed_at"],
        node_count=summary["node_count"],
        nodes_by_status={status: summary["nodes_by_status"][status] for status in STATUSES},
        valid=document["validation"]["valid"],
        error=None,
    )


_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")


def _not_a_status_document(document: Any) -> str | None:
    """What keeps `document` from giving a fleet row, or None: only the fields a row
    reads are checked (the writer validated the rest)."""
    if not isinstance(document, dict):
        return "not an object"
    observed_at = document.get("observed_at")
    if not isinstance(observed_at, str) or not _TIMESTAMP.fullmatch(observed_at):
        return "observed_at is not a time"
    try:
        datetime.fromisoformat(observed_at)
    except ValueError:
        return "observed_at is not a time"
    if not isinstance(document.get("source"), dict):
        return "no source"
    job = document.get("job")
    if not isinstance(job, dict) or job.get("status") not in STATUSES:
        return "no job status"
    if not isinstance(job.get("status_raw"), str | None):
        return "job.status_raw is not text"
    summary = document.get("summary")
    if not isinstance(summary, dict) or not _is_count(summary.get("node_count")):
        return "no node count"
    by_status = summary.get("nodes_by_status")
    if not isinstance(by_status, dict) or not all(
        _is_count(by_status.get(status)) for status in STATUSES
    ):
        return "no node counts by status"
    validation = document.get("validation")
    if not isinstance(validation, dict) or not isinstance(validation.get("valid"), bool):
        return "no validation"
    return None


def fleet_row(entry: FleetEntry, now: datetime, stale_after: float) -> FleetRow:
    """A row as of `now`: a row without a readable observation is stale (nothing says
    it is fresh)."""
    age: float | None = None
    if entry.observed_at is not None:
        elapsed = (now - datetime.fromisoformat(entry.observed_at)).total_seconds()
        age = round(max(elapsed, 0.0), 3)
    return FleetRow(
        job_name=entry.job_name,
        status=entry.status,
        status_raw=entry.status_raw,
        observed_at=entry.observed_at,
        age_seconds=age,
        stale=age is None or age > stale_after,
        node_count=entry.node_count,
        nodes_by_status=None if entry.nodes_by_status is None else dict(entry.nodes_by_status),
        valid=entry.valid,
        error=entry.error,
    )


class FleetCounts:
    """The summary of a fleet, counted row by row: no row is kept."""

    def __init__(self) -> None:
        self.job_count = 0
        self.by_status = dict.fromkeys(STATUSES, 0)
        self.stale = 0
        self.invalid = 0
        self.unreadable = 0

    def add(self, row: FleetRow) -> None:
        self.job_count += 1
        self.by_status[row["status"]] += 1
        self.stale += row["stale"]
        self.invalid += not row["valid"]
        self.unreadable += row["error"] is not None

    def summary(self) -> FleetSummary:
        return FleetSummary(
            job_count=self.job_count,
            jobs_by_status=dict(self.by_status),
            stale=self.stale,
            invalid=self.invalid,
            unreadable=self.unreadable,
            overall=overall_status(self.by_status),
        )


def overall_status(jobs_by_status: Mapping[str, int]) -> str | None:
    """The worst status any job is in (`SEVERITY`); None for a fleet without jobs."""
    return next((status for status in SEVERITY if jobs_by_status.get(status, 0) > 0), None)


def fleet_fails(summary: FleetSummary, fail_on: Iterable[str]) -> bool:
    """Whether any job of the whole fleet (not only a page, not only the filtered rows)
    is in one of the `fail_on` statuses, or stale when STALE is one of them."""
    for word in fail_on:
        count = summary["stale"] if word == STALE else summary["jobs_by_status"].get(word, 0)
        if count > 0:
            return True
    return False


def fleet_document(
    *,
    project_id: str,
    workspace: str | None,
    generated_at: datetime,
    stale_after: float,
    status_filter: frozenset[str] | None,
    fail_on: frozenset[str],
    summary: FleetSummary,
    rows: list[FleetRow],
    limit: int,
    next_cursor: str | None,
) -> FleetDocument:
    return FleetDocument(
        kind=FLEET_KIND,
        schema_version=READ_MODEL_SCHEMA_VERSION,
        project_id=project_id,
        workspace=workspace,
        generated_at=format_utc(generated_at),
        stale_after_seconds=stale_after,
        status_filter=None if status_filter is None else _in_severity_order(status_filter),
        fail_on=_in_severity_order(fail_on),
        failing=fleet_fails(summary, fail_on),
        summary=summary,
        jobs=rows,
        limit=limit,
        next_cursor=next_cursor,
    )


def _in_severity_order(words: Iterable[str]) -> list[str]:
    order = (*SEVERITY, STALE)
    return sorted(words, key=order.index)


# --- history and transitions ---------------------------------------------------------


class Unreadable(TypedDict):
    """An object a page could not include, and why."""

    time: str
    error: str


# `from` is a Python keyword: the functional form keeps the JSON name.
HistoryDocument = TypedDict(
    "HistoryDocument",
    {
        "kind": str,
        "schema_version": str,
        "project_id": str,
        "workspace": str | None,
        "job_name": str,
        "generated_at": str,
        "from": str | None,
        "to": str,
        "documents": list[StatusDocument],
        "unreadable": list[Unreadable],
        "limit": int,
        "next_cursor": str | None,
    },
)


class TransitionsDocument(TypedDict):
    kind: str
    schema_version: str
    project_id: str
    workspace: str | None
    job_name: str
    generated_at: str
    since: str | None
    records: list[TransitionRecord]
    unreadable: list[Unreadable]
    limit: int
    has_more: bool
    next_cursor: str


def read_document(body: bytes, kind: str | None = None) -> tuple[dict[str, Any] | None, str | None]:
    """A stored JSON object, or (None, why not): one bad object never fails a page."""
    try:
        document = jsoncodec.loads(body)
    except jsoncodec.JsonDecodeError as error:
        return None, f"not JSON: {str(error)[:120]}"
    if not isinstance(document, dict):
        return None, "not a JSON object"
    if kind is not None and document.get("kind") != kind:
        return None, f"not a {kind} record"
    return document, None
