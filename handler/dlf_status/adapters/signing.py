"""Huawei Cloud API authentication: AK/SK request signing and IAM tokens.

The signer reproduces `huaweicloudsdkcore.signer.Signer` (SDK-HMAC-SHA256) byte
for byte; a test signs the same requests with both. We do not depend on the SDK
at run time: its dependencies (pymongo, cryptography helpers, simplejson...) cost
megabytes and cold-start time for forty lines of HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC
from typing import Final, Protocol, runtime_checkable
from urllib.parse import quote, unquote

from dlf_status.adapters.clock import SystemClock
from dlf_status.config import Credentials
from dlf_status.domain.ports import Clock
from dlf_status.errors import ConfigurationError
from dlf_status.observability import logger

ALGORITHM: Final = "SDK-HMAC-SHA256"
DATE_HEADER: Final = "X-Sdk-Date"
DATE_FORMAT: Final = "%Y%m%dT%H%M%SZ"
EMPTY_BODY_SHA256: Final = hashlib.sha256(b"").hexdigest()


def canonical_uri(path: str) -> str:
    """The SDK's canonical URI: unquote, split on '/', quote each part, end with '/'."""
    encoded = "/".join(quote(part, safe="~") for part in unquote(path).split("/"))
    return encoded if encoded.endswith("/") else encoded + "/"


def canonical_query_string(query: Mapping[str, str]) -> str:
    """The SDK's canonical query: pairs sorted, key and value each quoted (safe '~').

    It is both what is signed and what is sent: the gateway recomputes it from the
    URL it receives, so a client must send exactly this string.
    """
    pairs = sorted(query.items())
    return "&".join(f"{quote(key, safe='~')}={quote(value, safe='~')}" for key, value in pairs)


def sign(
    *,
    ak: str,
    sk: str,
    method: str,
    path: str,
    headers: Mapping[str, str],
    query: Mapping[str, str] | None = None,
    body: bytes = b"",
) -> str:
    """The Authorization header value for a request whose headers are final.

    `headers` must already hold Host and X-Sdk-Date. Every header whose name has
    no underscore is signed, as the SDK does.
    """
    signed = sorted(name.lower() for name in headers if "_" not in name)
    values = {name.lower(): str(value).strip() for name, value in headers.items()}
    canonical_headers = "".join(f"{name}:{values[name]}\n" for name in signed)
    canonical_request = "\n".join(
        (
            method.upper(),
            canonical_uri(path),
            canonical_query_string(query or {}),
            canonical_headers,
            ";".join(signed),
            hashlib.sha256(body).hexdigest() if body else EMPTY_BODY_SHA256,
        )
    )
    string_to_sign = "\n".join(
        (
            ALGORITHM,
            values[DATE_HEADER.lower()],
            hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
        )
    )
    signature = hmac.new(sk.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256)
    return (
        f"{ALGORITHM} Access={ak}, SignedHeaders={';'.join(signed)}, "
        f"Signature={signature.hexdigest()}"
    )


class Authenticator(Protocol):
    """Adds the authentication headers to an upstream request (`query`: its query
    parameters, which an AK/SK signature covers)."""

    def authenticate(
        self,
        *,
        method: str,
        host: str,
        path: str,
        headers: dict[str, str],
        project_id: str,
        query: Mapping[str, str] | None = None,
    ) -> None: ...


class AkSkAuthenticator:
    """AK/SK signing, with X-Project-Id and, for temporary credentials, X-Security-Token."""

    def __init__(self, credentials: Credentials, clock: Clock | None = None) -> None:
        if not credentials.ak or not credentials.sk:
            raise ValueError("AK/SK signing needs an AK and an SK")
        self._ak, self._sk = credentials.ak, credentials.sk
        self._security_token = credentials.security_token
        self._clock = clock or SystemClock()

    def authenticate(
        self,
        *,
        method: str,
        host: str,
        path: str,
        headers: dict[str, str],
        project_id: str,
        query: Mapping[str, str] | None = None,
    ) -> None:
        headers["Host"] = host
        headers["X-Project-Id"] = project_id
        if self._security_token:
            headers["X-Security-Token"] = self._security_token
        headers[DATE_HEADER] = self._clock.now().astimezone(UTC).strftime(DATE_FORMAT)
        headers["Authorization"] = sign(
            ak=self._ak, sk=self._sk, method=method, path=path, headers=headers, query=query
        )


class TokenAuthenticator:
    """An IAM token in X-Auth-Token."""

    def __init__(self, credentials: Credentials) -> None:
        if not credentials.auth_token:
            raise ValueError("token authentication needs an IAM token")
        self._token = credentials.auth_token

    def authenticate(
        self,
        *,
        method: str,
        host: str,
        path: str,
        headers: dict[str, str],
        project_id: str,
        query: Mapping[str, str] | None = None,
    ) -> None:
        headers["X-Auth-Token"] = self._token


class CredentialsInUse:
    """The credentials one request was signed with, as `DeferredAuthenticator` held
    them: compared by identity, a new one each time the secret is read."""

    __slots__ = ("authenticator", "credentials")

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self.authenticator = authenticator_for(credentials)


@runtime_checkable
class RenewableAuthenticator(Protocol):
    """An authenticator whose credentials may change (a secret that is rotated): it
    says which credentials signed a request, and whether newer ones exist once the
    upstream rejected those."""

    def authenticate_with(
        self,
        *,
        method: str,
        host: str,
        path: str,
        headers: dict[str, str],
        project_id: str,
        query: Mapping[str, str] | None = None,
    ) -> CredentialsInUse: ...

    def renewed_after_rejection(self, rejected: CredentialsInUse) -> bool: ...


