"""Snapshot naming: Hive-style keys that no job name can escape. Pure.

    history/project_id=P/workspace=W/job_name=J/date=YYYY-MM-DD/<YYYYMMDDTHHMMSSfffZ>-<hash16>.json
    latest/project_id=P/workspace=W/job_name=J/latest.json
    transitions/project_id=P/workspace=W/job_name=J/date=YYYY-MM-DD/<YYYYMMDDTHHMMSSfffZ>-<hash16>.json
    freshness/project_id=P/workspace=W/<YYYYMMDDTHHMMSSfffZ>-<hash16>.json
    _dlf-status/staged-transitions/project_id=P/workspace=W/job_name=J/
        <YYYYMMDDTHHMMSSfffZ>-<hash16>-<record hash16>.json

Partition values are readable alike by the two kinds of Hive-style readers:

* per-byte decoders (DuckDB, pyarrow) turn each `%XX` into one byte and read UTF-8;
* per-character decoders turn each `%XX` into the one character U+00XX: Hive's
  `FileUtils.unescapePathName` (apache/hive common/.../hive/common/FileUtils.java,
  `sb.append((char) code)`), Spark's `ExternalCatalogUtils.unescapePathName`
  (apache/spark sql/catalyst/.../catalog/ExternalCatalogUtils.scala,
  `code.asInstanceOf[Char]`) and Trino's, so Athena's
  (trinodb/trino lib/trino-metastore/.../metastore/Partitions.java, `(char) code`).

The two agree on `%XX` only below 0x80. So a value escapes ASCII only: every ASCII
character but letters, digits, '-', '_' and '.' is `%XX` (a superset of Hive's own
escapes: C0 controls, `"#%'*/:=?{[]^`, the backslash and DEL; also space, '~', '+', '&', ',', ';',
'<', '>', '|', '$', '!', '@', '`', '(', ')'), so '/', '..', '%2F', '=' or '*' in a job
name stay inside one key segment. Every other character is kept raw, as UTF-8, except
those no key should carry raw, by a rule of code points that no Unicode version
changes: C1 controls (U+0080-U+009F), surrogates, and the noncharacters U+FDD0-U+FDEF
and U+xFFFE/U+xFFFF (no text should carry them; XML 1.0 refuses U+FFFE and U+FFFF,
so an S3 listing that a store returns without `EncodingType=url` cannot hold those
two). Those are percent-encoded per UTF-8 byte: a per-character reader garbles only
them (34 of them, whose UTF-8 bytes are all >= 0xA0, into the value another name is
written as: README "Encoding"), and JobRef refuses C1 controls and surrogates anyway.
Every value percent-decodes to the UTF-8 text it came from (DuckDB refuses the whole
table otherwise). The encoding is injective, so two jobs never share a key:

* a value whose encoding is longer than MAX_ENCODED_BYTES of UTF-8 (a file name
  holds 255 bytes; an S3 key 1,024 in all) is cut after its last whole character that
  fits and suffixed with '~' and 16 hex digits of the sha256 of the whole value; '~'
  never appears in an encoded value otherwise (a literal '~' is %7E), so a cut value
  cannot collide with an uncut one;
* no value is Hive's null partition `__HIVE_DEFAULT_PARTITION__` (which engines
  read as NULL): that literal, a legal workspace or job name, is written with its
  first '_' as %5F, which no other value produces. No workspace, and only that,
  is the null partition.

Releases before this encoding escaped every UTF-8 byte beyond [A-Za-z0-9._-] and cut at
200 characters (`legacy_partition_value`): the keys of names with other characters
than ASCII moved. The writer reads a moved job's old latest.json once, for its first
transition at the new key, and the fleet reader leaves the old row out once the new
key is there (README "Upgrading").
"""

from __future__ import annotations

import enum
import hashlib
import re
from datetime import UTC, datetime
from typing import Final, NamedTuple
from urllib.parse import unquote_to_bytes

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
# Room for "job_name=" in a 255-byte file name, with margin: UTF-8 bytes, not characters.
MAX_ENCODED_BYTES: Final = 200
HASH_SUFFIX_DIGITS: Final = 16
_ESCAPED_NULL_PARTITION: Final = "%5F" + NULL_PARTITION[1:]
_PLAIN = re.compile(r"[A-Za-z0-9._-]*")


