"""Scheduled ticks: an EventBridge schedule's event in, the tick's report out.

A tick that cannot run at all (no job list, an unreadable or oversized one, a bad
event, the configuration) fails the invocation with `TickFailed`, so that Lambda
retries it and then sends it to the on-failure destination. Once it runs, every job
ends with an outcome in the report, whatever happens to it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from dlf_status.entrypoints import events
from dlf_status.errors import DlfStatusError, TickFailed
from dlf_status.observability import logger

if TYPE_CHECKING:
    from dlf_status.poller import TickRunner


def run_tick(
    runner: TickRunner,
    event: Any,
    request_id: str | None = None,
    remaining_seconds: Callable[[], float] | None = None,
) -> dict[str, Any]:
    """Poll every job of the tick `event` asks for; the report is the result (and the
    logs). `remaining_seconds`: the invocation's time left, so that no job is started
    that could not finish."""
    try:
        parsed = events.parse_tick_event(event)
        logger.set_correlation_id(parsed.tick_id or request_id)
        tick = runner.build_tick(parsed.tick_id, parsed.scheduled_time, parsed.jobs)
    except DlfStatusError as error:
        raise tick_failed(error) from error
    return within_result_limit(runner.run(tick, remaining_seconds).as_json())


# Lambda's runtime refuses a function's result over 6 MB (its Runtime API answers 413):
# the tick would fail after its work was done, and be run twice more by Lambda's
# retries. A tick of discovered jobs can have tens of thousands of outcomes (about
# 300 bytes each): the result keeps well under the limit.
MAX_RESULT_BYTES: Final = 1 << 20
_SUCCEEDED: Final = frozenset({"ok", "enqueued"})


def within_result_limit(report: dict[str, Any]) -> dict[str, Any]:
    """The report, or, when its JSON is over MAX_RESULT_BYTES, its summary with the
    outcomes of the jobs that did not succeed, in order, while they fit, and how many
    outcomes were left out (`outcomes_omitted`). Every job that did not succeed is
    logged on its own line anyway."""
    if len(json.dumps(report)) <= MAX_RESULT_BYTES:
        return report
    outcomes = report["outcomes"]
    budget = MAX_RESULT_BYTES - len(json.dumps({**report, "outcomes": [], "outcomes_omitted": 0}))
    kept: list[dict[str, Any]] = []
    for outcome in outcomes:
        if outcome["result"] in _SUCCEEDED:
            continue
        size = len(json.dumps(outcome)) + 2  # and its separator
        if size > budget:
            break
        kept.append(outcome)
        budget -= size
    return {**report, "outcomes": kept, "outcomes_omitted": len(outcomes) - len(kept)}


def tick_failed(error: DlfStatusError) -> TickFailed:
    """The failure that fails the invocation, logged: the tick could not run."""
    logger.error("tick failed", extra={"error": type(error).__name__, "detail": error.detail})
    return TickFailed(error.detail)
