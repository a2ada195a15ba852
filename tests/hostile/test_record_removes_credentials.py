"""`dlf-status record` against an upstream that echoes our credentials everywhere it
can: in the body (values, keys, a JSON document inside a string, an echoed
Authorization header), in header values, in cookies and token headers, in a body that
is not JSON. Whatever it sends, the file written holds no credential in any form (the
hostile suite's credentials, with `"`, `\\`, `/`, `+`, `=` and `%`, in every encoding
the masker knows and every one the hostile suite checks), no signature of the request,
and no header that may carry one; it is a fixture `validate` checks against the
operation it names. The file is written whole or not at all, never over another."""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import json
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote, quote_plus, unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlf_status.domain.model import Headers, UpstreamResponse
from dlf_status.domain.redaction import Redactor, forms
from dlf_status.entrypoints.cli import main
from dlf_status.recorded import exchange_from_json, recording, recording_redactor, scrub_value
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


# -- credentials hypothesis makes up, echoed in every encoding ---------------------------

# Obviously fake, each with a fixed start no text of ours holds; the rest any characters
# the configuration accepts (an SK any printable text, the others visible ASCII).
_VISIBLE = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
# What str.isprintable() accepts (the configuration's test): no other separator or
# control, format, private or unassigned character.
_PRINTABLE = st.characters(blacklist_categories=["Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"])
GENERATED = st.one_of(
    st.builds(
        lambda ak, sk, token: Credentials(
            {"DLF_AK": ak, "DLF_SK": sk, **({"DLF_SECURITY_TOKEN": token} if token else {})}
        ),
        st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=4, max_size=20).map(
            lambda tail: "FAKEAK" + tail
        ),
        st.text(alphabet=_PRINTABLE, min_size=1, max_size=40).map(lambda tail: "fake-sk-" + tail),
        st.none()
        | st.text(alphabet=_VISIBLE, min_size=1, max_size=60).map(lambda tail: "fake-st-" + tail),
    ),
    st.text(alphabet=_VISIBLE, min_size=1, max_size=80).map(
        lambda tail: Credentials({"DLF_AUTH_TOKEN": "fake-iam-" + tail})
    ),
)


def echoes(credentials: Credentials) -> list[str]:
    """Every way an upstream could quote our credentials back: as they are, URL-
    and JSON-escaped, in hex, in base64 alone and inside a `Basic` pair at each of
    base64's three alignments, in a JSON document inside a string."""
    secrets = credentials.secrets
    found: list[str] = []
    for secret in secrets:
        raw = secret.encode("utf-8")
        found += [
            secret,
            quote(secret, safe=""),
            quote_plus(secret),
            json.dumps(secret)[1:-1],
            json.dumps(json.dumps(secret))[1:-1],
            raw.hex(),
            raw.hex().upper(),
            base64.b64encode(raw).decode(),
            base64.urlsafe_b64encode(raw).decode().rstrip("="),
        ]
    pair = ":".join(secrets).encode("utf-8")
    for lead in (b"", b"u", b"us"):
        found.append("Basic " + base64.b64encode(lead + pair).decode())
        found.append(quote(base64.b64encode(lead + pair).decode(), safe=""))
    return found


_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{8,}")
_HEX_RUN = re.compile(r"[0-9a-fA-F]{16,}")


def decodings(text: str) -> list[bytes]:
    """What any run of base64 or hex characters in `text` decodes to, from every
    alignment: written here from the encodings' definitions, not from the masker."""
    text = unquote(text.replace("\\/", "/"))
    decoded: list[bytes] = []
    for run in _BASE64_RUN.findall(text):
        for start in range(4):
            piece = run[start:]
            piece = piece[: len(piece) - len(piece) % 4]
            for alphabet in (piece, piece.replace("-", "+").replace("_", "/")):
                with contextlib.suppress(binascii.Error):
                    decoded.append(base64.b64decode(alphabet, validate=True))
    for run in _HEX_RUN.findall(text):
        for start in range(2):
            piece = run[start:]
            decoded.append(bytes.fromhex(piece[: len(piece) - len(piece) % 2]))
    return decoded


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(GENERATED, st.booleans())
def test_generated_credentials_echoed_in_any_encoding_leave_no_trace(
    credentials: Credentials, listing: bool
) -> None:
    quoted = echoes(credentials)
    body: dict[str, Any] = {"name": "job", "status": "NORMAL", "echo": quoted}
    body["nodes"] = [{"name": f"n{index}", form: form} for index, form in enumerate(quoted)]
    body["runningData"] = json.dumps({"header": quoted})
    if listing:
        body = {"total": 1, "jobs": [{**body, "jobType": "REAL_TIME"}]}
    headers = [(f"X-Echo-{index}", form) for index, form in enumerate(quoted)]
    headers += [("Authorization", quoted[-2]), ("X-Auth-Token", quoted[0])]
    response = UpstreamResponse(200, Headers(dict(headers)), json.dumps(body).encode())

    recorded = recording(
        response,
        operation="ListJobs" if listing else "ShowJobStatus",
        endpoint="https://dayu-dlf.cn-north-4.myhuaweicloud.com",
        recorded_on=date(2026, 11, 25),
        redactor=recording_redactor(credentials.secrets),
    )

    text = json.dumps(recorded, ensure_ascii=False, indent=2)  # as `record` writes it
    secrets = credentials.secrets
    assert [form for form in every_form(secrets) if form in text] == []
    for secret in secrets:
        raw = secret.encode("utf-8")
        assert raw.hex() not in text.lower()
        assert not [found for found in decodings(text) if raw in found]
    assert "Authorization" not in recorded["headers"]
    assert "X-Auth-Token" not in recorded["headers"]
    exchange_from_json(recorded)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(credentials=GENERATED)
def test_record_with_generated_credentials_writes_none_of_them(
    credentials: Credentials, upstream: ScriptedUpstream
) -> None:
    """The whole command over HTTP: configured with made-up credentials, against an
    upstream that quotes them back in every encoding."""
    quoted = echoes(credentials)
    body = {"name": "job", "status": "NORMAL", "echo": quoted}
    upstream.serve(
        RawAnswer(
            200,
            [JSON_TYPE, ("X-Request-Id", quoted[6]), ("X-Echo", quoted[-1])],
            json.dumps(body).encode(),
            "OK",
        )
    )
    with (
        tempfile.TemporaryDirectory() as directory,
        mock.patch.dict(os.environ, environment(upstream, credentials)),
        contextlib.redirect_stderr(io.StringIO()) as err,
    ):
        for name in ("DLF_AK", "DLF_SK", "DLF_SECURITY_TOKEN", "DLF_AUTH_TOKEN"):
            if name not in credentials.environment:
                os.environ.pop(name, None)
        out = Path(directory) / "recorded.json"

        code = main(["record", PROJECT, "job", "--out", str(out)])

        assert code == 0, err.getvalue()
        text = out.read_text(encoding="utf-8")
    secrets = credentials.secrets
    assert [form for form in every_form(secrets) if form in text + err.getvalue()] == []
    for secret in secrets:
        assert not [found for found in decodings(text) if secret.encode("utf-8") in found]
