"""Scheduled ticks: an EventBridge schedule's event in, the tick's report out.

A tick that cannot run at all (no job list, an unreadable or oversized one, a bad
event, the configuration) fails the invocation with `TickFailed`, so that Lambda
retries it and then sends it to the on-failure destination. Once it runs, every job
ends with an outcome in the report, whatever happens to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

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
    return runner.run(tick, remaining_seconds).as_json()


def tick_failed(error: DlfStatusError) -> TickFailed:
    """The failure that fails the invocation, logged: the tick could not run."""
    logger.error("tick failed", extra={"error": type(error).__name__, "detail": error.detail})
    return TickFailed(error.detail)
