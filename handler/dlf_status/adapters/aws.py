"""AWS clients built by boto3, with its refusals of the environment made ours."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from dlf_status.errors import ConfigurationError, one_line

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_s3 import S3Client

    from dlf_status.config import S3AddressingStyle

Client = TypeVar("Client")
S3ClientFor = Callable[[str], "S3Client"]


def aws_client(service: str, make: Callable[[], Client]) -> Client:
    """`make()`, with what botocore refuses in the AWS_* environment (a region it
    cannot read, an unknown profile, a bad defaults mode) as a ConfigurationError."""
    from botocore.exceptions import BotoCoreError

    try:
        return make()
    except (BotoCoreError, ValueError) as error:
        raise ConfigurationError(
            f"cannot configure the {service} client: {type(error).__name__}: "
            f"{one_line(str(error), 200)}"
        ) from None


def bounded_config(*, connect_seconds: float, read_seconds: float, attempts: int) -> Config:
    """A client's configuration whose calls have a known worst case: each attempt
    bounded by its timeouts, `attempts` of them (botocore's standard retries; its
    pause between them is at most 1 s, stretched by at most 5 s by `x-amz-retry-after`),
    not botocore's defaults (60 s to connect, 60 s to read, several attempts)."""
    from botocore.config import Config

    return Config(
        connect_timeout=connect_seconds,
        read_timeout=read_seconds,
        retries={"mode": "standard", "total_max_attempts": attempts},
    )


def s3_clients(
    endpoint_url: str | None,
    configured: S3AddressingStyle,
    *,
    call_seconds: float,
    pool_size: int = 1,
) -> S3ClientFor:
    """The S3 client for a bucket, made on first use and kept: one per addressing
    style (the bucket's name decides it, `store_s3.addressing_style_for`), so a
    container that reads a job list at every tick opens one pool and one TLS session,
    not one per read. boto3 is imported at the first call, not before."""
    made: dict[str, S3Client] = {}
    lock = threading.Lock()

    def client_for(bucket: str) -> S3Client:
        from dlf_status.adapters.store_s3 import addressing_style_for, make_s3_client

        style = addressing_style_for(configured, endpoint_url, bucket)
        with lock:
            if style not in made:
                made[style] = aws_client(
                    "S3",
                    lambda: make_s3_client(
                        endpoint_url, pool_size, call_seconds=call_seconds, addressing_style=style
                    ),
                )
            return made[style]

    return client_for
