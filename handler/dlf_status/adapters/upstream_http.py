"""The upstream adapter: a status call, or one page of the job list, to DataArts
Studio over HTTPS (requests). Both go through the same request machinery below.

Timeouts: a connect timeout, a read timeout per socket read, and one overall
deadline per call that covers retries, back-off, and an answer that drips slowly:
every socket read of the answer (status line, headers, chunk lines, compressed
input that decodes to nothing yet) waits at most what is left of the deadline.

Retries: connection failures, 429 and 502/503/504 are retried with exponential
back-off and full jitter; a 429's Retry-After is honoured up to a cap. 400, 401
and 403 are never retried with the same credentials (five failed signatures lock an
AK for five minutes): a 401 or 403 is retried once only when the authenticator has
other credentials since (a rotated secret, read again because of this rejection;
signing.DeferredAuthenticator).
The loop is ours rather than urllib3's `Retry` because `Retry` has no per-call
deadline, cannot re-sign an attempt (X-Sdk-Date must be fresh) and does not cap
Retry-After; it is small and fully tested.

Interim answers (1xx but 101) before the answer are read and dropped.

Body: read with `read1`, and cut at a size cap (counted after decompression, so a
gzip bomb stops early). Past the process's large-answer size, the thread takes a
permit of the process's answer budget before it reads on (adapters/answer_budget.py),
waiting at most what is left of the call's deadline: the answers in flight share the
process's memory, whatever the concurrency.

Untrusted: every header value is masked for our own credentials as it arrives, a
declared Content-Length counts only as ASCII digits, anything echoed from a header
or a transport error is cut and cleaned (`clean_text`), every failure of the
transport is an UpstreamError, and no cookie the upstream sets is kept (requests go
to the adapter, past any session's jar), so none is ever replayed.
"""

from __future__ import annotations

import http.client
import io
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, NamedTuple
from urllib.parse import quote, urlsplit

