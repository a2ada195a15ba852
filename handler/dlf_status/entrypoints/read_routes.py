"""The read routes: the fleet, a job's history and its transitions, from the store only.

    GET /v1/{project_id}/jobs                             ?status= &fail_on= &limit= &cursor=
    GET /v1/{project_id}/jobs/{job_name}/history          ?from= &to= &limit= &cursor=
    GET /v1/{project_id}/jobs/{job_name}/transitions      ?since= &limit= &cursor=

Names, ids and the `workspace` header follow the status route's rules; query values
are parsed by `domain/readmodels.py` (the CLI uses the same parsers). A query
parameter a route does not know is refused: a misspelt `fail-on` would otherwise be
ignored, and an uptime check built on it would never fail.

A fleet with a job in a `fail_on` status answers 503 with the same document, so that
an uptime checker or a load balancer can watch one URL.

**Entity tags** are a digest of the answer without what only the clock changes: the
page's `generated_at`, each fleet row's `age_seconds`, and history's `to` when the
query leaves it to "now". The rest is the query (which every document echoes) and
what the listed objects hold, so the tag changes when, and only when, a caller would
see something new: an object added, replaced or gone, a status, a row turning
stale (which a digest of listed keys and versions alone would miss), the summary.
Each member of the document is serialised once, for the body and the digest alike.

**Inside the invocation's time** (the HTTP function passes its remaining time; `serve`
none): an answer cut short of time (a fleet row not read, a page ending early) is
`Cache-Control: no-cache`, never `max-age`: a cache asks again before each use, and
its entity tag differs from the whole answer's, so the next whole answer is sent in
full. With no time for the first listing, the answer is the `store-too-slow` problem.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any, Final

from dlf_status.domain import jsoncodec
from dlf_status.domain.model import JobRef, validate_project_id, validate_workspace
from dlf_status.domain.ports import RemainingSeconds
from dlf_status.domain.readmodels import (
    FLEET_PAGE,
    HISTORY_PAGE,
    TRANSITIONS_PAGE,
    parse_fail_on,
    parse_limit,
    parse_statuses,
    parse_time,
)
from dlf_status.entrypoints import conditional
from dlf_status.entrypoints.events import HttpRequest, Route, RouteMatch
from dlf_status.entrypoints.http_api import JSON_CONTENT_TYPE, VARY, Answer
from dlf_status.errors import InvalidInput
from dlf_status.readers import ReadTime, StoreReader

QUERY_PARAMETERS: Final[Mapping[Route, tuple[str, ...]]] = {
    Route.FLEET: ("status", "fail_on", "limit", "cursor"),
    Route.HISTORY: ("from", "to", "limit", "cursor"),
    Route.TRANSITIONS: ("since", "limit", "cursor"),
}
FAILING_STATUS: Final = 503


class ReadRoutes:
    """The read routes over one store reader (and its cache, shared by every request
    of the process)."""

    def __init__(self, reader: StoreReader, stale_after: float) -> None:
        self.reader = reader
        self.stale_after = stale_after
        self._cache_control = conditional.store_read_cache_control(stale_after)

    def answer(
        self,
        match: RouteMatch,
        request: HttpRequest,
        remaining_seconds: RemainingSeconds | None = None,
    ) -> Answer:
        """The route's answer; `remaining_seconds`: the invocation's time left, within
        which every store call ends (None: no bound)."""
        parameters = match.parameters
        workspace = request.header("workspace")
        query = request.query
        _refuse_unknown(query, QUERY_PARAMETERS[match.route])
        _refuse_empty(query, ("limit", "from", "to", "since"))
        time = self.reader.read_time(remaining_seconds)
        if match.route is Route.FLEET:
            return self._fleet(parameters["project_id"], workspace, query, time)
        job = JobRef.parse(parameters["project_id"], parameters["job_name"], workspace)
        if match.route is Route.HISTORY:
            return self._history(job, query, time)
        return self._transitions(job, query, time)

    def _fleet(
        self, project_id: str, workspace: str | None, query: Mapping[str, str], time: ReadTime
    ) -> Answer:
        project_id = validate_project_id(project_id)
        workspace = validate_workspace(workspace)
        document = self.reader.fleet(
            project_id,
            workspace,
            statuses=parse_statuses(query.get("status")),
            fail_on=parse_fail_on(query.get("fail_on")),
            limit=parse_limit(query.get("limit"), FLEET_PAGE),
            cursor=query.get("cursor"),
            stale_after=self.stale_after,
            time=time,
        )
        rows_without_age = [
            {key: value for key, value in row.items() if key != "age_seconds"}
            for row in document["jobs"]
        ]
        return self._answer(
            FAILING_STATUS if document["failing"] else 200,
            document,
            time,
            volatile=("generated_at", "jobs"),
            stable_extra=jsoncodec.canonical_bytes(rows_without_age),
        )

    def _history(self, job: JobRef, query: Mapping[str, str], time: ReadTime) -> Answer:
        end = parse_time(query.get("to"), "to")
        document = self.reader.history(
            job,
            start=parse_time(query.get("from"), "from"),
            end=end,
            limit=parse_limit(query.get("limit"), HISTORY_PAGE),
            cursor=query.get("cursor"),
            time=time,
        )
        # Without `to`, the page ends "now": `to` is the clock's, not the content's.
        volatile = ("generated_at",) if end is not None else ("generated_at", "to")
        return self._answer(200, document, time, volatile=volatile)

    def _transitions(self, job: JobRef, query: Mapping[str, str], time: ReadTime) -> Answer:
        document = self.reader.transitions(
            job,
            since=parse_time(query.get("since"), "since"),
            limit=parse_limit(query.get("limit"), TRANSITIONS_PAGE),
            cursor=query.get("cursor"),
            time=time,
        )
        return self._answer(200, document, time, volatile=("generated_at",))

    def _answer(
        self,
        status: int,
        document: Mapping[str, Any],
        time: ReadTime,
        *,
        volatile: Iterable[str],
        stable_extra: bytes = b"",
    ) -> Answer:
        body, digest = encode_with_digest(document, frozenset(volatile), stable_extra)
        etag = conditional.weak_etag(digest)
        headers = {
            "Content-Type": JSON_CONTENT_TYPE,
            # Cut short of time: kept only to be revalidated, never reused as whole.
            "Cache-Control": conditional.REVALIDATE if time.cut else self._cache_control,
            "Vary": VARY,
            "ETag": etag,
        }
        return Answer(status, body, headers, etag)


def encode_with_digest(
    document: Mapping[str, Any], volatile: frozenset[str], stable_extra: bytes = b""
) -> tuple[bytes, str]:
    """The document's canonical bytes, and 32 hex digits of the sha256 of its members
    other than `volatile` (then `stable_extra`), from one serialisation of each member."""
    members, _ = jsoncodec.canonical_members(document)
    digest = hashlib.sha256()
    for key, member in members:
        if key not in volatile:
            digest.update(member)
            digest.update(b"\n")  # a member's bytes never hold a raw line break
    digest.update(stable_extra)
    return b"{" + b",".join(member for _, member in members) + b"}", digest.hexdigest()[:32]


def _refuse_unknown(query: Mapping[str, str], known: tuple[str, ...]) -> None:
    unknown = sorted(name for name in query if name not in known)
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:3])
        raise InvalidInput(
            f"unknown query parameter {shown}: this route takes {', '.join(known)}",
            field="query",
        )


def _refuse_empty(query: Mapping[str, str], names: tuple[str, ...]) -> None:
    """`?limit=` is a number left out, not the default: refused, as the API's own
    contract says (an empty status, fail_on or cursor is documented as none)."""
    for name in names:
        if query.get(name) == "":
            raise InvalidInput(f"{name} is empty: leave it out for the default", field=name)
