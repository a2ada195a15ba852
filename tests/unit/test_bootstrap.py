"""The composition root never lets a start-up failure crash the Lambda init."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import InvalidRegionError

from dlf_status import bootstrap
from dlf_status.adapters.aws import aws_client
from dlf_status.bootstrap import build_function_app
from dlf_status.errors import ConfigurationError, one_line
from dlf_status.observability import NullMetrics, drop_unreadable_powertools_variables
from tests.support.events import http_api_event, scheduled_event

MINIMAL = {"DLF_REGION": "cn-north-4", "DLF_AUTH_TOKEN": "token-value"}
PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"


def test_an_unexpected_start_up_failure_becomes_the_configuration_problem(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom with detail-that-stays-in-the-log")

    monkeypatch.setattr(bootstrap, "build_service", broken)

    app = build_function_app(MINIMAL, NullMetrics())
    answer = app.handle(http_api_event(PROJECT, "job_sms"))

    problem = json.loads(answer["body"])
    assert answer["statusCode"] == 500
    assert problem["type"] == "urn:dlf-status:problem:configuration"
    assert problem["detail"] == (
        "dlf-status could not start (RuntimeError); the cause is in the logs"
    )
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    failure = next(line for line in logged if line["message"] == "start-up failed")
    assert "detail-that-stays-in-the-log" in failure["exception"]


def test_a_tick_on_a_degraded_app_fails_the_invocation() -> None:
    from dlf_status.errors import TickFailed

    app = build_function_app({}, NullMetrics())

    with pytest.raises(TickFailed, match="set DLF_ENDPOINT or DLF_REGION"):
        app.handle(scheduled_event())


def test_credentials_are_masked_even_when_the_configuration_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    build_function_app(
        {"DLF_AUTH_TOKEN": "masked-token-value", "DLF_MAX_ATTEMPTS": "masked-token-value"},
        NullMetrics(),
    )

    out = capsys.readouterr().out
    assert "configuration error" in out
    assert "masked-token-value" not in out


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