import requests
import urllib3
from requests.models import PreparedRequest
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from dlf_status import __version__
from dlf_status.adapters.answer_budget import AnswerBudget
from dlf_status.adapters.signing import DATE_HEADER as SIGNATURE_DATE_HEADER
from dlf_status.adapters.signing import (
    Authenticator,
    CredentialsInUse,
    RenewableAuthenticator,
    canonical_query_string,
)
from dlf_status.config import UpstreamSettings
from dlf_status.domain.interpret import clean_text, retry_after_seconds
from dlf_status.domain.model import Headers, JobRef, UpstreamResponse
from dlf_status.domain.ports import UpstreamCall
from dlf_status.domain.redaction import Redactor
from dlf_status.errors import (
    LargeAnswersBusy,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamErrorInfo,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from dlf_status.observability import REDACTOR

if TYPE_CHECKING:  # the status path never loads the job list's module
    from dlf_status.domain.listing import JobPageQuery

RETRY_STATUSES: Final = frozenset({429, 502, 503, 504})
# What interpret.classify_error calls UpstreamAuthRejected: the status alone decides.
AUTH_REJECTED_STATUSES: Final = frozenset({401, 403})
# Interim answers before the real one; 100 is http.client's own (its `begin` loops on
# it), 101 ends HTTP on the connection and is an answer: nothing else of 1xx is used.
_INTERIM_STATUSES: Final = frozenset({102, 103, *range(104, 200)})
_BACKOFF_BASE: Final = 0.2
_BACKOFF_MAX: Final = 2.0
_CHUNK: Final = 64 * 1024
USER_AGENT: Final = f"dlf-status/{__version__}"
# What a transport failure may raise from requests, urllib3 or http.client: each is
# the upstream's failure, never ours (a bad header of the answer, a broken chunk...).
_TRANSPORT_ERRORS = (
    requests.exceptions.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
    ValueError,
)


def status_path(base_path: str, job: JobRef) -> str:
    """`/v1/{project_id}/jobs/{job_name}/status`, each value one encoded segment."""
    return (
        f"{base_path}/v1/{quote(job.project_id, safe='')}"
        f"/jobs/{quote(job.job_name, safe='')}/status"
    )


def jobs_path(base_path: str, project_id: str) -> str:
    """`/v1/{project_id}/jobs`, the project one encoded segment."""
    return f"{base_path}/v1/{quote(project_id, safe='')}/jobs"


def job_page_parameters(query: JobPageQuery) -> dict[str, str]:
    """The query parameters of one page, named as the SDK names them [L6]."""
    parameters = {
        "jobType": query.job_type,
        "offset": str(query.offset),
        "limit": str(query.limit),
    }
    if query.job_name is not None:
        parameters["jobName"] = query.job_name
    if query.tags:
        parameters["tags"] = ",".join(query.tags)
    return parameters


class RequestTarget(NamedTuple):
    """What one call asks for: path, query parameters, project and workspace."""

    path: str
    query: Mapping[str, str]
    project_id: str
    workspace: str | None

    @property
    def path_and_query(self) -> str:
        """The query as signed: the gateway recomputes the signature from what it gets."""
        return f"{self.path}?{canonical_query_string(self.query)}" if self.query else self.path


class _RetryableFailure(Exception):
    """A connection-level failure: nothing was received, so trying again is safe."""

    def __init__(self, error: UpstreamError) -> None:
        super().__init__(error.detail)
        self.error = error


class HttpUpstreamClient:
    """`UpstreamClient` over requests; one instance (and connection pool) per process."""

    def __init__(
        self,
        settings: UpstreamSettings,
        authenticator: Authenticator,
        *,
        pool_size: int = 10,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        monotonic: Callable[[], float] = time.monotonic,
        redactor: Redactor | None = None,
        budget: AnswerBudget | None = None,
    ) -> None:
        """`budget`: the process's answer budget (bootstrap builds one per process);
        none: every answer is read up to the cap without a permit."""
        self._settings = settings
        self._budget = budget
        self._authenticator = authenticator
        # Credentials that may change (a secret): a rejected call may be retried once.
        self._renewable = (
            authenticator if isinstance(authenticator, RenewableAuthenticator) else None
        )
        self._redactor = REDACTOR if redactor is None else redactor
        self._sleep, self._jitter, self._monotonic = sleep, jitter, monotonic
        parts = urlsplit(settings.endpoint)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._host = parts.netloc
        self._base_path = parts.path.rstrip("/")
        # Requests go to the adapter directly, prepared here, not through a Session:
        # the session's per-request work (merging settings and headers, re-parsing
        # and re-quoting the URL we built quoted, its cookie jar, hooks, redirects)
        # was a third of a GET's CPU. What it added is added here: its default
        # headers (gzip and deflate accepted, keep-alive), no proxy or netrc from the
        # environment, TLS verified; and no cookie is kept, so none is ever sent back.
        self._adapter = _DeadlineAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self._default_headers = requests.utils.default_headers()
        self._no_proxies: dict[str, str] = {}

    @property
    def endpoint(self) -> str:
        return self._settings.endpoint

    def fetch_status(self, job: JobRef) -> UpstreamCall:
        return self._call(
            RequestTarget(status_path(self._base_path, job), {}, job.project_id, job.workspace)
        )

    def fetch_job_page(self, query: JobPageQuery) -> UpstreamCall:
        """One page of the job list; signed, timed, retried and capped like the status call."""
        return self._call(
            RequestTarget(
                jobs_path(self._base_path, query.project_id),
                job_page_parameters(query),
                query.project_id,
                query.workspace,
            )
        )

    def _call(self, target: RequestTarget) -> UpstreamCall:
        started = self._monotonic()
        deadline = started + self._settings.deadline
        _READ_LIMIT.current = _ReadLimit(deadline, self._settings.read_timeout, self._monotonic)
        try:
            if self._budget is None:
                return self._attempts(target, started, deadline)
            # A permit taken for a large answer is the caller's scope's when it has
            # one (the whole observation), else given back when this call returns.
            with self._budget.scope():
                return self._attempts(target, started, deadline)
        finally:
            _READ_LIMIT.current = None

    def _attempts(self, target: RequestTarget, started: float, deadline: float) -> UpstreamCall:
        attempt = 0
        renewed = False
        while True:
            attempt += 1
            try:
                response, signed, used = self._attempt(target, deadline)
            except _RetryableFailure as failure:
                if attempt >= self._settings.max_attempts or not self._pause(
                    self._backoff(attempt), deadline
                ):
                    raise failure.error from None
                continue
            if (
                not renewed
                and response.status in AUTH_REJECTED_STATUSES
                and self._renewed(used)
                and self._monotonic() < deadline
            ):
                renewed = True  # once per call, and only with other credentials
                continue
            if (
                response.status in RETRY_STATUSES
                and attempt < self._settings.max_attempts
                and self._pause(self._delay_for(response, attempt), deadline)
            ):
                continue
            return UpstreamCall(response, attempt, self._monotonic() - started, signed)

    # -- retries ---------------------------------------------------------------------

    def _renewed(self, used: CredentialsInUse | None) -> bool:
        """Whether credentials other than the rejected ones are now in use (the
        authenticator reads its secret again if it may have changed)."""
        return (
            used is not None
            and self._renewable is not None
            and self._renewable.renewed_after_rejection(used)
        )

    def _backoff(self, attempt: int) -> float:
        return self._jitter() * min(_BACKOFF_MAX, _BACKOFF_BASE * 2.0 ** (attempt - 1))

    def _delay_for(self, response: UpstreamResponse, attempt: int) -> float:
        if response.status == 429:
            asked = retry_after_seconds(response.headers.get("Retry-After"), _utc_now())
            if asked is not None:
                return min(asked, self._settings.retry_after_cap)
        return self._backoff(attempt)

    def _pause(self, delay: float, deadline: float) -> bool:
        """Sleep before a retry when the retry can still finish in time."""
        if self._monotonic() + delay >= deadline:
            return False
        self._sleep(delay)
        return True

    # -- one attempt -----------------------------------------------------------------

    def _attempt(
        self, target: RequestTarget, deadline: float
    ) -> tuple[UpstreamResponse, bool, CredentialsInUse | None]:
        """One exchange: the answer, whether the request was signed (see
        `UpstreamCall.signed`), and with which renewable credentials."""
        remaining = deadline - self._monotonic()
        if remaining <= 0:
            raise UpstreamTimeout(
                f"no answer from DataArts Studio within {self._settings.deadline:g} s"
            )
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if target.workspace is not None:
            headers["workspace"] = target.workspace
        used = self._authenticate(target, headers)
        signed = SIGNATURE_DATE_HEADER in headers
        timeout = (
            min(self._settings.connect_timeout, remaining),
            min(self._settings.read_timeout, remaining),
        )
        try:
            answer = self._adapter.send(
                self._prepared(target, headers),
                stream=True,
                timeout=timeout,
                verify=True,
                proxies=self._no_proxies,
            )
        except requests.exceptions.ConnectTimeout:
            raise _RetryableFailure(
                UpstreamTimeout(f"could not connect to DataArts Studio within {timeout[0]:g} s")
            ) from None
        except requests.exceptions.ReadTimeout:
            if self._monotonic() >= deadline:
                raise UpstreamTimeout(
                    f"DataArts Studio's answer took longer than {self._settings.deadline:g} s"
                ) from None
            raise UpstreamTimeout(
                f"DataArts Studio did not answer within {timeout[1]:g} s"
            ) from None
        except requests.exceptions.ConnectionError as exc:
            if _unreadable_head(exc):
                raise UpstreamBadResponse(
                    f"DataArts Studio's answer has a head that cannot be read: {self._reason(exc)}"
                ) from None
            raise _RetryableFailure(
                UpstreamUnavailable(f"cannot reach DataArts Studio: {self._reason(exc)}")
            ) from None
        except requests.exceptions.InvalidHeader as exc:
            raise UpstreamBadResponse(
                f"DataArts Studio's answer has a malformed header: {self._reason(exc)}"
            ) from None
        except _TRANSPORT_ERRORS as exc:
            raise UpstreamUnavailable(
                f"the exchange with DataArts Studio failed: {self._reason(exc)}"
            ) from None
        with answer:
            received = self._headers(answer)
            info = UpstreamErrorInfo(
                http_status=answer.status_code,
                request_id=clean_text(received.get("X-Request-Id"), self._redactor),
            )
            body = self._read_body(answer, received, deadline, info)
            response = UpstreamResponse(status=answer.status_code, headers=received, body=body)
            return response, signed, used

    def _authenticate(
        self, target: RequestTarget, headers: dict[str, str]
    ) -> CredentialsInUse | None:
        """Add the authentication headers; the renewable credentials used, if any."""
        if self._renewable is not None:
            return self._renewable.authenticate_with(
                method="GET",
                host=self._host,
                path=target.path,
                headers=headers,
                project_id=target.project_id,
                query=target.query,
            )
        self._authenticator.authenticate(
            method="GET",
            host=self._host,
            path=target.path,
            headers=headers,
            project_id=target.project_id,
            query=target.query,
        )
        return None

    def _prepared(self, target: RequestTarget, headers: Mapping[str, str]) -> PreparedRequest:
        """The request as `Session.get` prepares it (its default headers, then ours),
        without re-parsing the URL: every segment and the query were quoted when the
        target was built (`status_path`, `canonical_query_string`), which requests'
        re-quoting leaves as it is (a test compares the two)."""
        request = PreparedRequest()
        request.method = "GET"
        request.url = self._origin + target.path_and_query
        merged = self._default_headers.copy()
        merged.update(headers)
        request.headers = merged
        return request

    def _headers(self, answer: requests.Response) -> Headers:
        """The answer's headers with our credentials masked: they are upstream text."""
        if not self._redactor:
            return Headers(dict(answer.headers))
        mask = self._redactor.text
        return Headers({mask(name): mask(value) for name, value in answer.headers.items()})

    def _reason(self, exc: BaseException) -> str:
        return clean_text(_reason(exc), self._redactor, 200) or type(exc).__name__

    def _read_body(
        self, answer: requests.Response, headers: Headers, deadline: float, info: UpstreamErrorInfo
    ) -> bytes:
        cap = self._settings.max_response_bytes
        declared = (headers.get("Content-Length") or "").strip()
        # ASCII digits only: str.isdigit() alone takes '²', which int() refuses.
        if declared.isascii() and declared.isdigit() and int(declared[:20]) > cap:
            raise UpstreamBadResponse(
                f"DataArts Studio's answer is {declared[:20]} bytes, more than the {cap} allowed",
                info,
            )
        raw: urllib3.HTTPResponse = answer.raw
        chunks: list[bytes] = []
        size = 0
        budget = self._budget
        large = cap + 1 if budget is None else budget.large_bytes
        try:
            while True:
                remaining = deadline - self._monotonic()
                if remaining <= 0:
                    raise UpstreamTimeout(
                        f"DataArts Studio's answer took longer than {self._settings.deadline:g} s",
                        info,
                    )
                chunk = raw.read1(_CHUNK, decode_content=True)
                if not chunk:
                    break
                size += len(chunk)
                if size > cap:
                    raise UpstreamBadResponse(
                        f"DataArts Studio's answer is larger than the {cap} bytes allowed", info
                    )
                chunks.append(chunk)
                if size > large and budget is not None:
                    if not budget.admit_large(deadline - self._monotonic()):
                        raise LargeAnswersBusy(
                            f"DataArts Studio's answer is larger than {large} bytes, and no "
                            f"other large answer finished in time ({budget.permits} at once in "
                            "this process): try again",
                            info,
                        )
                    large = cap + 1  # this thread holds the permit to the end
        except (TimeoutError, urllib3.exceptions.ReadTimeoutError):
            raise UpstreamTimeout(
                "DataArts Studio stopped sending its answer before the deadline", info
            ) from None
        except urllib3.exceptions.ProtocolError as exc:
            if _is_truncation(exc):
                raise UpstreamBadResponse(
                    f"DataArts Studio's answer was cut short ({size} bytes received)", info
                ) from None
            raise UpstreamUnavailable(
                f"the connection broke while reading DataArts Studio's answer: {self._reason(exc)}",
                info,
            ) from None
        except _TRANSPORT_ERRORS as exc:
            raise UpstreamUnavailable(
                f"the connection broke while reading DataArts Studio's answer: {self._reason(exc)}",
                info,
            ) from None
        return b"".join(chunks)


# -- the deadline on every socket read ------------------------------------------------
#
# A read timeout bounds one recv; http.client makes as many as the answer asks for
# (one per header line dripped, one per byte of a chunk line), and urllib3 as many
# as a compressed body needs before it decodes to anything. So the deadline is put
# where the bytes are read: the answer's reader waits, before each recv, at most what
# is left of the call's deadline (and the read timeout), and refuses to wait once none
# is left. No thread, no timer; the socket's own timeout, recomputed.


class _ReadLimit(NamedTuple):
    """The call in progress on this thread: its deadline, read timeout and clock."""

    deadline: float
    read_timeout: float
    monotonic: Callable[[], float]


class _CallOnThisThread(threading.local):
    current: _ReadLimit | None = None


_READ_LIMIT: Final = _CallOnThisThread()


class _DeadlineReader(io.RawIOBase):
    """A socket's input, each recv bounded by what is left of the deadline.

    It holds the socket's own file until it is closed: that file counts as a user of
    the socket, which a `Connection: close` answer closes under its reader otherwise."""

    def __init__(self, sock: socket.socket, limit: _ReadLimit, socket_file: io.IOBase) -> None:
        super().__init__()
        self._sock, self._limit, self._socket_file = sock, limit, socket_file

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        super().close()
        self._socket_file.close()

    def readinto(self, buffer: Any) -> int:
        remaining = self._limit.deadline - self._limit.monotonic()
        if remaining <= 0:
            raise TimeoutError("the call's deadline has passed")
        self._sock.settimeout(min(self._limit.read_timeout, remaining))
        return self._sock.recv_into(buffer)


class _DeadlineResponse(http.client.HTTPResponse):
    """http.client's answer, read through `_DeadlineReader` during one of our calls."""

    def __init__(
        self,
        sock: socket.socket,
        debuglevel: int = 0,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(sock, debuglevel, method, url)
        limit = _READ_LIMIT.current
        if limit is not None:  # nothing was read from the socket's own file yet
            self.fp = io.BufferedReader(_DeadlineReader(sock, limit, self.fp))

    def _read_status(self) -> tuple[str, int, str]:
        """The next status line, past interim answers. http.client skips 100 Continue
        only; 102 Processing and 103 Early Hints (RFC 8297) are interim too, each with
        headers of its own, and the answer follows them on the same connection. Taken
        for the answer, they left it unread (its job lost, the connection dropped).
        Each interim answer is read under the call's deadline and header limits."""
        version, status, reason = super()._read_status()  # type: ignore[misc]
        while status in _INTERIM_STATUSES:
            http.client.parse_headers(self.fp)  # read and dropped: nothing in them is used
            version, status, reason = super()._read_status()  # type: ignore[misc]
        return version, status, reason


class _DeadlineHTTPConnection(HTTPConnection):
    response_class = _DeadlineResponse


class _DeadlineHTTPSConnection(HTTPSConnection):
    response_class = _DeadlineResponse


class _DeadlineHTTPPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


class _DeadlineAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter whose connections read answers under the call's deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        # An instance attribute (the module's dict stays as it is).
        self.poolmanager.pool_classes_by_scheme = {
            "http": _DeadlineHTTPPool,
            "https": _DeadlineHTTPSPool,
        }


def _is_truncation(exc: urllib3.exceptions.ProtocolError) -> bool:
    return any(
        isinstance(arg, http.client.IncompleteRead | urllib3.exceptions.IncompleteRead)
        for arg in exc.args
    )


def _innermost(exc: BaseException) -> BaseException:
    """The error at the bottom of `exc`'s chain (urllib3 and requests wrap http.client's)."""
    inner: BaseException = exc
    while True:
        nested = inner.__cause__ or inner.__context__
        if nested is None and inner.args and isinstance(inner.args[-1], BaseException):
            nested = inner.args[-1]
        if nested is None or nested is inner:
            return inner
        inner = nested


def _unreadable_head(exc: BaseException) -> bool:
    """Whether an answer came whose head http.client refused (more than 100 header lines,
    a line past 64 KiB, a status line that is not HTTP), in the answer or in an interim
    1xx before it: the upstream was reached and answered, unusably. A connection closed
    before any answer (RemoteDisconnected, a ConnectionError too) is not one."""
    inner = _innermost(exc)
    return isinstance(inner, http.client.HTTPException) and not isinstance(inner, ConnectionError)


def _reason(exc: BaseException) -> str:
    """The innermost error's class and message: the caller masks, cleans and cuts it."""
    inner = _innermost(exc)
    text = str(inner).split(" (Caused by", 1)[0]
    return f"{type(inner).__name__}: {text}"  # masked, then cut, by the caller


def _utc_now() -> datetime:
    return datetime.now(UTC)
