"""`dlf-status record` against an upstream that echoes our credentials everywhere it
can: in the body (values, keys, a JSON document inside a string, an echoed
Authorization header), in header values, in cookies and token headers, in a body that
is not JSON. Whatever it sends, the file written holds no credential in any form (the
hostile suite's credentials, with `"`, `\\`, `/`, `+`, `=` and `%`, in every encoding
the masker knows and every one the hostile suite checks), no signature of the request,
and no header that may carry one; it is a fixture `validate` checks against the
operation it names. The file is written whole or not at all, never over another."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlf_status.domain.redaction import Redactor, forms
from dlf_status.entrypoints.cli import main
from dlf_status.recorded import exchange_from_json, scrub_value
from tests.hostile.test_hostile_upstream import AKSK, TOKEN, Credentials, encodings
from tests.hostile.upstream_corpus import _echo_text
from tests.support.scripted_upstream import RawAnswer, ScriptedUpstream

pytestmark = pytest.mark.integration

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
JSON_TYPE = ("Content-Type", "application/json;charset=UTF-8")


@pytest.fixture(scope="module")
def upstream() -> Iterator[ScriptedUpstream]:
    with ScriptedUpstream() as server:
        yield server


def environment(upstream: ScriptedUpstream, credentials: Credentials) -> dict[str, str]:
    return {
        "DLF_ENDPOINT": upstream.url,
        "DLF_MAX_ATTEMPTS": "1",
        "DLF_DEADLINE": "5",
        "DLF_READ_TIMEOUT": "2",
        **credentials.environment,
    }


def every_form(secrets: list[str]) -> set[str]:
    found: set[str] = set()
    for secret in secrets:
        found |= encodings(secret) | forms(secret)
    return found


def the_signature_sent(upstream: ScriptedUpstream) -> str | None:
    head = upstream.requests[-1].decode("latin-1")
    for line in head.split("\r\n"):
        if line.lower().startswith("authorization:") and "Signature=" in line:
            return line.split("Signature=", 1)[1].strip()
    return None


def echoing_body(secrets: list[str], authorization: str) -> dict[str, Any]:
    """A status answer whose every corner repeats what we sent."""
    return {
        "name": "job",
        "status": "NORMAL",
        "echo": _echo_text(secrets),
        "authorization": authorization,
        "runningData": json.dumps({"auth": secrets, "header": authorization}),
        "nodes": [
            {"name": f"n{index}", "status": "NORMAL", secret: secret, "logPath": f"obs://{secret}"}
            for index, secret in enumerate(secrets)
        ],
    }


def echoing_headers(secrets: list[str], authorization: str) -> list[tuple[str, str]]:
    return [
        JSON_TYPE,
        ("X-Request-Id", secrets[0]),
        ("Set-Cookie", f"session={secrets[-1]}; Path=/"),
        ("X-Auth-Token", secrets[-1]),
        ("X-Subject-Token", secrets[0]),
        ("X-Security-Token", secrets[-1]),
        ("Authorization", authorization),
        ("WWW-Authenticate", f'SDK-HMAC-SHA256 realm="{secrets[0]}"'),
        ("X-Sdk-Date", "20261125T080000Z"),
        ("X-Echo", repr(secrets[0])),
        ("Content-Encoding", "identity"),
    ]


@pytest.mark.parametrize("credentials", [AKSK, TOKEN], ids=["ak/sk", "iam token"])
@pytest.mark.parametrize("listing", [False, True], ids=["status call", "job list"])
def test_a_recording_holds_no_credential_signature_or_token_in_any_form(
    credentials: Credentials,
    listing: bool,
    upstream: ScriptedUpstream,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in environment(upstream, credentials).items():
        monkeypatch.setenv(name, value)
    secrets = credentials.secrets
    # What an echoing gateway would quote back: an Authorization header like ours.
    authorization = (
        f"SDK-HMAC-SHA256 Access={secrets[0]}, SignedHeaders=host;x-sdk-date, "
        "Signature=" + "ab12" * 16
    )
    body = echoing_body(secrets, authorization)
    if listing:
        body = {"total": 1, "jobs": [{**body, "jobType": "REAL_TIME"}]}
    upstream.serve(
        RawAnswer(200, echoing_headers(secrets, authorization), json.dumps(body).encode(), "OK")
    )
    out = tmp_path / "recorded.json"
    command = ["record", "--list", PROJECT] if listing else ["record", PROJECT, "job"]

    code = main([*command, "--out", str(out)])

    _, err = capsys.readouterr()
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    leaked = sorted(form for form in every_form(secrets) if form in text)
    assert leaked == [], leaked
    sent = the_signature_sent(upstream)
    if sent is not None:
        assert sent not in text
    assert "ab12" * 16 not in text
    for form in every_form(secrets):
        assert form not in err
    recorded = json.loads(text)
    assert recorded["operation"] == ("ListJobs" if listing else "ShowJobStatus")
    assert sorted(recorded["headers"]) == ["Content-Type", "X-Echo", "X-Request-Id"]
    assert recorded["headers"]["X-Request-Id"] == "***"
    assert "\n" not in recorded["source"]
    assert recorded["source"].startswith("recorded by dlf-status record on ")
    exchange_from_json(recorded)  # a fixture the CLI and the replay read
    assert main(["validate", str(out)]) in (0, 1)
    assert "violation(s)" in capsys.readouterr().err


def test_a_body_that_is_not_json_is_recorded_as_text_scrubbed(
    upstream: ScriptedUpstream,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in environment(upstream, AKSK).items():
        monkeypatch.setenv(name, value)
    page = f"<html>bad gateway for {_echo_text(AKSK.secrets)} Signature=feedface</html>"
    upstream.serve(RawAnswer(502, [("Content-Type", "text/html")], page.encode(), "Bad Gateway"))
    out = tmp_path / "page.json"

    assert main(["record", PROJECT, "job", "--out", str(out)]) == 0

    recorded = json.loads(out.read_text(encoding="utf-8"))
    assert recorded["status"] == 502
    assert recorded["body_text"].startswith("<html>bad gateway for ***")
    assert "Signature=***" in recorded["body_text"]
    assert not [form for form in every_form(AKSK.secrets) if form in out.read_text()]
    assert "(HTTP 502)" in capsys.readouterr().err


def test_an_existing_file_is_never_replaced_without_force_and_nothing_is_called(
    upstream: ScriptedUpstream,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in environment(upstream, TOKEN).items():
        monkeypatch.setenv(name, value)
    upstream.serve(RawAnswer(200, [JSON_TYPE], b'{"name": "job", "status": "NORMAL"}', "OK"))
    out = tmp_path / "kept.json"
    out.write_text("mine")
    calls = len(upstream.requests)

    refused = main(["record", PROJECT, "job", "--out", str(out)])
    _, err = capsys.readouterr()
    forced = main(["record", PROJECT, "job", "--out", str(out), "--force"])

    assert (refused, forced) == (2, 0)
    assert "exists: pass --force to replace it" in err
    assert err.count("\n") == 1
    assert len(upstream.requests) == calls + 1  # only the forced run called
    assert json.loads(out.read_text())["body"]["name"] == "job"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["kept.json"]


def test_no_answer_means_no_file_and_exit_4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DLF_ENDPOINT", "http://127.0.0.1:9")  # discard: nothing listens
    monkeypatch.setenv("DLF_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("DLF_AUTH_TOKEN", "fake-token-for-the-tests")
    out = tmp_path / "never.json"

    code = main(["record", "--list", PROJECT, "--out", str(out)])

    _, err = capsys.readouterr()
    assert code == 4
    assert err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ([PROJECT], "PROJECT_ID JOB_NAME"),
        (["--list", PROJECT, "job"], "PROJECT_ID JOB_NAME"),
        ([PROJECT, "job", "--offset", "1"], "go with --list"),
        (["--list", "../x"], "project_id"),
        ([PROJECT, "bad\nname"], "job_name"),
    ],
)
def test_bad_record_flags_are_one_line_and_exit_2(
    flags: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DLF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("DLF_AUTH_TOKEN", "fake-token-for-the-tests")

    code = main(["record", *flags, "--out", str(tmp_path / "x.json")])

    _, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1
    assert message in err
    assert list(tmp_path.iterdir()) == []


# Any JSON, with a credential spelt any way the masker knows put anywhere in it.
SECRETS = AKSK.secrets + TOKEN.secrets
REDACTOR = Redactor(SECRETS)
_FORMS = sorted(every_form(SECRETS))
_TEXT = st.one_of(
    st.text(max_size=8),
    st.builds(
        lambda a, f, b: a + f + b, st.text(max_size=4), st.sampled_from(_FORMS), st.text(max_size=4)
    ),
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_JSON)
def test_a_scrubbed_value_written_as_a_fixture_spells_no_credential(value: Any) -> None:
    text = json.dumps(scrub_value(value, REDACTOR), ensure_ascii=False, indent=2)

    assert [form for form in every_form(SECRETS) if form in text] == []
