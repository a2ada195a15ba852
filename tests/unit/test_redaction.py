"""Credentials are masked in every form a text may hold them in, and only there."""

from __future__ import annotations

import html
import json
import logging
import re
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from dlf_status.domain.redaction import MASK, MIN_SECRET_LENGTH, Redactor
from dlf_status.observability import formatter, logger, register_secrets

SECRET = 'fake"SK\\/+=%2F&<x>-0001'


@pytest.mark.parametrize(
    "spelt",
    [
        SECRET,
        json.dumps(SECRET)[1:-1],
        json.dumps(SECRET, ensure_ascii=False)[1:-1].replace("/", "\\/"),
        repr(SECRET)[1:-1],
        quote(SECRET, safe=""),
        quote(SECRET),
        quote_plus(SECRET),
        re.sub("%[0-9A-F]{2}", lambda escape: escape.group().lower(), quote(SECRET, safe="")),
        json.dumps(json.dumps(SECRET)[1:-1])[1:-1],  # JSON inside a JSON string
        json.dumps(repr(SECRET)[1:-1])[1:-1],  # a repr in a log line
        json.dumps(quote(SECRET, safe=""))[1:-1],
        html.escape(SECRET),
    ],
)
def test_every_encoding_of_a_credential_is_masked(spelt: str) -> None:
    masked = Redactor([SECRET]).text(f"before {spelt} after")

    assert masked == f"before {MASK} after"


def test_a_credential_shorter_than_the_minimum_is_never_masked() -> None:
    short = "k" * (MIN_SECRET_LENGTH - 1)

    redactor = Redactor([short, None or ""])

    assert not redactor
    assert redactor.text(f"keep {short}") == f"keep {short}"


def test_parsed_values_are_masked_in_strings_keys_and_numbers() -> None:
    redactor = Redactor(["FAKEACCESSKEY0001", "123456789012"])
    body: dict[str, Any] = {
        "a": "x FAKEACCESSKEY0001 y",
        "FAKEACCESSKEY0001": [{"n": 123456789012, "m": 7, "ok": True}],
        "***": "a key that was already a mask",
    }

    masked = redactor.value(body)

    assert masked == {
        "a": f"x {MASK} y",
        MASK: "a key that was already a mask",  # the upstream's own key keeps its name
        f"{MASK}~": [{"n": MASK, "m": 7, "ok": True}],
    }


def test_a_body_without_a_credential_is_returned_as_it_is() -> None:
    parsed = {"name": "job", "nodes": [{"name": "n"}]}

    assert Redactor(["FAKEACCESSKEY0001"]).body(b'{"name":"job"}', parsed) is parsed


def test_a_credential_spelt_with_escapes_is_found() -> None:
    escaped = "".join(f"\\u{ord(char):04x}" for char in "FAKEACCESSKEY0001").encode()

    masked = Redactor(["FAKEACCESSKEY0001"]).body(b'["' + escaped + b'"]', ["FAKEACCESSKEY0001"])

    assert masked == [MASK]


def test_the_log_formatter_masks_json_escaped_credentials_and_never_raises(
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_secrets(SECRET)
    circular: dict[str, Any] = {}
    circular["self"] = circular

    logger.warning("leak", extra={"value": SECRET, "repr": repr(SECRET), "lone": "\ud800"})
    logger.warning("circular", extra={"value": circular})

    first, second = capsys.readouterr().out.strip().splitlines()[-2:]
    assert json.loads(first)["value"] == MASK
    assert json.loads(first)["repr"] == f"'{MASK}'"
    assert "\\ud800" in first
    first.encode("utf-8")
    assert json.loads(second)["message"] == "log record not formatted"
    record = logging.LogRecord("x", logging.INFO, "f", 1, SECRET, None, None)
    assert SECRET not in formatter.format(record)
