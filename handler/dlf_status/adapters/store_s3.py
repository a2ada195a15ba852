"""Snapshots in S3 or any S3-compatible store (Huawei OBS, SeaweedFS, MinIO), via boto3.

Conditional writes do the concurrency work: `If-None-Match: *` creates a key only
once, `If-Match: <etag>` replaces only what was read. Not every store honours them
(some accept the headers and ignore them), so a strict store checks once, before its
first write, on a probe key of its own. This is the only module that imports boto3
for snapshots.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple
from urllib.parse import quote, urlsplit

import boto3
import urllib3
from botocore import handlers
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
)
from botocore.parsers import ResponseParserFactory

from dlf_status.config import S3AddressingStyle
from dlf_status.domain.ports import (
    MAX_LIST_PAGE,
    NO_METADATA,
    ListedObject,
    ObjectListing,
    StoredObject,
    check_list_limit,
)
from dlf_status.domain.snapshots import CONTROL_ROOT, is_safe_key
from dlf_status.errors import (
    ConditionalWritesIgnored,
    ConfigurationError,
    StoreError,
    UserMetadataDropped,
    WriteOutcomeUnknown,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Answers to a PUT that the store may have applied all the same: S3 documents it of a
# 500 InternalError, and a 502 or 504 comes from something between that may have passed
# the request on. A 503 (SlowDown, ServiceUnavailable) refuses the request unprocessed.
_MAYBE_APPLIED_STATUSES: Final = frozenset({500, 502, 504})
# Transport failures before the request left: nothing can have been applied.
_NEVER_SENT: Final = (
    urllib3.exceptions.NewConnectionError,
    urllib3.exceptions.ConnectTimeoutError,
    EndpointConnectionError,
    ConnectTimeoutError,
)
# 412: the condition failed; 409: another conditional write on the key is in flight.
_LOST_RACE: Final = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})
_MISSING: Final = frozenset({"NoSuchKey", "404", "NotFound"})
# User metadata naming the create-only PUT that wrote an object (a random id per
# call): a retried PUT refused by an object tells its own applied write from another
# writer's object of the same bytes (S3Store.create).
WRITE_ID_METADATA: Final = "write-id"
# Where a strict store proves that the store honours conditional writes. It never
# needs deleting: the probe only ever writes the same bytes over it, or fails to.
PROBE_KEY: Final = f"{CONTROL_ROOT}/conditional-write-probe"
_PROBE_BODY: Final = b"dlf-status checks here that this store honours conditional writes\n"
# Where a strict store proves that it keeps user metadata (latest.json names there the
# transition record it owes): written once with METADATA_PROBE_TAG, read back per probe.
METADATA_PROBE_KEY: Final = f"{CONTROL_ROOT}/metadata-probe"
_METADATA_PROBE_BODY: Final = b"dlf-status checks here that this store keeps user metadata\n"
METADATA_PROBE_TAG: Final = ("probe", "kept")
PROBE_KEYS: Final = (PROBE_KEY, METADATA_PROBE_KEY)
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
# botocore's standard mode pauses before its retry at most its throttling base scale
# (1 s; 50 ms after anything else). A store's `x-amz-retry-after` header could stretch
# that by 5 s more: the client drops the header (`make_s3_client`), so the pause has
# a known bound.
RETRY_PAUSE_SECONDS: Final = 1.0
_RETRY_AFTER_HEADER: Final = "x-amz-retry-after"


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


def s3_call_worst_case(call_seconds: float) -> float:
    """The longest one call of the port (`S3Store.get`, `create`, `replace`,
    `list_objects`' usual single request) may take against a store that answers every
    attempt as slowly as the timeouts allow, for STORE_TIMEOUT `call_seconds`: the
    costliest is a create-only PUT whose direct attempt (half of `call_seconds`) is
    answered 503, then `put_object`'s two attempts and a pause, then the HEAD that
    tells its own applied write from another's, two attempts and a pause. Writers and
    readers start a call only with this much of the invocation left."""
    botocore_call = call_seconds + RETRY_PAUSE_SECONDS
    return call_seconds / STORE_ATTEMPTS + 2 * botocore_call


def probe_call_worst_case(call_seconds: float) -> float:
    """The longest one call of `S3Store.check_conditional_writes` (up to four PUTs and
    two HEADs) takes for STORE_TIMEOUT `call_seconds`: two attempts and a pause."""
    return call_seconds + RETRY_PAUSE_SECONDS


def _drop_retry_after(response: Any = None, **_: Any) -> None:
    """Drop a store's `x-amz-retry-after` before botocore's retry handler reads it (it
    would pause up to 5 s longer): the pause stays within RETRY_PAUSE_SECONDS."""
    if response is not None and response[0] is not None:
        response[0].headers.pop(_RETRY_AFTER_HEADER, None)


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
    client.meta.events.register_first("needs-retry.s3", _drop_retry_after)
    # Nothing of dlf-status reads a time botocore parses (a listing's LastModified, a
    # GET's): dateutil parsed each one, three fifths of a 1,000-key listing's CPU and
    # of a tick that confirms its jobs. They stay the text the store sent.
    # A factory of this client's own: the session's is shared with every other client.
    endpoint = getattr(client, "_endpoint", None)
    if endpoint is not None and hasattr(endpoint, "_response_parser_factory"):
        factory = ResponseParserFactory()
        factory.set_parser_defaults(timestamp_parser=str)
        endpoint._response_parser_factory = factory
    return client


def _host(scheme: str, netloc: str) -> str:
    """The Host header as signed: without the scheme's default port."""
    default = {"http": ":80", "https": ":443"}.get(scheme, "")
    return netloc[: -len(default)] if default and netloc.endswith(default) else netloc


# The characters of a stored key (snapshots.is_safe_key) that quote(safe="/~") keeps
# as they are, plus '%' and '=', which it encodes: a key of only these is quoted by
# two replacements (a fifth of quote's CPU, twice per job on a first tick).
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.~/%=-]*")