# At most one read of the secret per this many seconds because the upstream rejected
# the credentials: a storm of 401s (wrong credentials in the secret) costs Secrets
# Manager six reads a minute per container, not one per call.
REJECTION_READ_SPACING: Final = 10.0


class DeferredAuthenticator:
    """Authenticates with credentials read on demand (a Secrets Manager secret).

    - Read at the first call, and again at each call until a read succeeds: a secret
      store that cannot be reached for a moment at a cold start must not leave a warm
      container answering `configuration` for hours; a real misconfiguration (no such
      secret, no permission, not JSON) still fails every call with the
      ConfigurationError that names it.
    - Read again when the upstream rejects them (`renewed_after_rejection`): the
      secret was rotated, a token or temporary credentials expired, a leaked AK was
      replaced. One read for all the threads that were rejected with the same
      credentials, at most one per REJECTION_READ_SPACING seconds.
    - Read again when older than `max_age` seconds, by one thread while the others
      keep signing: a rotation is picked up before the old credentials are deleted.
    A failed re-read keeps the credentials in use (logged). New credentials go to
    `on_read` (the log masker) before any use; the old ones stay masked.

    Not Powertools Parameters (`max_age`, `force_fetch`; its import costs little): it
    caches by age only, and what matters here is not in it: which credentials signed
    a request, one read for all the threads they failed, a bound on those reads."""

    def __init__(
        self,
        read: Callable[[], Credentials],
        on_read: Callable[[Credentials], None],
        *,
        max_age: float | None = None,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        self._read, self._on_read = read, on_read
        self._max_age = max_age
        self._monotonic = time.monotonic if monotonic is None else monotonic
        self._current: CredentialsInUse | None = None
        self._read_at = 0.0  # monotonic time of the last read, failed or not
        self._rejection_read_at: float | None = None
        self._lock = threading.Lock()  # one read at a time for all a tick's threads

    def ready(self) -> Authenticator:
        """The authenticator, reading the credentials first if they are not yet read.
        Raises the ConfigurationError of a failed read."""
        return self._in_use().authenticator

    def _in_use(self) -> CredentialsInUse:
        current = self._current
        if current is None:
            with self._lock:
                if self._current is None:
                    credentials = self._read()
                    self._on_read(credentials)
                    self._read_at = self._monotonic()
                    self._current = CredentialsInUse(credentials)
                current = self._current
        elif (
            self._max_age is not None
            and self._monotonic() - self._read_at >= self._max_age
            and self._lock.acquire(blocking=False)  # others sign with what they have
        ):
            try:
                if self._monotonic() - self._read_at >= self._max_age:
                    self._read_again(current, "its max age passed")
            finally:
                self._lock.release()
            current = self._current
        assert current is not None  # only ever replaced, never cleared
        return current

    def _read_again(self, current: CredentialsInUse, why: str) -> None:
        """Replace `current` with what the secret holds now (called under the lock)."""
        self._read_at = self._monotonic()
        try:
            credentials = self._read()
        except ConfigurationError as error:
            logger.warning(
                "credentials not read again; the ones in use are kept",
                extra={"detail": error.detail, "reason": why},
            )
            self._current = CredentialsInUse(current.credentials)  # a read was made
            return
        if credentials == current.credentials:
            self._current = CredentialsInUse(credentials)  # a read was made, no change
            return
        self._on_read(credentials)  # masked before any use
        self._current = CredentialsInUse(credentials)
        logger.info("credentials read again and changed", extra={"reason": why})

    def renewed_after_rejection(self, rejected: CredentialsInUse) -> bool:
        """Whether credentials other than `rejected` are now in use, reading the secret
        again first unless a read was made since `rejected` was in use or one was made
        for a rejection less than REJECTION_READ_SPACING seconds ago. True means one
        retry is worth making: never with the same credentials (five failed signatures
        lock an AK for five minutes)."""
        with self._lock:
            current = self._current
            if current is rejected:
                now = self._monotonic()
                if (
                    self._rejection_read_at is None
                    or now - self._rejection_read_at >= REJECTION_READ_SPACING
                ):
                    self._rejection_read_at = now
                    self._read_again(rejected, "the upstream rejected them")
                current = self._current
        assert current is not None
        return current.credentials != rejected.credentials

    def authenticate_with(
        self,
        *,
        method: str,
        host: str,
        path: str,
        headers: dict[str, str],
        project_id: str,
        query: Mapping[str, str] | None = None,
    ) -> CredentialsInUse:
        """Authenticate, and say with which credentials (see `renewed_after_rejection`)."""
        current = self._in_use()
        current.authenticator.authenticate(
            method=method,
            host=host,
            path=path,
            headers=headers,
            project_id=project_id,
            query=query,
        )
        return current

    def authenticate(
        self,
        *,
        method: str,
        host: str,
        path: str,
        headers: dict[str, str],
        project_id: str,
        query: Mapping[str, str] | None = None,
    ) -> None:
        self.authenticate_with(
            method=method,
            host=host,
            path=path,
            headers=headers,
            project_id=project_id,
            query=query,
        )


def authenticator_for(credentials: Credentials) -> Authenticator:
    """AK/SK when present (it does not expire), else the IAM token."""
    if credentials.ak:
        return AkSkAuthenticator(credentials)
    return TokenAuthenticator(credentials)
