"""The use case: discover a workspace's real-time jobs from the upstream's job list.

Sequences the port (one page per call), the contract and the pure paging of
`domain/listing.py`; holds no HTTP detail. A discovery either returns every job
that matches or raises: an error on any page fails the whole discovery, so a
partial list is never taken for the workspace's jobs.
"""

from __future__ import annotations

from typing import NamedTuple

from dlf_status.domain.contract import ResponseValidator
from dlf_status.domain.listing import (
    MAX_LISTED_JOBS,
    MAX_PAGE_REQUESTS,
    MAX_WALKS,
    PAGE_LIMIT,
    DiscoverySpec,
    JobPage,
    JobPageQuery,
    ListedJob,
    Listing,
    in_context,
    interpret_page,
    read_job_list,
    select_jobs,
)
from dlf_status.domain.model import JobRef, ValidationMode
from dlf_status.domain.ports import JobPageClient
from dlf_status.domain.redaction import Redactor
from dlf_status.errors import InvalidInput, UpstreamError
from dlf_status.observability import REDACTOR, logger


class DiscoveredJob(NamedTuple):
    """A job to poll, with what the list said about it (its own status, the item)."""

    ref: JobRef
    listed: ListedJob


class Discovery(NamedTuple):
    """What a discovery found. `complete` is False when a listing kept changing
    while it was read (its jobs are then every job any walk saw)."""

    spec: DiscoverySpec
    jobs: tuple[DiscoveredJob, ...]  # sorted by name
    listings: tuple[Listing, ...]  # one per tag, or one
    not_real_time: int
    not_matching: int
    missing_tags: int
    unpollable: tuple[str, ...]  # listed names no status call can take (InvalidInput)

    @property
    def complete(self) -> bool:
        return all(listing.complete for listing in self.listings)

    @property
    def requests(self) -> int:
        return sum(listing.requests for listing in self.listings)

    @property
    def findings(self) -> tuple[str, ...]:
        return tuple(finding for listing in self.listings for finding in listing.findings)


class JobDiscovery:
    """Reads the job list through `client` and keeps the jobs a spec asks for.

    `validator` checks each page against the ListJobs operation
    (`CompiledValidator(packaged_contract(LIST_JOBS))`); `mode` is the deployment's
    validation mode: strict fails a discovery on any contract violation.
    """

    def __init__(
        self,
        client: JobPageClient,
        validator: ResponseValidator,
        *,
        mode: ValidationMode = ValidationMode.LENIENT,
        limit: int = PAGE_LIMIT,
        max_jobs: int = MAX_LISTED_JOBS,
        max_requests: int = MAX_PAGE_REQUESTS,
        max_walks: int = MAX_WALKS,
        redactor: Redactor = REDACTOR,
    ) -> None:
        self._client, self._validator, self._mode = client, validator, mode
        self._redactor = redactor  # the credentials, masked in what the upstream sends
        self._limit, self._max_jobs = limit, max_jobs
        self._max_requests, self._max_walks = max_requests, max_walks

    def discover(self, spec: DiscoverySpec) -> Discovery:
        """Every REAL_TIME job `spec` selects, or raise `UpstreamError` (the failing
        page's, its detail naming the listing and the offset, or IncompleteJobList)."""
        listings = tuple(self._listing(spec, query) for query in spec.queries(0, self._limit))
        selection = select_jobs(spec, listings)
        jobs, unpollable = [], []
        for listed in selection.jobs:
            try:
                jobs.append(
                    DiscoveredJob(
                        JobRef.parse(spec.project_id, listed.name, spec.workspace), listed
                    )
                )
            except InvalidInput:
                unpollable.append(listed.name)
        discovery = Discovery(
            spec,
            tuple(jobs),
            listings,
            selection.not_real_time,
            selection.not_matching,
            selection.missing_tags,
            tuple(unpollable),
        )
        logger.info(
            "jobs discovered",
            extra={
                "project_id": spec.project_id,
                "workspace": spec.workspace,
                "jobs": len(discovery.jobs),
                "requests": discovery.requests,
                "complete": discovery.complete,
                "paging": [str(listing.mode) for listing in listings],
            },
        )
        if discovery.findings or unpollable:
            logger.warning(
                "job list findings",
                extra={
                    "project_id": spec.project_id,
                    "findings": list(discovery.findings),
                    "unpollable": len(unpollable),
                },
            )
        return discovery

    def _listing(self, spec: DiscoverySpec, template: JobPageQuery) -> Listing:
        def fetch(offset: int, limit: int) -> JobPage:
            call = self._client.fetch_job_page(template._replace(offset=offset, limit=limit))
            return interpret_page(
                call.response,
                validator=self._validator,
                mode=self._mode,
                redactor=self._redactor,
            )

        where = f"project {spec.project_id}"
        if spec.workspace is not None:
            where += f", workspace {spec.workspace}"
        if template.tags:
            where += f", tag {template.tags[0]!r}"
        try:
            return read_job_list(
                fetch,
                limit=template.limit,
                max_jobs=self._max_jobs,
                max_requests=self._max_requests,
                max_walks=self._max_walks,
            )
        except UpstreamError as error:
            raise in_context(error, f"discovering the jobs of {where} failed") from error
