"""A writer whose clock is ahead (F8 of the review): its observation would hold
latest.json against every correct writer until real time caught up. It is refused
when the upstream's Date shows the skew, and a writer that meets such a latest.json
says so. For a signed call (AK/SK) the upstream's Date counts only within the fifteen
minutes its gateway keeps signatures for: an upstream whose clock is wrong (1990, the
epoch) cannot stop the store. A call with an IAM token carries no time the gateway
checks, so nothing shows whose clock is wrong: the two-minute guard holds at any
distance (F2 of the review)."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
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
from tests.support.scripted_upstream import RawAnswer, ScriptedUpstream

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


# -- whose clock: the upstream's Date counts only within the gateway's window ------------------

MOMENT = datetime(2026, 5, 4, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedUpstream]:
    with ScriptedUpstream() as server:
        yield server


# How the calls authenticate: an AK/SK signature (obviously fake keys), or an IAM token.
SIGNED = {"DLF_AUTH_TOKEN": "", "DLF_AK": "FAKEAKFORTHETESTS", "DLF_SK": "fake-sk-for-the-tests"}
TOKEN: dict[str, str] = {}  # the base environment's fake token
AUTHENTICATIONS = {"signed": SIGNED, "token": TOKEN}


def _observe_with_date(
    scripted: ScriptedUpstream,
    tmp_path: Path,
    validator: ResponseValidator,
    date: str,
    authentication: dict[str, str],
) -> SnapshotOutcome:
    body = b'{"name":"job_sms","status":"NORMAL","nodes":[]}'
    scripted.serve(
        RawAnswer(200, [("Content-Type", "application/json"), ("Date", date)], body, "OK")
    )
    service = bootstrap.build_status_service(
        root_settings(DLF_ENDPOINT=scripted.url, **authentication),
        store=LocalDirectoryStore(tmp_path / f"snapshots-{next(_stores)}"),
        validator=validator,
        clock=FixedClock(MOMENT),
    )
    return service.observe(JOB).snapshot


_stores = itertools.count()


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    behind=st.one_of(
        st.integers(-(10**11), 10**11),  # seconds: over three thousand years either way
        st.integers(-3_600, 3_600),
        st.sampled_from([120, 121, 900, 901, -900, 0]),
    )
)
def test_a_signed_call_s_date_can_refuse_only_within_the_gateway_s_window(
    behind: int,
    scripted: ScriptedUpstream,
    tmp_path_factory: pytest.TempPathFactory,
    validator: ResponseValidator,
) -> None:
    """Our clock `behind` seconds ahead of the upstream's Date, the call signed: refused
    only past the two minutes of tolerance and within the fifteen minutes a gateway keeps
    signatures for. Past them the upstream's clock is the wrong one (the gateway took our
    signature's time), and cannot stop the store."""
    try:
        upstream_time = MOMENT - timedelta(seconds=behind)
    except OverflowError:
        return  # no HTTP date names a time before the year 1 or after 9999
    date = format_datetime(upstream_time, usegmt=True)

    outcome = _observe_with_date(
        scripted, tmp_path_factory.mktemp("clock"), validator, date, SIGNED
    )

    refused = 120 < behind <= 900
    assert (outcome is SnapshotOutcome.FAILED) is refused, (behind, date, outcome)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    behind=st.one_of(
        st.integers(-(10**11), 10**11),
        st.integers(-3_600, 3_600),
        st.sampled_from([120, 121, 900, 901, 1_200, -900, 0]),
    )
)
def test_a_token_call_s_date_refuses_beyond_the_tolerance_at_any_distance(
    behind: int,
    scripted: ScriptedUpstream,
    tmp_path_factory: pytest.TempPathFactory,
    validator: ResponseValidator,
) -> None:
    """With an IAM token nothing checked our clock on the way: a Date more than two
    minutes behind ours may be our clock that is fast (by 20 minutes, by a day), and an
    observation stored then would hold latest.json against every correct writer."""
    try:
        upstream_time = MOMENT - timedelta(seconds=behind)
    except OverflowError:
        return
    date = format_datetime(upstream_time, usegmt=True)

    outcome = _observe_with_date(scripted, tmp_path_factory.mktemp("clock"), validator, date, TOKEN)

    assert (outcome is SnapshotOutcome.FAILED) is (behind > 120), (behind, date, outcome)


@pytest.mark.parametrize(("authentication", "stored"), [("signed", True), ("token", False)])
def test_a_host_twenty_minutes_fast(
    authentication: str,
    stored: bool,
    scripted: ScriptedUpstream,
    tmp_path: Path,
    validator: ResponseValidator,
) -> None:
    """Signed, the gateway would have refused such a host's signature: a 200 means the
    Date is the wrong clock. With a token, it is ours: not stored."""
    date = format_datetime(MOMENT - timedelta(minutes=20), usegmt=True)

    outcome = _observe_with_date(
        scripted, tmp_path, validator, date, AUTHENTICATIONS[authentication]
    )

    assert (outcome is SnapshotOutcome.CHANGED) is stored, outcome