def _escaped_ranges(kept: str = "") -> str:
    """The code points the encoding escapes, as a regex class body, less `kept`'s ASCII.

    Escaped: ASCII but [A-Za-z0-9._-], the C1 controls (U+0080-U+009F), surrogates and
    noncharacters (U+FDD0-U+FDEF, the last two of every plane); every other code point
    from U+00A0 is kept raw as UTF-8. Written as these few ranges, not as the negation
    of the kept ones: sre compiles a class of seventeen planes' ranges in about 3 ms, at
    every cold start; this one at once. tests/unit/test_snapshots.py checks every code point."""
    ascii_escaped = "".join(
        f"\\x{code:02x}"
        for code in range(0x80)
        if not (chr(code).isalnum() or chr(code) in "._-" or chr(code) in kept)
    )
    planes_ends = "".join(
        f"\\U{(plane << 16) + 0xFFFE:08X}\\U{(plane << 16) + 0xFFFF:08X}" for plane in range(1, 17)
    )
    return f"{ascii_escaped}\\x80-\\x9f\\ud800-\\udfff\\ufdd0-\\ufdef\\ufffe\\uffff{planes_ends}"


# One character the encoding escapes (every UTF-8 byte of it as %XX).
_ESCAPED_CHAR = re.compile(f"[{_escaped_ranges()}]")
# What an encoded value is made of (a regex): what is kept raw, and the escapes' `%`
# and the cut's `~`. A segment of a key is a plain name, or a partition whose value is
# an encoding's.
ENCODED_VALUE: Final = f"[^{_escaped_ranges(kept='%~')}]+"
_SEGMENT = re.compile(f"[A-Za-z0-9_]+={ENCODED_VALUE}|[A-Za-z0-9._-]+")


def _percent(match: re.Match[str]) -> str:
    raw = match[0].encode("utf-8", errors="surrogatepass")
    return "".join(f"%{byte:02X}" for byte in raw)


def _encoded(value: str) -> str:
    return value if _PLAIN.fullmatch(value) else _ESCAPED_CHAR.sub(_percent, value)


def _cut(value: str, budget: int) -> str:
    """The encoding of the longest prefix of whole characters whose encoding fits in
    `budget` UTF-8 bytes: a cut inside a character or its escapes would not decode."""
    pieces: list[str] = []
    used = 0
    for char in value:
        piece = _encoded(char)
        size = len(piece.encode("utf-8", errors="surrogatepass"))
        if used + size > budget:
            break
        pieces.append(piece)
        used += size
    return "".join(pieces)


def encode_partition_value(value: str) -> str:
    """Percent-encode ASCII beyond [A-Za-z0-9._-] and the few code points no key carries
    raw; keep the rest as UTF-8; cut and hash overlong values (see the module's text).

    Injective on the values JobRef accepts, and each result percent-decodes to
    valid UTF-8 (JobRef refuses lone surrogates, the only text that would not).
    """
    encoded = _encoded(value)
    if encoded == NULL_PARTITION:
        return _ESCAPED_NULL_PARTITION
    if encoded in (".", ".."):
        # Never a path segment of its own; JobRef refuses these, this is the last guard.
        return "".join(f"%{byte:02X}" for byte in value.encode("ascii"))
    if not encoded:
        # No character to encode; a bare '~' is otherwise never produced (see above).
        return "~"
    if len(encoded) > MAX_ENCODED_BYTES // 4 and (
        len(encoded.encode("utf-8", errors="surrogatepass")) > MAX_ENCODED_BYTES
    ):
        raw = value.encode("utf-8", errors="surrogatepass")
        digest = hashlib.sha256(raw).hexdigest()[:HASH_SUFFIX_DIGITS]
        encoded = f"{_cut(value, MAX_ENCODED_BYTES - HASH_SUFFIX_DIGITS - 1)}~{digest}"
    return encoded


# --- the encoding of earlier releases, to find what they wrote ------------------------

