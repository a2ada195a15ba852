"""Snapshots in S3 or any S3-compatible store (Huawei OBS, SeaweedFS, MinIO), via boto3.

Conditional writes do the concurrency work: `If-None-Match: *` creates a key only
once, `If-Match: <etag>` replaces only what was read. Not every store honours them
(some accept the headers and ignore them), so a strict store checks once, before its
first write, on a probe key of its own. This is the only module that imports boto3
for snapshots.
"""

from __future__ import annotations

import ipaddress
import re
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple
from urllib.parse import urlsplit

import boto3
from botocore import handlers
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from dlf_status.config import S3AddressingStyle
from dlf_status.domain.ports import (
    MAX_LIST_PAGE,
    ListedObject,
    ObjectListing,
    StoredObject,
    check_list_limit,
)
from dlf_status.domain.snapshots import CONTROL_ROOT, is_safe_key
from dlf_status.errors import ConditionalWritesIgnored, ConfigurationError, StoreError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# 412: the condition failed; 409: another conditional write on the key is in flight.
_LOST_RACE: Final = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})
_MISSING: Final = frozenset({"NoSuchKey", "404", "NotFound"})
# Where a strict store proves that the store honours conditional writes. It never
# needs deleting: the probe only ever writes the same bytes over it, or fails to.
PROBE_KEY: Final = f"{CONTROL_ROOT}/conditional-write-probe"
_PROBE_BODY: Final = b"dlf-status checks here that this store honours conditional writes\n"
_NO_SUCH_ETAG: Final = '"00000000000000000000000000000000"'
# ListObjectsV2 may answer a truncated page without a key (S3 documents it for pages
# filtered server-side); follow its continuation token this many times at most.
_EMPTY_PAGES_FOLLOWED: Final = 16
# A bucket name that is one DNS label, as virtual-hosted addressing puts it in the
# host name (TLS wildcard certificates cover one label: no dots over https).
_HOST_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{1,61})[a-z0-9]")
_DOTTED_HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")

Addressing = Literal["virtual", "path"]
# Attempts per store call: one retry, for a dropped connection or throttling.
STORE_ATTEMPTS: Final = 2


class S3Timeouts(NamedTuple):
    connect: float
    read: float
    attempts: int


def s3_timeouts(call_seconds: float) -> S3Timeouts:
    """Timeouts that end a call to a store that accepts and never answers within
    `call_seconds` (STORE_TIMEOUT): each attempt may take a quarter to connect and a
    quarter to answer, so two attempts take at most the whole. Between them botocore
    pauses at most 50 ms after a timeout (a second after a fast throttling answer)."""
    share = call_seconds / (2 * STORE_ATTEMPTS)
    return S3Timeouts(connect=share, read=share, attempts=STORE_ATTEMPTS)


def _bucket_is_a_host_name(bucket: str, secure: bool) -> bool:
    if not 3 <= len(bucket) <= 63:
        return False
    if secure or "." not in bucket:
        return _HOST_LABEL.fullmatch(bucket) is not None
    return _DOTTED_HOST.fullmatch(bucket) is not None and not _is_ip(bucket)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def addressing_style_for(
    configured: S3AddressingStyle, endpoint_url: str | None, bucket: str | None
) -> Addressing:
    """Virtual-hosted (`bucket.host/key`) wherever it can work, path-style
    (`host/bucket/key`) otherwise, or what S3_ADDRESSING_STYLE forces.

    Virtual-hosted cannot work with an IP literal or a localhost endpoint (no DNS
    name to put the bucket in) or a bucket name that is not a host name (capitals,
    underscores; dots over https, which no wildcard certificate covers). AWS
    deprecated path-style and Huawei OBS refuses it on its public endpoints
    (VirtualHostDomainRequired), so path-style is never the default where
    virtual-hosted works. Without a bucket (not known yet), only the endpoint decides.
    """
    if configured == "path":
        return "path"
    parts = urlsplit(endpoint_url) if endpoint_url else None
    host = (parts.hostname or "") if parts else ""
    local = _is_ip(host) or host == "localhost" or host.endswith(".localhost")
    secure = parts is None or parts.scheme == "https"
    hostable = bucket is None or _bucket_is_a_host_name(bucket, secure)
    if configured == "virtual":
        if not hostable or _is_ip(host):
            raise ConfigurationError(
                f"S3_ADDRESSING_STYLE=virtual cannot reach bucket {bucket!r} at "
                f"{endpoint_url or 'AWS S3'}: virtual-hosted addressing needs a host name "
                "endpoint and a bucket name that is a DNS label; use auto or path"
            )
        return "virtual"
    return "path" if local or not hostable else "virtual"


