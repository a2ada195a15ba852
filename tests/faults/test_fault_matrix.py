"""The fault matrix: every fault the upstream or the store can throw at dlf-status,
made real on loopback (pytest-httpserver, raw sockets, SeaweedFS, a throttling proxy).

For each: what the caller sees, what is stored, what is logged. Every log line, every
answer and every stored object is scanned for the credentials in use. The README's
fault table is this table (a test keeps them equal).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from dlf_status import bootstrap
from dlf_status.adapters.signing import AkSkAuthenticator
from dlf_status.adapters.store_local import LocalDirectoryStore
from dlf_status.adapters.store_s3 import PROBE_KEYS, S3Store, make_s3_client
from dlf_status.config import Credentials, Settings
from dlf_status.domain.contract import ResponseValidator
from dlf_status.domain.ports import ObjectStore
from dlf_status.entrypoints.http_api import StatusApi
from dlf_status.observability import NullMetrics, register_secrets
from dlf_status.service import StatusService
from tests.integration.conftest import PROJECT, exchange_response, match_path, stored_keys
from tests.support.clock import FixedClock
from tests.support.events import http_api_event
from tests.support.faults import (
    INTERNAL_ERROR,
    DrippingHttpServer,
    RawHttpServer,
    S3Proxy,
    SilentServer,
    black_hole,
)
from tests.support.rclone import RcloneS3Server as Rclone
from tests.support.seaweed import (
    ACCESS_KEY,
    PATIENT_STORE_SECONDS,
    REGION,
    SeaweedServer,
    free_ports,
)

pytestmark = pytest.mark.integration

AKSK = Credentials(
    ak="FAULTAKID0123456789",
    sk="fault-matrix-SK-value-7f3a9c",
    security_token="FAULT-SECURITY-TOKEN-1b2c3d",
)
TOKEN = Credentials(auth_token="FAULT-IAM-TOKEN-MIIEvQIBADANBgkq")
SECRETS = (*AKSK.secrets, *TOKEN.secrets)
STATUS_BODY = json.dumps({"name": "job_sms", "status": "NORMAL", "nodes": []}).encode()


@dataclass
class Setup:
    """What a fault needs: where the upstream is, and which store to use."""

    endpoint: str
    store: ObjectStore | None = None
    clock_skew: timedelta = timedelta(0)
    inspect: ObjectStore | None = None  # where to count what was kept, if not `store`
    calls: int = 1  # requests made; the last answer is the one checked
    credentials: Credentials | None = None  # the fault's own authentication, if it has one
    after: Callable[[dict[str, Any]], None] | None = None  # the row's own promise


@dataclass(frozen=True)
class Fault:
    name: str
    caller_sees: str  # for the README
    stored: str  # for the README
    logged: str  # for the README
    status: int
    problem: str | None  # the problem type slug, or None for a 200
    snapshot: str | None = None  # X-Dlf-Snapshot on a 200
    kept: int = 0  # objects in the store afterwards (not counting the probe object)
    log_detail: str | None = None  # what the logged line's detail says, when it matters


def _serve(upstream: HTTPServer, fixture: str) -> str:
    upstream.expect_request(match_path("job_sms")).respond_with_response(exchange_response(fixture))
    return upstream.url_for("").rstrip("/")


def _handler(upstream: HTTPServer, handler: Callable[[Request], Response]) -> str:
    upstream.expect_request(match_path("job_sms")).respond_with_handler(handler)
    return upstream.url_for("").rstrip("/")


def _slow(seconds: float, body: bytes = STATUS_BODY) -> Callable[[Request], Response]:
    def answer(_: Request) -> Response:
        time.sleep(seconds)
        return Response(body, 200, content_type="application/json")

    return answer


def _drip(_: Request) -> Response:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "job_sms", "nodes": ['
        for _ in range(30):
            time.sleep(0.1)
            yield b" "
        yield b"]}"

    return Response(chunks(), 200, content_type="application/json")


def _skew_checked(request: Request) -> Response:
    """The gateway's clock check: an X-Sdk-Date more than 15 minutes off is refused."""
    sent = datetime.strptime(request.headers["X-Sdk-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    if abs(datetime.now(UTC) - sent) > timedelta(minutes=15):
        return exchange_response("gateway-401-clock-skew")
    return Response(STATUS_BODY, 200, content_type="application/json")


UPSTREAM_FAULTS: dict[str, tuple[Fault, Callable[[HTTPServer, ExitStack], Setup]]] = {}
StoreSetup = Callable[[HTTPServer, ExitStack, SeaweedServer, "Rclone"], Setup]
STORE_FAULTS: dict[str, tuple[Fault, StoreSetup]] = {}


def upstream_fault(fault: Fault) -> Callable[[Callable[[HTTPServer, ExitStack], Setup]], None]:
    def register(setup: Callable[[HTTPServer, ExitStack], Setup]) -> None:
        UPSTREAM_FAULTS[fault.name] = (fault, setup)

    return register


def store_fault(
    fault: Fault,
) -> Callable[[StoreSetup], None]:
    def register(setup: StoreSetup) -> None:
        STORE_FAULTS[fault.name] = (fault, setup)

    return register


UPSTREAM_ERROR = "`upstream failed` (warning) with the error class and detail"


@upstream_fault(
    Fault(
        "connect timeout",
        "504 `upstream-timeout`",
        "nothing",
        UPSTREAM_ERROR,
        504,
        "upstream-timeout",
    )
)
def _(upstream: HTTPServer, stack: ExitStack) -> Setup:
    return Setup(stack.enter_context(black_hole()))


@upstream_fault(
    Fault(
        "read timeout", "504 `upstream-timeout`", "nothing", UPSTREAM_ERROR, 504, "upstream-timeout"
    )
)
def _(upstream: HTTPServer, stack: ExitStack) -> Setup:
    return Setup(_handler(upstream, _slow(1.5)))


@upstream_fault(
    Fault(
        "a body that drips past the deadline",
        "504 `upstream-timeout`",
        "nothing",
        UPSTREAM_ERROR,
        504,
        "upstream-timeout",
    )
)
def _(upstream: HTTPServer, stack: ExitStack) -> Setup:
    return Setup(_handler(upstream, _drip))


@upstream_fault(
    Fault(
        "headers, or a chunk line, that drip past the deadline",
        "504 `upstream-timeout`",
        "nothing",
        UPSTREAM_ERROR,
        504,
        "upstream-timeout",
    )
)
def _(upstream: HTTPServer, stack: ExitStack) -> Setup:
    # One header's value, a byte every few milliseconds, for as long as the client stays.
    # (Whole header lines would meet http.client's 100-header bound first on a busy
    # machine, where they arrive faster than they are read: a line never ends here.)
    server = DrippingHttpServer(b"HTTP/1.1 200 OK\r\nX-Slow: ", b"1")
    return Setup(stack.enter_context(server).url)


@upstream_fault(
    Fault(
        "connection refused",
        "502 `upstream-failure` (after the retries)",
        "nothing",
        UPSTREAM_ERROR,
        502,
        "upstream-failure",
    )
)
def _(upstream: HTTPServer, stack: ExitStack) -> Setup:
    (closed,) = free_ports(1)
    return Setup(f"http://127.0.0.1:{closed}")


@upstream_fault(
    Fault(
        "connection reset mid-body",
        "502 `upstream-failure`",
        "nothing",
        UPSTREAM_ERROR,
        502,
        "upstream-failure",
    )
)
def _(upstream: HTTPServer, stack: ExitStack) -> Setup:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
    return Setup(
        stack.enter_context(RawHttpServer(head + b'{"name": "job_sms", "nod', reset=True)).url
    )


def _serving(fixture: str) -> Callable[[HTTPServer, ExitStack], Setup]:
    def setup(upstream: HTTPServer, stack: ExitStack) -> Setup:
        return Setup(_serve(upstream, fixture))

    return setup


for status in (500, 502, 503):
    fixture = {500: "server-500-html", 502: "server-502-text", 503: "server-503-json"}[status]
    retried = " after the retries" if status != 500 else ""
    upstream_fault(
        Fault(
            f"HTTP {status}",
            f"502 `upstream-failure`{retried}",
            "nothing",
            UPSTREAM_ERROR,
            502,
            "upstream-failure",
        )
    )(_serving(fixture))

upstream_fault(
    Fault(
        "HTTP 504 (gateway timeout)",
        "504 `upstream-timeout` after the retries",
        "nothing",
        UPSTREAM_ERROR,
        504,
        "upstream-timeout",
    )
)(lambda upstream, stack: Setup(_serve(upstream, "gateway-504-backend-timeout")))

upstream_fault(
    Fault(
        "429 with Retry-After",
        "502 `upstream-failure` after retries that honour Retry-After (capped)",
        "nothing",
        UPSTREAM_ERROR,
        502,
        "upstream-failure",
    )
)(lambda upstream, stack: Setup(_serve(upstream, "gateway-429-retry-after")))

upstream_fault(
    Fault(
        "429 without Retry-After",
        "502 `upstream-failure` after retries with jittered back-off",
        "nothing",
        UPSTREAM_ERROR,
        502,
        "upstream-failure",
    )
)(lambda upstream, stack: Setup(_serve(upstream, "gateway-429-no-retry-after")))


@upstream_fault(
    Fault(
        "malformed JSON",
        "502 `upstream-failure` (not JSON)",
        "nothing",
        UPSTREAM_ERROR,
        502,
        "upstream-failure",
    )
)
def _(upstream: HTTPServer, stack: ExitStack) -> Setup:
    body = b'{"name": "job_sms", "status": NORMAL}'
    return Setup(_handler(upstream, lambda _: Response(body, 200, content_type="application/json")))


upstream_fault(
    Fault(
        "a non-JSON content type",
        "502 `upstream-failure` (not JSON)",
        "nothing",
        UPSTREAM_ERROR,
        502,
        "upstream-failure",
    )
)(lambda upstream, stack: Setup(_serve(upstream, "html-on-200")))


@upstream_fault(
    Fault(
        "a truncated body",
        "502 `upstream-failure` (cut short)",
        "nothing",
        UPSTREAM_ERROR,
        502,
        "upstream-failure",
    )
)
def _(upstream: HTTPServer, stack: ExitStack) -> Setup:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
    return Setup(stack.enter_context(RawHttpServer(head + b'{"name": "job_sms", "nod')).url)


@upstream_fault(
    Fault(
        "an oversized body",
        "502 `upstream-failure` (over the size cap)",
        "nothing",
        UPSTREAM_ERROR,
        502,
        "upstream-failure",
    )
)
def _(upstream: HTTPServer, stack: ExitStack) -> Setup:
    body = json.dumps({"name": "job_sms", "padding": "x" * 50_000}).encode()
    return Setup(_handler(upstream, lambda _: Response(body, 200, content_type="application/json")))


upstream_fault(
    Fault(
        "valid JSON of the wrong shape (not an object)",
        "502 `upstream-failure`",
        "nothing",
        UPSTREAM_ERROR,
        502,
        "upstream-failure",
    )
)(lambda upstream, stack: Setup(_serve(upstream, "body-not-an-object")))

upstream_fault(
    Fault(
        "an object that breaks the contract (lenient mode)",
        "200, `validation.valid: false`, the violations listed",
        "history + latest.json",
        "`contract violations` (warning) with the count and the first path",
        200,
        None,
        snapshot="changed",
        kept=2,
    )
)(lambda upstream, stack: Setup(_serve(upstream, "status-number")))


@upstream_fault(
    Fault(
        "a signature rejected for clock skew",
        "502 `upstream-auth-rejected` (never retried: failed signatures lock the AK)",
        "nothing",
        UPSTREAM_ERROR,
        502,
        "upstream-auth-rejected",
    )
)
def _(upstream: HTTPServer, stack: ExitStack) -> Setup:
    return Setup(_handler(upstream, _skew_checked), clock_skew=timedelta(minutes=20))


# -- a hostile upstream (issue 9): parsing, bounds, headers, echoed secrets, cookies --------

PAST_THE_BOUNDS = "502 `upstream-failure` (past the bounds on one answer)"


def _answer(body: bytes, status: int = 200, **headers: str) -> Callable[[Request], Response]:
    return lambda _: Response(body, status, headers=headers, content_type="application/json")


def _answering(body: bytes) -> Callable[[HTTPServer, ExitStack], Setup]:
    def setup(upstream: HTTPServer, stack: ExitStack) -> Setup:
        return Setup(_handler(upstream, _answer(body)))

    return setup


for name, hostile in {
    "a body nested 1,000 deep": b'{"name":"job_sms","x":' + b"[" * 1000 + b"]" * 1000 + b"}",
    "an integer of 5,000 digits": b'{"name":"job_sms","x":' + b"9" * 5000 + b"}",
    "100,000 empty nodes": b'{"name":"job_sms","nodes":[' + b",".join([b"{}"] * 100_000) + b"]}",
}.items():
    upstream_fault(
        Fault(name, PAST_THE_BOUNDS, "nothing", UPSTREAM_ERROR, 502, "upstream-failure")
    )(_answering(hostile))

upstream_fault(
    Fault(
        "a lone surrogate escape beside a 19-digit integer",
        "502 `upstream-failure` (not JSON: not Unicode text)",
        "nothing",
        UPSTREAM_ERROR,
        502,
        "upstream-failure",
    )
)(
    lambda upstream, stack: Setup(
        _handler(upstream, _answer(b'{"name":"job_sms","x":"\\ud800","n":1234567890123456789}'))
    )
)


def _many_violations(answer: dict[str, Any]) -> None:
    violations = json.loads(answer["body"])["validation"]["violations"]
    assert len(violations) == 1001
    assert violations[-1]["message"].endswith(
        "further violations are not listed (at most 1,000 are)"
    )


upstream_fault(
    Fault(
        "more violations than a document lists (lenient mode)",
        "200, the first 1,000 violations and a last one saying more were not listed",
        "history + latest.json",
        "`contract violations` (warning) with the count and the first path",
        200,
        None,
        snapshot="changed",
        kept=2,
    )
)(
    lambda upstream, stack: Setup(
        _handler(
            upstream,
            _answer(
                b'{"name":"job_sms","nodes":['
                + b",".join(b'{"name":1,"status":2,"type":3,"logPath":4}' for _ in range(300))
                + b"]}"
            ),
        ),
        after=_many_violations,
    )
)


def _code_kept(answer: dict[str, Any]) -> None:
    assert json.loads(answer["body"])["error_code"] == "DLF.0100"


upstream_fault(
    Fault(
        "a DLF.0100 beside a field nested 1,000 deep",
        "404 `job-not-found` (the code is read whatever else the body holds)",
        "nothing",
        "`request failed` (info) with the error class and detail",
        404,
        "job-not-found",
    )
)(
    lambda upstream, stack: Setup(
        _handler(
            upstream,
            _answer(b'{"error_code":"DLF.0100","x":' + b"[" * 1000 + b"]" * 1000 + b"}", 400),
        ),
        after=_code_kept,
    )
)


def _names_the_member(member: str) -> Callable[[dict[str, Any]], None]:
    def check(answer: dict[str, Any]) -> None:
        problem = json.loads(answer["body"])
        assert f'repeats the member "{member}"' in problem["detail"], problem
        assert "error_code" not in problem  # neither of two codes is taken

    return check


upstream_fault(
    Fault(
        "a 200 that repeats a member name (`status` twice, or any name at any depth)",
        "502 `upstream-failure` naming the member and its place (one of the values would be lost)",
        "nothing",
        UPSTREAM_ERROR,
        502,
        "upstream-failure",
    )
)(
    lambda upstream, stack: Setup(
        _handler(
            upstream,
            _answer(
                b'{"name":"job_sms","status":"NORMAL","nodes":[{"name":"n",'
                b'"status":"NORMAL","st\\u0061tus":"EXCEPTION"}]}'
            ),
        ),
        after=_names_the_member("status"),
    )
)
upstream_fault(
    Fault(
        "an error answer that repeats a member name (`DLF.0001` then `DLF.0100`)",
        "502 `upstream-failure` (neither code is read: never `job-not-found`)",
        "nothing",
        UPSTREAM_ERROR,
        502,
        "upstream-failure",
    )
)(
    lambda upstream, stack: Setup(
        _handler(upstream, _answer(b'{"error_code":"DLF.0001","error_code":"DLF.0100"}', 400)),
        after=_names_the_member("error_code"),
    )
)

_RAW_OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


@upstream_fault(
    Fault(
        "429 with `Retry-After: ²`",
        "502 `upstream-failure` after retries with jittered back-off (the header is ignored)",
        "nothing",
        UPSTREAM_ERROR,
        502,
        "upstream-failure",
    )
)
def _(upstream: HTTPServer, stack: ExitStack) -> Setup:
    head = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: ²\r\nContent-Length: 2\r\n\r\n"
    return Setup(stack.enter_context(RawHttpServer(head.encode("latin-1") + b"{}")).url)


@upstream_fault(
    Fault(
        "`Content-Length: ²`",
        "200, the body read to its end",
        "history + latest.json",
        "`job observed` (info)",
        200,
        None,
        snapshot="changed",
        kept=2,
    )
)
def _(upstream: HTTPServer, stack: ExitStack) -> Setup:
    head = _RAW_OK + "Content-Length: ²\r\n\r\n".encode("latin-1")
    return Setup(stack.enter_context(RawHttpServer(head + STATUS_BODY)).url)


def _request_id_cut(answer: dict[str, Any]) -> None:
    request_id = json.loads(answer["body"])["request_id"]
    assert len(request_id) <= 300
    assert request_id.isprintable()


@upstream_fault(
    Fault(
        "an `X-Request-Id` of 60 KB with control characters",
        "502 `upstream-failure`, its `request_id` cut to 300 printable characters",
        "nothing",
        UPSTREAM_ERROR,
        502,
        "upstream-failure",
    )
)
def _(upstream: HTTPServer, stack: ExitStack) -> Setup:
    head = "HTTP/1.1 500 Oops\r\nX-Request-Id: " + "r\x01\x7f" * 20_000 + "\r\n"
    head += "Content-Length: 2\r\n\r\n"
    raw = stack.enter_context(RawHttpServer(head.encode("latin-1") + b"{}"))
    return Setup(raw.url, after=_request_id_cut)


def _echo_everything(request: Request) -> Response:
    echoed = " ".join(
        form
        for secret in SECRETS
        for form in (secret, json.dumps(secret)[1:-1], repr(secret), quote(secret, safe=""))
    )
    body = json.dumps({"error_code": "APIGW.0301", "error_msg": f"bad credentials: {echoed}"})
    return Response(
        body, 401, headers={"X-Request-Id": SECRETS[0]}, content_type="application/json"
    )


upstream_fault(
    Fault(
        "an error answer that echoes our credentials",
        "502 `upstream-auth-rejected`, every credential masked (`***`)",
        "nothing",
        UPSTREAM_ERROR,
        502,
        "upstream-auth-rejected",
    )
)(lambda upstream, stack: Setup(_handler(upstream, _echo_everything)))


def _cookies() -> tuple[Callable[[Request], Response], Callable[[dict[str, Any]], None]]:
    sent: list[str | None] = []

    def answer(request: Request) -> Response:
        sent.append(request.headers.get("Cookie"))
        response = Response(STATUS_BODY, 200, content_type="application/json")
        response.headers.add("Set-Cookie", "session=tracked; Path=/")
        return response

    def never_replayed(_: dict[str, Any]) -> None:
        assert sent == [None, None]

    return answer, never_replayed


@upstream_fault(
    Fault(
        "a cookie set by the upstream",
        "200; the cookie is never sent back",
        "history + latest.json",
        "`job observed` (info)",
        200,
        None,
        snapshot="unchanged",
        kept=2,
    )
)
def _(upstream: HTTPServer, stack: ExitStack) -> Setup:
    answer, never_replayed = _cookies()
    return Setup(_handler(upstream, answer), calls=2, after=never_replayed)


def _raw_ok(*headers: bytes, before: bytes = b"") -> Callable[[HTTPServer, ExitStack], Setup]:
    """A raw upstream: `before`, then a 200 with STATUS_BODY and `headers`."""

    def setup(upstream: HTTPServer, stack: ExitStack) -> Setup:
        lines = b"".join(header + b"\r\n" for header in headers)
        length = b"Content-Length: %d\r\n\r\n" % len(STATUS_BODY)
        raw = RawHttpServer(before + _RAW_OK + lines + length + STATUS_BODY)
        return Setup(stack.enter_context(raw).url)

    return setup


upstream_fault(
    Fault(
        "a 103 Early Hints before the answer",
        "200; the interim answer is passed over",
        "history + latest.json",
        "`job observed` (info)",
        200,
        None,
        snapshot="changed",
        kept=2,
    )
)(_raw_ok(before=b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"))

upstream_fault(
    Fault(
        "a 200 that is an error answer (an error code of any spelling, a null or no job name)",
        "502 `upstream-failure` (an error answer, not a job; a DLF.0100 too)",
        "nothing",
        UPSTREAM_ERROR,
        502,
        "upstream-failure",
        log_detail="is an error answer, not a job (DLF.0100",
    )
)(_answering(b'{"error_code":"DLF.0100","error_msg":"The job does not exists."}'))


def _date(behind: timedelta) -> bytes:
    return b"Date: " + format_datetime(datetime.now(UTC) - behind, usegmt=True).encode()


# The Date is fixed when the server starts; the call comes within seconds.
upstream_fault(
    Fault(
        "the upstream's `Date` 2 to 15 minutes behind this machine's clock",
        "200 with `X-Dlf-Snapshot: failed` (`ClockAhead`)",
        "nothing",
        "`snapshot write failed` (error), counted as `SnapshotWriteFailures`",
        200,
        None,
        snapshot="failed",
        log_detail="ahead of the upstream's Date",
    )
)(lambda upstream, stack: _raw_ok(_date(timedelta(minutes=10)))(upstream, stack))

upstream_fault(
    Fault(
        "the upstream's `Date` more than 15 minutes behind (1990, say), the call signed (AK/SK)",
        "200 with `X-Dlf-Snapshot: changed`: the upstream's clock is not trusted",
        "history + latest.json",
        "`upstream clock not trusted` (warning), then `job observed` (info)",
        200,
        None,
        snapshot="changed",
        kept=2,
    )
)(_raw_ok(b"Date: Mon, 01 Jan 1990 00:00:00 GMT"))


def _with_a_token(
    setup: Callable[[HTTPServer, ExitStack], Setup],
) -> Callable[[HTTPServer, ExitStack], Setup]:
    def with_a_token(upstream: HTTPServer, stack: ExitStack) -> Setup:
        return dataclasses.replace(setup(upstream, stack), credentials=TOKEN)

    return with_a_token


upstream_fault(
    Fault(
        "the upstream's `Date` more than 15 minutes behind, the call with an IAM token",
        "200 with `X-Dlf-Snapshot: failed` (`ClockAhead`): nothing checked this machine's clock",
        "nothing",
        "`snapshot write failed` (error), counted as `SnapshotWriteFailures`",
        200,
        None,
        snapshot="failed",
        log_detail="ahead of the upstream's Date",
    )
)(_with_a_token(_raw_ok(b"Date: Mon, 01 Jan 1990 00:00:00 GMT")))


STORE_ERROR = "`snapshot write failed` (error), counted as `SnapshotWriteFailures`"


@store_fault(
    Fault(
        "store unreachable",
        "200 with `X-Dlf-Snapshot: failed`",
        "nothing",
        STORE_ERROR,
        200,
        None,
        snapshot="failed",
    )
)
def _(upstream: HTTPServer, stack: ExitStack, seaweed: SeaweedServer, rclone: Rclone) -> Setup:
    (closed,) = free_ports(1)
    prefix = f"unreachable-{uuid.uuid4().hex[:6]}"
    store = S3Store(
        make_s3_client(f"http://127.0.0.1:{closed}", call_seconds=PATIENT_STORE_SECONDS),
        seaweed.bucket,
        prefix,
    )
    inspect = S3Store(seaweed.client(), seaweed.bucket, prefix)
    return Setup(_serve(upstream, "doc-2024-success"), store, inspect=inspect)


def _silent_store(stack: ExitStack, seaweed: SeaweedServer) -> tuple[S3Store, S3Store, Any]:
    """The store as the root builds it (STORE_TIMEOUT's default) at a server that accepts
    connections and never answers; an empty prefix of SeaweedFS to count what is kept."""
    silent = stack.enter_context(SilentServer())
    prefix = f"silent-{uuid.uuid4().hex[:6]}"
    settings = Settings.from_environ(
        {
            "DLF_REGION": "cn-north-4",
            "DLF_AUTH_TOKEN": "silent-store-token-not-real",
            "SNAPSHOT_URI": f"s3://{seaweed.bucket}/{prefix}",
            "AWS_ENDPOINT_URL_S3": silent.url,
        }
    )
    store = bootstrap.build_store(settings)
    assert isinstance(store, S3Store)
    return store, S3Store(seaweed.client(), seaweed.bucket, prefix), silent


def _gave_up_after_two_attempts(silent: Any) -> Callable[[dict[str, Any]], None]:
    def check(answer: dict[str, Any]) -> None:
        # STORE_TIMEOUT's two attempts, each ended by the read timeout: then the answer.
        assert silent.connections == 2
        if answer["statusCode"] != 200:
            problem = json.loads(answer["body"])
            assert problem["correlation_id"] == answer["headers"]["X-Correlation-Id"]

    return check


@store_fault(
    Fault(
        "a store that accepts connections and never answers",
        "200 with `X-Dlf-Snapshot: failed` (the S3 client gives up within `STORE_TIMEOUT`)",
        "nothing",
        STORE_ERROR,
        200,
        None,
        snapshot="failed",
    )
)
def _(upstream: HTTPServer, stack: ExitStack, seaweed: SeaweedServer, rclone: Rclone) -> Setup:
    store, inspect, silent = _silent_store(stack, seaweed)
    return Setup(
        _serve(upstream, "doc-2024-success"),
        store,
        inspect=inspect,
        after=_gave_up_after_two_attempts(silent),
    )


@store_fault(
    Fault(
        "the upstream fails and the store never answers",
        "502 `upstream-failure` with its correlation id: no stale copy could be read "
        "within `STORE_TIMEOUT`",
        "nothing",
        "`no stale fallback` (warning) after `upstream failed`",
        502,
        "upstream-failure",
    )
)
def _(upstream: HTTPServer, stack: ExitStack, seaweed: SeaweedServer, rclone: Rclone) -> Setup:
    store, inspect, silent = _silent_store(stack, seaweed)
    return Setup(
        _serve(upstream, "server-500-html"),
        store,
        inspect=inspect,
        after=_gave_up_after_two_attempts(silent),
    )


@store_fault(
    Fault(
        "store access denied",
        "200 with `X-Dlf-Snapshot: failed`",
        "nothing",
        STORE_ERROR,
        200,
        None,
        snapshot="failed",
    )
)
def _(upstream: HTTPServer, stack: ExitStack, seaweed: SeaweedServer, rclone: Rclone) -> Setup:
    import boto3
    from botocore.config import Config

    denied = boto3.client(
        "s3",
        endpoint_url=seaweed.endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key="not-the-secret",
        region_name=REGION,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    prefix = f"denied-{uuid.uuid4().hex[:6]}"
    inspect = S3Store(seaweed.client(), seaweed.bucket, prefix)
    return Setup(
        _serve(upstream, "doc-2024-success"),
        S3Store(denied, seaweed.bucket, prefix),
        inspect=inspect,
    )


@store_fault(
    Fault(
        "store throttling (503 SlowDown), persistent",
        "200 with `X-Dlf-Snapshot: failed` after boto3's retries",
        "nothing",
        STORE_ERROR,
        200,
        None,
        snapshot="failed",
    )
)
def _(upstream: HTTPServer, stack: ExitStack, seaweed: SeaweedServer, rclone: Rclone) -> Setup:
    store = _store_behind_proxy(
        stack, seaweed, f"throttled-{uuid.uuid4().hex[:6]}", lambda method, path: method == "PUT"
    )
    return Setup(_serve(upstream, "doc-2024-success"), store)


@store_fault(
    Fault(
        "store throttling (503 SlowDown), transient",
        "200 with `X-Dlf-Snapshot: changed`",
        "history + latest.json (boto3 retried)",
        "`job observed` (info)",
        200,
        None,
        snapshot="changed",
        kept=2,
    )
)
def _(upstream: HTTPServer, stack: ExitStack, seaweed: SeaweedServer, rclone: Rclone) -> Setup:
    first = iter([True])  # the client's one retry (STORE_TIMEOUT's two attempts) passes
    store = _store_behind_proxy(
        stack,
        seaweed,
        f"flaky-{uuid.uuid4().hex[:6]}",
        lambda method, path: method == "PUT" and next(first, False),
    )
    return Setup(_serve(upstream, "doc-2024-success"), store)


@store_fault(
    Fault(
        "a conditional PUT the store applied whose answer was lost",
        "200 with `X-Dlf-Snapshot: changed`",
        "history + latest.json (the retried PUT refused by its own write: success)",
        "`job observed` (info)",
        200,
        None,
        snapshot="changed",
        kept=2,
    )
)
def _(upstream: HTTPServer, stack: ExitStack, seaweed: SeaweedServer, rclone: Rclone) -> Setup:
    once = iter([True])
    store = _store_behind_proxy(
        stack,
        seaweed,
        f"lost-{uuid.uuid4().hex[:6]}",
        lambda method, path: False,
        drop=lambda method, path: (
            method == "PUT" and path.endswith("/latest.json") and next(once, False)
        ),
    )
    return Setup(_serve(upstream, "doc-2024-success"), store)


class _LosesFirstRace:
    """A store whose first latest.json write loses to a competing writer."""

    def __init__(self, store: S3Store, competitor: Callable[[], None]) -> None:
        self._store, self._competitor, self._raced = store, competitor, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def replace(self, key: str, body: bytes, metadata: Any, expected: str | None) -> str | None:
        if not self._raced:
            self._raced = True
            self._competitor()
        return self._store.replace(key, body, metadata, expected)


@store_fault(
    Fault(
        "a conditional write that loses a race",
        "200 with `X-Dlf-Snapshot: changed`",
        "both observations' history, the transition (staged and published), latest.json the newer",
        "`job observed` (info)",
        200,
        None,
        snapshot="changed",
        kept=5,
    )
)
def _(upstream: HTTPServer, stack: ExitStack, seaweed: SeaweedServer, rclone: Rclone) -> Setup:
    from dlf_status.domain.contract import ValidationReport
    from dlf_status.domain.model import JobRef
    from dlf_status.domain.normalize import Source, normalise
    from dlf_status.service import SnapshotWriter

    real = S3Store(
        make_s3_client(seaweed.endpoint, call_seconds=PATIENT_STORE_SECONDS),
        seaweed.bucket,
        f"race-{uuid.uuid4().hex[:6]}",
    )
    older = normalise(
        {"name": "job_sms", "status": "STOPPED"},
        source=Source(PROJECT, "job_sms"),
        observed_at=datetime.now(UTC) - timedelta(seconds=5),
        report=ValidationReport(),
    )
    job = JobRef.parse(PROJECT, "job_sms")

    def competitor() -> None:
        SnapshotWriter(real).write(job, older, datetime.now(UTC) - timedelta(seconds=5))

    racing: Any = _LosesFirstRace(real, competitor)
    return Setup(_serve(upstream, "doc-2024-success"), racing, inspect=real)


@store_fault(
    Fault(
        "a transition record that cannot be published after latest.json was replaced",
        "200 with `X-Dlf-Snapshot: failed`",
        "both observations' history, the staged transition, latest.json the new one"
        " (it owes the record: the next observation publishes it)",
        STORE_ERROR,
        200,
        None,
        snapshot="failed",
        kept=4,
        log_detail="not published yet",
    )
)
def _(upstream: HTTPServer, stack: ExitStack, seaweed: SeaweedServer, rclone: Rclone) -> Setup:
    from dlf_status.domain.contract import ValidationReport
    from dlf_status.domain.model import JobRef
    from dlf_status.domain.normalize import Source, normalise
    from dlf_status.service import SnapshotWriter

    prefix = f"unpublished-{uuid.uuid4().hex[:6]}"
    real = S3Store(
        make_s3_client(seaweed.endpoint, call_seconds=PATIENT_STORE_SECONDS), seaweed.bucket, prefix
    )
    earlier = normalise(
        {"name": "job_sms", "status": "STOPPED"},
        source=Source(PROJECT, "job_sms"),
        observed_at=datetime.now(UTC) - timedelta(minutes=5),
        report=ValidationReport(),
    )
    SnapshotWriter(real).write(JobRef.parse(PROJECT, "job_sms"), earlier, datetime.now(UTC))
    # Every PUT under transitions/ meets 503 SlowDown, through boto3's retries.
    store = _store_behind_proxy(
        stack, seaweed, prefix, lambda method, path: method == "PUT" and "/transitions/" in path
    )
    return Setup(_serve(upstream, "doc-2024-success"), store, inspect=real)


def _earlier_observation(seaweed: SeaweedServer, prefix: str) -> S3Store:
    """The store at `prefix`, holding an observation of job_sms five minutes ago."""
    from dlf_status.domain.contract import ValidationReport
    from dlf_status.domain.model import JobRef
    from dlf_status.domain.normalize import Source, normalise
    from dlf_status.service import SnapshotWriter

    real = S3Store(
        make_s3_client(seaweed.endpoint, call_seconds=PATIENT_STORE_SECONDS), seaweed.bucket, prefix
    )
    earlier = normalise(
        {"name": "job_sms", "status": "STOPPED"},
        source=Source(PROJECT, "job_sms"),
        observed_at=datetime.now(UTC) - timedelta(minutes=5),
        report=ValidationReport(),
    )
    SnapshotWriter(real).write(JobRef.parse(PROJECT, "job_sms"), earlier, datetime.now(UTC))
    return real


def _store_behind_proxy(
    stack: ExitStack, seaweed: SeaweedServer, prefix: str, *args: Any, **options: Any
) -> S3Store:
    """The product's S3 store at `prefix`, its calls through an `S3Proxy(*args, **options)`
    in front of the suite's SeaweedFS (closed with the row's stack)."""
    proxy = stack.enter_context(S3Proxy(seaweed.endpoint, *args, **options))
    return S3Store(
        make_s3_client(proxy.url, call_seconds=PATIENT_STORE_SECONDS), seaweed.bucket, prefix
    )


CONDITIONAL_CONFLICT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ConditionalRequestConflict</Code>'
    b"<Message>A conflicting conditional operation is currently in progress against this "
    b"resource. Please try again.</Message></Error>"
)


@store_fault(
    Fault(
        "a create-only PUT refused (409 `ConditionalRequestConflict`, or a 412) for a key the"
        " store does not hold",
        "200 with `X-Dlf-Snapshot: failed` (`StoreError`: the refusal is checked with one HEAD)",
        "what came before the refused PUT (a history object, a staged record, `latest.json`"
        " owing its record) and nothing that names the missing object",
        STORE_ERROR,
        200,
        None,
        snapshot="failed",
        kept=2,
        log_detail="holds no object there",
    )
)
def _(upstream: HTTPServer, stack: ExitStack, seaweed: SeaweedServer, rclone: Rclone) -> Setup:
    prefix = f"conflict-{uuid.uuid4().hex[:6]}"
    real = _earlier_observation(seaweed, prefix)
    # The new history object's PUT meets a 409 the store answers for a write in flight.
    store = _store_behind_proxy(
        stack,
        seaweed,
        prefix,
        lambda method, path: method == "PUT" and "/history/" in path,
        status=409,
        error=CONDITIONAL_CONFLICT,
    )
    return Setup(_serve(upstream, "doc-2024-success"), store, inspect=real)


@store_fault(
    Fault(
        "a transition record's PUT that may have been applied, and the HEAD that would tell"
        " whose it is fails",
        "200 with `X-Dlf-Snapshot: failed` (`WriteOutcomeUnknown`); the record's event is sent",
        "both observations' history, the staged transition, the record if the PUT was applied,"
        " latest.json the new one (it owes the record: the next observation publishes it if it"
        " is missing)",
        "`transition record may be published` (warning), then `snapshot write failed` (error)",
        200,
        None,
        snapshot="failed",
        kept=5,
        log_detail="cannot tell whether",
    )
)
def _(upstream: HTTPServer, stack: ExitStack, seaweed: SeaweedServer, rclone: Rclone) -> Setup:
    prefix = f"unknown-{uuid.uuid4().hex[:6]}"
    real = _earlier_observation(seaweed, prefix)
    # The record's PUT is applied and answered 500 InternalError; so is the HEAD of it.
    store = _store_behind_proxy(
        stack,
        seaweed,
        prefix,
        lambda method, path: method == "HEAD" and "/transitions/" in path,
        status=500,
        error=INTERNAL_ERROR,
        fail_after=lambda method, path: method == "PUT" and "/transitions/" in path,
    )
    return Setup(_serve(upstream, "doc-2024-success"), store, inspect=real)


CONDITIONAL_IGNORED = (
    "`snapshot write failed` (error) saying that the store ignores conditional writes,"
    " counted as `SnapshotWriteFailures`"
)


@store_fault(
    Fault(
        "a store that ignores conditional writes (`SNAPSHOT_CONSISTENCY=strict`)",
        "200 with `X-Dlf-Snapshot: failed`",
        "nothing (the store is refused before its first write)",
        CONDITIONAL_IGNORED,
        200,
        None,
        snapshot="failed",
        log_detail="ignores conditional writes",
    )
)
def _(upstream: HTTPServer, stack: ExitStack, seaweed: SeaweedServer, rclone: Rclone) -> Setup:
    store = S3Store(
        make_s3_client(rclone.endpoint, call_seconds=PATIENT_STORE_SECONDS),
        rclone.bucket,
        f"ignores-{uuid.uuid4().hex[:6]}",
    )
    return Setup(_serve(upstream, "doc-2024-success"), store)


@store_fault(
    Fault(
        "a store that ignores conditional writes (`SNAPSHOT_CONSISTENCY=best-effort`)",
        "200 with `X-Dlf-Snapshot: changed`",
        "history + latest.json, unprotected against concurrent writers",
        "`job observed` (info)",
        200,
        None,
        snapshot="changed",
        kept=2,
    )
)
def _(upstream: HTTPServer, stack: ExitStack, seaweed: SeaweedServer, rclone: Rclone) -> Setup:
    store = S3Store(
        make_s3_client(rclone.endpoint, call_seconds=PATIENT_STORE_SECONDS),
        rclone.bucket,
        f"accepted-{uuid.uuid4().hex[:6]}",
        require_conditional_writes=False,
    )
    return Setup(_serve(upstream, "doc-2024-success"), store)


@store_fault(
    Fault(
        "a store that keeps no user metadata (`SNAPSHOT_CONSISTENCY=strict`)",
        "200 with `X-Dlf-Snapshot: failed`",
        "nothing but the probe objects (the store is refused before its first write)",
        "`snapshot write failed` (error) saying that the store keeps no user metadata,"
        " counted as `SnapshotWriteFailures`",
        200,
        None,
        snapshot="failed",
        log_detail="keeps no user metadata",
    )
)
def _(upstream: HTTPServer, stack: ExitStack, seaweed: SeaweedServer, rclone: Rclone) -> Setup:
    # SeaweedFS behind a proxy that drops every `x-amz-meta-*` header of its answers.
    store = _store_behind_proxy(
        stack,
        seaweed,
        f"no-metadata-{uuid.uuid4().hex[:6]}",
        lambda method, path: False,
        keep_metadata=False,
    )
    return Setup(_serve(upstream, "doc-2024-success"), store)


@store_fault(
    Fault(
        "the local store's tree broken: a file where a directory belongs (`history`)",
        "200 with `X-Dlf-Snapshot: failed` (`StoreFileSystemError`: the errno's name and the"
        " key, never the root's path)",
        "nothing new (the file in the way stays)",
        STORE_ERROR,
        200,
        None,
        snapshot="failed",
        kept=1,
        log_detail=": ENOTDIR (Not a directory)",
    )
)
def _(upstream: HTTPServer, stack: ExitStack, seaweed: SeaweedServer, rclone: Rclone) -> Setup:
    import tempfile

    root = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "snapshots"
    root.mkdir()
    (root / "history").write_bytes(b"in the way")
    return Setup(_serve(upstream, "doc-2024-success"), LocalDirectoryStore(root))


ALL_FAULTS = {
    **{n: f for n, (f, _) in UPSTREAM_FAULTS.items()},
    **{n: f for n, (f, _) in STORE_FAULTS.items()},
}


@pytest.fixture
def no_secret_escapes(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> Iterator[None]:
    """Every log record of every logger, at DEBUG, and everything printed: no secret."""
    register_secrets(*SECRETS)
    caplog.set_level(logging.DEBUG)
    yield
    printed = "".join(capsys.readouterr())
    records = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    for secret in SECRETS:
        assert secret not in printed, "a secret was printed"
        assert secret not in records, "a secret reached a log record"


def _service(
    setup: Setup, store: ObjectStore, validator: ResponseValidator, credentials: Credentials
) -> StatusService:
    """The status service from the root: short timeouts and the fault's credentials;
    a signer whose clock is off when the fault is clock skew."""
    environment = {
        "DLF_ENDPOINT": setup.endpoint,
        "DLF_CONNECT_TIMEOUT": "0.5",
        "DLF_READ_TIMEOUT": "0.5",
        "DLF_DEADLINE": "1.5",
        "DLF_MAX_ATTEMPTS": "3",
        "DLF_RETRY_AFTER_CAP": "0.2",
        "DLF_MAX_RESPONSE_BYTES": "20000",
        "DLF_AK": credentials.ak or "",
        "DLF_SK": credentials.sk or "",
        "DLF_SECURITY_TOKEN": credentials.security_token or "",
        "DLF_AUTH_TOKEN": "" if credentials.ak else credentials.auth_token or "",
    }
    settings = Settings.from_environ(environment)
    upstream = None
    if setup.clock_skew:
        skewed = FixedClock(datetime.now(UTC) - setup.clock_skew)
        upstream = bootstrap.build_upstream_client(
            settings, authenticator=AkSkAuthenticator(credentials, skewed)
        )
    return bootstrap.build_status_service(
        settings, upstream=upstream, store=store, validator=validator, metrics=NullMetrics()
    )


def _check(
    fault: Fault, answer: dict[str, Any], store: ObjectStore, caplog: pytest.LogCaptureFixture
) -> None:
    body = answer["body"]
    assert answer["statusCode"] == fault.status, body
    if fault.problem is not None:
        problem = json.loads(body)
        assert answer["headers"]["Content-Type"] == "application/problem+json"
        assert problem["type"] == f"urn:dlf-status:problem:{fault.problem}"
    else:
        assert answer["headers"]["X-Dlf-Snapshot"] == fault.snapshot
    # A strict S3 store keeps its probe objects beside the snapshots.
    kept = [key for key in stored_keys(store) if key not in PROBE_KEYS]
    assert len(kept) == fault.kept, kept
    for secret in SECRETS:
        assert secret not in body
    messages = {record.getMessage() for record in caplog.records}
    expected_message = fault.logged.split("`")[1]
    assert expected_message in messages, messages
    if fault.log_detail is not None:
        details = [
            str(getattr(record, "detail", ""))
            for record in caplog.records
            if record.getMessage() == expected_message
        ]
        assert any(fault.log_detail in detail for detail in details), details


def _run_upstream_fault(
    name: str,
    credentials: Credentials,
    upstream: HTTPServer,
    validator: ResponseValidator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fault, setup_fault = UPSTREAM_FAULTS[name]
    store = LocalDirectoryStore(tmp_path / "snapshots")
    with ExitStack() as stack:
        setup = setup_fault(upstream, stack)
        credentials = setup.credentials or credentials
        app = StatusApi(_service(setup, store, validator, credentials).observe)

        for _ in range(setup.calls):
            answer = app.handle(http_api_event(PROJECT, "job_sms"))

    _check(fault, answer, store, caplog)
    if setup.after is not None:
        setup.after(answer)
    for path in (tmp_path / "snapshots").rglob("*.json"):
        assert not any(secret in path.read_text() for secret in SECRETS)


@pytest.mark.parametrize("name", sorted(UPSTREAM_FAULTS))
def test_upstream_fault(
    name: str,
    upstream: HTTPServer,
    validator: ResponseValidator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    no_secret_escapes: None,
) -> None:
    _run_upstream_fault(name, AKSK, upstream, validator, tmp_path, caplog)


@pytest.mark.parametrize(
    "name", ["HTTP 500", "read timeout", "malformed JSON", "connection reset mid-body"]
)
def test_upstream_fault_with_an_iam_token(
    name: str,
    upstream: HTTPServer,
    validator: ResponseValidator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    no_secret_escapes: None,
) -> None:
    _run_upstream_fault(name, TOKEN, upstream, validator, tmp_path, caplog)


@pytest.mark.parametrize("name", sorted(STORE_FAULTS))
def test_store_fault(
    name: str,
    upstream: HTTPServer,
    validator: ResponseValidator,
    seaweed: SeaweedServer,
    rclone_s3: Rclone,
    caplog: pytest.LogCaptureFixture,
    no_secret_escapes: None,
) -> None:
    fault, setup_fault = STORE_FAULTS[name]
    with ExitStack() as stack:
        setup = setup_fault(upstream, stack, seaweed, rclone_s3)
        assert setup.store is not None
        app = StatusApi(_service(setup, setup.store, validator, AKSK).observe)

        answer = app.handle(http_api_event(PROJECT, "job_sms"))

        _check(fault, answer, setup.inspect or setup.store, caplog)
        if setup.after is not None:
            setup.after(answer)


def test_a_lost_race_keeps_the_newer_observation_as_latest(
    upstream: HTTPServer, validator: ResponseValidator, seaweed: SeaweedServer, rclone_s3: Rclone
) -> None:
    _, setup_fault = STORE_FAULTS["a conditional write that loses a race"]
    with ExitStack() as stack:
        setup = setup_fault(upstream, stack, seaweed, rclone_s3)
        assert setup.store is not None
        StatusApi(_service(setup, setup.store, validator, AKSK).observe).handle(
            http_api_event(PROJECT, "job_sms")
        )
        assert setup.inspect is not None
        [latest_key] = [key for key in stored_keys(setup.inspect) if key.startswith("latest/")]
        stored = setup.inspect.get(latest_key)

    assert stored is not None
    assert json.loads(stored.body)["job"]["status"] == "NORMAL"


@pytest.mark.parametrize(
    "name",
    [
        "read timeout",
        "HTTP 503",
        "connection reset mid-body",
        "a signature rejected for clock skew",
        "a 200 that repeats a member name (`status` twice, or any name at any depth)",
        "an error answer that repeats a member name (`DLF.0001` then `DLF.0100`)",
    ],
)
def test_with_a_snapshot_the_caller_gets_it_stale_instead_of_an_error(
    name: str,
    upstream: HTTPServer,
    validator: ResponseValidator,
    tmp_path: Path,
    no_secret_escapes: None,
) -> None:
    store = LocalDirectoryStore(tmp_path / "snapshots")
    healthy = Setup(_serve(upstream, "doc-2024-success"))
    StatusApi(_service(healthy, store, validator, AKSK).observe).handle(
        http_api_event(PROJECT, "job_sms")
    )
    upstream.clear()
    with ExitStack() as stack:
        setup = UPSTREAM_FAULTS[name][1](upstream, stack)
        answer = StatusApi(_service(setup, store, validator, AKSK).observe).handle(
            http_api_event(PROJECT, "job_sms")
        )

    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["stale"] is True
    assert answer["headers"]["X-Dlf-Upstream-Error"] == UPSTREAM_FAULTS[name][0].problem


def test_the_readme_fault_table_is_this_table() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme.split("| fault | what the caller sees | what is stored | what is logged |", 1)[1]
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in table.split("\n\n", 1)[0].strip().splitlines()[1:]
    ]

    assert rows == [[f.name, f.caller_sees, f.stored, f.logged] for f in ALL_FAULTS.values()]


def test_an_unpublished_transition_is_published_by_the_next_observation(
    upstream: HTTPServer, validator: ResponseValidator, seaweed: SeaweedServer, rclone_s3: Rclone
) -> None:
    from dlf_status.domain import jsoncodec
    from tests.support.transitions import assert_chain

    name = "a transition record that cannot be published after latest.json was replaced"
    with ExitStack() as stack:
        setup = STORE_FAULTS[name][1](upstream, stack, seaweed, rclone_s3)
        assert setup.store is not None
        assert setup.inspect is not None
        failed = StatusApi(_service(setup, setup.store, validator, AKSK).observe).handle(
            http_api_event(PROJECT, "job_sms")
        )
    healthy = setup.inspect
    # Another container, the store healthy again: the same answer, a new observation.
    later = StatusApi(_service(setup, healthy, validator, AKSK).observe).handle(
        http_api_event(PROJECT, "job_sms")
    )

    keys = stored_keys(healthy)
    records = [
        jsoncodec.loads(stored.body)
        for key in keys
        if key.startswith("transitions/") and (stored := healthy.get(key)) is not None
    ]
    history = sorted(
        (
            jsoncodec.loads(stored.body)
            for key in keys
            if key.startswith("history/") and (stored := healthy.get(key)) is not None
        ),
        key=lambda document: document["observed_at"],
    )
    assert failed["headers"]["X-Dlf-Snapshot"] == "failed"
    assert later["headers"]["X-Dlf-Snapshot"] == "unchanged"
    assert [(c["from"], c["to"]) for r in records for c in r["changes"] if c["scope"] == "job"] == [
        ("STOPPED", "NORMAL")
    ]
    assert_chain(records, history)
