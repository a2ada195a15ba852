"""The composition root builds every service-layer object from settings and adapters;
the Lambda start-up never lets a failure crash the init."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.exceptions import InvalidRegionError

import dlf_status
from dlf_status import bootstrap
from dlf_status.adapters.aws import aws_client
from dlf_status.config import Settings
from dlf_status.domain.contract import ValidationReport
from dlf_status.domain.model import ValidationMode
from dlf_status.entrypoints import startup
from dlf_status.entrypoints.http_api import StatusApi
from dlf_status.errors import ConfigurationError, QueueError, one_line
from dlf_status.observability import NullMetrics, drop_unreadable_powertools_variables
from tests.conftest import StubValidator
from tests.support.clock import FixedClock
from tests.support.events import http_api_event
from tests.support.fakes import FakeUpstream, MemoryStore
from tests.support.root import NOW, root_settings

MINIMAL = {"DLF_REGION": "cn-north-4", "DLF_AUTH_TOKEN": "token-value"}
PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
PACKAGE = Path(dlf_status.__file__).parent


def test_an_unexpected_start_up_failure_becomes_the_configuration_problem(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def broken(settings: Settings) -> None:
        raise RuntimeError("boom with detail-that-stays-in-the-log")

    problem = startup.start(broken, MINIMAL)
    assert isinstance(problem, ConfigurationError)
    answer = StatusApi(startup.refuse(problem)).handle(http_api_event(PROJECT, "job_sms"))

    body = json.loads(answer["body"])
    assert answer["statusCode"] == 500
    assert body["type"] == "urn:dlf-status:problem:configuration"
    assert body["detail"] == ("dlf-status could not start (RuntimeError); the cause is in the logs")
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    failure = next(line for line in logged if line["message"] == "start-up failed")
    assert "detail-that-stays-in-the-log" in failure["exception"]


def test_a_configuration_error_at_start_up_is_returned_never_raised() -> None:
    problem = startup.start(bootstrap.build_tick_runner, {})

    assert isinstance(problem, ConfigurationError)
    assert "set DLF_ENDPOINT or DLF_REGION" in problem.detail


def test_start_up_builds_what_it_is_given_from_the_settings() -> None:
    built = startup.start(
        lambda settings: settings.validation_mode, {**MINIMAL, "VALIDATION_MODE": "strict"}
    )

    assert built is ValidationMode.STRICT


def test_credentials_are_masked_even_when_the_configuration_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    startup.start(
        bootstrap.build_status_service,
        {"DLF_AUTH_TOKEN": "masked-token-value", "DLF_MAX_ATTEMPTS": "masked-token-value"},
    )

    out = capsys.readouterr().out
    assert "configuration error" in out
    assert "masked-token-value" not in out


def test_the_root_wires_the_settings_into_the_status_service() -> None:
    upstream, store = FakeUpstream([]), MemoryStore()

    service = bootstrap.build_status_service(
        root_settings(VALIDATION_MODE="strict", SERVE_STALE="false"),
        upstream=upstream,
        store=store,
        validator=StubValidator(ValidationReport()),
        clock=FixedClock(NOW),
    )

    assert (service.upstream, service.store, service.mode, service.serve_stale) == (
        upstream,
        store,
        ValidationMode.STRICT,
        False,
    )
    assert isinstance(service.metrics, NullMetrics)


def test_the_root_sizes_a_tick_from_the_settings() -> None:
    service = bootstrap.build_status_service(
        root_settings(), upstream=FakeUpstream([]), store=MemoryStore()
    )

    runner = bootstrap.build_tick_runner(
        root_settings(
            POLL_CONCURRENCY="7",
            DLF_DEADLINE="8.5",
            STORE_TIMEOUT="1.5",
            JOBS_URI="jobs.yaml",
            FANOUT_THRESHOLD="50",
            FANOUT_QUEUE_URL="https://sqs.us-east-1.amazonaws.com/123456789012/jobs",
        ),
        service=service,
        queue=FakeQueue(),
    )

    assert (runner.poller.service, runner.poller.concurrency) == (service, 7)
    assert (runner.clock, runner.jobs_uri) == (service.clock, "jobs.yaml")
    assert runner.poller.job_allowance_seconds == 10.0
    assert runner.fanout_threshold == 50
    assert runner.dispatcher is not None


def test_a_tick_run_here_never_fans_out() -> None:
    settings = root_settings(
        FANOUT_QUEUE_URL="https://sqs.us-east-1.amazonaws.com/123456789012/jobs"
    )
    service = bootstrap.build_status_service(
        settings, upstream=FakeUpstream([]), store=MemoryStore()
    )

    runner = bootstrap.build_tick_runner(settings, service=service, fan_out=False)

    assert runner.dispatcher is None


def test_the_queue_worker_and_the_readers_are_built_over_the_adapters_given() -> None:
    service = bootstrap.build_status_service(
        root_settings(), upstream=FakeUpstream([]), store=MemoryStore()
    )
    store, clock = MemoryStore(), FixedClock(NOW)

    worker = bootstrap.build_queue_worker(root_settings(), service=service)
    reader = bootstrap.build_store_reader(root_settings(), store=store, clock=clock)

    assert worker.service is service
    assert (reader.store, reader.clock) == (store, clock)


class FakeQueue:
    def send(self, messages: list[dict[str, object]]) -> dict[int, QueueError]:
        return {}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_module_below_the_entry_points_imports_one() -> None:
    """The root and the core never depend on how they are invoked."""
    offenders = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "entrypoints" not in path.relative_to(PACKAGE).parts
        and any(name.startswith("dlf_status.entrypoints") for name in _imports(path))
    }

    assert offenders == set()


def test_what_botocore_refuses_in_the_environment_is_a_configuration_error() -> None:
    def make() -> None:
        raise InvalidRegionError(region_name="us east")

    with pytest.raises(ConfigurationError, match="cannot configure the S3 client: InvalidRegion"):
        aws_client("S3", make)


def test_unreadable_powertools_variables_are_dropped_and_named() -> None:
    environ = {
        "POWERTOOLS_DEBUG": "maybe",
        "POWERTOOLS_DEV": "TRUE",
        "POWERTOOLS_METRICS_DISABLED": "x",
        "POWERTOOLS_LOGGER_SAMPLE_RATE": "2",
        "POWERTOOLS_SERVICE_NAME": "anything goes",
    }

    dropped = drop_unreadable_powertools_variables(environ)

    assert dropped == (
        "POWERTOOLS_DEBUG",
        "POWERTOOLS_METRICS_DISABLED",
        "POWERTOOLS_LOGGER_SAMPLE_RATE",
    )
    assert environ == {"POWERTOOLS_DEV": "TRUE", "POWERTOOLS_SERVICE_NAME": "anything goes"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("two\nlines", "two\\nlines"),
        ("nul\x00 esc\x1b bidi\u202e", "nul\\x00 esc\\x1b bidi\\u202e"),
        ("bytes \udcff", "bytes \\udcff"),
        ("x" * 10, "xxxx..."),
    ],
)
def test_one_line_escapes_and_cuts(text: str, expected: str) -> None:
    assert one_line(text, limit=4 if len(text) == 10 else 300) == expected


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("\U0010ffff" * 300, 300, "\\U0010ffff" * 30 + "..."),
        ("ab\ncd", 4, "ab\\n..."),
        ("\x1b", 2, "\\x..."),
    ],
)
def test_one_line_is_cut_after_escaping_so_its_limit_holds(
    text: str, limit: int, expected: str
) -> None:
    assert one_line(text, limit) == expected


@pytest.mark.parametrize(
    ("module", "loaded"),
    [("dlf_status.entrypoints.queue", True), ("dlf_status.entrypoints.http_api", False)],
)
def test_only_the_queue_function_imports_the_batch_utility_and_at_its_init(
    module: str, loaded: bool
) -> None:
    """Imported with the module (the init), not at the first invocation; and no other
    function's part imports it."""
    code = f"import sys, {module}; print('aws_lambda_powertools.utilities.batch' in sys.modules)"

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == str(loaded)
