"""What a discovery found last time it read its job list whole. Pure.

A job is suspected gone when it was in the last complete listing of a discovery and
is not in this one. "Last complete listing" is kept per discovery spec, as one small
object under dlf-status's own prefix:

    _dlf-status/discovered/project_id=P/workspace=W/<sha256 of the spec, 16 hex>.json
    {"kind": "discovered-jobs", "schema_version": "1.0", "spec": {...},
     "listed_at": "<RFC 3339>", "jobs": ["name", ...]}

Why per spec, and not "every latest.json under the workspace": a spec with tags or a
name pattern selects some of a workspace's jobs, and a job polled by other means (an
explicit entry, another schedule's discovery, the gateway) has a latest.json there
too; the listing says nothing about the tags of a job it does not list, so the store
alone cannot tell "gone" from "not selected". The object names exactly the jobs this
spec selected, and consumers of `latest/`, `history/` and `transitions/` never see it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any, Final, NamedTuple

from dlf_status.domain import jsoncodec
from dlf_status.domain.listing import MAX_LISTED_JOBS, DiscoverySpec
from dlf_status.domain.snapshots import CONTROL_ROOT, workspace_prefix

DISCOVERED_ROOT: Final = f"{CONTROL_ROOT}/discovered"
DISCOVERED_KIND: Final = "discovered-jobs"
DISCOVERED_SCHEMA_VERSION: Final = "1.0"
# Names one object may hold: a listing's bound, plus the suspects kept beside it.
MAX_REMEMBERED: Final = 2 * MAX_LISTED_JOBS


def spec_json(spec: DiscoverySpec) -> dict[str, Any]:
    return {
        "project_id": spec.project_id,
        "workspace": spec.workspace,
        "tags": list(spec.tags),
        "name_pattern": spec.name_pattern,
    }


def discovered_key(spec: DiscoverySpec) -> str:
    """Where the last complete listing of `spec` is kept (one object per spec)."""
    digest = hashlib.sha256(jsoncodec.canonical_bytes(spec_json(spec))).hexdigest()[:16]
    return f"{workspace_prefix(DISCOVERED_ROOT, spec.project_id, spec.workspace)}{digest}.json"


class DiscoveredJobs(NamedTuple):
    """The job names a spec's last complete listing held (and suspects not settled yet)."""

    listed_at: str
    jobs: frozenset[str]


def fits(jobs: frozenset[str]) -> bool:
    """Whether an object of `jobs` can be read back (`decode_discovered` refuses more
    than MAX_REMEMBERED names: one written anyway would be unreadable next tick, and
    every name it held forgotten)."""
    return len(jobs) <= MAX_REMEMBERED


def encode_discovered(spec: DiscoverySpec, listed_at: str, jobs: Iterable[str]) -> bytes:
    return jsoncodec.canonical_bytes(
        {
            "kind": DISCOVERED_KIND,
            "schema_version": DISCOVERED_SCHEMA_VERSION,
            "spec": spec_json(spec),
            "listed_at": listed_at,
            "jobs": sorted(set(jobs)),
        }
    )


def _discovered_document(body: bytes) -> dict[str, Any] | None:
    try:
        document = jsoncodec.loads(body, jsoncodec.STORED)
    except jsoncodec.JsonDecodeError:
        return None
    if not isinstance(document, dict) or document.get("kind") != DISCOVERED_KIND:
        return None
    return document


def newer_schema(body: bytes) -> str | None:
    """The schema version of a discovered-jobs object that a newer release wrote (a
    major version above this one's), else None. Such an object is neither read
    nor written over: its names may mean what this release does not know (during a
    deployment, or a CLI older than the schedule, both releases run), and writing
    over it would lose what the newer release keeps."""
    document = _discovered_document(body)
    if document is None:
        return None
    version = document.get("schema_version")
    if not isinstance(version, str):
        return None  # no release writes that: unreadable, and written anew
    major = version.split(".")[0]
    if not major.isdigit() or len(major) > 6:
        return None
    return version[:20] if int(major) > int(DISCOVERED_SCHEMA_VERSION.split(".")[0]) else None


def _readable_version(version: object) -> bool:
    """This release's major version, any minor (a minor version only adds)."""
    if not isinstance(version, str):
        return False
    major, _, minor = version.partition(".")
    return major == DISCOVERED_SCHEMA_VERSION.split(".")[0] and minor.isdigit()


def decode_discovered(spec: DiscoverySpec, body: bytes) -> DiscoveredJobs | None:
    """The names the object holds, or None when it is not one this spec wrote (not
    JSON, another kind, schema version or spec, names that are not text, too many)."""
    document = _discovered_document(body)
    if document is None or not _readable_version(document.get("schema_version")):
        return None
    jobs, listed_at = document.get("jobs"), document.get("listed_at")
    if document.get("spec") != spec_json(spec) or not isinstance(listed_at, str):
        return None
    if not isinstance(jobs, list) or len(jobs) > MAX_REMEMBERED:
        return None
    if not all(isinstance(name, str) for name in jobs):
        return None
    return DiscoveredJobs(listed_at, frozenset(jobs))


def merge_discovered(
    base: frozenset[str], ours: DiscoveredJobs, theirs: DiscoveredJobs
) -> DiscoveredJobs:
    """What to keep when another tick saved `theirs` since this one read `base` and
    made `ours` from it (two ticks that overlap: a slow one, a retry, a CLI run).

    A three-way merge, so that neither forgets a name only the other knew: a job one
    tick listed and polled and the other never saw stays, to be checked (and reported
    gone) by a later tick that misses it. A name both keep stays; one either adds
    (not in `base`) stays; one of `base` that only one of them dropped (settled: gone,
    or out of the discovery) follows the later listing. `base` is empty when this tick
    could not read the last listing: then every name of either stays.
    """
    later = ours if ours.listed_at >= theirs.listed_at else theirs
    both = ours.jobs & theirs.jobs
    added = (ours.jobs | theirs.jobs) - base
    disputed = (ours.jobs ^ theirs.jobs) & base
    return DiscoveredJobs(later.listed_at, both | added | (disputed & later.jobs))