def make_s3_client(
    endpoint_url: str | None,
    pool_size: int = 10,
    *,
    call_seconds: float,
    addressing_style: Addressing | None = None,
) -> S3Client:
    """One client per process. Each call ends within `call_seconds` when the store
    does not answer (`s3_timeouts`): the time the functions' timeouts allow the store.
    The addressing style is decided by `addressing_style_for` (for the endpoint alone
    when none is given); checksums on demand only, as S3-compatible stores do not all
    support CRC defaults. The connection pool matches the tick's threads: a smaller
    one makes threads open and drop connections on every call."""
    style = addressing_style or addressing_style_for("auto", endpoint_url, None)
    timeouts = s3_timeouts(call_seconds)
    config = Config(
        max_pool_connections=pool_size,
        connect_timeout=timeouts.connect,
        read_timeout=timeouts.read,
        retries={"mode": "standard", "total_max_attempts": timeouts.attempts},
        s3={"addressing_style": style},
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
    """`require_conditional_writes` (SNAPSHOT_CONSISTENCY=strict): before the first
    write of this object (once per container), prove on PROBE_KEY that the store
    refuses a create-only PUT of an existing key and a PUT on a wrong ETag; a store
    that does not is refused for good, a probe that fails for another reason (the
    store unreachable) is tried again on the next write."""

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        prefix: str = "",
        *,
        require_conditional_writes: bool = True,
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._prefix = prefix.strip("/")
        self._writes_checked = not require_conditional_writes
        self._refused: str | None = None
        self._probe_lock = threading.Lock()

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

    def list_objects(
        self, prefix: str, *, start_after: str = "", limit: int = MAX_LIST_PAGE
    ) -> ObjectListing:
        """One ListObjectsV2 call (two or more only when S3 answers a truncated page
        without a key). Keys come back relative to the store's prefix; keys that are not
        safe snapshot keys (another tool's objects under the prefix) are skipped but
        still advance `resume_after`. botocore asks for URL-encoded keys and decodes
        them, so any key survives the XML answer."""
        check_list_limit(limit)
        base = f"{self._prefix}/" if self._prefix else ""
        request: dict[str, Any] = {
            "Bucket": self._bucket,
            "Prefix": base + prefix,
            "MaxKeys": limit,
        }
        if start_after:
            request["StartAfter"] = base + start_after
        elif base + prefix and (not prefix or prefix.endswith("/")):
            # Past a "folder" object named as the prefix itself (a console creates
            # them): it is no key of ours, and SeaweedFS ends a listing that starts
            # with one, truncated or not.
            request["StartAfter"] = base + prefix
        for _ in range(_EMPTY_PAGES_FOLLOWED):
            try:
                answer = self._client.list_objects_v2(**request)
            except (ClientError, BotoCoreError) as exc:
                raise self._error("list", base + prefix + "*", exc) from None
            contents = answer.get("Contents", [])
            truncated = bool(answer.get("IsTruncated"))
            if contents or not truncated:
                break
            request["ContinuationToken"] = answer["NextContinuationToken"]
        else:
            raise StoreError(
                f"cannot list s3://{self._bucket}/{base}{prefix}*: "
                f"{_EMPTY_PAGES_FOLLOWED} truncated pages in a row held no key"
            )
        objects: list[ListedObject] = []
        last = ""
        for item in contents:
            full_key = item["Key"]
            if not full_key.startswith(base):  # not below our prefix: never from S3
                continue
            last = full_key[len(base) :]
            if is_safe_key(last):
                objects.append(ListedObject(last, item["ETag"], item["Size"]))
        return ObjectListing(tuple(objects), last if truncated and last else None)

    def create(self, key: str, body: bytes, metadata: Mapping[str, str]) -> bool:
        self._check_conditional_writes()
        return self._put(key, body, metadata, expected_version=None) is not None

    def replace(
        self, key: str, body: bytes, metadata: Mapping[str, str], expected_version: str | None
    ) -> str | None:
        self._check_conditional_writes()
        return self._put(key, body, metadata, expected_version=expected_version)

    def _check_conditional_writes(self) -> None:
        if self._writes_checked:
            return
        with self._probe_lock:  # one probe at a time; the tick's other threads wait
            if self._refused is None and not self._writes_checked:
                self._refused = self._probe()
                self._writes_checked = self._refused is None
            if self._refused is not None:
                raise ConditionalWritesIgnored(
                    f"the store at {self.location} ignores conditional writes "
                    f"({self._refused}): history could be overwritten and latest.json lose "
                    "updates; set SNAPSHOT_CONSISTENCY=best-effort to accept that"
                )

    def _probe(self) -> str | None:
        """Why the store cannot be trusted with conditional writes, or None.

        Two to three PUTs of the same bytes on a key of our own: puts and gets are
        all the deployed function may do (it cannot delete)."""
        key = self._key(PROBE_KEY)
        create_only = self._probe_put(key)
        if create_only == "written":  # the first probe of this store: the key exists now
            create_only = self._probe_put(key)
            if create_only == "written":
                return "a create-only PUT (If-None-Match: *) replaced an existing object"
        if create_only.startswith("unsupported"):
            return f"it refuses If-None-Match: {create_only.removeprefix('unsupported ')}"
        wrong_etag = self._probe_put(key, if_match=_NO_SUCH_ETAG)
        if wrong_etag == "written":
            return "a PUT with If-Match on a wrong ETag replaced the object"
        if wrong_etag.startswith("unsupported"):
            return f"it refuses If-Match: {wrong_etag.removeprefix('unsupported ')}"
        return None

    def _probe_put(self, key: str, *, if_match: str | None = None) -> str:
        """A PUT with If-None-Match: * (or If-Match: `if_match`): 'written', 'refused'
        (the condition held it back), or 'unsupported <code>'."""
        try:
            if if_match is None:
                self._client.put_object(
                    Bucket=self._bucket, Key=key, Body=_PROBE_BODY, IfNoneMatch="*"
                )
            else:
                self._client.put_object(
                    Bucket=self._bucket, Key=key, Body=_PROBE_BODY, IfMatch=if_match
                )
        except ClientError as exc:
            code = _code(exc)
            if code in _LOST_RACE:
                return "refused"
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code == "NotImplemented" or status == 501:
                return f"unsupported {code} (HTTP {status})"
            raise self._error("check conditional writes on", key, exc) from None
        except BotoCoreError as exc:
            raise self._error("check conditional writes on", key, exc) from None
        return "written"

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
            # If-Match on a key that is gone: AWS answers 404 NoSuchKey. What was
            # read is not current any more, as with a 412.
            lost = _LOST_RACE if expected_version is None else _LOST_RACE | _MISSING
            if _code(exc) in lost:
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
