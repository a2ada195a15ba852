"""Snapshots in S3 or any S3-compatible store (Huawei OBS, SeaweedFS, MinIO), via boto3.

Conditional writes do the concurrency work: `If-None-Match: *` creates a key only
once, `If-Match: <etag>` replaces only what was read. This is the only module
that imports boto3 for snapshots.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

import boto3
from botocore import handlers
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from dlf_status.domain.ports import StoredObject
from dlf_status.domain.snapshots import is_safe_key
from dlf_status.errors import StoreError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# 412: the condition failed; 409: another conditional write on the key is in flight.
_LOST_RACE: Final = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})
_MISSING: Final = frozenset({"NoSuchKey", "404", "NotFound"})


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> ("bucket", "some/prefix")."""
    rest = uri.removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise StoreError(f"SNAPSHOT_URI {uri!r} names no bucket")
    return bucket, prefix.strip("/")


def make_s3_client(endpoint_url: str | None, pool_size: int = 10) -> S3Client:
    """One client per process. Path-style addressing and on-demand checksums for
    S3-compatible stores, which do not all support virtual hosts or CRC defaults.
    The connection pool matches the tick's threads: a smaller one makes threads
    open and drop connections on every call."""
    config = Config(
        max_pool_connections=pool_size,
        connect_timeout=2,
        read_timeout=5,
        retries={"mode": "standard", "max_attempts": 3},
        s3={"addressing_style": "path"} if endpoint_url else {},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    client = boto3.client("s3", endpoint_url=endpoint_url, config=config)
    # botocore sends "Expect: 100-continue" before every PutObject body and waits for
    # the answer: a round trip and about a fifth of each PUT's CPU, to spare uploading
    # a body the server would refuse. Ours are a few kilobytes: send them at once.
    client.meta.events.unregister("before-call.s3", handlers.add_expect_header)
    return client


class S3Store:
    def __init__(self, client: S3Client, bucket: str, prefix: str = "") -> None:
        self._client = client
        self._bucket = bucket
        self._prefix = prefix.strip("/")

    @property
    def location(self) -> str:
        return f"s3://{self._bucket}/{self._prefix}".rstrip("/")

    @property
    def client(self) -> S3Client:
        return self._client

    def _key(self, key: str) -> str:
        if not is_safe_key(key):
            raise StoreError(f"refusing an unsafe snapshot key {key!r:.120}")
        return f"{self._prefix}/{key}" if self._prefix else key

    def get(self, key: str) -> StoredObject | None:
        full_key = self._key(key)
        try:
            answer = self._client.get_object(Bucket=self._bucket, Key=full_key)
            body = answer["Body"].read()
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise self._error("read", full_key, exc) from None
        except BotoCoreError as exc:
            raise self._error("read", full_key, exc) from None
        # Lower-cased: AWS sends metadata names in lower case, other stores (rclone) do not.
        metadata = {name.lower(): value for name, value in answer.get("Metadata", {}).items()}
        return StoredObject(body=body, version=answer["ETag"], metadata=metadata)

    def create(self, key: str, body: bytes, metadata: Mapping[str, str]) -> bool:
        return self._put(key, body, metadata, expected_version=None) is not None

    def replace(
        self, key: str, body: bytes, metadata: Mapping[str, str], expected_version: str | None
    ) -> str | None:
        return self._put(key, body, metadata, expected_version=expected_version)

    def _put(
        self, key: str, body: bytes, metadata: Mapping[str, str], *, expected_version: str | None
    ) -> str | None:
        """A conditional PUT: If-None-Match: * without a version, If-Match with one.
        Returns the new ETag, or None when the condition failed."""
        full_key = self._key(key)
        try:
            if expected_version is None:
                answer = self._client.put_object(
                    Bucket=self._bucket,
                    Key=full_key,
                    Body=body,
                    ContentType="application/json",
                    Metadata=dict(metadata),
                    IfNoneMatch="*",
                )
            else:
                answer = self._client.put_object(
                    Bucket=self._bucket,
                    Key=full_key,
                    Body=body,
                    ContentType="application/json",
                    Metadata=dict(metadata),
                    IfMatch=expected_version,
                )
        except ClientError as exc:
            if _code(exc) in _LOST_RACE:
                return None
            raise self._error("write", full_key, exc) from None
        except BotoCoreError as exc:
            raise self._error("write", full_key, exc) from None
        return answer["ETag"]

    def _error(self, action: str, key: str, exc: Exception) -> StoreError:
        where = f"s3://{self._bucket}/{key}"
        if isinstance(exc, ClientError):
            code = _code(exc)
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            return StoreError(f"cannot {action} {where}: {code} (HTTP {status})")
        return StoreError(f"cannot {action} {where}: {type(exc).__name__}: {str(exc)[:160]}")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
