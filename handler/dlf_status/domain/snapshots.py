"""Snapshot naming: Hive-style keys that no job name can escape. Pure.

    history/project_id=P/workspace=W/job_name=J/date=YYYY-MM-DD/<YYYYMMDDTHHMMSSfffZ>-<hash16>.json
    latest/project_id=P/workspace=W/job_name=J/latest.json
    transitions/project_id=P/workspace=W/job_name=J/date=YYYY-MM-DD/<YYYYMMDDTHHMMSSfffZ>-<hash16>.json
    freshness/project_id=P/workspace=W/<YYYYMMDDTHHMMSSfffZ>-<hash16>.json
    _dlf-status/staged-transitions/project_id=P/workspace=W/job_name=J/
        <YYYYMMDDTHHMMSSfffZ>-<hash16>-<record hash16>.json

Partition values keep letters, digits, '-', '_' and '.' and percent-encode every
other byte of their UTF-8 form (as Hive escapes partition paths), so '/', '..',
'%2F', '=' or a newline in a job name stay inside one key segment, and every
value percent-decodes to the UTF-8 text it came from (DuckDB refuses the whole
table otherwise). The encoding is injective, so two jobs never share a key:

* a value whose encoding would be longer than a file name may be is cut after
  its last whole character that fits and suffixed with '~' and 16 hex digits of
  the sha256 of the whole value; '~' never appears in an encoded value otherwise
  (a literal '~' is %7E), so a cut value cannot collide with an uncut one;
* no value is Hive's null partition `__HIVE_DEFAULT_PARTITION__` (which engines
  read as NULL): that literal, a legal workspace or job name, is written with its
  first '_' as %5F, which no other value produces. No workspace, and only that,
  is the null partition.
"""

from __future__ import annotations

import enum
import hashlib
import re
from datetime import UTC, datetime
from typing import Final, NamedTuple

from dlf_status.domain.model import JobRef


class SnapshotOutcome(enum.StrEnum):
    """What happened in the store; sent to HTTP callers as X-Dlf-Snapshot."""

    CHANGED = "changed"  # new content: a history object and latest.json written
    UNCHANGED = "unchanged"  # same content: latest.json refreshed only
    # Same content, and the latest.json this process wrote still in place: no store
    # call, the tick's freshness record says it was seen (ticks only, never on HTTP).
    CONFIRMED = "confirmed"
    SUPERSEDED = "superseded"  # a newer observation is already latest; history kept
    FAILED = "failed"  # the store failed; the answer is still served
    NOT_WRITTEN = "not-written"  # a stale answer: nothing new to store


HISTORY_ROOT: Final = "history"
LATEST_ROOT: Final = "latest"
TRANSITIONS_ROOT: Final = "transitions"
# A tick's freshness records: the jobs it saw unchanged, one object per workspace.
FRESHNESS_ROOT: Final = "freshness"
# dlf-status's own objects, where consumers of the Hive tables never look.
CONTROL_ROOT: Final = "_dlf-status"
STAGED_TRANSITIONS_ROOT: Final = f"{CONTROL_ROOT}/staged-transitions"
LATEST_NAME: Final = "latest.json"
NULL_PARTITION: Final = "__HIVE_DEFAULT_PARTITION__"
# Room for "job_name=" in a 255-byte file name, with margin.
MAX_ENCODED_VALUE: Final = 200
HASH_SUFFIX_DIGITS: Final = 16
_ESCAPED_NULL_PARTITION: Final = "%5F" + NULL_PARTITION[1:]
_KEEP = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
_SEGMENT = re.compile(r"[A-Za-z0-9_]+=[A-Za-z0-9._%~-]+|[A-Za-z0-9._-]+")


def _encoded_char(char: str) -> str:
    raw = char.encode("utf-8", errors="surrogatepass")
    return "".join(chr(byte) if byte in _KEEP else f"%{byte:02X}" for byte in raw)


def _cut(value: str, budget: int) -> str:
    """The encoding of the longest prefix of whole characters that fits in `budget`:
    a cut inside a character's escapes would not decode to UTF-8."""
    pieces: list[str] = []
    used = 0
    for char in value:
        piece = _encoded_char(char)
        if used + len(piece) > budget:
            break
        pieces.append(piece)
        used += len(piece)
    return "".join(pieces)


