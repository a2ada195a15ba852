"""The job list (ListJobs, `GET /v1/{project_id}/jobs`) as the core reads it: one
page's answer, then the whole list, whatever `offset` means upstream.

Pure: pages are fetched by a callable the caller passes in; nothing here does I/O.

Why the paging is careful (README, "Discovery"): every document generation calls
`offset` a page ("start page", "number of pages", "page number") while the one real
client (Terraform) advances it by the number of jobs received; whether pages count
from 0 or 1 is not said; `limit` is 1-100 in some generations and 1-1,000 in others;
`total` may count the page or the list. So the walk finds out what `offset` does
from the answers (a probe at offset 1), takes the page size the service honours
from the first page, reads each walk to an empty page (a short page may be in the
middle), never lets `total` steer, and reads the list until two walks in a row
agree: a job created or deleted between two calls shifts the pages under any
reading.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any, Final, NamedTuple

from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import ResponseValidator, ValidationReport, Violation
from dlf_status.domain.interpret import classify_error, error_info, parse_object
from dlf_status.domain.model import (
    UpstreamResponse,
    ValidationMode,
    validate_project_id,
    validate_workspace,
)
from dlf_status.domain.normalize import Source
from dlf_status.domain.redaction import NO_SECRETS, Redactor
from dlf_status.errors import (
    ContractViolation,
    IncompleteJobList,
    InvalidInput,
    JobNotFound,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamErrorInfo,
    UpstreamRejected,
)

REAL_TIME: Final = "REAL_TIME"
# Sent as `limit`: inside every documented range (1-100 and 1-1,000) and what the
# one real client sends. A 400 to the first page is retried once with the default
# every generation documents.
PAGE_LIMIT: Final = 100
FALLBACK_LIMIT: Final = 10
# Bounds on one listing: a list with more jobs fails (the job-list file's own bound
# is about 10,000 jobs); a walk stops after this many requests (25,000 jobs at 100
# per page, 2,500 if the service pages by 10); the list is read at most this often.
MAX_LISTED_JOBS: Final = 10_000
MAX_PAGE_REQUESTS: Final = 250
MAX_WALKS: Final = 3
# What a listing keeps of the contract violations its pages had.
MAX_REPORTED_VIOLATIONS: Final = 50
# A discovery's filters. Each tag costs one listing (see `DiscoverySpec`).
MAX_TAGS: Final = 10
MAX_TAG_LENGTH: Final = 128
MAX_PATTERN_LENGTH: Final = 256
_TAG_SEPARATOR: Final = ","


# -- one page ----------------------------------------------------------------------


class JobPageQuery(NamedTuple):
    """One request for a page of the job list: what the upstream client sends."""

    project_id: str
    workspace: str | None = None
    offset: int = 0
    limit: int = PAGE_LIMIT
    job_type: str = REAL_TIME
    job_name: str | None = None  # a substring filter upstream, never an exact match
    tags: tuple[str, ...] = ()  # sent comma-separated


class ListedJob(NamedTuple):
    """A job as the list shows it, with the item kept as sent."""

    name: str
    status: str | None
    job_type: str | None
    raw: Mapping[str, Any]

    @property
    def is_real_time(self) -> bool:
        """REAL_TIME, or no type at all: the request asked for real-time jobs, and an
        entry that does not say otherwise is taken at that word (its missing jobType
        is a violation of its own)."""
        return self.job_type is None or self.job_type.upper() == REAL_TIME


class JobPage(NamedTuple):
    """What one page says: its readable jobs, the identity of every item (the name,
    or the item's JSON when it has no name), `total` when it is an integer >= 0,
    and the contract report."""

    jobs: tuple[ListedJob, ...]
    identities: tuple[str, ...]
    total: int | None
    report: ValidationReport

    @property
    def size(self) -> int:
        return len(self.identities)


def _answer_info(response: UpstreamResponse, redactor: Redactor) -> UpstreamErrorInfo:
    """The answer's status and request id, cleaned as the error reader cleans them."""
    return error_info(UpstreamResponse(response.status, response.headers), redactor)


def list_error(response: UpstreamResponse, redactor: Redactor = NO_SECRETS) -> UpstreamError:
    """The error a non-200 page means: the status call's classification, except that
    no answer to a list means "this job does not exist"."""
    error = classify_error(response, Source(None, None), redactor)
    if isinstance(error, UpstreamRejected | JobNotFound):
        info = error.info
        said = ": ".join(part for part in (info.error_code, info.error_msg) if part)
        return UpstreamRejected(
            f"DataArts Studio refused the job list (HTTP {response.status})"
            + (f" ({said})" if said else ""),
            info,
        )
    return error


def _identity(item: Any) -> tuple[str, ListedJob | None]:
    if isinstance(item, dict):
        name = item.get("name")
        if isinstance(name, str) and name:
            status, job_type = item.get("status"), item.get("jobType")
            job = ListedJob(
                name=name,
                status=status if isinstance(status, str) else None,
                job_type=job_type if isinstance(job_type, str) else None,
                raw=item,
            )
            return name, job
    # No name to know it by: its JSON stands for it (a NUL starts no job name).
    return "\0" + jsoncodec.canonical_bytes(item).decode("utf-8", "replace"), None


def interpret_page(
    response: UpstreamResponse,
    *,
    validator: ResponseValidator,
    mode: ValidationMode,
    redactor: Redactor = NO_SECRETS,
) -> JobPage:
    """The jobs of one page, or raise the `UpstreamError` the answer means.

    Lenient mode records violations and keeps every job it can name; a page without
    a list of jobs is refused in both modes, because it cannot be counted.
    """
    if response.status != 200:
        raise list_error(response, redactor)
    body = parse_object(response, redactor, "job list page")
    report = validator.validate(response, body)
    if mode is ValidationMode.STRICT and report.violations:
        first, more = report.violations[0], len(report.violations) - 1
        raise ContractViolation(
            f"DataArts Studio's job list page breaks the contract at {first.path}: "
            f"{first.message}" + (f" (and {more} more)" if more else ""),
            tuple((violation.path, violation.message) for violation in report.violations),
        )
    items = body.get("jobs")
    if not isinstance(items, list):
        shown = "no jobs" if items is None else f"jobs as {jsoncodec.json_type(items)}"
        raise UpstreamBadResponse(
            f"DataArts Studio's job list page has {shown}, not a list: it cannot be counted",
            _answer_info(response, redactor),
        )
    if not items:
        # An empty page ends the list: an answer that also says it failed is no such
        # proof (a deep page timing out, throttling told in the body), and a list cut
        # there would make every job after it a suspect of gone.
        info = error_info(response, redactor)
        if info.error_code or info.error_msg:
            said = ": ".join(part for part in (info.error_code, info.error_msg) if part)
            raise UpstreamBadResponse(
                f"DataArts Studio's job list page answered no job and an error ({said}): "
                "it cannot end the list",
                info,
            )
    identities, jobs = [], []
    for item in items:
        identity, job = _identity(item)
        identities.append(identity)
        if job is not None:
            jobs.append(job)
    total = body.get("total")
    readable_total = total if isinstance(total, int) and not isinstance(total, bool) else None
    return JobPage(
        jobs=tuple(jobs),
        identities=tuple(identities),
        total=readable_total if readable_total is not None and readable_total >= 0 else None,
        report=report,
    )


# -- the whole list ----------------------------------------------------------------


class PagingMode(enum.StrEnum):
    """What `offset` turned out to mean, as far as the answers showed."""

    EMPTY = "empty"  # no job at all
    ONE_PAGE = "one-page"  # offset 1 answered nothing: every job came at offset 0
    RECORDS = "records"  # offset 1 is the first page shifted by one job
    PAGES_FROM_0 = "pages-from-0"  # offset 1 is the next page
    PAGES_FROM_1 = "pages-from-1"  # offset 1 is the first page (0 repeats it, or is empty)
    UNPAGED = "unpaged"  # offsets 0, 1 and 2 all answer the same jobs


# (offset, limit) -> the page, or raise UpstreamError
PageFetch = Callable[[int, int], JobPage]


class Listing(NamedTuple):
    """The jobs of one list (one query), each once, in the order first seen.

    `complete` is True when two walks through it in a row agreed; otherwise (it kept
    changing) `jobs` holds every job any walk saw and `findings` says so. `total` is
    the first page's, a hint only.
    """

    jobs: tuple[ListedJob, ...]
    complete: bool
    mode: PagingMode
    page_size: int
    limit: int
    requests: int
    walks: int
    total: int | None
    findings: tuple[str, ...]
    violations: tuple[Violation, ...]
    violation_count: int
    unknown_fields: tuple[str, ...]


class _Walk(NamedTuple):
    """One pass through the list, first page to last."""

    identities: frozenset[str]  # every item seen
    jobs: dict[str, ListedJob]  # the readable ones, in the order first seen
    mode: PagingMode
    page_size: int
    changed: str | None  # why this walk cannot be trusted, if it cannot
    repeated_in_page: bool  # one answer listed the same job twice
    total: int | None
    reports: tuple[ValidationReport, ...]


def in_context(error: UpstreamError, context: str) -> UpstreamError:
    """The same error (same class, same upstream words), its detail prefixed."""
    located = type(error).__new__(type(error))
    located.__dict__.update(error.__dict__)
    located.detail = f"{context}: {error.detail}"
    located.args = (located.detail,)
    return located


def _probe_mode(first: Sequence[str], second: Sequence[str]) -> tuple[PagingMode, bool]:
    """What offset 1 says about `offset`, beside offset 0 (both answered jobs), and
    whether that was a guess (the list changed between the two answers).

    Exact: offset 1 repeats offset 0 (pages from 1), is offset 0 shifted by one
    job (records), or shares no job with it (pages from 0). Otherwise the jobs both
    share tell: where they moved from one answer to the other, in the median, is
    about one place back for records, no place or later for pages from 1 (jobs
    created in front push them on), and most of a page back for pages from 0.
    """
    if second == first:
        return PagingMode.PAGES_FROM_1, False
    if len(first) > 1 and second[: len(first) - 1] == first[1:]:
        return PagingMode.RECORDS, False
    where = {identity: index for index, identity in enumerate(first)}
    moves = sorted(
        index - where[identity] for index, identity in enumerate(second) if identity in where
    )
    if not moves:
        return PagingMode.PAGES_FROM_0, False
    median = moves[len(moves) // 2]
    if median >= 0:
        return PagingMode.PAGES_FROM_1, True
    if median > -len(first) / 2:
        return PagingMode.RECORDS, True
    return PagingMode.PAGES_FROM_0, True


class _Walker:
    """Walks the list once per `walk()`, within the bounds; counts every request."""

    def __init__(self, fetch: PageFetch, limit: int, max_jobs: int, max_requests: int) -> None:
        self._fetch, self.limit = fetch, limit
        self._max_jobs, self._max_requests = max_jobs, max_requests
        self.requests = 0

    def walk(self) -> _Walk:
        return _OneWalk(self).run()

    def fetch(self, offset: int, walk_requests: int) -> JobPage:
        if walk_requests >= self._max_requests:
            raise IncompleteJobList(
                f"the job list needs more than {self._max_requests} requests at "
                f"{self.limit} jobs per page: not read"
            )
        self.requests += 1
        try:
            return self._fetch(offset, self.limit)
        except UpstreamError as error:
            raise in_context(error, f"the job list failed at offset {offset}") from error

    def check_size(self, jobs: int) -> None:
        if jobs > self._max_jobs:
            raise IncompleteJobList(f"the job list holds more than {self._max_jobs} jobs: not read")


class _OneWalk:
    """The state of one walk: what was seen, and how many requests it took."""

    def __init__(self, walker: _Walker) -> None:
        self._walker = walker
        self._requests = 0
        self._seen: set[str] = set()
        self._jobs: dict[str, ListedJob] = {}
        self._reports: list[ValidationReport] = []
        self._changed: str | None = None
        self._repeated_in_page = False

    def _fetch(self, offset: int) -> JobPage:
        page = self._walker.fetch(offset, self._requests)
        self._requests += 1
        self._reports.append(page.report)
        return page

    def _take(self, page: JobPage) -> tuple[int, int]:
        """Keep the page's jobs: (items not seen before, distinct items on the page)."""
        distinct = set(page.identities)
        self._repeated_in_page |= len(distinct) < page.size
        new = distinct - self._seen
        self._seen |= new
        for job in page.jobs:
            self._jobs.setdefault(job.name, job)
        self._walker.check_size(len(self._jobs))
        return len(new), len(distinct)

    def _done(self, mode: PagingMode, size: int, total: int | None) -> _Walk:
        return _Walk(
            frozenset(self._seen),
            self._jobs,
            mode,
            size,
            self._changed,
            self._repeated_in_page,
            total,
            tuple(self._reports),
        )

    def run(self) -> _Walk:
        first = self._fetch(0)
        second = self._fetch(1)
        self._take(first)
        self._take(second)
        if not first.size:
            if not second.size:
                return self._done(PagingMode.EMPTY, 0, first.total)
            # Offset 0 said nothing and offset 1 is the first page: pages count from 1.
            mode, size, offset = PagingMode.PAGES_FROM_1, second.size, 2
        elif not second.size:
            return self._done(PagingMode.ONE_PAGE, first.size, first.total)
        else:
            mode, guessed = _probe_mode(first.identities, second.identities)
            size = first.size
            if guessed:
                self._changed = f"offset 1 was not what offset 0 implied (read as {mode})"
            offset = 1 + second.size if mode is PagingMode.RECORDS else 2
        # Only an empty page ends the list. A short one does not: a service may page
        # its rows and then leave some out of the answer (a job the caller may not
        # see), or shrink its page size while it is read, and the jobs after it are
        # still there. The price is one request per walk when the last page is short.
        # A page of jobs already listed ends it too when `total` counts no more jobs
        # than were seen: a service that answers an offset past the end with its last
        # page has no empty page. (A service that leaves rows out of its pages answers
        # such a page too, with jobs still to come and counted: the walk then says the
        # list changed.)
        while True:
            page = self._fetch(offset)
            if not page.size:
                break
            if mode is PagingMode.PAGES_FROM_1 and page.identities == first.identities:
                return self._unpaged(first)
            new, distinct = self._take(page)
            if not new:
                past_the_end = 0 < (page.total or 0) <= len(self._seen)
                if not past_the_end:
                    self._changed = f"offset {offset} answered only jobs already listed"
                break
            if new < distinct:
                self._changed = "a job appeared on two pages"
            offset += page.size if mode is PagingMode.RECORDS else 1
        return self._done(mode, size, first.total)

    def _unpaged(self, page: JobPage) -> _Walk:
        """Offsets 0, 1 and 2 answered the same jobs: the service does not page. Its
        one answer is the list only if it is not a full page of what was asked (a
        service that ignores `limit` too sends everything) and `total` does not say
        there is more."""
        if page.size == self._walker.limit or (page.total or 0) > page.size:
            raise IncompleteJobList(
                f"DataArts Studio's job list does not page (offsets 0, 1 and 2 answered the "
                f"same {page.size} jobs) and there may be more: not read"
            )
        return self._done(PagingMode.UNPAGED, page.size, page.total)


def read_job_list(
    fetch: PageFetch,
    *,
    limit: int = PAGE_LIMIT,
    max_jobs: int = MAX_LISTED_JOBS,
    max_requests: int = MAX_PAGE_REQUESTS,
    max_walks: int = MAX_WALKS,
) -> Listing:
    """Every job of the list `fetch` pages through, each once.

    Reads the list until two walks in a row agree (at least two, at most
    `max_walks`). Raises the page's `UpstreamError` (its detail says at which
    offset) when any answer is an error, and `IncompleteJobList` past a bound: no
    partial list is ever returned as a whole one. A list that keeps changing is
    returned as the union of what the walks saw, with `complete` False.
    """
    if max_walks < 2:
        raise ValueError("a job list is read at least twice")
    findings: list[str] = []
    walker = _Walker(fetch, limit, max_jobs, max_requests)
    try:
        walks = [walker.walk()]
    except UpstreamRejected as refused:
        # A refusal of the very first request may be the limit's (no source shows
        # what the service does beyond its range): try once with the default.
        if walker.requests != 1 or limit <= FALLBACK_LIMIT or refused.info.http_status != 400:
            raise
        walker = _Walker(fetch, FALLBACK_LIMIT, max_jobs, max_requests)
        walker.requests = 1
        walks = [walker.walk()]
        findings.append(f"limit={limit} was refused, read with limit={FALLBACK_LIMIT}")
    accepted = None
    while accepted is None and len(walks) < max_walks:
        walks.append(walker.walk())
        accepted = _accepted(walks)
    for number, walk in enumerate(walks, start=1):
        if walk.changed:
            findings.append(f"the list changed during walk {number}: {walk.changed}")
        elif number > 1 and walks[number - 2].identities != walk.identities:
            findings.append(
                f"walk {number} disagreed with walk {number - 1}: "
                "the list changed while it was read"
            )
    if any(walk.repeated_in_page for walk in walks):
        findings.append("a page listed the same job twice")
    jobs = dict((accepted or walks[-1]).jobs)
    if accepted is None:
        findings.append(f"the list kept changing over {len(walks)} walks: every job seen is kept")
        for walk in walks:
            for name, job in walk.jobs.items():
                jobs.setdefault(name, job)
    chosen = accepted or walks[-1]
    if chosen.total is not None and chosen.total not in (len(jobs), chosen.page_size):
        findings.append(f"total says {chosen.total}, the list holds {len(jobs)}")
    violations = dict.fromkeys(
        violation for walk in walks for report in walk.reports for violation in report.violations
    )
    return Listing(
        jobs=tuple(jobs.values()),
        complete=accepted is not None,
        mode=chosen.mode,
        page_size=chosen.page_size,
        limit=walker.limit,
        requests=walker.requests,
        walks=len(walks),
        total=chosen.total,
        findings=tuple(findings),
        violations=tuple(violations)[:MAX_REPORTED_VIOLATIONS],
        violation_count=len(violations),
        unknown_fields=tuple(
            sorted(
                {
                    field
                    for walk in walks
                    for report in walk.reports
                    for field in report.unknown_fields
                }
            )
        ),
    )


def _accepted(walks: Sequence[_Walk]) -> _Walk | None:
    """The walk to believe: one that agrees with the walk before it, neither having
    seen the list change.

    Why two, even for one page: a job is skipped only when a job already read is
    deleted before a later request (the rest shift back under any reading of
    `offset`; a created job shows as a repeat instead). The deleted job is in the
    earlier walk's jobs and in no later walk's, so two walks that agree skipped
    nothing that stayed in the list from the start of the first to the end of the
    second.
    """
    if len(walks) < 2:
        return None
    previous, last = walks[-2], walks[-1]
    if previous.changed or last.changed or previous.identities != last.identities:
        return None
    return last


# -- discovery filters --------------------------------------------------------------


def _printable(value: str, what: str) -> None:
    if not value.isprintable():
        raise InvalidInput(f"{what} contains a character that is not printable", field=what)


class DiscoverySpec(NamedTuple):
    """Which real-time jobs a discovery takes: those of a project's workspace that
    carry every tag given and whose whole name matches `name_pattern`.

    Tags are read one listing per tag and intersected: the sources document a
    comma-separated `tags` filter without saying whether a job needs all of them
    or any, and the list's answer carries no tags to check, so each tag is asked
    alone, where the two readings agree.
    """

    project_id: str
    workspace: str | None = None
    tags: tuple[str, ...] = ()
    name_pattern: str | None = None

    @classmethod
    def parse(
        cls,
        project_id: object,
        workspace: object = None,
        tags: object = None,
        name_pattern: object = None,
    ) -> DiscoverySpec:
        return cls(
            project_id=validate_project_id(project_id),
            workspace=validate_workspace(workspace),
            tags=_parse_tags(tags),
            name_pattern=_parse_pattern(name_pattern),
        )

    def matches_name(self, name: str) -> bool:
        """fnmatch on the whole name, case-sensitive (`*`, `?`, `[seq]`, `[!seq]`)."""
        return self.name_pattern is None or fnmatchcase(name, self.name_pattern)

    def queries(self, offset: int, limit: int) -> tuple[JobPageQuery, ...]:
        """The page requests at `offset`: one per tag, or one without tags."""
        base = JobPageQuery(self.project_id, self.workspace, offset, limit)
        return tuple(base._replace(tags=(tag,)) for tag in self.tags) or (base,)


def _parse_tags(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise InvalidInput("tags must be a list of strings", field="tags")
    tags: dict[str, None] = {}
    for tag in value:
        if not isinstance(tag, str) or not tag or tag != tag.strip():
            raise InvalidInput(
                "each tag must be a non-empty string without surrounding white space",
                field="tags",
            )
        if len(tag) > MAX_TAG_LENGTH:
            raise InvalidInput(f"a tag is longer than {MAX_TAG_LENGTH} characters", field="tags")
        if _TAG_SEPARATOR in tag:
            raise InvalidInput(
                "a tag cannot contain ',': the upstream separates tags with commas", field="tags"
            )
        _printable(tag, "tags")
        tags[tag] = None
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"at most {MAX_TAGS} tags (one listing each)", field="tags")
    return tuple(sorted(tags))


def _parse_pattern(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidInput("name_pattern must be a non-empty string", field="name_pattern")
    if len(value) > MAX_PATTERN_LENGTH:
        raise InvalidInput(
            f"name_pattern is longer than {MAX_PATTERN_LENGTH} characters", field="name_pattern"
        )
    _printable(value, "name_pattern")
    return value


class Selection(NamedTuple):
    """The jobs a discovery takes from its listings, and what it left out."""

    jobs: tuple[ListedJob, ...]  # sorted by name
    not_real_time: int
    not_matching: int  # by name pattern
    missing_tags: int  # listed under some of the tags, not all


def select_jobs(spec: DiscoverySpec, listings: Sequence[Listing]) -> Selection:
    """REAL_TIME jobs in every listing (one per tag), matching the name pattern, once."""
    if not listings:
        return Selection((), 0, 0, 0)
    everywhere = set.intersection(*({job.name for job in listing.jobs} for listing in listings))
    candidates: dict[str, ListedJob] = {}
    for listing in listings:
        for job in listing.jobs:
            candidates.setdefault(job.name, job)
    kept, not_real_time, not_matching = [], 0, 0
    for name in sorted(everywhere):
        job = candidates[name]
        if not job.is_real_time:
            not_real_time += 1
        elif not spec.matches_name(name):
            not_matching += 1
        else:
            kept.append(job)
    return Selection(tuple(kept), not_real_time, not_matching, len(candidates) - len(everywhere))
