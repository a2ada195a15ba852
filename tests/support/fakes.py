"""Small fakes for the ports, for unit tests (no sockets, no files)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dlf_status.domain import jsoncodec
from dlf_status.domain.model import Headers, JobRef, UpstreamResponse
from dlf_status.domain.ports import (
    MAX_LIST_PAGE,
    ListedObject,
    ObjectListing,
    StoredObject,
    UpstreamCall,
    check_list_limit,
)
from dlf_status.domain.snapshots import is_safe_key, latest_key
from tests.support.transitions import assert_valid_records


@dataclass
class MemoryStore:
    """Conditional writes as S3 does them, metadata kept; every transition record
    written is checked against the published schema, and every body latest.json
    ever held is kept in `replaced` (as a versioned bucket would)."""

    objects: dict[str, bytes] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    replaced: dict[str, list[bytes]] = field(default_factory=dict)
    # replace() calls that lose to an invisible concurrent writer before succeeding
    races_to_lose: int = 0
    racer: Mapping[str, Any] | None = None
    listings: int = 0  # list_objects calls
    reads: list[str] = field(default_factory=list)  # the keys of get calls, in order

    @property
    def location(self) -> str:
        return "memory://"

    def get(self, key: str) -> StoredObject | None:
        self.reads.append(key)
        if key not in self.objects:
            return None
        return StoredObject(self.objects[key], str(self.versions[key]), self.metadata.get(key, {}))

    def create(self, key: str, body: bytes, metadata: Mapping[str, str]) -> bool:
        if key in self.objects:
            return False
        if key.startswith("transitions/"):
            assert_valid_records([jsoncodec.loads(body)])
        self._put(key, body, metadata)
        return True

    def replace(
        self, key: str, body: bytes, metadata: Mapping[str, str], expected_version: str | None
    ) -> str | None:
        if self.races_to_lose:
            self.races_to_lose -= 1
            if self.racer is not None:
                self._put(key, jsoncodec.canonical_bytes(self.racer))
            return None
        current = str(self.versions[key]) if key in self.objects else None
        if current != expected_version:
            return None
        self._put(key, body, metadata)
        return str(self.versions[key])

    def list_objects(
        self, prefix: str, *, start_after: str = "", limit: int = MAX_LIST_PAGE
    ) -> ObjectListing:
        check_list_limit(limit)
        self.listings += 1
        keys = sorted(
            key
            for key in self.objects
            if key.startswith(prefix) and key > start_after and is_safe_key(key)
        )
        page = tuple(
            ListedObject(key, str(self.versions[key]), len(self.objects[key]))
            for key in keys[:limit]
        )
        return ObjectListing(page, page[-1].key if len(keys) > limit else None)

    def _put(self, key: str, body: bytes, metadata: Mapping[str, str] | None = None) -> None:
        self.objects[key] = body
        self.versions[key] = self.versions.get(key, 0) + 1
        self.metadata[key] = dict(metadata or {})
        if key.endswith("/latest.json"):
            self.replaced.setdefault(key, []).append(body)

    def history(self) -> list[str]:
        return sorted(key for key in self.objects if key.startswith("history/"))

    def transitions(self) -> list[dict[str, Any]]:
        """The published transition records, in key order."""
        return [
            jsoncodec.loads(self.objects[key])
            for key in sorted(self.objects)
            if key.startswith("transitions/")
        ]

    def latest_versions(self, job: JobRef) -> list[dict[str, Any]]:
        """Every document latest.json of `job` held, oldest first."""
        return [jsoncodec.loads(body) for body in self.replaced.get(latest_key(job), [])]

    def latest(self, job: JobRef) -> dict[str, Any]:
        loaded: dict[str, Any] = jsoncodec.loads(self.objects[latest_key(job)])
        return loaded


class Killed(BaseException):
    """The process dies here (a Lambda stopped between two PUTs)."""


class FaultyStore(MemoryStore):
    """Fails the next publication of a transition record: a store error, or death."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_publish: list[BaseException] = []
        self.fail_replace: list[BaseException] = []
        self.hide_published_once = False
        self.calls: list[tuple[str, str]] = []

    def get(self, key: str) -> Any:
        self.calls.append(("get", key))
        if key.startswith("transitions/") and self.hide_published_once:
            self.hide_published_once = False
            return None
        return super().get(key)

    def create(self, key: str, body: bytes, metadata: Mapping[str, str]) -> bool:
        self.calls.append(("create", key))
        if key.startswith("transitions/") and self.fail_publish:
            raise self.fail_publish.pop(0)
        return super().create(key, body, metadata)

    def replace(
        self, key: str, body: bytes, metadata: Mapping[str, str], expected_version: str | None
    ) -> str | None:
        self.calls.append(("replace", key))
        if self.fail_replace:
            raise self.fail_replace.pop(0)
        return super().replace(key, body, metadata, expected_version)


@dataclass
class FakeUpstream:
    """Answers each call with the next canned response, or raises what it is given."""

    answers: list[UpstreamResponse | BaseException | Callable[[JobRef], UpstreamResponse]]
    calls: list[JobRef] = field(default_factory=list)
    endpoint: str = "https://dayu-dlf.cn-north-4.myhuaweicloud.com"

    def fetch_status(self, job: JobRef) -> UpstreamCall:
        self.calls.append(job)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        response = answer(job) if callable(answer) else answer
        return UpstreamCall(response, attempts=1, elapsed_seconds=0.01)


def json_answer(status: int, body: Any, **headers: str) -> UpstreamResponse:
    return UpstreamResponse(
        status,
        Headers({"Content-Type": "application/json", **headers}),
        jsoncodec.canonical_bytes(body),
    )


@dataclass
class FakeDataArts:
    """Both calls of one simulated DataArts Studio workspace, in memory: the job list
    (a `SimulatedJobList`, paged however it is told to) and the status call, which
    answers 200 for a job the list holds and DLF.0100 for any other. `status_answers`
    overrides the status call of a job (a response or an error to raise)."""

    listing: Any  # tests.support.job_list_server.SimulatedJobList
    status_answers: dict[str, UpstreamResponse | BaseException] = field(default_factory=dict)
    list_error: BaseException | None = None
    status_calls: list[JobRef] = field(default_factory=list)
    page_calls: list[Any] = field(default_factory=list)
    endpoint: str = "https://dayu-dlf.cn-north-4.myhuaweicloud.com"

    def fetch_status(self, job: JobRef) -> UpstreamCall:
        self.status_calls.append(job)
        answer = self.status_answers.get(job.job_name)
        if isinstance(answer, BaseException):
            raise answer
        if answer is None:
            if job.job_name in self.listing.names:
                answer = json_answer(200, {"name": job.job_name, "status": "NORMAL"})
            else:
                answer = json_answer(
                    400, {"error_code": "DLF.0100", "error_msg": "The job not found"}
                )
        return UpstreamCall(answer, attempts=1, elapsed_seconds=0.01)

    def fetch_job_page(self, query: Any) -> UpstreamCall:
        self.page_calls.append(query)
        if self.list_error is not None:
            raise self.list_error
        response = self.listing.response(query.offset, query.limit)
        return UpstreamCall(response, attempts=1, elapsed_seconds=0.01)