def encode_partition_value(value: str) -> str:
    """Percent-encode everything but [A-Za-z0-9._-]; cut and hash overlong values.

    Injective on the values JobRef accepts, and each result percent-decodes to
    valid UTF-8 (JobRef refuses lone surrogates, the only text that would not).
    """
    raw = value.encode("utf-8", errors="surrogatepass")
    encoded = "".join(chr(byte) if byte in _KEEP else f"%{byte:02X}" for byte in raw)
    if encoded == NULL_PARTITION:
        return _ESCAPED_NULL_PARTITION
    if encoded in (".", ".."):
        # Never a path segment of its own; JobRef refuses these, this is the last guard.
        return "".join(f"%{byte:02X}" for byte in raw)
    if not encoded:
        # No byte to encode; a bare '~' is otherwise never produced (see above).
        return "~"
    if len(encoded) > MAX_ENCODED_VALUE:
        digest = hashlib.sha256(raw).hexdigest()[:HASH_SUFFIX_DIGITS]
        encoded = f"{_cut(value, MAX_ENCODED_VALUE - HASH_SUFFIX_DIGITS - 1)}~{digest}"
    return encoded


def workspace_prefix(root: str, project_id: str, workspace: str | None) -> str:
    """Where the jobs of one project and workspace start below `root`, ending in '/'
    (no workspace: the null partition)."""
    encoded = NULL_PARTITION if workspace is None else encode_partition_value(workspace)
    return f"{root}/project_id={encode_partition_value(project_id)}/workspace={encoded}/"


def _job_prefix(root: str, job: JobRef) -> str:
    return (
        f"{workspace_prefix(root, job.project_id, job.workspace)}"
        f"job_name={encode_partition_value(job.job_name)}"
    )


def job_prefix(root: str, job: JobRef) -> str:
    """Where one job's objects start below `root`, ending in '/'."""
    return _job_prefix(root, job) + "/"


def compact_time(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y%m%dT%H%M%S") + f"{moment.microsecond // 1000:03d}Z"


_COMPACT_NAME = re.compile(r"([0-9]{8}T[0-9]{6})([0-9]{3})Z-[0-9a-f]{16}\.json")


def parse_object_time(name: str) -> datetime | None:
    """The time a history or transition object is named after, or None when `name`
    is not such a name: `<YYYYMMDDTHHMMSSfffZ>-<hash16>.json`."""
    match = _COMPACT_NAME.fullmatch(name)
    if match is None:
        return None
    try:
        moment = datetime.strptime(match[1], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    return moment.replace(microsecond=int(match[2]) * 1000)


def history_key(job: JobRef, slot: datetime, content_hash: str) -> str:
    """Where one content of one observation slot is kept, forever.

    `slot` is when the observation was due: the schedule's time for a tick (so a
    retried delivery lands on the same key) or the observation time otherwise.
    """
    day = slot.astimezone(UTC).strftime("%Y-%m-%d")
    return (
        f"{_job_prefix(HISTORY_ROOT, job)}/date={day}/{compact_time(slot)}-{content_hash[:16]}.json"
    )


def transition_key(job: JobRef, observed_at: datetime, content_hash: str) -> str:
    """Where the transition into one version of latest.json is published, once.

    Named after the document that replaced latest.json (its observation time and
    content): versions of latest.json only ever grow in (observed_at, content hash),
    so one version has one key, and a repair rebuilds the same key.
    """
    day = observed_at.astimezone(UTC).strftime("%Y-%m-%d")
    return (
        f"{_job_prefix(TRANSITIONS_ROOT, job)}/date={day}/"
        f"{compact_time(observed_at)}-{content_hash[:16]}.json"
    )


def staged_transition_key(
    job: JobRef, observed_at: datetime, content_hash: str, record_hash: str
) -> str:
    """Where a transition record waits, written before the compare-and-swap of
    latest.json, so that whoever finds it unpublished can publish it. One key per
    record content: a writer that retries against another latest.json stages anew."""
    return (
        f"{_job_prefix(STAGED_TRANSITIONS_ROOT, job)}/"
        f"{compact_time(observed_at)}-{content_hash[:16]}-{record_hash[:16]}.json"
    )


def freshness_key(project_id: str, workspace: str | None, written_at: datetime, tick: str) -> str:
    """Where one tick's freshness record of one workspace is kept, once: named after
    when it was written, so a listing from a time finds the newer ones."""
    name = hashlib.sha256(tick.encode("utf-8")).hexdigest()[:16]
    prefix = workspace_prefix(FRESHNESS_ROOT, project_id, workspace)
    return f"{prefix}{compact_time(written_at)}-{name}.json"


def latest_key(job: JobRef) -> str:
    return f"{_job_prefix(LATEST_ROOT, job)}/{LATEST_NAME}"


def is_safe_key(key: str) -> bool:
    """Every segment is a plain name or a partition; none can climb out of its root."""
    segments = key.split("/")
    return bool(segments) and all(
        _SEGMENT.fullmatch(segment) and segment not in (".", "..") for segment in segments
    )


class SnapshotMetadata(NamedTuple):
    """Carried as object metadata (S3 user metadata) beside each snapshot."""

    schema_version: str
    content_hash: str
    observed_at: str

    def as_headers(self) -> dict[str, str]:
        return {
            "schema-version": self.schema_version,
            "content-hash": self.content_hash,
            "observed-at": self.observed_at,
        }
