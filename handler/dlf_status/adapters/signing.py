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
from collections.abc import Callable, Mapping
from datetime import UTC
from typing import Final, Protocol
from urllib.parse import quote, unquote

from dlf_status.adapters.clock import SystemClock
from dlf_status.config import Credentials
from dlf_status.domain.ports import Clock

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


class DeferredAuthenticator:
    """Authenticates with credentials read on demand (a Secrets Manager secret), read
    again on the next call until one read succeeds, then kept for the container's life.

    A secret store that cannot be reached for a moment at a cold start (a network
    blip, throttling) must not leave a warm container answering `configuration` for
    hours; a real misconfiguration (no such secret, no permission, not JSON) still
    fails every call with the ConfigurationError that names it."""

    def __init__(
        self, read: Callable[[], Credentials], on_read: Callable[[Credentials], None]
    ) -> None:
        self._read, self._on_read = read, on_read
        self._authenticator: Authenticator | None = None
        self._lock = threading.Lock()  # a tick's threads: one read at a time

    def ready(self) -> Authenticator:
        """The authenticator, reading the credentials first if they are not yet read.
        Raises the ConfigurationError of a failed read."""
        authenticator = self._authenticator
        if authenticator is None:
            with self._lock:
                if self._authenticator is None:
                    credentials = self._read()
                    self._on_read(credentials)
                    self._authenticator = authenticator_for(credentials)
                authenticator = self._authenticator
        return authenticator

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
        self.ready().authenticate(
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
