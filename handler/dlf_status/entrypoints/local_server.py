"""`dlf-status serve`: a local HTTP endpoint in front of the same HTTP API handler.

Each request becomes an API Gateway HTTP API (payload 2.0) event, decoded the way
API Gateway decodes it, so development and tests exercise the deployed path.
For development and tests only: no TLS, no authorisation. Still, a client cannot
break it: each request has a time budget (a half-open or dripping connection is
closed), connections are bounded (more are answered 503), and a request it cannot
frame (a bad Content-Length, a malformed request line or header) is a problem: 400,
or 414/431/505 where HTTP has a status of its own; each an error class of its own
with its row in `problems.py`.
"""

from __future__ import annotations

import io
import math
import re
import socket
import sys
import threading
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlsplit

from dlf_status.config import shown
from dlf_status.domain import jsoncodec
from dlf_status.entrypoints.events import ROUTES
from dlf_status.entrypoints.http_api import StatusApi
from dlf_status.entrypoints.problems import PROBLEM_CONTENT_TYPE, mapping_for, problem_document
from dlf_status.errors import (
    DlfStatusError,
    HttpVersionNotSupported,
    InvalidInput,
    RequestHeadersTooLarge,
    RequestNotReadable,
    RequestTargetTooLong,
    ServerBusy,
    one_line,
)
from dlf_status.observability import logger

# Query parameters read from one request target; more is a 400 (no route takes more
# than four).
MAX_QUERY_FIELDS: Final = 64


def _decode(segment: str) -> str:
    # Bytes that are not UTF-8 survive as lone surrogates, which JobRef refuses.
    return unquote(segment, errors="surrogateescape")


def _route(path: str) -> tuple[str, dict[str, str]] | None:
    """The route template.yaml declares for this encoded path, and its parameters
    decoded, as API Gateway matches a route: segment by segment on the encoded path
    (so `a%2Fb` is one segment), each parameter decoded after."""
    segments = path.strip("/").split("/")
    for route in ROUTES:
        expected = route.segments
        if len(segments) == len(expected) and all(
            template.startswith("{") or segment == template
            for segment, template in zip(segments, expected, strict=True)
        ):
            return route.value, {
                template[1:-1]: _decode(segment)
                for segment, template in zip(segments, expected, strict=True)
                if template.startswith("{")
            }
    return None


def _query_parameters(query: str) -> dict[str, str]:
    """`queryStringParameters` as an HTTP API fills it: decoded (`+` is a space), a
    name given twice has its values joined with ','. ValueError past MAX_QUERY_FIELDS."""
    found: dict[str, list[str]] = {}
    for name, value in parse_qsl(
        query, keep_blank_values=True, errors="surrogateescape", max_num_fields=MAX_QUERY_FIELDS
    ):
        found.setdefault(name, []).append(value)
    return {name: ",".join(values) for name, values in found.items()}


