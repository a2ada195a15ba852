"""The composition root with test adapters: settings from a small environment, and the
status service over a fake upstream, a memory store, a stub validator and a fixed
clock unless a test passes its own. What the tests run is wired as production is."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from dlf_status import bootstrap
from dlf_status.config import Settings
from dlf_status.domain.contract import ResponseValidator
from dlf_status.domain.ports import Clock, Metrics, ObjectStore, UpstreamClient
from dlf_status.entrypoints.http_api import StatusApi, api_for
from dlf_status.observability import NullMetrics
from dlf_status.service import StatusService
from tests.conftest import StubValidator
from tests.support.clock import FixedClock
from tests.support.fakes import FakeUpstream, MemoryStore, json_answer

NOW = datetime(2026, 11, 25, tzinfo=UTC)
HEALTHY = json_answer(200, {"name": "job_sms", "status": "NORMAL"})
# What every test environment holds: an endpoint and an obviously fake token.
BASE_ENVIRONMENT = {
    "DLF_ENDPOINT": "https://dayu-dlf.cn-north-4.myhuaweicloud.com",
    "DLF_AUTH_TOKEN": "fake-token-for-the-tests",
}


def root_settings(**variables: str) -> Settings:
    """Settings as the functions read them, from the base environment and `variables`
    (names as in the README's table: `root_settings(VALIDATION_MODE="strict")`)."""
    return Settings.from_environ({**BASE_ENVIRONMENT, **variables})


def fake_service(
    upstream: UpstreamClient | None = None,
    store: ObjectStore | None = None,
    *,
    validator: ResponseValidator | None = None,
    clock: Clock | None = None,
    metrics: Metrics | None = None,
    **variables: str,
) -> StatusService:
    """The status service from the root, over test adapters (see the module)."""
    return bootstrap.build_status_service(
        root_settings(**variables),
        upstream=FakeUpstream([HEALTHY]) if upstream is None else upstream,
        store=MemoryStore() if store is None else store,
        validator=StubValidator() if validator is None else validator,
        clock=FixedClock(NOW) if clock is None else clock,
        metrics=NullMetrics() if metrics is None else metrics,
    )


def api_from(environment: Mapping[str, str]) -> StatusApi:
    """The HTTP API as `dlf-status serve` builds it: settings read from `environment`,
    every adapter the production one (the read routes over the same store)."""
    settings = Settings.from_environ(environment)
    return api_for(settings, bootstrap.build_status_service(settings))
