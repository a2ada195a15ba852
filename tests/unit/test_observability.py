from __future__ import annotations

import json
import logging

import pytest

from dlf_status.observability import RedactingFormatter, logger, register_secrets


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


def test_an_indented_log_record_is_still_json_with_its_hostile_values_escaped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """POWERTOOLS_DEV (sam local) indents each record over several lines: the line
    breaks between its values are JSON's own white space, not characters to escape."""
    monkeypatch.setenv("POWERTOOLS_DEV", "true")
    with pytest.warns(UserWarning, match="POWERTOOLS_DEV"):
        indented = RedactingFormatter()
    record = logging.LogRecord("dlf-status", logging.INFO, __file__, 1, "polled", (), None)
    record.job_name = "a\u202eb\x9bc"

    text = indented.format(record)

    assert "\n" in text  # indented, as Powertools does under POWERTOOLS_DEV
    assert json.loads(text)["job_name"] == "a\u202eb\x9bc"
    assert "\u202e" not in text
    assert "\x9b" not in text
