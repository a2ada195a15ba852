"""The process's answer budget on a real exchange: the upstream client takes a permit
only for an answer past the large-answer size, refuses with `LargeAnswersBusy` when
none comes free before its deadline, and the service holds the permit to the end of
the observation (the write included)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from dlf_status import bootstrap, errors
from dlf_status.adapters.answer_budget import AnswerBudget
from dlf_status.adapters.signing import AkSkAuthenticator
from dlf_status.adapters.store_local import LocalDirectoryStore
from dlf_status.adapters.upstream_http import HttpUpstreamClient
from dlf_status.config import UpstreamSettings
from dlf_status.domain.contract import ResponseValidator
from dlf_status.domain.model import JobRef
from dlf_status.domain.snapshots import SnapshotOutcome
from tests.integration.conftest import CREDENTIALS, PROJECT, TickingClock, match_path
from tests.support.answer_budget import permit_held_elsewhere as held_elsewhere
from tests.support.root import root_settings

pytestmark = pytest.mark.integration

LARGE = 64 * 1024  # this test's large-answer size: small bodies, the same rule


def _answer(job_name: str, extra_bytes: int) -> Response:
    """A valid status answer with one unknown field of `extra_bytes` characters."""
    body = {"name": job_name, "status": "NORMAL", "nodes": [], "note": "n" * extra_bytes}
    return Response(json.dumps(body), content_type="application/json")


@pytest.fixture
def budget() -> AnswerBudget:
    return AnswerBudget(1, large_bytes=LARGE)


@pytest.fixture
def client(
    settings_for: Callable[..., UpstreamSettings], budget: AnswerBudget
) -> HttpUpstreamClient:
    return HttpUpstreamClient(
        settings_for(deadline=1.0), AkSkAuthenticator(CREDENTIALS), budget=budget
    )


@pytest.fixture
def permit_held_elsewhere(budget: AnswerBudget) -> Iterator[None]:
    """Another thread holds the only permit for as long as the test runs."""
    with held_elsewhere(budget):
        yield


def test_a_large_answer_waits_its_deadline_then_is_refused_as_busy(
    upstream: HTTPServer,
    client: HttpUpstreamClient,
    budget: AnswerBudget,
    permit_held_elsewhere: None,
) -> None:
    upstream.expect_request(match_path("big")).respond_with_response(_answer("big", 2 * LARGE))

    with pytest.raises(errors.LargeAnswersBusy) as refused:
        client.fetch_status(JobRef.parse(PROJECT, "big"))

    assert errors.is_retryable(refused.value)
    assert refused.value.info.http_status == 200
    assert not budget.holding
    assert budget.in_use == 1  # the other thread's, still


def test_a_small_answer_needs_no_permit(
    upstream: HTTPServer,
    client: HttpUpstreamClient,
    budget: AnswerBudget,
    permit_held_elsewhere: None,
) -> None:
    upstream.expect_request(match_path("small")).respond_with_response(_answer("small", 100))

    call = client.fetch_status(JobRef.parse(PROJECT, "small"))

    assert call.response.status == 200
    assert not budget.holding


def test_a_call_outside_any_observation_gives_its_permit_back(
    upstream: HTTPServer, client: HttpUpstreamClient, budget: AnswerBudget
) -> None:
    upstream.expect_request(match_path("big")).respond_with_response(_answer("big", 2 * LARGE))

    call = client.fetch_status(JobRef.parse(PROJECT, "big"))

    assert len(call.response.body) > 2 * LARGE
    assert budget.in_use == 0


class _WatchedStore(LocalDirectoryStore):
    """The local store, noting at each create whether this thread holds a permit."""

    def __init__(self, root: Path, budget: AnswerBudget) -> None:
        super().__init__(root)
        self.budget = budget
        self.held_at_create: list[bool] = []

    def create(self, key: str, body: bytes, metadata: Mapping[str, str]) -> bool:
        self.held_at_create.append(self.budget.holding)
        return super().create(key, body, metadata)


@pytest.mark.parametrize(("extra", "held"), [(2 * LARGE, True), (100, False)])
def test_the_observation_holds_a_large_answer_permit_through_its_write(
    upstream: HTTPServer,
    client: HttpUpstreamClient,
    budget: AnswerBudget,
    validator: ResponseValidator,
    tmp_path: Path,
    extra: int,
    held: bool,
) -> None:
    upstream.expect_request(match_path("job")).respond_with_response(_answer("job", extra))
    store = _WatchedStore(tmp_path, budget)
    service = bootstrap.build_status_service(
        root_settings(),
        upstream=client,
        store=store,
        validator=validator,
        clock=TickingClock(),
    )
    service.answer_scope = budget.scope

    observation = service.observe(JobRef.parse(PROJECT, "job"))

    assert observation.snapshot is SnapshotOutcome.CHANGED
    assert store.held_at_create
    assert set(store.held_at_create) == {held}
    assert budget.in_use == 0


def test_bootstrap_gives_the_service_and_its_client_one_budget_per_process(
    tmp_path: Path,
) -> None:
    """Built twice in one process, with the same settings: the same budget."""
    settings = root_settings(SNAPSHOT_URI=str(tmp_path), LARGE_ANSWERS_AT_ONCE="3")

    first = bootstrap.build_answer_budget(settings)

    assert first is bootstrap.build_answer_budget(settings)
    assert first.permits == 3
    service = bootstrap.build_status_service(settings)
    assert service.answer_scope == first.scope
