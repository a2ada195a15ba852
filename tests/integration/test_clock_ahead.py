"""A writer whose clock is ahead (F8 of the review): its observation would hold
latest.json against every correct writer until real time caught up. It is refused
when the upstream's Date shows the skew, and a writer that meets such a latest.json
says so."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from dlf_status import bootstrap
from dlf_status.adapters.store_local import LocalDirectoryStore
from dlf_status.adapters.upstream_http import HttpUpstreamClient
from dlf_status.domain.contract import ResponseValidator
from dlf_status.domain.snapshots import SnapshotOutcome
from dlf_status.errors import ClockAhead
from dlf_status.service import StatusService
from tests.integration.conftest import JOB, exchange_response, match_path, stored_keys
from tests.support.clock import FixedClock
from tests.support.root import root_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def service_at(
    upstream: HTTPServer,
    make_client: Callable[..., HttpUpstreamClient],
    validator: ResponseValidator,
    tmp_path: Path,
) -> Callable[[timedelta], StatusService]:
    """A service on one local store whose clock is `ahead` of the real time (the
    upstream's Date is the real time)."""
    upstream.expect_request(match_path("job_sms")).respond_with_response(
        exchange_response("doc-2024-success")
    )
    store = LocalDirectoryStore(tmp_path / "snapshots")

    def make(ahead: timedelta) -> StatusService:
        return bootstrap.build_status_service(
            root_settings(),
            upstream=make_client(),
            store=store,
            validator=validator,
            clock=FixedClock(datetime.now(UTC) + ahead),
        )

    return make


def test_an_observation_timed_by_a_clock_ahead_of_the_upstream_is_not_stored(
    service_at: Callable[[timedelta], StatusService],
) -> None:
    service = service_at(timedelta(minutes=10))

    observation = service.observe(JOB)

    assert observation.snapshot is SnapshotOutcome.FAILED
    assert isinstance(observation.store_error, ClockAhead)
    assert "ahead of the upstream's Date" in observation.store_error.detail
    assert observation.document["job"]["status"]  # the answer is still served
    assert stored_keys(service.store) == []


def test_a_clock_within_the_tolerance_is_stored(
    service_at: Callable[[timedelta], StatusService],
) -> None:
    observation = service_at(timedelta(seconds=30)).observe(JOB)

    assert observation.snapshot is SnapshotOutcome.CHANGED


def test_a_writer_that_meets_a_latest_json_from_the_future_says_so(
    service_at: Callable[[timedelta], StatusService],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    # Past the upstream check (one minute) but ahead of the next writer by ten.
    early = service_at(timedelta(minutes=1))
    early.observe(JOB)
    late = service_at(timedelta(minutes=-9))

    observation = late.observe(JOB)

    assert observation.snapshot is SnapshotOutcome.SUPERSEDED
    assert "latest.json observed in the future" in {r.getMessage() for r in caplog.records}
