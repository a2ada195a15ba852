"""What each Lambda function does once per container: read the settings, build its
part through the composition root, or hold the reason it could not.

The init must never crash: an exception there is a container that answers nothing
(and a cold start repeated on every call). So whatever fails becomes a
ConfigurationError that the function answers every call with, in its own way (the
HTTP API: the `configuration` problem; a schedule: a failed invocation). That
degraded behaviour belongs to the entry points, never to the root.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

from dlf_status.adapters.allocator import give_large_blocks_back
from dlf_status.config import CREDENTIAL_VARIABLES, Settings, shown
from dlf_status.errors import ConfigurationError
from dlf_status.observability import (
    IGNORED_POWERTOOLS_VARIABLES,
    logger,
    mask_every_handler,
    register_secrets,
)

if TYPE_CHECKING:
    from dlf_status.domain.model import JobRef
    from dlf_status.readers import StoreReader
    from dlf_status.service import Observe

T = TypeVar("T")


def start(build: Callable[[Settings], T], environ: Mapping[str, str]) -> T | ConfigurationError:
    """`build(settings)`, or the ConfigurationError that says why not. Never raises.

    A failure that is not a ConfigurationError (a bug, or a library refusing its own
    part of the environment) becomes one that says where to look; its traceback goes
    to the log."""
    # A function process serves answers for hours: large ones must not stay behind.
    give_large_blocks_back()
    # Other libraries' log records, masked too, whichever handler writes them.
    mask_every_handler()
    # Masked from the first line on, even if parsing stops half-way.
    register_secrets(*(environ.get(name, "").strip() for name in CREDENTIAL_VARIABLES.values()))
    if IGNORED_POWERTOOLS_VARIABLES:
        logger.warning(
            "unreadable powertools variables ignored",
            extra={"variables": list(IGNORED_POWERTOOLS_VARIABLES)},
        )
    try:
        settings = Settings.from_environ(environ)
        logger.setLevel(settings.log_level)
        check_local_store(settings)
        return build(settings)
    except ConfigurationError as error:
        logger.error("configuration error", extra={"detail": error.detail})
        return error
    except Exception as error:  # noqa: BLE001 - the init must not crash, whatever happened
        logger.exception("start-up failed", extra={"error": type(error).__name__})
        return ConfigurationError(
            f"dlf-status could not start ({type(error).__name__}); the cause is in the logs"
        )


def check_local_store(settings: Settings) -> None:
    """A local SNAPSHOT_URI must be a place this function can write (`cannot_write`).

    Every function writes snapshots. In Lambda the cwd is /var/task, read-only, so the
    default `./snapshots` can never be written: without this each call would fail at its
    first write, as a store failure per job, after spending an upstream call. A local
    store is otherwise legitimate in Lambda (a mounted EFS file system), so it is tried,
    not refused by kind."""
    location = settings.snapshot_location
    if not isinstance(location, Path):
        return
    reason = cannot_write(location)
    if reason is not None:
        raise ConfigurationError(
            f"SNAPSHOT_URI {shown(str(location))} ({location.absolute()}) cannot be written "
            f"({reason}); in Lambda, whose task root is read-only, set it to "
            "s3://bucket/prefix (template.yaml does)"
        )


def cannot_write(directory: Path) -> str | None:
    """Why files cannot be made in `directory`, or None when they can. The directory,
    or the nearest of its parents that exists (a store creates the rest), must take an
    unnamed file (O_TMPFILE): the probe leaves nothing behind, not even the directory."""
    nearest = directory.absolute()
    while not os.path.lexists(nearest) and nearest != nearest.parent:
        nearest = nearest.parent
    try:
        with tempfile.TemporaryFile(dir=nearest):
            pass
    except OSError as exc:
        return f"{nearest}: {exc.strerror or type(exc).__name__}"
    return None


def refuse(problem: ConfigurationError) -> Observe:
    """An `observe` for a function that could not start: every call is the problem."""

    def observe(job: JobRef, *, remaining_seconds: Callable[[], float] | None = None) -> NoReturn:
        # A new error each call: raising the held one again would add this
        # invocation's frames (with its event) to the traceback it keeps for good.
        raise ConfigurationError(problem.detail)

    return observe


def refuse_reads(problem: ConfigurationError) -> Callable[[], StoreReader]:
    """A store reader's factory for a function that could not start: the read routes
    answer the problem too."""

    def reader() -> NoReturn:
        raise ConfigurationError(problem.detail)  # a new one each call, as in `refuse`

    return reader
