"""The drift report: what the stored documents say the upstream sent beyond its
documentation. Pure: documents in, a report out.

Two kinds of drift, as the writer recorded them in each status document:

* an **unknown field**: a path of `validation.unknown_fields` (`$.nodes[*].checkpoint`);
* a **status outside the documented five** (`STARTING`, `NORMAL`, `EXCEPTION`,
  `STOPPING`, `STOPPED`, spelt exactly so): a job's or a node's `status_raw`, with the
  status it was folded into (the SDK's `INIT`, a lower-case `normal`, an empty word).

For each: when it was first and last seen (the documents' `observed_at`), in how many
jobs and documents, and one job that sent it. Each job's documents are tallied on
their own (`JobDrift`), then added to the report (`DriftTally`): a job counts once
per finding, whatever order a store lists jobs in, and what is held is one small
entry per distinct finding, never a document.

Stored content is not trusted: a document may be anything a hand or a bug put in the
store. Only the fields read here are checked; each finding's text is cut (with a hash
of the whole, so that two long texts stay two findings), each document gives at most
MAX_FINDINGS_PER_DOCUMENT findings, and the report keeps at most MAX_FINDINGS distinct
ones (beyond: counted, not kept).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final, Literal, NamedTuple, TypedDict
from urllib.parse import unquote

from dlf_status.domain.snapshots import (
    NULL_PARTITION,
    encode_partition_value,
    legacy_partition_value,
)
from dlf_status.domain.statuses import STATUSES, UNKNOWN, normalise_status
from dlf_status.errors import one_line

DRIFT_REPORT_KIND: Final = "drift-report"
# 1.1: `skipped.other_schema_versions` and `skipped.not_returned`.
DRIFT_REPORT_SCHEMA_VERSION: Final = "1.1"
DOCUMENTED_STATUSES: Final = tuple(status for status in STATUSES if status != UNKNOWN)
# Distinct findings kept by one report; more are counted (`findings_not_kept`).
MAX_FINDINGS: Final = 10_000
# Findings one document may give: a hostile document of a million unknown fields is
# one document's worth of drift, not the report's.
MAX_FINDINGS_PER_DOCUMENT: Final = 1_000
# A finding's text (a path, a status word) is cut here, a hash of the whole added.
MAX_FINDING_TEXT: Final = 300
_HASH_DIGITS: Final = 12
# The status documents this release reads: major version 1, any minor (a minor version
# only adds). Another major's fields may mean what this release does not know.
_READABLE_VERSION = re.compile(r"1\.[0-9]{1,6}")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")

_JOB_PARTITIONS = re.compile(r"project_id=([^/]+)/workspace=([^/]+)/job_name=([^/]+)/")

Kind = Literal["unknown_field", "job_status", "node_status"]


class JobName(TypedDict):
    """A job as its store key names it (its partitions, decoded)."""

    project_id: str
    workspace: str | None
    job_name: str


class Finding(NamedTuple):
    kind: Kind
    value: str  # the unknown field's path, or the status word as sent


class FindingEntry(TypedDict):
    value: str
    first_seen: str
    last_seen: str
    jobs: int
    documents: int
    example_job: JobName


class StatusEntry(FindingEntry):
    scope: Literal["job", "node"]
    folded_to: str  # the status consumers see: one of statuses.STATUSES


class _SkippedSince10(TypedDict):
    too_large: int
    unreadable: int  # not JSON, or past the bounds of jsoncodec.STORED
    not_status_documents: int  # JSON, but no readable observed_at (gone documents too)
    before_since: int  # read, but observed before --since


class Skipped(_SkippedSince10, total=False):
    """Objects of the store that were not read as status documents, by reason. What
    report 1.1 added is optional in the schema (a 1.0 report lacks it); always written."""

    # Status documents of a schema version this release does not read (a newer
    # release's, whose fields may mean what this one does not know).
    other_schema_versions: int
    # Listed, but the store failed to return them (denied, archived, a read error):
    # the report goes on, and the command exits 5.
    not_returned: int


class DriftReport(TypedDict):
    kind: str
    schema_version: str
    summary: str
    since: str | None
    documents_read: int
    jobs_read: int
    skipped: Skipped
    unknown_fields: list[FindingEntry]
    statuses: list[StatusEntry]
    # Occurrences of findings past MAX_FINDINGS (in a job, then in the report):
    # counted, not listed.
    findings_not_kept: int
    # Documents that held more than MAX_FINDINGS_PER_DOCUMENT findings.
    findings_cut_in_documents: int


def finding_text(text: str) -> str:
    """`text` as one printable line; a long one cut, with a hash of the whole so that
    two texts that share their start stay apart."""
    if len(text) <= MAX_FINDING_TEXT and text.isprintable():
        return text
    digest = hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()
    return f"{one_line(text, MAX_FINDING_TEXT)} (sha256 {digest[:_HASH_DIGITS]})"


def observed_at_of(document: Any) -> str | None:
    """The status document's observation time, as the writer spells it; None for
    anything else (a gone document, or a record, has a `kind`: a status document not)."""
    if not isinstance(document, dict) or "kind" in document:
        return None
    observed_at = document.get("observed_at")
    if not isinstance(observed_at, str) or not _TIMESTAMP.fullmatch(observed_at):
        return None
    try:
        datetime.fromisoformat(observed_at)
    except ValueError:
        return None
    return observed_at


def findings_of(document: dict[str, Any]) -> tuple[list[Finding], bool]:
    """The drift one status document records, at most MAX_FINDINGS_PER_DOCUMENT of it
    (and whether there was more), each distinct finding once."""
    found: dict[Finding, None] = {}
    more = False

    def add(finding: Finding) -> bool:
        nonlocal more
        if finding in found:
            return True
        if len(found) >= MAX_FINDINGS_PER_DOCUMENT:
            more = True
            return False
        found[finding] = None
        return True

    job = document.get("job")
    if isinstance(job, dict):
        _add_status(job.get("status_raw"), "job_status", add)
    nodes = document.get("nodes")
    if isinstance(nodes, list):
        for node in nodes:
            if isinstance(node, dict) and not _add_status(
                node.get("status_raw"), "node_status", add
            ):
                break
    validation = document.get("validation")
    fields = validation.get("unknown_fields") if isinstance(validation, dict) else None
    if isinstance(fields, list):
        for path in fields:
            if isinstance(path, str) and not add(Finding("unknown_field", finding_text(path))):
                break
    return list(found), more


def _add_status(raw: object, kind: Kind, add: Any) -> bool:
    if not isinstance(raw, str) or raw in DOCUMENTED_STATUSES:
        return True  # absent (null) is a violation the document records, not a status
    result: bool = add(Finding(kind, finding_text(raw)))
    return result


class Observation(NamedTuple):
    """What the report takes from one stored document: small, the document dropped."""

    job: JobName
    observed_at: str | None  # None: not a status document
    findings: list[Finding]
    more: bool  # the document held more than MAX_FINDINGS_PER_DOCUMENT findings
    readable_version: bool = True  # False: a status document this release does not read


def observe(job: JobName, document: Any) -> Observation:
    """One parsed stored document; the job named after its `source` when the key's
    partition is that name encoded (a long name is cut in keys, whole in documents)."""
    observed_at = observed_at_of(document)
    if observed_at is None:
        return Observation(job, None, [], False)
    if "schema_version" in document and not _readable_version(document["schema_version"]):
        return Observation(job, observed_at, [], False, readable_version=False)
    source = document.get("source")
    name = source.get("job_name") if isinstance(source, dict) else None
    if isinstance(name, str) and name != job["job_name"] and _names_key(name, job["job_name"]):
        job = JobName(project_id=job["project_id"], workspace=job["workspace"], job_name=name)
    findings, more = findings_of(document)
    return Observation(job, observed_at, findings, more)


def _readable_version(version: object) -> bool:
    return isinstance(version, str) and _READABLE_VERSION.fullmatch(version) is not None


def _names_key(name: str, key_name: str) -> bool:
    """Whether the key's (decoded, perhaps cut) job name is `name`'s, in this release's
    encoding or in the one of the releases before it (keys written then stay)."""
    try:
        encodings = (encode_partition_value(name), legacy_partition_value(name))
    except UnicodeError:
        return False
    return any(unquote(encoded, errors="replace") == key_name for encoded in encodings)


def job_of_key(job_key: str) -> JobName | None:
    """The job a store key's partitions name (`project_id=P/workspace=W/job_name=J/`),
    decoded; None when the key is not so named."""
    match = _JOB_PARTITIONS.fullmatch(job_key)
    if match is None:
        return None
    workspace = None if match[2] == NULL_PARTITION else unquote(match[2], errors="replace")
    return JobName(
        project_id=unquote(match[1], errors="replace"),
        workspace=workspace,
        job_name=unquote(match[3], errors="replace"),
    )


def on_or_after(observed_at: str, since: date | None) -> bool:
    return since is None or observed_at[:10] >= since.isoformat()


@dataclass
class _Seen:
    first_seen: str
    last_seen: str
    example_job: JobName
    jobs: int = 1
    documents: int = 1


@dataclass
class _Skips:
    too_large: int = 0
    unreadable: int = 0
    not_status_documents: int = 0
    before_since: int = 0
    other_schema_versions: int = 0
    not_returned: int = 0

    def add(self, other: _Skips) -> None:
        self.too_large += other.too_large
        self.unreadable += other.unreadable
        self.not_status_documents += other.not_status_documents
        self.before_since += other.before_since
        self.other_schema_versions += other.other_schema_versions
        self.not_returned += other.not_returned


@dataclass
class JobDrift:
    """The drift of one job's documents: what a read worker builds, one job at a time,
    so that a job counts once per finding whatever order the store lists jobs in."""

    since: date | None = None
    max_findings: int = MAX_FINDINGS
    documents_read: int = 0
    skips: _Skips = field(default_factory=_Skips)
    findings_cut_in_documents: int = 0
    findings_not_kept: int = 0
    seen: dict[Finding, _Seen] = field(default_factory=dict)
    newest: str | None = None  # the newest observation added

    def add(self, observation: Observation, *, latest: bool = False) -> None:
        """One document of the job; `latest` for its latest.json, read after its
        history and counted only when newer than all of it: otherwise it is the
        newest history document again (the writer keeps latest.json the newest)."""
        observed_at = observation.observed_at
        if observed_at is None:
            self.skips.not_status_documents += 1
            return
        if latest and self.newest is not None and observed_at <= self.newest:
            return
        self.newest = max(self.newest or observed_at, observed_at)
        if not on_or_after(observed_at, self.since):
            self.skips.before_since += 1
            return
        if not observation.readable_version:
            self.skips.other_schema_versions += 1
            return
        self.documents_read += 1
        self.findings_cut_in_documents += observation.more
        for finding in observation.findings:
            seen = self.seen.get(finding)
            if seen is not None:
                seen.documents += 1
                seen.first_seen = min(seen.first_seen, observed_at)
                seen.last_seen = max(seen.last_seen, observed_at)
            elif len(self.seen) < self.max_findings:
                self.seen[finding] = _Seen(observed_at, observed_at, observation.job)
            else:
                self.findings_not_kept += 1


@dataclass
class DriftTally:
    """The report's counts, one job's drift at a time; at most `max_findings`
    distinct findings are kept (more are counted, once per job that had them)."""

    since: date | None = None
    max_findings: int = MAX_FINDINGS
    documents_read: int = 0
    jobs_read: int = 0
    skips: _Skips = field(default_factory=_Skips)
    findings_not_kept: int = 0
    findings_cut_in_documents: int = 0
    _seen: dict[Finding, _Seen] = field(default_factory=dict)

    def job(self) -> JobDrift:
        """An empty tally for one job, with this report's bounds."""
        return JobDrift(since=self.since, max_findings=self.max_findings)

    def add_job(self, job: JobDrift) -> None:
        self.documents_read += job.documents_read
        self.jobs_read += job.documents_read > 0
        self.skips.add(job.skips)
        self.findings_cut_in_documents += job.findings_cut_in_documents
        self.findings_not_kept += job.findings_not_kept
        for finding, seen in job.seen.items():
            kept = self._seen.get(finding)
            if kept is None:
                if len(self._seen) < self.max_findings:
                    self._seen[finding] = _Seen(
                        seen.first_seen, seen.last_seen, seen.example_job, 1, seen.documents
                    )
                else:
                    self.findings_not_kept += 1
                continue
            kept.jobs += 1
            kept.documents += seen.documents
            kept.first_seen = min(kept.first_seen, seen.first_seen)
            kept.last_seen = max(kept.last_seen, seen.last_seen)

    def report(self) -> DriftReport:
        fields: list[FindingEntry] = []
        statuses: list[StatusEntry] = []
        for finding, seen in sorted(self._seen.items(), key=lambda item: item[0]):
            entry = FindingEntry(
                value=finding.value,
                first_seen=seen.first_seen,
                last_seen=seen.last_seen,
                jobs=seen.jobs,
                documents=seen.documents,
                example_job=seen.example_job,
            )
            if finding.kind == "unknown_field":
                fields.append(entry)
            else:
                statuses.append(
                    StatusEntry(
                        **entry,
                        scope="job" if finding.kind == "job_status" else "node",
                        folded_to=normalise_status(finding.value),
                    )
                )
        statuses.sort(key=lambda entry: (entry["scope"], entry["value"]))
        skipped = Skipped(
            too_large=self.skips.too_large,
            unreadable=self.skips.unreadable,
            not_status_documents=self.skips.not_status_documents,
            before_since=self.skips.before_since,
            other_schema_versions=self.skips.other_schema_versions,
            not_returned=self.skips.not_returned,
        )
        return DriftReport(
            kind=DRIFT_REPORT_KIND,
            schema_version=DRIFT_REPORT_SCHEMA_VERSION,
            summary=summary_line(
                len(fields), len(statuses), self.documents_read, self.jobs_read, self.since
            ),
            since=None if self.since is None else self.since.isoformat(),
            documents_read=self.documents_read,
            jobs_read=self.jobs_read,
            skipped=skipped,
            unknown_fields=fields,
            statuses=statuses,
            findings_not_kept=self.findings_not_kept,
            findings_cut_in_documents=self.findings_cut_in_documents,
        )


def summary_line(fields: int, statuses: int, documents: int, jobs: int, since: date | None) -> str:
    when = "" if since is None else f" observed since {since.isoformat()}"
    if not fields and not statuses:
        drift = "no drift"
    else:
        drift = (
            f"{fields} unknown field(s) and {statuses} status(es) outside the documented "
            f"five ({', '.join(DOCUMENTED_STATUSES)})"
        )
    return f"{drift} in {documents} document(s) of {jobs} job(s){when}"


def skipped_words(skipped: Skipped) -> list[str]:
    """What was not read, for a person: only the reasons that happened."""
    said = (
        (skipped["too_large"], "too large to read"),
        (skipped["unreadable"], "not JSON or past the read bounds"),
        (skipped["not_status_documents"], "not status documents (gone jobs among them)"),
        (skipped["before_since"], "observed before --since"),
        (
            skipped.get("other_schema_versions", 0),
            "status documents of a schema version this release does not read",
        ),
        (skipped.get("not_returned", 0), "listed but not returned by the store"),
    )
    return [f"{count} {words}" for count, words in said if count]
