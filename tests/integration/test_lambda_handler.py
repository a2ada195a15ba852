"""The Lambda entry module as the runtime loads it: configured from the environment
at import, invoked with a recorded event, metrics flushed as EMF."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from tests.integration.conftest import PROJECT, exchange_response, match_path
from tests.support.events import http_api_event, lambda_context

pytestmark = pytest.mark.integration


def load_handler(monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]) -> ModuleType:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    sys.modules.pop("dlf_status.entrypoints.lambda_handler", None)
    return importlib.import_module("dlf_status.entrypoints.lambda_handler")


def test_the_handler_serves_a_gateway_event_and_emits_emf_metrics(
    upstream: HTTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    upstream.expect_request(match_path("job_sms")).respond_with_response(
        exchange_response("drift-unknown-fields")
    )
    module = load_handler(
        monkeypatch,
        {
            "DLF_ENDPOINT": upstream.url_for("").rstrip("/"),
            "DLF_AUTH_TOKEN": "lambda-token-value",
            "SNAPSHOT_URI": str(tmp_path / "snapshots"),
        },
    )

    answer = module.handler(http_api_event(PROJECT, "job_sms"), lambda_context())

    assert answer["statusCode"] == 200
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    emf = [line for line in lines if "_aws" in line]
    assert len(emf) == 1
    assert emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "DlfStatus"
    assert emf[0]["Invocations"] == [1.0]
    assert "DriftFields" in emf[0]
    logs = [line for line in lines if "message" in line]
    assert all(line["function_request_id"] == "0f1e2d3c-request" for line in logs)
    assert not any("lambda-token-value" in json.dumps(line) for line in lines)


def test_a_misconfigured_function_answers_500_problems_instead_of_crashing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DLF_ENDPOINT", raising=False)
    monkeypatch.delenv("DLF_REGION", raising=False)
    module = load_handler(monkeypatch, {"DLF_AUTH_TOKEN": "lambda-token-value"})

    answer = module.handler(http_api_event(PROJECT, "job_sms"), lambda_context())

    assert answer["statusCode"] == 500
    assert json.loads(answer["body"])["detail"] == "set DLF_ENDPOINT or DLF_REGION"


INIT_AND_INVOKE = """
import json, sys
from tests.support.events import http_api_event, lambda_context
import dlf_status.entrypoints.lambda_handler as module
answer = module.handler(http_api_event(sys.argv[1], "job_sms"), lambda_context())
print("ANSWER " + json.dumps({"status": answer["statusCode"], "body": json.loads(answer["body"])}))
"""


def init_and_invoke(environment: dict[str, str]) -> dict[str, Any]:
    """A fresh interpreter imports the handler (the Lambda init) and serves one event."""
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", INIT_AND_INVOKE, PROJECT],
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(root), **environment},
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("ANSWER ")]
    answer: dict[str, Any] = json.loads(line.removeprefix("ANSWER "))
    return answer


@pytest.mark.parametrize(
    ("hostile", "detail"),
    [
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be"),
        ({"DLF_ENDPOINT": "http://[::1"}, "DLF_ENDPOINT has an invalid IPv6 host"),
        ({"DLF_ENDPOINT": "http://127.0.0.1:99999"}, "port from 1 to 65535"),
        ({"SNAPSHOT_URI": "s3://"}, "SNAPSHOT_URI 's3://' names no bucket"),
        ({"DLF_DEADLINE": "1e309"}, "DLF_DEADLINE must be a number of seconds"),
        ({"DLF_MAX_ATTEMPTS": "9" * 5000}, "DLF_MAX_ATTEMPTS must be a whole number"),
        ({"POLL_CONCURRENCY": "0"}, "POLL_CONCURRENCY must be a whole number"),
        ({"SNAPSHOT_URI": "s3://bucket/p", "AWS_DEFAULT_REGION": "us east"}, "InvalidRegion"),
        ({"SNAPSHOT_URI": "s3://bucket/p", "AWS_PROFILE": "absent"}, "ProfileNotFound"),
        ({"SNAPSHOT_URI": "s3://bucket/p", "AWS_DEFAULTS_MODE": "fast"}, "InvalidDefaultsMode"),
        ({"SNAPSHOT_URI": "s3://bucket/p", "AWS_ENDPOINT_URL": "x y"}, "Invalid endpoint"),
        ({"DLF_AUTH_TOKEN": "token\nwith-a-newline"}, "DLF_AUTH_TOKEN"),
    ],
)
def test_a_bad_environment_gives_the_configuration_problem_not_an_init_crash(
    hostile: dict[str, str], detail: str, upstream: HTTPServer, tmp_path: Path
) -> None:
    answer = init_and_invoke(
        {
            "DLF_ENDPOINT": upstream.url_for("").rstrip("/"),
            "DLF_AUTH_TOKEN": "lambda-token-value",
            "SNAPSHOT_URI": str(tmp_path / "snapshots"),
            "AWS_DEFAULT_REGION": "us-east-1",
            **hostile,
        }
    )

    assert answer["status"] == 500
    assert answer["body"]["type"] == "urn:dlf-status:problem:configuration"
    assert detail in answer["body"]["detail"]


@pytest.mark.parametrize(
    "hostile",
    [
        {"POWERTOOLS_DEBUG": "maybe"},
        {"POWERTOOLS_DEV": "maybe"},
        {"POWERTOOLS_LOGGER_LOG_EVENT": "maybe"},
        {"POWERTOOLS_LOG_DEDUPLICATION_DISABLED": "maybe"},
        {"POWERTOOLS_METRICS_DISABLED": "maybe"},
        {"POWERTOOLS_LOGGER_SAMPLE_RATE": "often"},
        {"POWERTOOLS_LOG_LEVEL": "LOUD"},
    ],
)
def test_a_powertools_variable_it_cannot_read_is_ignored_not_fatal(
    hostile: dict[str, str], upstream: HTTPServer, tmp_path: Path
) -> None:
    upstream.expect_request(match_path("job_sms")).respond_with_response(
        exchange_response("doc-2024-success")
    )

    answer = init_and_invoke(
        {
            "DLF_ENDPOINT": upstream.url_for("").rstrip("/"),
            "DLF_AUTH_TOKEN": "lambda-token-value",
            "SNAPSHOT_URI": str(tmp_path / "snapshots"),
            **hostile,
        }
    )

    assert answer["status"] == 200
    assert answer["body"]["job"]["name"] == "job_sms"
