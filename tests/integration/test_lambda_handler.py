"""The Lambda entry module as the runtime loads it: configured from the environment
at import, invoked with a recorded event, metrics flushed as EMF."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from types import ModuleType

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
