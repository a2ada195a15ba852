"""A store's own error text reaches `dlf-status get`'s error line: still one printable
line. An S3-compatible server is as untrusted as the upstream: its error message may
hold a line break or a character a terminal obeys (a bidi override), in its code too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
from pytest_httpserver import HTTPServer

from tests.integration.conftest import PROJECT, exchange_response, match_path
from tests.support.faults import S3Proxy
from tests.support.seaweed import (
    ACCESS_KEY,
    PATIENT_STORE_SECONDS,
    REGION,
    SECRET_KEY,
    SeaweedServer,
)

pytestmark = pytest.mark.integration

HOSTILE_DENIAL = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>Access\nforged: \xe2\x80\xaeDenied'
    b"</Code><Message>denied</Message></Error>"
)


def test_a_store_error_with_a_line_break_is_one_escaped_line(
    upstream: HTTPServer, seaweed: SeaweedServer
) -> None:
    upstream.expect_request(match_path("job_sms")).respond_with_response(
        exchange_response("doc-2024-success")
    )
    with S3Proxy(
        seaweed.endpoint, lambda method, path: method == "PUT", status=403, error=HOSTILE_DENIAL
    ) as proxy:
        result = subprocess.run(
            [sys.executable, "-m", "dlf_status.entrypoints.cli", "get", PROJECT, "job_sms"],
            capture_output=True,
            text=True,
            env={
                **os.environ,
                "DLF_ENDPOINT": upstream.url_for("").rstrip("/"),
                "DLF_AUTH_TOKEN": "store-error-token-not-a-secret",
                "SNAPSHOT_URI": f"s3://{seaweed.bucket}/cli-{uuid.uuid4().hex[:8]}",
                "SNAPSHOT_CONSISTENCY": "best-effort",
                "STORE_TIMEOUT": str(PATIENT_STORE_SECONDS),
                "AWS_ENDPOINT_URL_S3": proxy.url,
                "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                "AWS_DEFAULT_REGION": REGION,
            },
            timeout=120,
            check=False,
        )

    assert result.returncode == 5, result.stderr
    assert json.loads(result.stdout)["job"]["status"] == "NORMAL"  # the answer is still given
    [line] = result.stderr.splitlines()
    assert result.stderr == line + "\n"
    assert line.isprintable(), line
    assert "forged" in line
    assert "\\u202e" in line or "\\u202E" in line, line
