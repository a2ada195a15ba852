"""The direct PUT's SigV4 signature is botocore's own, byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import boto3
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials
from hypothesis import given
from hypothesis import strategies as st

from dlf_status.adapters.store_s3 import DirectPut, _quoted_key

NOW = datetime(2026, 11, 25, 17, 30, 5, tzinfo=UTC)
HEADERS = {
    "Content-Type": "application/json",
    "If-Match": '"0123456789abcdef0123456789abcdef"',
    "x-amz-meta-content-hash": "ab" * 32,
    "x-amz-meta-observed-at": "2026-11-25T17:30:05.123Z",
}


@pytest.mark.parametrize(
    ("url", "token"),
    [
        ("http://127.0.0.1:8333/snapshots/latest/project_id=p/job_name=a%252Fb/latest.json", None),
        # a name beyond ASCII: raw in the key, its UTF-8 percent-encoded in the URL
        ("http://127.0.0.1:8333/snapshots/latest/job_name=%E4%BD%9C%E4%B8%9A/latest.json", None),
        ("https://snapshots.s3.eu-west-1.amazonaws.com/history/x/y.json", "session-token-fake"),
        ("https://s3.example.com:443/b/k~1.json", None),
    ],
)
def test_the_signature_is_the_one_botocore_computes(
    url: str, token: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = ReadOnlyCredentials("AKIDEXAMPLEFAKE", "not-a-real-secret-key", token)
    client = boto3.client(
        "s3",
        region_name="eu-west-1",
        aws_access_key_id="AKIDEXAMPLEFAKE",
        aws_secret_access_key="not-a-real-secret-key",
    )
    body = b'{"observed_at": "2026-11-25T17:30:05.123Z"}'
    monkeypatch.setattr(
        "botocore.auth.get_current_datetime", lambda *_, **__: NOW.replace(tzinfo=None)
    )
    request = AWSRequest(method="PUT", url=url, data=body, headers=dict(HEADERS))
    S3SigV4Auth(credentials, "s3", "eu-west-1").add_auth(request)

    ours = DirectPut(client, "snapshots").sign(url, body, HEADERS, credentials, "eu-west-1", NOW)

    assert ours["Authorization"] == request.headers["Authorization"]
    assert ours["x-amz-date"] == request.headers["X-Amz-Date"]
    assert ours["x-amz-content-sha256"] == request.headers["X-Amz-Content-SHA256"]
    assert ours.get("x-amz-security-token") == request.headers.get("X-Amz-Security-Token")


def test_the_signing_key_is_derived_once_per_day() -> None:
    client = boto3.client(
        "s3", region_name="eu-west-1", aws_access_key_id="A", aws_secret_access_key="B"
    )
    direct = DirectPut(client, "snapshots")
    credentials = ReadOnlyCredentials("AKIDEXAMPLEFAKE", "not-a-real-secret-key", None)
    url = "https://snapshots.s3.eu-west-1.amazonaws.com/k.json"

    first = direct.sign(url, b"1", {}, credentials, "eu-west-1", NOW)
    key = direct._key
    direct.sign(url, b"2", {}, credentials, "eu-west-1", NOW.replace(hour=23))
    assert direct._key is key
    next_day = direct.sign(url, b"1", {}, credentials, "eu-west-1", NOW.replace(day=26))

    assert direct._key is not key
    assert first["Authorization"] != next_day["Authorization"]


@given(st.text(st.sampled_from("aZ09_.~/%=-é ?#+&"), max_size=60))
def test_a_key_is_quoted_as_quote_quotes_it(key: str) -> None:
    """The fast path for stored keys gives what quote(safe="/~") gives, for any text."""
    assert _quoted_key(key) == quote(key, safe="/~")