def _quoted_key(key: str) -> str:
    """`quote(key, safe="/~")`, the key as the URL path carries it."""
    if _PLAIN_KEY.fullmatch(key):
        return key.replace("%", "%25").replace("=", "%3D")
    return quote(key, safe="/~")


class _Target(NamedTuple):
    """Where botocore sent its first PutObject, and how it signed it."""

    base: str  # the URL before the key (virtual-hosted or path-style)
    region: str  # the signing region
    host: str  # the Host header as signed
    root_path: str  # the URL path before the key


class _DirectAnswer(NamedTuple):
    """What a direct PUT heard: the status (None: `put_object` takes over), the new
    ETag on a 200, and whether an attempt before it may have been applied unheard."""

    status: int | None
    etag: str
    maybe_applied: bool


class _PutResult(NamedTuple):
    """A conditional PUT: the new version (None: the condition failed), and whether an
    attempt of this call may have been applied without its answer being heard (then
    the object that failed the condition may be this call's own)."""

    version: str | None
    maybe_applied: bool = False


class _MaybeApplied(StoreError):
    """A conditional PUT failed after an attempt that the store may have applied (no
    answer, or a 5xx): `create` looks whose object the key holds."""


class _DirectPutFailed(Exception):
    """The direct PUT got no answer a write expects within STORE_ATTEMPTS, after an
    attempt that may have been applied (`maybe_applied`) or not."""

    def __init__(self, reason: str, maybe_applied: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.maybe_applied = maybe_applied


class DirectPut:
    """A conditional PutObject that skips botocore's per-call machinery (parameter
    validation, about thirty event hooks, the retry handler, response parsing): half
    the CPU of `put_object`, the biggest cost of a tick that writes.

    Everything a user configures still comes from the boto3 client: its credentials
    (the whole chain, refreshed as botocore refreshes them) and its HTTP session (the
    connection pool and its timeouts and TLS verification; a proxied request goes
    through the session's own send); the URL (endpoint, addressing style) and the
    signing region are the ones botocore resolved for the first PutObject this client
    sent, which is always `put_object` itself, signed with SigV4 (S3 Express and
    other schemes stay with `put_object`). The signature is the one botocore's
    S3SigV4Auth computes (a test compares them), with the day's signing key kept.

    Only the answers a write expects are read here: 200 (the new ETag), 412/409 (the
    condition failed) and 404 on If-Match (the key is gone). Any other answer (503
    SlowDown, a 5xx, a refusal) is handed to `put_object`, which retries and reports it
    as always. A transport failure (no answer within the client's timeouts, a dropped
    connection) is retried here as botocore would, within its attempts, so that a call
    keeps to STORE_TIMEOUT: a PUT that may have been applied is sent again, and the
    writer recognises its own write in the 412 that answers it."""

    _HOOK: Final = "before-sign.s3.PutObject"

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket
        self._target: _Target | None = None
        self._key: tuple[tuple[str, str, str], bytes] | None = None  # the day's signing key
        self._session: Any = client._endpoint.http_session  # type: ignore[attr-defined]
        self._pools: dict[str, Any] = {}
        self._hook_id = f"dlf-status-direct-put-{id(self)}"
        client.meta.events.register(self._HOOK, self._learn, unique_id=self._hook_id)

    @staticmethod
    def usable(client: object, bucket: str) -> bool:
        """Whether `client` is a botocore client with credentials (not anonymous), and
        `bucket` a bucket name (not an access point or outpost ARN)."""
        signer = getattr(client, "_request_signer", None)
        return (
            ":" not in bucket
            and getattr(getattr(client, "_endpoint", None), "http_session", None) is not None
            and getattr(signer, "_credentials", None) is not None
        )

    def _learn(self, request: Any, signature_version: str, region_name: str, **_: Any) -> None:
        """Where botocore sent a PutObject, and how it signed it: the URL before the
        key (virtual-hosted or path-style) and the region."""
        if self._target is not None or signature_version not in ("s3v4", "v4"):
            return
        parts = urlsplit(request.url)
        signing = request.context.get("signing", {})
        if signing.get("signing_name", "s3") != "s3" or parts.query:
            return
        path_style = not parts.netloc.startswith(f"{self._bucket}.")
        if path_style and not parts.path.startswith(f"/{self._bucket}/"):
            return
        root = f"/{self._bucket}/" if path_style else "/"
        self._target = _Target(
            f"{parts.scheme}://{parts.netloc}{root}",
            str(signing.get("region") or region_name),
            _host(parts.scheme, parts.netloc),
            root,
        )
        self._client.meta.events.unregister(self._HOOK, unique_id=self._hook_id)

    def sign(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        credentials: Any,
        region: str,
        now: datetime,
    ) -> dict[str, str]:
        """`headers` signed as botocore's S3SigV4Auth signs a PUT (payload hashed,
        every header signed, the path as sent), with the day's signing key derived
        once rather than per request (a test compares the two signatures)."""
        parts = urlsplit(url)
        host = _host(parts.scheme, parts.netloc)
        return self._signed(parts.path, host, body, headers, credentials, region, now)

    def _signed(
        self,
        path: str,
        host: str,
        body: bytes,
        headers: Mapping[str, str],
        credentials: Any,
        region: str,
        now: datetime,
    ) -> dict[str, str]:
        """`sign` for a path and Host header known already (a PUT's URL is not parsed
        again for them)."""
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        day = stamp[:8]
        payload = hashlib.sha256(body).hexdigest()
        signed = {name.lower(): " ".join(value.split()) for name, value in headers.items()}
        signed["host"] = host
        signed["x-amz-content-sha256"] = payload
        signed["x-amz-date"] = stamp
        if credentials.token:
            signed["x-amz-security-token"] = credentials.token
        names = sorted(signed)
        canonical = "\n".join(
            (
                "PUT",
                path,
                "",
                "".join(f"{name}:{signed[name]}\n" for name in names),
                ";".join(names),
                payload,
            )
        )
        scope = f"{day}/{region}/s3/aws4_request"
        to_sign = "\n".join(
            ("AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest())
        )
        key = self._signing_key(credentials.secret_key, day, region)
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        del signed["host"]
        signed["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}"
        )
        return signed

    def _signing_key(self, secret: str, day: str, region: str) -> bytes:
        cached = self._key
        if cached is not None and cached[0] == (secret, day, region):
            return cached[1]
        key = hmac.new(f"AWS4{secret}".encode(), day.encode(), hashlib.sha256).digest()
        for part in (region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        self._key = ((secret, day, region), key)
        return key

    def put(self, full_key: str, body: bytes, headers: dict[str, str]) -> _DirectAnswer | None:
        """The answer, or None when `put_object` must take over (it learns the target).

        A transport failure (no answer in time, a dropped connection: the PUT may have
        been applied) is retried here, within the client's STORE_ATTEMPTS, so that a
        call keeps to STORE_TIMEOUT; `_DirectPutFailed` when no attempt got an answer
        (or the last got one no write expects). An answer no write expects on the first
        attempt (a 503, a 500 the store may have applied) is status None: `put_object`
        takes over, and the answer says the PUT may have been applied."""
        target = self._target
        if target is None:
            return None  # put_object learns where to send it
        path = target.root_path + _quoted_key(full_key)
        unanswered = False  # an attempt was sent and its answer never came
        for attempt in range(1, STORE_ATTEMPTS + 1):
            try:
                status, etag, content = self._send(target, path, body, headers)
            except (BotoCoreError, urllib3.exceptions.HTTPError, OSError) as error:
                unanswered = unanswered or not isinstance(error, _NEVER_SENT)
                if attempt == STORE_ATTEMPTS:
                    raise _DirectPutFailed(
                        f"{type(error).__name__}: {str(error)[:160]}", unanswered
                    ) from None
                continue
            if status == 200 and etag:
                return _DirectAnswer(200, etag, unanswered)
            if status in (409, 412) or (status == 404 and b"NoSuchBucket" not in content):
                return _DirectAnswer(status, "", unanswered)
            if attempt > 1:  # put_object's own attempts would pass STORE_TIMEOUT
                raise _DirectPutFailed(
                    f"HTTP {status} after an attempt without an answer",
                    unanswered or status in _MAYBE_APPLIED_STATUSES,
                )
            return _DirectAnswer(None, "", maybe_applied=status in _MAYBE_APPLIED_STATUSES)
        raise AssertionError("unreachable")

    def _send(
        self, target: _Target, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, str, bytes]:
        """One signed PUT of `path` (the key quoted, below the bucket's root):
        (status, ETag, body of a 404)."""
        signer: Any = self._client._request_signer  # type: ignore[attr-defined]
        credentials = signer._credentials.get_frozen_credentials()
        signed = self._signed(
            path, target.host, body, headers, credentials, target.region, datetime.now(UTC)
        )
        pool = self._pool(target.base)
        if pool is None:  # through a proxy: botocore's session knows how
            url = target.base + path[len(target.root_path) :]
            request = AWSRequest(method="PUT", url=url, data=body, headers=signed)
            answer = self._session.send(request.prepare())
            status = int(answer.status_code)
            content = answer.content if status == 404 else b""
            return status, str(answer.headers.get("ETag") or ""), content
        raw = pool.urlopen(
            "PUT",
            path,
            body=body,
            headers=signed,
            retries=False,
            redirect=False,
            assert_same_host=False,
            preload_content=True,
            decode_content=False,
        )
        return int(raw.status), str(raw.headers.get("ETag") or ""), bytes(raw.data)

    def _pool(self, base: str) -> Any:
        """The connection pool of botocore's session for the store's host (TLS
        verification set as the session sets it), or None when a proxy is in the way."""
        pool = self._pools.get(base)
        if pool is None and base not in self._pools:
            session = self._session
            try:
                if session._proxy_config.proxy_url_for(base) is None:
                    pool = session._get_connection_manager(base).connection_from_url(base)
                    session._setup_ssl_cert(pool, base, session._verify)
            except AttributeError:  # a botocore whose session is built otherwise
                pool = None
            self._pools[base] = pool
        return pool


class S3Store:
    """`require_conditional_writes` (SNAPSHOT_CONSISTENCY=strict): before the first
    write of this object (once per container), prove on PROBE_KEY that the store
    refuses a create-only PUT of an existing key and a PUT on a wrong ETag, and on
    METADATA_PROBE_KEY that it keeps user metadata; a store that does not is refused
    for good, a probe that fails for another reason (the store unreachable) is tried
    again on the next write."""

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
        self._refused: tuple[type[StoreError], str] | None = None
        self._probe_lock = threading.Lock()
        self._direct = DirectPut(client, bucket) if DirectPut.usable(client, bucket) else None
        # Per thread: whether an attempt of the current put_object may have been applied.
        self._attempts = threading.local()
        client.meta.events.register(
            "needs-retry.s3.PutObject", self._note_attempt, unique_id=f"dlf-status-{id(self)}"
        )

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
        metadata = _user_metadata(answer)
        version = answer.get("ETag")
        if not isinstance(version, str) or not version:
            # S3 sends an ETag with every object: a 200 without one (a proxy's page)
            # is no object, and a version compared later would be None.
            raise StoreError(f"cannot read s3://{self._bucket}/{full_key}: the answer has no ETag")
        return StoredObject(body=body, version=version, metadata=metadata)

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
            contents, truncated = _listing_page(answer, f"s3://{self._bucket}/{base}{prefix}*")
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
        """True when this call made the object appear, False when another writer's
        object is there (both proven by one HEAD after any refusal: `_whose`).

        A PUT the store applied but whose answer was lost (a dropped connection, a 500
        InternalError) is retried and refused by the object it wrote: that object
        carries this call's write id, which another writer's (the same bytes, say, a
        concurrent repair) does not. `WriteOutcomeUnknown` when nothing can tell."""
        self.check_conditional_writes()
        write_id = secrets.token_hex(16)
        tagged = {**metadata, WRITE_ID_METADATA: write_id}
        try:
            put = self._put(key, body, tagged, expected_version=None)
        except _MaybeApplied as failed:
            return self._whose(key, write_id, maybe_applied=True, failure=failed.detail)
        if put.version is not None:
            return True
        return self._whose(key, write_id, maybe_applied=put.maybe_applied, failure=None)

    def replace(
        self, key: str, body: bytes, metadata: Mapping[str, str], expected_version: str | None
    ) -> str | None:
        self.check_conditional_writes()
        return self._put(key, body, metadata, expected_version=expected_version).version

    def _whose(self, key: str, write_id: str, *, maybe_applied: bool, failure: str | None) -> bool:
        """Whose object holds `key` after a create-only PUT that did not say 200: True
        when this call's (`write_id`), False when another writer's.

        A refusal proves nothing by itself: a 409 ConditionalRequestConflict comes while
        another write is in flight (it may still fail), and a store (or a proxy before
        it) may answer 412 for a key it does not hold. Believed, either would leave
        latest.json naming a history object, or a transition record, that was never
        written. So one HEAD looks: no object after a plain refusal is a `StoreError`
        (nothing written, the caller stops). After an attempt that may have been
        applied (`maybe_applied`; `failure` when the call then failed), an object
        without a write id (a store that keeps no user metadata), no object (the
        attempt may land yet) or a failed HEAD cannot be told apart from this call's
        own write: `WriteOutcomeUnknown`."""
        full_key = self._key(key)
        where = f"s3://{self._bucket}/{full_key}"

        def unknown(reason: str) -> WriteOutcomeUnknown:
            why = failure or "its retry was refused"
            return WriteOutcomeUnknown(
                f"cannot tell whether the create-only PUT of {where} was applied ({why}): " + reason
            )

        try:
            answer = self._client.head_object(Bucket=self._bucket, Key=full_key)
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ClientError) and _code(exc) in _MISSING:
                if maybe_applied:
                    raise unknown(
                        "no object there yet, and an unanswered attempt may land"
                    ) from None
                raise StoreError(
                    f"the store refused a create-only PUT of {where} but holds no object "
                    "there (a conditional write in flight, or a refusal in error): "
                    "nothing was written"
                ) from None
            unread = self._error("read", full_key, exc).detail
            if maybe_applied:
                raise unknown(unread) from None
            raise StoreError(
                f"the store refused a create-only PUT of {where} and the key "
                f"cannot be read: {unread}"
            ) from None
        found = _user_metadata(answer).get(WRITE_ID_METADATA)
        if found == write_id:
            return True
        if found is None and maybe_applied:
            raise unknown("the object there carries no write id (the store keeps no user metadata)")
        return False

    @property
    def conditional_writes_pending(self) -> bool:
        """Whether the next write would first run the check (`check_conditional_writes`):
        neither proven nor refused yet."""
        return not self._writes_checked and self._refused is None

    def check_conditional_writes(self, before_call: Callable[[], None] | None = None) -> None:
        """Prove, once, that the store honours conditional writes and keeps user
        metadata (the probe); raise `ConditionalWritesIgnored` or `UserMetadataDropped`
        when it does not. Every write runs it first; a writer with a deadline runs it
        itself (service.WriteCheck), `before_call` each of its calls: what raises there
        stops the probe, which the next write starts again."""
        if self._writes_checked:
            return
        with self._probe_lock:  # one probe at a time; the tick's other threads wait
            if self._refused is None and not self._writes_checked:
                self._refused = self._probe(before_call)
                self._writes_checked = self._refused is None
            if self._refused is not None:
                refusal, reason = self._refused
                raise refusal(
                    f"the store at {self.location} {reason}; "
                    "set SNAPSHOT_CONSISTENCY=best-effort to accept that"
                )

    def _probe(
        self, before_call: Callable[[], None] | None = None
    ) -> tuple[type[StoreError], str] | None:
        """Why the store cannot be trusted with the guarantees, or None.

        Puts and gets on keys of our own: all the deployed function may do (it cannot
        delete)."""
        ignored = self._conditional_writes_ignored(before_call)
        if ignored is not None:
            return ConditionalWritesIgnored, (
                f"ignores conditional writes ({ignored}): history could be overwritten "
                "and latest.json lose updates"
            )
        if not self._metadata_kept(before_call):
            return UserMetadataDropped, (
                f"keeps no user metadata ({METADATA_PROBE_KEY}, written with some, came "
                "back without it; if it was copied there without its metadata, delete it "
                "and the next probe writes it again): latest.json could not name the "
                "transition record it owes, and a writer stopped before publishing one "
                "would lose it"
            )
        return None

    def _conditional_writes_ignored(
        self, before_call: Callable[[], None] | None = None
    ) -> str | None:
        """How the store fails conditional writes, or None: two to three PUTs of the
        same bytes on PROBE_KEY."""
        key = self._key(PROBE_KEY)
        create_only = self._probe_put(key, before_call=before_call)
        if create_only == "written":  # the first probe of this store: the key exists now
            create_only = self._probe_put(key, before_call=before_call)
            if create_only == "written":
                return "a create-only PUT (If-None-Match: *) replaced an existing object"
        if create_only.startswith("unsupported"):
            return f"it refuses If-None-Match: {create_only.removeprefix('unsupported ')}"
        wrong_etag = self._probe_put(key, if_match=_NO_SUCH_ETAG, before_call=before_call)
        if wrong_etag == "written":
            return "a PUT with If-Match on a wrong ETag replaced the object"
        if wrong_etag.startswith("unsupported"):
            return f"it refuses If-Match: {wrong_etag.removeprefix('unsupported ')}"
        return None

    def _metadata_kept(self, before_call: Callable[[], None] | None = None) -> bool:
        """Whether METADATA_PROBE_KEY comes back with the tag it is written with: one
        HEAD, after which the first probe of a store writes it (a create-only PUT; another
        container's may win the race, with the same tag) and reads it again."""
        key = self._key(METADATA_PROBE_KEY)
        found = self._probe_head(key, before_call)
        if found is None:
            name, value = METADATA_PROBE_TAG
            self._probe_put(
                key, body=_METADATA_PROBE_BODY, metadata={name: value}, before_call=before_call
            )
            found = self._probe_head(key, before_call)
            if found is None:
                raise StoreError(
                    f"cannot check user metadata on s3://{self._bucket}/{key}: the object "
                    "written there is not found"
                )
        return found.get(METADATA_PROBE_TAG[0]) == METADATA_PROBE_TAG[1]

    def _probe_head(
        self, key: str, before_call: Callable[[], None] | None = None
    ) -> dict[str, str] | None:
        """The user metadata of `key`, or None when there is no object."""
        if before_call is not None:
            before_call()
        try:
            answer = self._client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise self._error("check user metadata on", key, exc) from None
        except BotoCoreError as exc:
            raise self._error("check user metadata on", key, exc) from None
        return _user_metadata(answer)

    def _probe_put(
        self,
        key: str,
        *,
        if_match: str | None = None,
        body: bytes = _PROBE_BODY,
        metadata: Mapping[str, str] = NO_METADATA,
        before_call: Callable[[], None] | None = None,
    ) -> str:
        """A PUT with If-None-Match: * (or If-Match: `if_match`): 'written', 'refused'
        (the condition held it back), or 'unsupported <code>'."""
        if before_call is not None:
            before_call()
        try:
            if if_match is None:
                self._client.put_object(
                    Bucket=self._bucket,
                    Key=key,
                    Body=body,
                    Metadata=dict(metadata),
                    IfNoneMatch="*",
                )
            else:
                self._client.put_object(
                    Bucket=self._bucket,
                    Key=key,
                    Body=body,
                    Metadata=dict(metadata),
                    IfMatch=if_match,
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
    ) -> _PutResult:
        """A conditional PUT: If-None-Match: * without a version, If-Match with one.
        Returns the new ETag (None when the condition failed), and whether an attempt
        may have been applied unheard before the answer that counts."""
        full_key = self._key(key)
        maybe_applied = False
        if self._direct is not None:
            headers = {"Content-Type": "application/json"}
            headers.update((f"x-amz-meta-{name}", value) for name, value in metadata.items())
            if expected_version is None:
                headers["If-None-Match"] = "*"
            else:
                headers["If-Match"] = expected_version
            try:
                direct = self._direct.put(full_key, body, headers)
            except _DirectPutFailed as failed:
                raise (_MaybeApplied if failed.maybe_applied else StoreError)(
                    f"cannot write s3://{self._bucket}/{full_key}: {failed.reason}"
                ) from None
            if direct is not None:
                status, etag, maybe_applied = direct
                if status == 200:
                    return _PutResult(etag)
                if status is not None and (status != 404 or expected_version is not None):
                    return _PutResult(None, maybe_applied)
        self._attempts.maybe_applied = False  # put_object's attempts say otherwise
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
        except (ClientError, BotoCoreError) as exc:
            # botocore's retries (a 500, a dropped connection) may have sent it after
            # an attempt the store applied.
            maybe_applied = maybe_applied or self._attempts.maybe_applied
            # If-Match on a key that is gone: AWS answers 404 NoSuchKey. What was
            # read is not current any more, as with a 412.
            lost = _LOST_RACE if expected_version is None else _LOST_RACE | _MISSING
            if isinstance(exc, ClientError) and _code(exc) in lost:
                return _PutResult(None, maybe_applied)
            error = self._error("write", full_key, exc)
            raise (_MaybeApplied(error.detail) if maybe_applied else error) from None
        return _PutResult(answer["ETag"])

    def _note_attempt(
        self, response: Any = None, caught_exception: Exception | None = None, **_: Any
    ) -> None:
        """After each attempt of `put_object` (botocore's needs-retry event, in the
        calling thread): whether it may have been applied unheard (a 500, 502 or 504,
        or a transport failure after the request left)."""
        if caught_exception is not None:
            applied = not isinstance(caught_exception, _NEVER_SENT)
        else:
            answer = None if response is None else response[0]
            applied = answer is not None and answer.status_code in _MAYBE_APPLIED_STATUSES
        if applied:
            self._attempts.maybe_applied = True

    def _error(self, action: str, key: str, exc: Exception) -> StoreError:
        where = f"s3://{self._bucket}/{key}"
        if isinstance(exc, ClientError):
            code = _code(exc)
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            return StoreError(f"cannot {action} {where}: {code} (HTTP {status})")
        return StoreError(f"cannot {action} {where}: {type(exc).__name__}: {str(exc)[:160]}")


def _user_metadata(answer: Mapping[str, Any]) -> dict[str, str]:
    """An object's user metadata, names lower-cased: AWS sends them in lower case,
    other stores (rclone) do not."""
    return {name.lower(): value for name, value in answer.get("Metadata", {}).items()}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _listing_page(answer: Mapping[str, Any], where: str) -> tuple[list[dict[str, Any]], bool]:
    """A ListObjectsV2 answer's keys and whether it is truncated, or StoreError when
    the 200 is no such answer: botocore reads any body, an HTML page or nothing at all,
    as a listing without keys, which would make a fleet of 0 jobs pass its uptime check
    and a history come back empty. S3 always sends `IsTruncated`, and every key its
    `Key`, `ETag` and `Size`; a truncated page a token to go on."""
    truncated = answer.get("IsTruncated")
    contents = answer.get("Contents", [])
    if (
        not isinstance(truncated, bool)
        or not isinstance(contents, list)
        or not all(
            isinstance(item, dict) and {"Key", "ETag", "Size"} <= item.keys() for item in contents
        )
        or (truncated and not contents and not answer.get("NextContinuationToken"))
    ):
        raise StoreError(f"cannot list {where}: the store's answer is not a ListObjectsV2 result")
    return contents, truncated
