"""Freshness records: how a tick says "still the same" without a store call per job. Pure.

A scheduled tick that finds a job's content unchanged, and the `latest.json` it
remembers writing still in place (a listing at the start of the tick shows its
version), writes nothing for that job. Instead, at the end of the tick, it writes one
record per workspace naming every such job, the version of `latest.json` it
confirmed and when it observed the job:

    freshness/project_id=P/workspace=W/<YYYYMMDDTHHMMSSfffZ>-<hash16>.json
    {"kind": "status-freshness", "schema_version": "1.0", "project_id": "...",
     "workspace": null, "tick_id": "...", "scheduled_time": "...", "written_at": "...",
     "jobs": [{"job_name": "...", "latest_version": "\\"etag\\"", "content_hash": "...",
               "observed_at": "...", "latest_observed_at": "..."}]}

A confirmation is a statement about one version of `latest.json`: a reader honours it
only while that version is still the one listed (a later write makes it moot). A
`latest.json` is still rewritten when its own `observed_at` is `LATEST_REFRESH_SECONDS`
old, so what a consumer reads there directly is never older than that, and a reader
needs to look back only `FRESHNESS_LOOKBACK_SECONDS` for records.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final, NamedTuple

from dlf_status.domain import jsoncodec
from dlf_status.domain.timestamps import format_utc

FRESHNESS_KIND: Final = "status-freshness"
FRESHNESS_SCHEMA_VERSION: Final = "1.0"
# latest.json is rewritten (one conditional PUT) once its observation is this old,
# even when nothing changed: what is read from latest.json alone stays within it.
LATEST_REFRESH_SECONDS: Final = 3600.0
# How far back a reader looks for freshness records: the refresh interval, plus the
# longest tick (the function's 300 s timeout) with margin.
FRESHNESS_LOOKBACK_SECONDS: Final = LATEST_REFRESH_SECONDS + 900.0


class Confirmation(NamedTuple):
    """One job a tick saw unchanged: the version of latest.json whose content it
    observed again, and when."""

    job_name: str
    latest_version: str
    content_hash: str
    observed_at: str
    latest_observed_at: str


def freshness_record(
    *,
    project_id: str,
    workspace: str | None,
    tick_id: str,
    scheduled_time: datetime,
    written_at: datetime,
    confirmations: Iterable[Confirmation],
) -> dict[str, Any]:
    return {
        "kind": FRESHNESS_KIND,
        "schema_version": FRESHNESS_SCHEMA_VERSION,
        "project_id": project_id,
        "workspace": workspace,
        "tick_id": tick_id,
        "scheduled_time": format_utc(scheduled_time),
        "written_at": format_utc(written_at),
        "jobs": [confirmation._asdict() for confirmation in confirmations],
    }


class Confirmed(NamedTuple):
    """The newest confirmation a reader found for a job."""

    latest_version: str
    observed_at: str


def read_confirmations(body: bytes) -> dict[str, Confirmed] | None:
    """job name -> its confirmation in one record, or None when `body` is not a
    freshness record (entries that are not well formed are skipped)."""
    try:
        record = jsoncodec.loads(body)
    except jsoncodec.JsonDecodeError:
        return None
    if not isinstance(record, dict) or record.get("kind") != FRESHNESS_KIND:
        return None
    jobs = record.get("jobs")
    if not isinstance(jobs, list):
        return None
    found: dict[str, Confirmed] = {}
    for job in jobs:
        if not isinstance(job, dict):
            continue
        name, version, observed_at = (
            job.get("job_name"),
            job.get("latest_version"),
            job.get("observed_at"),
        )
        if not (
            isinstance(name, str) and isinstance(version, str) and isinstance(observed_at, str)
        ):
            continue
        try:
            datetime.fromisoformat(observed_at)
        except ValueError:
            continue
        found[name] = Confirmed(version, observed_at)
    return found


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def read_record(body: bytes) -> list[Confirmation]:
    """Every well-formed confirmation of a freshness record (none for anything else):
    what a new container takes as known of the versions a record confirmed."""
    try:
        record = jsoncodec.loads(body)
    except jsoncodec.JsonDecodeError:
        return []
    if not isinstance(record, dict) or record.get("kind") != FRESHNESS_KIND:
        return []
    jobs = record.get("jobs")
    found: list[Confirmation] = []
    for job in jobs if isinstance(jobs, list) else ():
        if not isinstance(job, dict):
            continue
        values = [job.get(name) for name in Confirmation._fields]
        texts = [value for value in values if isinstance(value, str)]
        if len(texts) != len(values):
            continue
        confirmation = Confirmation(*texts)
        if not _SHA256_HEX.fullmatch(confirmation.content_hash):
            continue
        try:
            datetime.fromisoformat(confirmation.observed_at)
            datetime.fromisoformat(confirmation.latest_observed_at)
        except ValueError:
            continue
        found.append(confirmation)
    return found


def merge_newest(
    into: dict[str, Confirmed], confirmations: Mapping[str, Confirmed]
) -> dict[str, Confirmed]:
    """Keep each job's newest confirmation (observation times are RFC 3339 UTC with
    milliseconds, so they compare as text)."""
    for name, confirmed in confirmations.items():
        known = into.get(name)
        if known is None or known.observed_at < confirmed.observed_at:
            into[name] = confirmed
    return into
