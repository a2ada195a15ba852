"""Our SDK-HMAC-SHA256 signer against the official one in huaweicloudsdkcore."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from dlf_status.adapters.signing import (
    AkSkAuthenticator,
    TokenAuthenticator,
    authenticator_for,
    canonical_uri,
)
from dlf_status.adapters.upstream_http import (
    USER_AGENT,
    RequestTarget,
    job_page_parameters,
    jobs_path,
    status_path,
)
from dlf_status.config import Credentials
from dlf_status.domain.listing import JobPageQuery
from dlf_status.domain.model import JobRef
from tests.support.clock import FixedClock

HOST = "dayu-dlf.cn-north-4.myhuaweicloud.com"
PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
MOMENT = datetime(2026, 11, 25, 8, 54, 15, tzinfo=UTC)
ODD_NAMES = [
    "job_sms",
    "a b",
    "作业-实时",
    "a/b",
    "%2F",
    "50%",
    "~tilde",
    "x+y=z",
    "semi;colon,comma",
    "q?x#y",
    "..a",
    "(paren)*'!",
    "émoji🚀",
    "x" * 128,
]


@dataclass
class _SdkCredentials:
    ak: str
    sk: str


def official_signing(
    ak: str, sk: str, path: str, headers: dict[str, str], query: dict[str, str] | None = None
) -> tuple[str, str]:
    """The official signer's Authorization and the path and query it sends."""
    request = SdkRequest(
        method="GET",
        schema="https",
        host=HOST,
        resource_path=path,
        query_params=list((query or {}).items()),
        header_params=dict(headers),
        body="",
    )
    signed = Signer(_SdkCredentials(ak, sk)).sign(request)
    authorization: str = signed.header_params["Authorization"]
    return authorization, str(signed.uri)


def official_authorization(ak: str, sk: str, path: str, headers: dict[str, str]) -> str:
    return official_signing(ak, sk, path, headers)[0]


@pytest.mark.parametrize("workspace", [None, "0a1b2c3d4e5f60718293a4b5c6d7e8f9"])
@pytest.mark.parametrize("security_token", [None, "temporary-token-value"])
@pytest.mark.parametrize("job_name", ODD_NAMES)
def test_our_signature_equals_the_official_signers(
    job_name: str, workspace: str | None, security_token: str | None
) -> None:
    credentials = Credentials(
        ak="TESTAK0123456789", sk="test-sk-not-a-secret", security_token=security_token
    )
    job = JobRef.parse(PROJECT, job_name, workspace)
    path = status_path("", job)
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if workspace:
        headers["workspace"] = workspace

    AkSkAuthenticator(credentials, FixedClock(MOMENT)).authenticate(
        method="GET", host=HOST, path=path, headers=headers, project_id=PROJECT
    )
    ours = headers.pop("Authorization")

    assert headers["X-Sdk-Date"] == "20261125T085415Z"
    assert headers["X-Project-Id"] == PROJECT
    assert headers.get("X-Security-Token") == security_token
    assert ours == official_authorization("TESTAK0123456789", "test-sk-not-a-secret", path, headers)


@pytest.mark.parametrize("job_name", ODD_NAMES)
def test_the_job_name_is_one_path_segment_encoded_like_the_sdk(job_name: str) -> None:
    path = status_path("", JobRef.parse(PROJECT, job_name))

    assert path == f"/v1/{PROJECT}/jobs/{quote(job_name, safe='')}/status"
    assert path.count("/") == 5


def test_canonical_uri_always_ends_with_a_slash() -> None:
    assert canonical_uri("/v1/p/jobs/a%20b/status") == "/v1/p/jobs/a%20b/status/"


def test_signed_headers_exclude_names_with_underscores() -> None:
    headers = {"Content-Type": "application/json", "x_custom": "unsigned"}

    AkSkAuthenticator(Credentials(ak="AK", sk="SK"), FixedClock(MOMENT)).authenticate(
        method="GET", host=HOST, path="/v1/p/jobs/j/status", headers=headers, project_id="p"
    )

    assert "SignedHeaders=content-type;host;x-project-id;x-sdk-date," in headers["Authorization"]


def test_token_authentication_sends_only_the_token() -> None:
    headers: dict[str, str] = {}

    TokenAuthenticator(Credentials(auth_token="iam-token")).authenticate(
        method="GET", host=HOST, path="/", headers=headers, project_id="p"
    )

    assert headers == {"X-Auth-Token": "iam-token"}


def test_aksk_is_preferred_when_both_kinds_are_configured() -> None:
    both = Credentials(ak="AK", sk="SK", auth_token="token")

    assert isinstance(authenticator_for(both), AkSkAuthenticator)
    assert isinstance(authenticator_for(Credentials(auth_token="t")), TokenAuthenticator)


ODD_TAGS = [
    (),
    ("prod",),
    ("team a", "prod/eu"),
    ("作业", "émoji🚀"),
    ("50%", "~x", "a+b=c", "q?x#y&z", "(p)*'!;"),
]


@pytest.mark.parametrize("workspace", [None, "0a1b2c3d4e5f60718293a4b5c6d7e8f9"])
@pytest.mark.parametrize("tags", ODD_TAGS, ids=lambda tags: ",".join(tags) or "no tags")
@pytest.mark.parametrize("job_name", [None, *ODD_NAMES])
def test_a_list_request_is_signed_and_sent_as_the_official_signer_does(
    job_name: str | None, tags: tuple[str, ...], workspace: str | None
) -> None:
    query = JobPageQuery(PROJECT, workspace, offset=200, job_name=job_name, tags=tags)
    target = RequestTarget(jobs_path("", PROJECT), job_page_parameters(query), PROJECT, workspace)
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if workspace:
        headers["workspace"] = workspace
    credentials = Credentials(ak="TESTAK0123456789", sk="test-sk-not-a-secret")

    AkSkAuthenticator(credentials, FixedClock(MOMENT)).authenticate(
        method="GET",
        host=HOST,
        path=target.path,
        headers=headers,
        project_id=PROJECT,
        query=target.query,
    )
    ours = headers.pop("Authorization")

    official, sent = official_signing(
        "TESTAK0123456789", "test-sk-not-a-secret", target.path, headers, dict(target.query)
    )
    assert ours == official
    assert target.path_and_query == sent


def test_a_list_request_sends_every_documented_parameter_named_as_the_sdk_does() -> None:
    query = JobPageQuery(PROJECT, None, offset=3, limit=100, job_name="a b", tags=("x", "y"))

    assert job_page_parameters(query) == {
        "jobType": "REAL_TIME",
        "offset": "3",
        "limit": "100",
        "jobName": "a b",
        "tags": "x,y",
    }
    assert jobs_path("/base", "p-1") == "/base/v1/p-1/jobs"
