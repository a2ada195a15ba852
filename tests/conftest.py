from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from dlf_status.domain.contract import ValidationReport
from dlf_status.domain.model import UpstreamResponse
from dlf_status.observability import log_to, logger
from tests.support.rclone import RcloneS3Server
from tests.support.seaweed import SeaweedServer


@pytest.fixture(autouse=True)
def _default_logging() -> Iterator[None]:
    """Entry points reconfigure the process-wide logger; give every test the default."""
    log_to("stdout")
    logger.setLevel(logging.INFO)
    yield
    log_to("stdout")
    logger.setLevel(logging.INFO)


@pytest.fixture(autouse=True)
def _fresh_boto3_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3's default session resolves credentials once and keeps them: a test that
    made a client with fake ones (moto, a silent server) would hand them to every
    later test's clients. Each test starts without one, as a process does."""
    import boto3

    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """One real S3-compatible server for the whole run (a process start is seconds);
    tests keep apart by prefix."""
    server = SeaweedServer(tmp_path_factory.mktemp("seaweed")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def rclone_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RcloneS3Server]:
    """A real S3 server that ignores conditional writes, for the whole run."""
    server = RcloneS3Server(tmp_path_factory.mktemp("rclone")).start()
    yield server
    server.stop()


@dataclass
class StubValidator:
    """A `ResponseValidator` that returns a fixed report and remembers its calls."""

    report: ValidationReport = field(default_factory=ValidationReport)
    calls: list[tuple[UpstreamResponse, Any]] = field(default_factory=list)

    def validate(self, response: UpstreamResponse, body: Any) -> ValidationReport:
        self.calls.append((response, body))
        return self.report