def gateway_event(
    method: str, target: str, headers: dict[str, str], client_ip: str
) -> dict[str, Any]:
    """What API Gateway (HTTP API, payload 2.0) would send for this request to the
    routes template.yaml declares. ValueError for a target it cannot read."""
    parts = urlsplit(target)
    headers = {name.lower(): value for name, value in headers.items()}
    matched = _route(parts.path)
    route_key = "$default" if matched is None else f"{method} {matched[0]}"
    decoded_path = _decode(parts.path)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": decoded_path,
        "rawQueryString": parts.query,
        "headers": headers,
        "requestContext": {
            "http": {
                "method": method,
                "path": decoded_path,
                "protocol": "HTTP/1.1",
                "sourceIp": client_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": route_key,
            "stage": "$default",
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if matched is not None:
        event["pathParameters"] = matched[1]
    if parts.query:
        event["queryStringParameters"] = _query_parameters(parts.query)
    return event


# A connection (idle, or sending its request) gets this long per request, then is
# closed: a half-open or dripping client cannot hold a thread for ever.
SERVE_TIMEOUT_SECONDS: Final = 30.0
# Connections served at once (one thread each); more are answered 503 and closed.
SERVE_MAX_CONNECTIONS: Final = 64
# A GET has no body; one that comes anyway is read and dropped, up to this size.
MAX_REQUEST_BODY_BYTES: Final = 1 << 20
_CONTENT_LENGTH = re.compile(r"[0-9]{1,19}")
_FIELD_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_FIELD_VALUE_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# http.server's own refusals, by the status it picked; any other is a plain 400.
_REFUSALS: Final[dict[int, type[RequestNotReadable]]] = {
    HTTPStatus.REQUEST_URI_TOO_LONG: RequestTargetTooLong,
    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE: RequestHeadersTooLarge,
    HTTPStatus.HTTP_VERSION_NOT_SUPPORTED: HttpVersionNotSupported,
}


class _DeadlineReader(io.RawIOBase):
    """The socket's bytes, each read bounded by what is left of the request's time."""

    def __init__(self, connection: socket.socket, budget: float) -> None:
        super().__init__()
        self._connection = connection
        self._budget = budget
        self.deadline = math.inf

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request took longer than the server's timeout")
        self._connection.settimeout(min(remaining, self._budget))
        return self._connection.recv_into(buffer)


def _problem_answer(error: DlfStatusError) -> tuple[int, bytes]:
    """The status and problem document of `error`, both from the one map."""
    return mapping_for(error).http_status, jsoncodec.canonical_bytes(problem_document(error))


class LocalServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with a bound on connections (threads) and quiet errors."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        *,
        family: socket.AddressFamily,
        max_connections: int,
    ) -> None:
        self.address_family = family
        self._slots = threading.BoundedSemaphore(max_connections)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _refuse(self, request: socket.socket) -> None:
        """503 without a thread: best effort, never blocking the accepting loop."""
        _, body = _problem_answer(ServerBusy("too many connections; try again later"))
        head = (
            f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: {PROBLEM_CONTENT_TYPE}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\nRetry-After: 1\r\n\r\n"
        )
        try:
            request.setblocking(False)
            request.send(head.encode("ascii") + body)
        except OSError:
            pass
        finally:
            self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that reset or vanished is not a server error: one log line, no
        traceback on stderr."""
        error = sys.exc_info()[1]
        logger.info("connection dropped", extra={"error": type(error).__name__})


def _listening_family(host: str, port: int) -> socket.AddressFamily:
    """IPv4 or IPv6, as the host resolves (ThreadingHTTPServer assumes IPv4)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise InvalidInput(
            f"cannot listen on {one_line(host, 100)}: {exc.strerror or exc}", field="--host"
        ) from None
    except (UnicodeError, ValueError):
        raise InvalidInput(
            f"cannot listen on {one_line(host, 100)}: not a host name or address", field="--host"
        ) from None
    return socket.AddressFamily(found[0][0])


def make_server(
    api: StatusApi,
    host: str,
    port: int,
    *,
    timeout: float = SERVE_TIMEOUT_SECONDS,
    max_connections: int = SERVE_MAX_CONNECTIONS,
) -> LocalServer:
    """A server for `api` on host:port (port 0: a free one); InvalidInput when it
    cannot listen there (in use, not an address of this machine, not a host)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "dlf-status-serve"

        def setup(self) -> None:
            super().setup()
            self._reader = _DeadlineReader(self.connection, timeout)
            self.rfile = io.BufferedReader(self._reader)

        def handle_one_request(self) -> None:
            self._reader.deadline = time.monotonic() + timeout
            super().handle_one_request()

        def _dispatch(self) -> None:
            try:
                self._check_headers()
                self._discard_body()
                # API Gateway refuses what urlsplit refuses, and an endless query.
                event = gateway_event(
                    self.command, self.path, self._joined_headers(), self.client_address[0]
                )
            except RequestNotReadable as bad:
                self._answer_problem(bad)
                return
            except ValueError:
                self._answer_problem(
                    RequestNotReadable("the request target is not a valid path and query")
                )
                return
            try:
                answer = api.handle(event)
                body = answer["body"].encode("utf-8")
                status, headers = answer["statusCode"], answer["headers"]
            except Exception:  # noqa: BLE001 - one request's bug is its own 500, not a dead thread
                logger.exception("unexpected error serving a request")
                body = jsoncodec.canonical_bytes(problem_document(RuntimeError()))
                status, headers = 500, {"Content-Type": PROBLEM_CONTENT_TYPE}
            self._send(status, body, headers=headers)

        def _check_headers(self) -> None:
            """RFC 9112 framing: every line a `name: value` field, names tokens, values
            without control characters, no line folding (obs-fold)."""
            if self.headers.defects or self.headers.get_payload():
                raise RequestNotReadable("a header line is not a 'name: value' field")
            for name, value in self.headers.items():
                if not _FIELD_NAME.fullmatch(name):
                    raise RequestNotReadable(f"header name {shown(name, 40)} is not a token")
                if _FIELD_VALUE_CONTROL.search(value):
                    raise RequestNotReadable(
                        f"header {shown(name, 40)} holds a control character or a folded line"
                    )

        def _joined_headers(self) -> dict[str, str]:
            """Headers by name, a repeated one's values joined with ',' (as API Gateway
            joins them), never only the first or the last."""
            joined: dict[str, str] = {}
            for name, value in self.headers.items():
                key = name.lower()
                joined[key] = f"{joined[key]},{value}" if key in joined else value
            return joined

        def _discard_body(self) -> None:
            """Read and drop a body, so the next request on the connection starts where
            it should; refuse framing we cannot follow."""
            if self.headers.get("Transfer-Encoding") is not None:
                raise RequestNotReadable("Transfer-Encoding is not supported; send Content-Length")
            lengths = {value.strip(" \t") for value in self.headers.get_all("Content-Length", [])}
            if not lengths:
                return
            if len(lengths) > 1:
                raise RequestNotReadable("conflicting Content-Length headers")
            [length] = lengths
            if not _CONTENT_LENGTH.fullmatch(length):
                raise RequestNotReadable(
                    f"Content-Length must be ASCII digits, got {shown(length, 40)}"
                )
            if int(length) > MAX_REQUEST_BODY_BYTES:
                raise RequestNotReadable(
                    f"a request body of {int(length):,} bytes is larger than "
                    f"{MAX_REQUEST_BODY_BYTES:,}; a GET needs none"
                )
            if len(self.rfile.read(int(length))) < int(length):
                raise RequestNotReadable("the request body ended before its Content-Length")

        def _answer_problem(self, error: RequestNotReadable) -> None:
            self.close_connection = True
            headers = {"Content-Type": PROBLEM_CONTENT_TYPE, "Connection": "close"}
            self._send(*_problem_answer(error), headers=headers)

        def _send(self, status: int, body: bytes, *, headers: dict[str, str]) -> None:
            self.connection.settimeout(timeout)  # a whole budget to write the answer
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if status != 304:
                # A 304 has no body, and its Content-Length would have to be the 200's
                # (RFC 9110 8.6): none is sent.
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD" and status != 304:
                self.wfile.write(body)

        def send_error(
            self, code: int, message: str | None = None, explain: str | None = None
        ) -> None:
            """http.server's own refusals (a malformed request line or header, a line too
            long, an unsupported version) as problem JSON instead of its HTML page."""
            if self.request_version not in ("HTTP/1.0", "HTTP/1.1"):
                self.request_version = "HTTP/1.1"  # always a status line, even for junk
            self.command = self.command if self.command == "HEAD" else "GET"
            refusal = _REFUSALS.get(code, RequestNotReadable)
            self._answer_problem(refusal(message or HTTPStatus(code).phrase))

        def __getattr__(self, name: str) -> Any:
            # http.server looks up do_<METHOD>: every method goes to the handler, which
            # answers 405 with Allow: GET, as API Gateway's route does, never a 501 page.
            if name.startswith("do_"):
                return self._dispatch
            raise AttributeError(name)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("http access", extra={"line": one_line(format % args, 500)})

    family = _listening_family(host, port)
    try:
        return LocalServer((host, port), Handler, family=family, max_connections=max_connections)
    except OSError as exc:
        raise InvalidInput(
            f"cannot listen on {one_line(host, 100)} port {port}: {exc.strerror or exc}",
            field="--port",
        ) from None
