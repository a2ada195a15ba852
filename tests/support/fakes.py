"""Small fakes for the ports, for unit tests (no sockets, no files)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dlf_status.domain import jsoncodec
from dlf_status.domain.model import Headers, JobRef, UpstreamResponse
from dlf_status.domain.ports import StoredObject, UpstreamCall
from dlf_status.domain.snapshots import latest_key


@dataclass
class MemoryStore:
    objects: dict[str, bytes] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    # replace() calls that lose to an invisible concurrent writer before succeeding
    races_to_lose: int = 0
    racer: dict[str, Any] | None = None

    @property
    def location(self) -> str:
        return "memory://"

    def get(self, key: str) -> StoredObject | None:
        if key not in self.objects:
            return None
        return StoredObject(self.objects[key], str(self.versions[key]))

    def create(self, key: str, body: bytes, metadata: Mapping[str, str]) -> bool:
        if key in self.objects:
            return False
        self._put(key, body)
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
        self._put(key, body)
        return str(self.versions[key])

    def _put(self, key: str, body: bytes) -> None:
        self.objects[key] = body
        self.versions[key] = self.versions.get(key, 0) + 1

    def history(self) -> list[str]:
        return sorted(key for key in self.objects if key.startswith("history/"))

    def latest(self, job: JobRef) -> dict[str, Any]:
        loaded: dict[str, Any] = jsoncodec.loads(self.objects[latest_key(job)])
        return loaded


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
