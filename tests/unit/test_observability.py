from __future__ import annotations

import json

import pytest

from dlf_status.observability import logger, register_secrets


def test_registered_secrets_are_masked_in_every_log_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_secrets("SECRETKEY-abc123", "tok-0123456789", None, "")

    logger.warning(
        "leaky message SECRETKEY-abc123",
        extra={
            "header": "Authorization: X-Auth-Token tok-0123456789",
            "nested": {"sk": "SECRETKEY-abc123"},
        },
    )

    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert "SECRETKEY-abc123" not in line
    assert "tok-0123456789" not in line
    assert json.loads(line)["message"] == "leaky message ***"


def test_log_lines_are_json_with_service_and_level(capsys: pytest.CaptureFixture[str]) -> None:
    logger.info("snapshot stored", extra={"outcome": "changed"})

    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["service"] == "dlf-status"
    assert record["level"] == "INFO"
    assert record["outcome"] == "changed"
