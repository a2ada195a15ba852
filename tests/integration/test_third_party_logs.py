"""Other libraries' log lines are masked too, as Lambda writes them (observability.py).

The function runs under the real runtime interface client (awslambdaric) against a
Runtime API on loopback, from the source tree: the runtime puts its own handler on
the root logger, where records of urllib3 and botocore end up.

* urllib3 warns about a header line without a colon and quotes the bytes it could
  not parse, with a traceback: here the upstream's line echoes the SK.
* With Lambda's log level at DEBUG the runtime sets the root logger to DEBUG, and
  botocore would write each S3 request, headers and the role's session token
  included.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

from dlf_status.domain.redaction import forms
from tests.integration.conftest import PROJECT
from tests.support.events import http_api_event
from tests.support.faults import RawHttpServer
from tests.support.runtime_api import RuntimeApi
from tests.support.seaweed import ACCESS_KEY, REGION, SECRET_KEY, SeaweedServer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RIC = ROOT / ".tools" / "ric"
AK = "FAKEAK0000NOTREAL000"
SK = 'fake"sk\\/+=%2F-not-real-0123'
SESSION_TOKEN = "FAKE-SESSION-TOKEN-not-real-0123456789"
BODY = b'{"name":"job","status":"NORMAL","nodes":[{"name":"n1","status":"NORMAL"}]}'


def _run_function(upstream: str, **environment: str) -> tuple[int, str]:
    """One HTTP API invocation of the function under awslambdaric: the answer's
    status code, and everything the process wrote."""
    if not (RIC / "awslambdaric").is_dir():
        pytest.fail(f"{RIC} is missing: `make test` installs awslambdaric there")
    api = RuntimeApi().start()
    process = subprocess.Popen(
        [sys.executable, "-m", "awslambdaric", "dlf_status.entrypoints.lambda_http.handler"],
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": os.pathsep.join(
                [str(ROOT / "handler"), str(RIC), *site.getsitepackages()]
            ),
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "AWS_LAMBDA_FUNCTION_NAME": "dlf-status",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "DLF_ENDPOINT": upstream,
            "DLF_AK": AK,
            "DLF_SK": SK,
            **environment,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        invocation = api.invoke(http_api_event(PROJECT, "job"))
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
        api.stop()
    return invocation.response["statusCode"], output.decode("utf-8", "replace")


def _forms_in(text: str, *secrets: str) -> list[str]:
    return sorted(form for secret in secrets for form in forms(secret) if form in text)


def test_urllib3_s_warning_about_a_header_quotes_it_masked(tmp_path: Path) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Echo " + SK.encode()
    answer = head + b"\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY
    with RawHttpServer(answer) as upstream:
        status, output = _run_function(upstream.url, SNAPSHOT_URI=str(tmp_path))

    assert status == 200
    assert "Failed to parse headers" in output  # the warning is written...
    assert "X-Echo ***" in output  # ...with the echoed SK masked
    assert _forms_in(output, SK, AK) == []


def test_botocore_s_debug_lines_do_not_reach_the_log(seaweed: SeaweedServer) -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY
    with RawHttpServer(answer) as upstream:
        status, output = _run_function(
            upstream.url,
            SNAPSHOT_URI=f"s3://{seaweed.bucket}/third-party-logs",
            AWS_ENDPOINT_URL_S3=seaweed.endpoint,
            AWS_ACCESS_KEY_ID=ACCESS_KEY,
            AWS_SECRET_ACCESS_KEY=SECRET_KEY,
            AWS_SESSION_TOKEN=SESSION_TOKEN,
            AWS_LAMBDA_LOG_LEVEL="DEBUG",
            AWS_LAMBDA_LOG_FORMAT="Text",
            LOG_LEVEL="DEBUG",
        )

    assert status in (200, 500)  # whether SeaweedFS takes a session token or not
    # botocore's lines do reach the runtime's handler (its INFO line is there)...
    assert "Found credentials in environment variables" in output
    assert SESSION_TOKEN not in output  # ...but no request's headers
    assert "x-amz-security-token" not in output.lower()
    assert "authorization" not in output.lower()
    assert _forms_in(output, SK, AK) == []
