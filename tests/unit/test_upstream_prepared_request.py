"""The upstream client prepares its requests itself (no requests.Session per call):
what it sends must be what `Session.get` would have sent, URL and headers alike."""

from __future__ import annotations

from urllib.parse import quote

import requests
from hypothesis import given
from hypothesis import strategies as st

from dlf_status.adapters.signing import TokenAuthenticator
from dlf_status.adapters.upstream_http import HttpUpstreamClient, RequestTarget
from dlf_status.config import Credentials, UpstreamSettings

SETTINGS = UpstreamSettings(
    endpoint="https://dlf.example.test:8443/base",
    connect_timeout=1.0,
    read_timeout=2.0,
    deadline=5.0,
    max_attempts=3,
    retry_after_cap=1.0,
    max_response_bytes=1 << 20,
)
CLIENT = HttpUpstreamClient(
    SETTINGS, TokenAuthenticator(Credentials(auth_token="not-a-real-token-fake"))
)
TEXT = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=20)
HEADER_VALUE = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30)


def _session_prepared(url: str, headers: dict[str, str]) -> requests.PreparedRequest:
    """What the client sent before: a session that trusts nothing from the environment."""
    session = requests.Session()
    session.trust_env = False
    return session.prepare_request(requests.Request("GET", url, headers=headers))


@given(
    project=TEXT,
    job=TEXT,
    query=st.dictionaries(TEXT, TEXT, max_size=4),
    headers=st.dictionaries(
        st.sampled_from(["Content-Type", "User-Agent", "workspace", "X-Sdk-Date", "Accept"]),
        HEADER_VALUE,
    ),
)
def test_the_request_is_the_one_a_session_prepares(
    project: str, job: str, query: dict[str, str], headers: dict[str, str]
) -> None:
    path = f"/base/v1/{quote(project, safe='')}/jobs/{quote(job, safe='')}/status"
    target = RequestTarget(path, query, project, None)
    ours = CLIENT._prepared(target, headers)
    theirs = _session_prepared("https://dlf.example.test:8443" + target.path_and_query, headers)
    assert ours.method == theirs.method == "GET"
    assert ours.url == theirs.url
    assert list(ours.headers.items()) == list(theirs.headers.items())
    assert ours.body is theirs.body is None


def test_the_session_defaults_are_sent() -> None:
    """gzip and deflate accepted (the capped read decompresses), a kept-alive connection."""
    prepared = CLIENT._prepared(RequestTarget("/base/v1/p/jobs/j/status", {}, "p", None), {})
    assert prepared.headers["Accept-Encoding"] == requests.utils.DEFAULT_ACCEPT_ENCODING
    assert prepared.headers["Connection"] == "keep-alive"
