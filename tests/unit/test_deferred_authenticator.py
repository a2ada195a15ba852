"""Credentials read on demand: again after a failed read, never again after one that
succeeded, once however many threads ask (signing.DeferredAuthenticator)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from dlf_status.adapters.signing import DeferredAuthenticator
from dlf_status.config import Credentials
from dlf_status.errors import ConfigurationError

TOKEN = "fake-iam-token-0001"


class Reads:
    """Fails the first `failures` reads, then returns the token; counts them."""

    def __init__(self, failures: int) -> None:
        self.failures, self.count = failures, 0
        self.registered: list[Credentials] = []
        self.gate = threading.Event()

    def __call__(self) -> Credentials:
        self.count += 1
        if self.count <= self.failures:
            raise ConfigurationError("cannot read secret s: EndpointConnectionError")
        self.gate.wait(5)  # every thread is asking by now (see below)
        return Credentials(auth_token=TOKEN)


def _headers(authenticator: DeferredAuthenticator) -> dict[str, str]:
    headers: dict[str, str] = {}
    authenticator.authenticate(method="GET", host="h", path="/", headers=headers, project_id="p")
    return headers


def test_a_failed_read_is_tried_again_and_a_good_one_kept() -> None:
    reads = Reads(failures=2)
    reads.gate.set()
    authenticator = DeferredAuthenticator(reads, on_read=reads.registered.append)

    for _ in range(2):
        with pytest.raises(ConfigurationError, match="EndpointConnectionError"):
            _headers(authenticator)
    answers = [_headers(authenticator) for _ in range(3)]

    assert answers == [{"X-Auth-Token": TOKEN}] * 3
    assert reads.count == 3
    assert reads.registered == [Credentials(auth_token=TOKEN)]


def test_threads_asking_together_read_once() -> None:
    reads = Reads(failures=0)
    authenticator = DeferredAuthenticator(reads, on_read=reads.registered.append)

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(_headers, authenticator) for _ in range(8)]
        reads.gate.set()
        answers = [future.result() for future in futures]

    assert answers == [{"X-Auth-Token": TOKEN}] * 8
    assert reads.count == 1
