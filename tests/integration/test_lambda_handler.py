"""The Lambda entry modules as the runtime loads them (one per function): configured
from the environment at import, invoked with recorded events, metrics flushed as EMF,
and a function that could not start answering in its own way."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from dlf_status.errors import ConfigurationError, TickFailed
from tests.integration.conftest import PROJECT, exchange_response, match_path
from tests.support.events import http_api_event, lambda_context, queue_event, scheduled_event

pytestmark = pytest.mark.integration


HTTP = "dlf_status.entrypoints.lambda_http"
DIRECT = "dlf_status.entrypoints.lambda_direct"
SCHEDULE = "dlf_status.entrypoints.lambda_schedule"
QUEUE = "dlf_status.entrypoints.lambda_queue"


def load_handler(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], module: str = HTTP
) -> ModuleType:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    sys.modules.pop(module, None)
    return importlib.import_module(module)


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


def test_each_function_answers_its_own_event_type(
    upstream: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream.expect_request(match_path("job_sms")).respond_with_response(
        exchange_response("doc-2024-success")
    )
    environment = {
        "DLF_ENDPOINT": upstream.url_for("").rstrip("/"),
        "DLF_AUTH_TOKEN": "lambda-token-value",
        "SNAPSHOT_URI": str(tmp_path / "snapshots"),
    }
    job = {"project_id": PROJECT, "job_name": "job_sms"}

    direct = load_handler(monkeypatch, environment, DIRECT).handler(job, lambda_context())
    report = load_handler(monkeypatch, environment, SCHEDULE).handler(
        {"jobs": [job], "tick_id": "t-lambda"}, lambda_context()
    )
    batch = load_handler(monkeypatch, environment, QUEUE).handler(
        queue_event([json.dumps(job)]), lambda_context()
    )

    assert direct["job"]["name"] == "job_sms"
    assert (report["tick_id"], report["ok"]) == ("t-lambda", 1)
    assert batch == {"batchItemFailures": []}


def test_a_function_that_could_not_start_answers_in_its_own_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DLF_ENDPOINT", raising=False)
    monkeypatch.delenv("DLF_REGION", raising=False)
    environment = {"DLF_AUTH_TOKEN": "lambda-token-value"}
    job = {"project_id": PROJECT, "job_name": "job_sms"}

    direct = load_handler(monkeypatch, environment, DIRECT).handler(job, lambda_context())
    schedule = load_handler(monkeypatch, environment, SCHEDULE)
    queue = load_handler(monkeypatch, environment, QUEUE)

    assert (direct["status"], direct["detail"]) == (500, "set DLF_ENDPOINT or DLF_REGION")
    # A schedule fails its invocation: Lambda retries it, then the on-failure destination.
    with pytest.raises(TickFailed, match="set DLF_ENDPOINT or DLF_REGION") as failed:
        schedule.handler(scheduled_event(), lambda_context())
    assert type(failed.value.__cause__) is ConfigurationError  # kept for the traceback
    # A queue batch goes back to the queue whole, rather than being dropped.
    with pytest.raises(ConfigurationError, match="set DLF_ENDPOINT or DLF_REGION"):
        queue.handler(queue_event([json.dumps(job)]), lambda_context())


@pytest.mark.parametrize(
    ("module", "failure"), [(QUEUE, ConfigurationError), (SCHEDULE, TickFailed)]
)
def test_a_function_that_could_not_start_raises_a_new_error_each_time(
    monkeypatch: pytest.MonkeyPatch, module: str, failure: type[Exception]
) -> None:
    """The held start-up error is never raised again: each raise would add that
    invocation's frames (with its event) to the one traceback the container keeps."""
    monkeypatch.delenv("DLF_ENDPOINT", raising=False)
    monkeypatch.delenv("DLF_REGION", raising=False)
    loaded = load_handler(monkeypatch, {"DLF_AUTH_TOKEN": "lambda-token-value"}, module)
    event = queue_event(["{}"]) if module == QUEUE else scheduled_event()
    held = len(traceback.extract_tb(loaded.STARTED.__traceback__))

    raised = []
    for _ in range(3):
        with pytest.raises(failure) as caught:
            loaded.handler(event, lambda_context())
        raised.append(caught.value)

    assert len(traceback.extract_tb(loaded.STARTED.__traceback__)) == held
    assert len({id(error) for error in raised}) == 3
    assert len({len(traceback.extract_tb(error.__traceback__)) for error in raised}) == 1