LEGACY_MAX_ENCODED_VALUE: Final = 200
_LEGACY_KEEP = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
# A %XX of a byte beyond ASCII: only a legacy value or a kept-escaped character has one.
_ESCAPED_HIGH_BYTE = re.compile(r"%[89A-F][0-9A-F]")
_LATEST_JOB_VALUE = re.compile(r"/job_name=([^/]+)/latest\.json$")


def _legacy_escaped(raw: bytes) -> str:
    return "".join(chr(byte) if byte in _LEGACY_KEEP else f"%{byte:02X}" for byte in raw)


def legacy_partition_value(value: str) -> str:
    """The value earlier releases wrote: every UTF-8 byte beyond [A-Za-z0-9._-] as %XX,
    cut at 200 characters of that. Equal to `encode_partition_value(value)` for a name
    of ASCII (and of the code points still escaped), and for a name both cut before
    its first other character; different for every other name."""
    raw = value.encode("utf-8", errors="surrogatepass")
    encoded = _legacy_escaped(raw)
    if encoded == NULL_PARTITION:
        return _ESCAPED_NULL_PARTITION
    if encoded in (".", ".."):
        return "".join(f"%{byte:02X}" for byte in raw)
    if not encoded:
        return "~"
    if len(encoded) > LEGACY_MAX_ENCODED_VALUE:
        digest = hashlib.sha256(raw).hexdigest()[:HASH_SUFFIX_DIGITS]
        budget = LEGACY_MAX_ENCODED_VALUE - HASH_SUFFIX_DIGITS - 1
        pieces: list[str] = []
        used = 0
        for char in value:
            piece = _legacy_escaped(char.encode("utf-8", errors="surrogatepass"))
            if used + len(piece) > budget:
                break
            pieces.append(piece)
            used += len(piece)
        encoded = f"{''.join(pieces)}~{digest}"
    return encoded


def may_be_legacy(value: str) -> bool:
    """Whether an encoded value may be one that only earlier releases wrote (cheap: it
    holds a %XX of a byte beyond ASCII). False is certain; True needs the name."""
    return _ESCAPED_HIGH_BYTE.search(value) is not None


def only_earlier_releases_write(value: str) -> bool:
    """Whether the partition value `value` is one that this release's encoding never
    writes: an earlier release's, of a name beyond ASCII (from the value alone: the
    part before a cut is compared with this release's encoding of its decoding).
    Total: a value that is not percent-encoded UTF-8 (put there by hand or by another
    tool) is no release's, so False."""
    if not may_be_legacy(value):
        return False
    head = value.partition("~")[0]
    try:
        name = unquote_to_bytes(head).decode("utf-8")
    except UnicodeError:  # not UTF-8, or raw bytes a listing shows as lone surrogates
        return False
    return _encoded(name) != head


def is_earlier_release_latest(key: str) -> bool:
    """Whether `key` is a latest.json that only an earlier release writes (its job's
    latest.json is elsewhere now): no writer of this release ever remembers it. One
    kind is not told from the key: an old cut that fell before the name's first
    character now kept raw (the name starts with 61 escaped characters) reads as this
    release's cut of another name; a tick then looks for freshness seeds as for a job
    it does not remember (one listing, one GET)."""
    match = _LATEST_JOB_VALUE.search(key)
    return match is not None and only_earlier_releases_write(match[1])


def moved_job_value(value: str, job_name: str) -> str | None:
    """`job_name`'s value now, when the job_name partition `value` is the one earlier
    releases gave it and differs; None otherwise (the usual case, decided cheaply).
    A cut value is compared whatever it holds: an old cut may fall before the name's
    first character beyond ASCII, leaving no %XX of a byte beyond ASCII."""
    if not may_be_legacy(value) and "~" not in value:
        return None
    current = encode_partition_value(job_name)
    if current == value or legacy_partition_value(job_name) != value:
        return None
    return current


def moved_latest_key(job: JobRef) -> str | None:
    """Where earlier releases kept `job`'s latest.json, when that is not `latest_key`."""
    legacy = legacy_partition_value(job.job_name)
    if legacy == encode_partition_value(job.job_name):
        return None
    workspace = workspace_prefix(LATEST_ROOT, job.project_id, job.workspace)
    return f"{workspace}job_name={legacy}/{LATEST_NAME}"


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
