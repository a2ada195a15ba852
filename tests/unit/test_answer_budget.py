"""The process's budget for large upstream answers (adapters/answer_budget.py): the
permits held never exceed the count, each goes back on every way out of its scope,
a thread holds at most one, and a wait ends by its deadline with a refusal."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlf_status import bootstrap
from dlf_status.adapters.answer_budget import AnswerBudget, permits_for_memory
from dlf_status.errors import ConfigurationError
from tests.support.answer_budget import permit_held_elsewhere
from tests.support.root import root_settings


class Boom(Exception):
    """Raised inside a scope, as an interpretation or a write may fail."""


def test_a_permit_is_held_until_the_outermost_scope_closes() -> None:
    budget = AnswerBudget(1)

    with budget.scope():
        with budget.scope():
            assert budget.admit_large(0)
        assert budget.holding
        assert budget.in_use == 1
    assert budget.in_use == 0
    assert not budget.holding


def test_a_thread_asking_again_keeps_its_one_permit() -> None:
    budget = AnswerBudget(2)

    with budget.scope():
        assert budget.admit_large(0)
        assert budget.admit_large(0)
        assert budget.in_use == 1


def test_a_permit_is_given_back_when_the_scope_raises() -> None:
    budget = AnswerBudget(1)

    def observe_and_fail() -> None:
        with budget.scope():
            assert budget.admit_large(0)
            raise Boom

    with pytest.raises(Boom):
        observe_and_fail()

    assert budget.in_use == 0
    with budget.scope():
        assert budget.admit_large(0)


def test_a_permit_is_asked_for_within_a_scope_only() -> None:
    with pytest.raises(RuntimeError, match="within a scope"):
        AnswerBudget(1).admit_large(0)


def test_a_budget_has_one_permit_at_least() -> None:
    with pytest.raises(ValueError, match="at least one"):
        AnswerBudget(0)


def test_with_every_permit_held_elsewhere_a_wait_ends_in_a_refusal() -> None:
    """The wait is bounded by what the call has left: it ends, and the answer is no."""
    budget = AnswerBudget(1)
    with permit_held_elsewhere(budget), budget.scope():
        assert not budget.admit_large(0.05)
        assert not budget.admit_large(0)
        assert not budget.admit_large(-1)  # a deadline already past
        assert not budget.holding
    assert budget.in_use == 0


def test_a_waiting_thread_gets_the_permit_the_holder_gives_back() -> None:
    budget = AnswerBudget(1)
    got: list[bool] = []

    def wait_for_it() -> None:
        with budget.scope():
            got.append(budget.admit_large(3600))

    waiter = threading.Thread(target=wait_for_it)
    with permit_held_elsewhere(budget) as release:
        waiter.start()
        release.set()
    waiter.join()

    assert got == [True]
    assert budget.in_use == 0


@settings(max_examples=40, deadline=None)
@given(
    permits=st.integers(1, 4),
    jobs=st.lists(
        st.tuples(st.booleans(), st.booleans(), st.integers(1, 3)), min_size=1, max_size=24
    ),
    threads=st.integers(1, 8),
)
def test_threads_never_hold_more_permits_than_the_count_and_give_every_one_back(
    permits: int, jobs: list[tuple[bool, bool, int]], threads: int
) -> None:
    """Each job: large or not, raising or not, in scopes nested so deep. Whatever the
    order the threads run them in, the permits held never pass the count, and none is
    held once every job is done."""
    budget = AnswerBudget(permits)
    most = [0]
    lock = threading.Lock()
    queue = iter(jobs)

    def job(large: bool, raises: bool, depth: int) -> None:
        if depth > 1:
            with budget.scope():
                job(large, raises, depth - 1)
            return
        if large and budget.admit_large(3600):
            with lock:
                most[0] = max(most[0], budget.in_use)
        if raises:
            raise Boom

    def work() -> None:
        while True:
            with lock:
                taken = next(queue, None)
            if taken is None:
                return
            large, raises, depth = taken
            try:
                with budget.scope():
                    job(large, raises, depth)
            except Boom:
                pass
            assert not budget.holding

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert most[0] <= permits
    assert budget.in_use == 0
    assert any(large for large, _, _ in jobs) == (most[0] >= 1)


@pytest.mark.parametrize(
    ("memory_mb", "permits"),
    [(None, 1), (128, 1), (256, 1), (384, 2), (512, 3), (1024, 7), (10_240, 79)],
)
def test_permits_follow_the_function_memory(memory_mb: int | None, permits: int) -> None:
    assert permits_for_memory(memory_mb) == permits


@pytest.mark.parametrize(
    ("variables", "permits"),
    [
        ({}, 1),
        ({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"}, 1),
        ({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512"}, 3),
        ({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "not a size"}, 1),
        ({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512", "LARGE_ANSWERS_AT_ONCE": "5"}, 5),
        ({"LARGE_ANSWERS_AT_ONCE": "2"}, 2),
    ],
)
def test_the_process_budget_is_the_setting_or_the_function_memory(
    variables: dict[str, str], permits: int
) -> None:
    assert bootstrap.build_answer_budget(root_settings(**variables)).permits == permits


@pytest.mark.parametrize("value", ["0", "257", "-1", "two", "1.5"])
def test_large_answers_at_once_is_a_whole_number_in_range(value: str) -> None:
    with pytest.raises(ConfigurationError, match="LARGE_ANSWERS_AT_ONCE"):
        root_settings(LARGE_ANSWERS_AT_ONCE=value)