@pytest.mark.parametrize(
    ("module", "event"),
    [
        (HTTP, http_api_event(PROJECT, "job_sms")),
        (HTTP, http_api_event(PROJECT, None, route=None)),
        (DIRECT, {"project_id": PROJECT, "job_name": "job_sms"}),
    ],
)
def test_a_function_that_could_not_start_answers_without_growing_its_held_error(
    monkeypatch: pytest.MonkeyPatch, module: str, event: dict[str, Any]
) -> None:
    """The functions that answer the problem rather than raise keep their start-up
    error as it was too: no invocation's frames are added to it."""
    monkeypatch.delenv("DLF_ENDPOINT", raising=False)
    monkeypatch.delenv("DLF_REGION", raising=False)
    loaded = load_handler(monkeypatch, {"DLF_AUTH_TOKEN": "lambda-token-value"}, module)
    held = len(traceback.extract_tb(loaded.STARTED.__traceback__))

    answers = [loaded.handler(event, lambda_context()) for _ in range(3)]

    assert all(answer.get("statusCode", answer.get("status")) == 500 for answer in answers)
    assert len(traceback.extract_tb(loaded.STARTED.__traceback__)) == held


@pytest.mark.parametrize("module", [HTTP, DIRECT, SCHEDULE, QUEUE])
def test_every_function_counts_and_flushes_each_invocation_even_a_failed_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], module: str
) -> None:
    """A function that could not start still counts its invocations, in the invocation's
    log context; the schedule and queue functions fail theirs by raising."""
    monkeypatch.delenv("DLF_ENDPOINT", raising=False)
    monkeypatch.delenv("DLF_REGION", raising=False)
    loaded = load_handler(monkeypatch, {"DLF_AUTH_TOKEN": "lambda-token-value"}, module)
    event: Any = {
        HTTP: http_api_event(PROJECT, "job_sms"),
        DIRECT: {"project_id": PROJECT, "job_name": "job_sms"},
        SCHEDULE: scheduled_event(),
        QUEUE: queue_event(["{}"]),
    }[module]
    capsys.readouterr()

    try:
        loaded.handler(event, lambda_context())
    except (ConfigurationError, TickFailed):
        assert module in (SCHEDULE, QUEUE)

    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    [emf] = [line for line in lines if "_aws" in line]
    assert emf["Invocations"] == [1.0]
    logs = [line for line in lines if "message" in line]
    # The queue function raises without a line of its own (the runtime logs the error).
    assert len(logs) > 0 or module == QUEUE
    assert all(line["function_request_id"] == "0f1e2d3c-request" for line in logs)


INIT_AND_INVOKE = """
import json, sys
from dlf_status.errors import ConfigurationError, TickFailed
from tests.support.events import http_api_event, lambda_context, queue_event, scheduled_event
import dlf_status.entrypoints.lambda_http as module
answer = module.handler(http_api_event(sys.argv[1], "job_sms"), lambda_context())
print("ANSWER " + json.dumps({"status": answer["statusCode"], "body": json.loads(answer["body"])}))
"""


def init_and_invoke(environment: dict[str, str], cwd: Path | None = None) -> dict[str, Any]:
    """A fresh interpreter imports the handler (the Lambda init) and serves one event."""
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", INIT_AND_INVOKE, PROJECT],
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(root), **environment},
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd or root,
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


@pytest.mark.parametrize("where", ["the default, in a read-only task root", "a path"])
def test_a_local_store_it_cannot_write_is_the_configuration_problem_at_start(
    where: str, upstream: HTTPServer, tmp_path: Path
) -> None:
    """Lambda's /var/task is read-only and is the cwd: the default SNAPSHOT_URI
    (./snapshots) cannot be created there. That is a misconfiguration (template.yaml sets
    an S3 store), said at the init, not a store failure at each call's write. (The test
    runs as root, whom permissions do not stop: `snapshots` is a file here instead.)"""
    task_root = tmp_path / "task"
    task_root.mkdir()
    (task_root / "snapshots").write_text("a file where the directory would go")
    environment = {
        "DLF_ENDPOINT": upstream.url_for("").rstrip("/"),
        "DLF_AUTH_TOKEN": "lambda-token-value",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    if where == "a path":
        environment["SNAPSHOT_URI"] = str(task_root / "snapshots" / "below-a-file")

    answer = init_and_invoke(environment, cwd=task_root)

    assert answer["status"] == 500
    assert answer["body"]["type"] == "urn:dlf-status:problem:configuration"
    detail = answer["body"]["detail"]
    assert detail.startswith("SNAPSHOT_URI ")
    assert f"({task_root / 'snapshots'}" in detail
    assert "cannot be written" in detail
    assert "s3://" in detail
    assert upstream.log == []  # refused before any upstream call


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
