"""Integration fixtures: real servers on loopback.

* upstream: pytest-httpserver serving recorded exchanges;
* store: SeaweedFS (`weed mini`, one per session) through the S3 adapter, and the
  local directory store; tests that take `store` run against both.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from contract_tests.support import FIXTURES, load_exchange
from dlf_status import bootstrap
from dlf_status.adapters.signing import AkSkAuthenticator
from dlf_status.adapters.store_local import LocalDirectoryStore
from dlf_status.adapters.store_s3 import S3Store
from dlf_status.adapters.upstream_http import HttpUpstreamClient
from dlf_status.bootstrap import build_reference_validator
from dlf_status.config import Credentials, UpstreamSettings
from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import ResponseValidator
from dlf_status.domain.model import JobRef, ValidationMode
from dlf_status.domain.ports import ObjectStore
from dlf_status.service import StatusService
from tests.support.root import root_settings
from tests.support.seaweed import SeaweedServer
from tests.support.transitions import assert_valid_records

pytestmark = pytest.mark.integration

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
CREDENTIALS = Credentials(ak="INTEGRATIONAK", sk="integration-sk-not-a-secret")


def status_path(job_name: str, project: str = PROJECT) -> str:
    """The path as sent on the wire (each value one percent-encoded segment)."""
    from urllib.parse import quote

    return f"/v1/{project}/jobs/{quote(job_name, safe='')}/status"


def match_path(job_name: str, project: str = PROJECT) -> str:
    """The path as pytest-httpserver matches it: werkzeug decodes it first."""
    return f"/v1/{project}/jobs/{job_name}/status"


def exchange_response(name: str) -> Response:
    """A werkzeug response replaying a recorded fixture (valid/ or invalid/)."""
    path = FIXTURES / "valid" / f"{name}.json"
    if not path.exists():
        path = FIXTURES / "invalid" / f"{name}.json"
    exchange = load_exchange(path)
    return Response(exchange.body, status=exchange.status, headers=dict(exchange.headers))


@dataclass
class Recorder:
    """Counts the client's sleeps instead of sleeping them."""

    sleeps: list[float]

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def upstream(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    yield httpserver
    httpserver.check()


@pytest.fixture
def settings_for(upstream: HTTPServer) -> Callable[..., UpstreamSettings]:
    def make(**overrides: Any) -> UpstreamSettings:
        values: dict[str, Any] = {
            "endpoint": upstream.url_for("").rstrip("/"),
            "connect_timeout": 1.0,
            "read_timeout": 2.0,
            "deadline": 5.0,
            "max_attempts": 3,
            "retry_after_cap": 1.0,
            "max_response_bytes": 1 << 20,
        }
        values.update(overrides)
        return UpstreamSettings(**values)

    return make


@pytest.fixture
def sleeps() -> Recorder:
    return Recorder([])


@pytest.fixture
def make_client(
    settings_for: Callable[..., UpstreamSettings], sleeps: Recorder
) -> Callable[..., HttpUpstreamClient]:
    def make(**overrides: Any) -> HttpUpstreamClient:
        return HttpUpstreamClient(
            settings_for(**overrides), AkSkAuthenticator(CREDENTIALS), sleep=sleeps
        )

    return make


def check_transition_records(store: ObjectStore) -> None:
    """Every transition record in the store follows the published schema."""
    records = []
    for key in stored_keys(store):
        stored = store.get(key) if key.startswith("transitions/") else None
        if stored is not None:
            records.append(jsoncodec.loads(stored.body))
    assert_valid_records(records)


@pytest.fixture
def s3_store(seaweed: SeaweedServer) -> Iterator[S3Store]:
    """A fresh prefix in the shared bucket: tests never see each other's objects."""
    store = S3Store(seaweed.client(), seaweed.bucket, f"test-{uuid.uuid4().hex[:12]}")
    yield store
    check_transition_records(store)


@pytest.fixture(params=["s3", "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "local":
        local = LocalDirectoryStore(tmp_path / "snapshots")
        yield local
        check_transition_records(local)
        return
    store: ObjectStore = request.getfixturevalue("s3_store")
    yield store


@pytest.fixture(scope="session")
def validator() -> ResponseValidator:
    return build_reference_validator()


@dataclass
class TickingClock:
    """A clock that moves one second per reading: every observation is newer."""

    moment: datetime = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)

    def now(self) -> datetime:
        from datetime import timedelta

        self.moment += timedelta(seconds=1)
        return self.moment


class ListMetrics:
    def __init__(self) -> None:
        self.added: list[tuple[str, float, str]] = []

    def add(self, name: str, value: float, unit: str = "Count") -> None:
        self.added.append((name, value, unit))

    def names(self) -> list[str]:
        return [name for name, _, _ in self.added]


@pytest.fixture
def metrics() -> ListMetrics:
    return ListMetrics()


@pytest.fixture
def make_service(
    make_client: Callable[..., HttpUpstreamClient],
    store: ObjectStore,
    validator: ResponseValidator,
    metrics: ListMetrics,
) -> Callable[..., StatusService]:
    def make(
        *,
        mode: ValidationMode = ValidationMode.LENIENT,
        serve_stale: bool = True,
        store: ObjectStore = store,
        **client: Any,
    ) -> StatusService:
        return bootstrap.build_status_service(
            root_settings(VALIDATION_MODE=str(mode), SERVE_STALE=str(serve_stale).lower()),
            upstream=make_client(**client),
            store=store,
            validator=validator,
            clock=TickingClock(),
            metrics=metrics,
        )

    return make


JOB = JobRef.parse(PROJECT, "job_sms")


def header(request: Request, name: str) -> str | None:
    value = request.headers.get(name)
    return None if value is None else str(value)


def stored_keys(store: ObjectStore) -> list[str]:
    """Every object under the store's root, as keys relative to it (sorted)."""
    if isinstance(store, S3Store):
        bucket, _, prefix = store.location.removeprefix("s3://").partition("/")
        client = store.client
        keys: list[str] = []
        for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix + "/"
        ):
            keys.extend(item["Key"][len(prefix) + 1 :] for item in page.get("Contents", []))
        return sorted(keys)
    root = Path(store.location)
    return sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and not path.name.startswith(".") and not path.name.endswith(".lock")
    )


def history_keys(store: ObjectStore) -> list[str]:
    return [key for key in stored_keys(store) if key.startswith("history/")]


class FilledStore(NamedTuple):
    root: Path  # a local store's directory
    jobs: list[JobRef]


@pytest.fixture
def filled_store(
    tmp_path: Path,
    upstream: HTTPServer,
    make_client: Callable[..., HttpUpstreamClient],
    validator: ResponseValidator,
) -> FilledStore:
    """A local store the real service filled, as the consumer tests read it
    (tests/support/consumer_store.py)."""
    from tests.support.consumer_store import fill_store  # it imports this module

    root = tmp_path / "snapshots"
    return FilledStore(root, fill_store(root, upstream, make_client, validator))
