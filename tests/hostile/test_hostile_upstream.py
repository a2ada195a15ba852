"""A hostile upstream: every answer of the corpus (upstream_corpus.py) and answers that
hypothesis generates (hostile_json.py), served raw from loopback, through every way in:
the gateway handler (API Gateway payloads 2.0 and 1.0), a direct invocation, a
scheduled tick and the CLI.

For each answer: only a documented outcome (the document, or the problem the README
lists; never `internal`, exit 70 or a traceback), the latest snapshot served stale
where the README says so (a seeded job), and no credential in anything captured:
logs at DEBUG (records and lines), answers, stderr and stored objects. The
credentials contain `"`, `\\`, `/`, `+`, `=` and `%`, so each has many encodings.
"""

from __future__ import annotations

import base64
import gc
import itertools
import json
import logging
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlf_status import bootstrap
from dlf_status.config import Settings
from dlf_status.domain.normalize import SCHEMA_VERSION
from dlf_status.entrypoints import schedule
from dlf_status.entrypoints.cli import main
from dlf_status.entrypoints.direct import DirectInvocation
from dlf_status.entrypoints.http_api import StatusApi
from dlf_status.observability import logger
from dlf_status.poller import TickRunner
from tests.hostile import hostile_json
from tests.hostile.upstream_corpus import (
    AUTH,
    CASES,
    DOCUMENT,
    FAILURE,
    JSON_TYPE,
    NOT_FOUND,
    TIMEOUT,
    Case,
    status_body,
)
from tests.support.events import http_api_event, rest_api_event
from tests.support.scripted_upstream import (
    KeepAliveUpstream,
    RawAnswer,
    ScriptedUpstream,
    WireBytes,
)

pytestmark = pytest.mark.integration

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
SEEDED = "seeded_job"
HTTP_STATUS = {FAILURE: 502, NOT_FOUND: 404, AUTH: 502, TIMEOUT: 504}
# The error classes a tick reports for each problem (README: the tick's report).
TICK_ERRORS = {
    FAILURE: {
        "UpstreamBadResponse",
        "UpstreamUnavailable",
        "UpstreamThrottled",
        "UpstreamRejected",
    },
    NOT_FOUND: {"JobNotFound"},
    AUTH: {"UpstreamAuthRejected"},
    TIMEOUT: {"UpstreamTimeout"},
}
EXIT_CODE = {DOCUMENT: 0, NOT_FOUND: 3, FAILURE: 4, AUTH: 4, TIMEOUT: 4}
MAX_ECHOED = 300  # README: the upstream's words are cut to 300 printable characters


class Credentials(NamedTuple):
    environment: dict[str, str]

    @property
    def secrets(self) -> list[str]:
        return list(self.environment.values())


# Obviously fake, and as awkward as a credential can be while still being sendable.
AKSK = Credentials(
    {
        "DLF_AK": 'HOSTILE"AK\\/+=%41',
        "DLF_SK": 'sk"\\/+=%2F-not-a-real-secret',
        "DLF_SECURITY_TOKEN": 'st"\\/+=%25-not-a-real-token',
    }
)
TOKEN = Credentials({"DLF_AUTH_TOKEN": 'iam"\\/+=%0A-not-a-real-token'})


_BROKEN_BY = re.compile(r"\s|\u200b|\\+u200b|\\+[rn]")


def unbroken(text: str) -> str:
    """`text` with what may break a credential removed: line breaks, white space and
    zero-width spaces, raw or escaped (a leaked folded credential is whole again)."""
    return _BROKEN_BY.sub("", text)


def encodings(secret: str) -> set[str]:
    """How a credential may show up in captured text (written here, not taken from the code)."""
    json_ascii = json.dumps(secret)[1:-1]
    json_plain = json.dumps(secret, ensure_ascii=False)[1:-1]
    return {
        secret,
        json_ascii,
        json_plain,
        json.dumps(json_ascii)[1:-1],
        repr(secret)[1:-1],
        json.dumps(repr(secret)[1:-1])[1:-1],
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        re.sub("%[0-9A-F]{2}", lambda escape: escape.group().lower(), quote(secret, safe="")),
    }


def assert_no_secret(texts: Sequence[str], secrets: Sequence[str], where: str) -> None:
    seen = [*texts, *map(unbroken, texts)]
    for secret in secrets:
        raw = secret.encode()
        transformed = {raw.hex(), base64.b64encode(b"u:" + raw).decode()[4:-4]}
        for form in encodings(secret) | transformed:
            for text in seen:
                assert form not in text, f"a credential ({form!r}) reached {where}"


@pytest.fixture(scope="module")
def upstream() -> Iterator[ScriptedUpstream]:
    with ScriptedUpstream() as server:
        yield server


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile-upstream-snapshots")


def environment(
    upstream: ScriptedUpstream | KeepAliveUpstream, snapshots: Path, credentials: Credentials
) -> dict[str, str]:
    return {
        "DLF_ENDPOINT": upstream.url,
        "SNAPSHOT_URI": str(snapshots),
        "LOG_LEVEL": "DEBUG",
        "DLF_MAX_ATTEMPTS": "2",  # one retry: Retry-After is read
        "DLF_RETRY_AFTER_CAP": "0.05",
        "DLF_CONNECT_TIMEOUT": "2",
        "DLF_READ_TIMEOUT": "5",
        "DLF_DEADLINE": "10",
        **credentials.environment,
    }


class Functions(NamedTuple):
    """One deployment's service behind each trigger's handler, built by the root."""

    http: StatusApi
    direct: DirectInvocation
    ticks: TickRunner


def functions(environ: dict[str, str]) -> Functions:
    settings = Settings.from_environ(environ)
    service = bootstrap.build_status_service(settings)
    return Functions(
        StatusApi(service.observe),
        DirectInvocation(service.observe),
        bootstrap.build_tick_runner(settings, service=service),
    )


class World(NamedTuple):
    upstream: ScriptedUpstream
    snapshots: Path
    apps: dict[str, Functions]
    credentials: dict[str, Credentials]


@pytest.fixture(scope="module")
def world(upstream: ScriptedUpstream, snapshots: Path) -> World:
    credentials = {"aksk": AKSK, "token": TOKEN}
    apps = {
        kind: functions(environment(upstream, snapshots, creds))
        for kind, creds in credentials.items()
    }
    upstream.serve(RawAnswer(200, [JSON_TYPE], status_body()))
    for app in apps.values():  # the seeded job has a snapshot: failures are served stale
        seeded = app.http.handle(http_api_event(PROJECT, SEEDED))
        assert seeded["statusCode"] == 200, seeded
    return World(upstream, snapshots, apps, credentials)


_fresh_names = itertools.count()


def fresh_job() -> str:
    """A job no snapshot exists for (a document answer writes one)."""
    return f"fresh_{next(_fresh_names)}"


def check_echoed_text(problem: dict[str, Any]) -> None:
    for key in ("error_code", "error_msg", "request_id"):
        if key in problem:
            value = problem[key]
            assert isinstance(value, str)
            assert 0 < len(value) <= MAX_ECHOED, (key, len(value))
            assert value.isprintable(), (key, value[:80])
    assert len(problem["detail"]) <= 2_000


def check_http(answer: dict[str, Any], expected: str, *, stale: bool) -> None:
    body = json.loads(answer["body"])
    if expected == DOCUMENT or stale:
        assert answer["statusCode"] == 200, body
        assert answer["headers"]["Content-Type"] == "application/json"
        assert body["schema_version"] == SCHEMA_VERSION
        assert body.get("stale", False) is stale
        if stale:
            assert answer["headers"]["X-Dlf-Upstream-Error"] == expected
        else:  # a document answer is stored, whatever else the upstream sent with it
            assert answer["headers"]["X-Dlf-Snapshot"] in ("changed", "unchanged"), answer
        return
    assert answer["statusCode"] == HTTP_STATUS[expected], body
    assert answer["headers"]["Content-Type"] == "application/problem+json"
    assert body["type"] == f"urn:dlf-status:problem:{expected}", body
    check_echoed_text(body)


def check_direct(answer: dict[str, Any], expected: str, *, stale: bool) -> None:
    if expected == DOCUMENT or stale:
        assert answer["schema_version"] == SCHEMA_VERSION, answer
        assert answer.get("stale", False) is stale
        return
    assert answer["type"] == f"urn:dlf-status:problem:{expected}", answer
    check_echoed_text(answer)


def check_tick(report: dict[str, Any], expected: str) -> None:
    assert report["jobs"] == 2, report
    for outcome in report["outcomes"]:
        if expected == DOCUMENT:
            assert outcome["result"] == "ok", outcome
        else:  # a tick never serves stale: a failure is a failure
            assert outcome["result"] == "failed", outcome
            assert outcome["error"] in TICK_ERRORS[expected], outcome
            assert len(outcome["detail"]) <= 2_000


def run_cli(
    job: str,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str, str]:
    with monkeypatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        code = main(["get", PROJECT, job])
    out, err = capsys.readouterr()
    return code, out, err


class Captured(NamedTuple):
    texts: list[str]
    records: list[str]


def through_every_entry(
    world: World,
    kind: str,
    expected: str,
    *,
    stale: bool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> Captured:
    """The current answer through the gateway (2.0 and 1.0), a direct invocation, a tick
    and the CLI; every outcome checked; everything captured returned for the secrets scan."""
    app = world.apps[kind]
    logger.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []

    answer = app.http.handle(http_api_event(PROJECT, fresh_job()), request_id="req-v2")
    texts.append(answer["body"] + json.dumps(answer["headers"]))
    check_http(answer, expected, stale=False)

    answer = app.http.handle(rest_api_event(PROJECT, SEEDED), request_id="req-v1")
    texts.append(answer["body"] + json.dumps(answer["headers"]))
    check_http(answer, expected, stale=stale)

    direct = app.direct.handle({"project_id": PROJECT, "job_name": SEEDED}, request_id="req-direct")
    texts.append(json.dumps(direct, ensure_ascii=False))
    check_direct(direct, expected, stale=stale)

    jobs = [{"project_id": PROJECT, "job_name": name} for name in (fresh_job(), SEEDED)]
    report = schedule.run_tick(
        app.ticks, {"jobs": jobs, "tick_id": f"tick-{fresh_job()}"}, request_id="req-tick"
    )
    texts.append(json.dumps(report, ensure_ascii=False))
    check_tick(report, expected)

    out, err = capsys.readouterr()  # the JSON log lines so far
    texts += [out, err]
    env = environment(world.upstream, world.snapshots, world.credentials[kind])
    code, out, err = run_cli(fresh_job(), env, monkeypatch, capsys)
    texts += [out, err]
    assert code == EXIT_CODE[expected], err
    assert "Traceback" not in out + err
    if code:
        assert err.startswith("dlf-status: "), err
        assert err.count("\n") == 1, err
    records = [f"{record.getMessage()} {record.__dict__}" for record in caplog.records]
    caplog.clear()
    assert not any("unexpected error" in record for record in records), records[:3]
    return Captured(texts, records)


def stored_texts(snapshots: Path) -> list[str]:
    return [path.read_text(encoding="utf-8") for path in snapshots.rglob("*.json")]


def no_cookie_was_replayed(upstream: ScriptedUpstream) -> None:
    for request in upstream.requests:
        assert b"\r\ncookie:" not in request.lower(), request


# urllib3 refuses two unequal Content-Lengths while building its response, and the
# socket it had opened waits for Python's cycle collector, which closes it with a
# ResourceWarning (an error in this suite). Such cases collect before they end.
URLLIB3_LEAKS_A_SOCKET = {"two unequal Content-Lengths"}


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param(
            entry,
            id=entry.name,
            marks=[pytest.mark.filterwarnings("ignore::ResourceWarning")]
            if entry.name in URLLIB3_LEAKS_A_SOCKET
            else [],
        )
        for entry in CASES
    ],
)
def test_every_hostile_answer_has_a_documented_outcome(
    entry: Case,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    kinds = ["aksk", "token"] if entry.kind == "secrets" else ["aksk"]
    for kind in kinds:
        secrets = world.credentials[kind].secrets
        world.upstream.serve(entry.build(secrets))

        captured = through_every_entry(
            world,
            kind,
            entry.expected,
            stale=entry.stale,
            monkeypatch=monkeypatch,
            capsys=capsys,
            caplog=caplog,
        )

        assert_no_secret(captured.texts, secrets, "an answer, a log line or stderr")
        assert_no_secret(captured.records, secrets, "a log record")
        if entry.kind == "secrets":
            assert_no_secret(stored_texts(world.snapshots), secrets, "a stored object")
    no_cookie_was_replayed(world.upstream)
    if entry.name in URLLIB3_LEAKS_A_SOCKET:
        gc.collect()


def test_no_stored_object_holds_a_credential(world: World) -> None:
    for credentials in world.credentials.values():
        assert_no_secret(stored_texts(world.snapshots), credentials.secrets, "a stored object")


# -- generated answers -----------------------------------------------------------------------

GENERATED = settings(
    max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=False
)


@GENERATED
@given(
    members=st.lists(st.tuples(hostile_json.keys, hostile_json.hostile_json), max_size=3),
    nodes=st.lists(hostile_json.hostile_json, max_size=3).map(hostile_json._array),
)
def test_generated_hostile_status_bodies(
    members: list[tuple[hostile_json.Json, hostile_json.Json]],
    nodes: hostile_json.Json,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = hostile_json.status_answer([(hostile_json.Json(b'"nodes"'), nodes), *members])
    world.upstream.serve(RawAnswer(200, [JSON_TYPE], body.text))
    expected = DOCUMENT if body.accepted else FAILURE

    captured = through_every_entry(
        world,
        "aksk",
        expected,
        stale=expected != DOCUMENT,
        monkeypatch=monkeypatch,
        capsys=capsys,
        caplog=caplog,
    )

    assert_no_secret(captured.texts, AKSK.secrets, "an answer, a log line or stderr")


@GENERATED
@given(
    before=st.lists(st.tuples(hostile_json.keys, hostile_json.hostile_json), max_size=2),
    after=st.lists(st.tuples(hostile_json.keys, hostile_json.hostile_json), max_size=2),
)
def test_generated_hostile_error_bodies_keep_a_readable_code(
    before: list[tuple[hostile_json.Json, hostile_json.Json]],
    after: list[tuple[hostile_json.Json, hostile_json.Json]],
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A hostile key spelt error_code would be a second code: kept out (a repeated name
    # is the next test's).
    def plain(members: list[tuple[hostile_json.Json, hostile_json.Json]]) -> list[Any]:
        return [
            (key, value)
            for key, value in members
            if b"error" not in key.text.lower() and b"code" not in key.text.lower()
        ]

    body = hostile_json.error_answer(plain(before), plain(after))
    world.upstream.serve(RawAnswer(400, [JSON_TYPE], body.text))
    # A name repeated anywhere makes the code unreadable: an upstream failure, stale.
    expected = FAILURE if body.repeats else NOT_FOUND

    through_every_entry(
        world,
        "aksk",
        expected,
        stale=expected == FAILURE,
        monkeypatch=monkeypatch,
        capsys=capsys,
        caplog=caplog,
    )


@GENERATED
@given(
    repeated=hostile_json.repeated_names(),
    status=st.sampled_from([200, 400, 503]),
)
def test_a_name_repeated_at_any_depth_is_never_stored_nor_a_missing_job(
    repeated: hostile_json.Repeated,
    status: int,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A valid answer with one name given twice in any object: as a 200, or inside a
    DLF.0100 error answer (400) or a 503's. Never a document, never job-not-found:
    an upstream failure, served stale."""
    if status == 200:
        body = repeated.text
    else:
        body = b'{"error_code":"DLF.0100","error_msg":"gone","detail":' + repeated.text + b"}"
    world.upstream.serve(RawAnswer(status, [JSON_TYPE], body))

    through_every_entry(
        world,
        "aksk",
        FAILURE,
        stale=True,
        monkeypatch=monkeypatch,
        capsys=capsys,
        caplog=caplog,
    )


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # Content-Length: 5, 6 (see above)
@GENERATED
@given(
    header=st.sampled_from(
        ["Retry-After", "X-Request-Id", "Content-Length", "Content-Type", "Date"]
    ),
    value=hostile_json.header_values,
    status=st.sampled_from([200, 429, 500, 503]),
)
def test_generated_hostile_header_values(
    header: str,
    value: str,
    status: int,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = status_body() if status == 200 else b'{"error_code":"X","error_msg":"y"}'
    headers = [(header, value)] if header == "Content-Type" else [JSON_TYPE, (header, value)]
    world.upstream.serve(RawAnswer(status, headers, body))
    if status != 200:
        expected = FAILURE
    elif header in ("Content-Length", "Content-Type") or len(value) > 60_000:
        # A lying length cuts or stalls the body; a strange type may still carry JSON.
        expected = "either"
    else:
        expected = DOCUMENT

    app = world.apps["aksk"]
    logger.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    answer = app.http.handle(http_api_event(PROJECT, fresh_job()))
    if expected == "either":
        expected = DOCUMENT if answer["statusCode"] == 200 else FAILURE
    check_http(answer, expected, stale=False)
    direct = app.direct.handle({"project_id": PROJECT, "job_name": SEEDED})
    check_direct(direct, expected, stale=expected != DOCUMENT)
    env = environment(world.upstream, world.snapshots, AKSK)
    code, out, err = run_cli(fresh_job(), env, monkeypatch, capsys)
    assert code in (0, 4), err
    assert "Traceback" not in out + err
    gc.collect()


def test_the_benchmark_s_worst_bodies_fit_the_cap_and_have_documented_outcomes() -> None:
    """bench/worst_bodies.py feeds the worst-case memory row of `make bench`: each body
    must be what it claims, under the cap, and end in the document or a documented error."""
    from datetime import UTC, datetime

    from bench.worst_bodies import SIZE_CAP, WORST
    from dlf_status.bootstrap import build_validator
    from dlf_status.domain.interpret import interpret_response
    from dlf_status.domain.model import Headers, UpstreamResponse, ValidationMode
    from dlf_status.domain.normalize import Source
    from dlf_status.errors import JobNotFound, UpstreamBadResponse

    validator = build_validator()
    outcomes = {}
    for name, worst in WORST.items():
        body = worst.make()
        assert len(body) <= SIZE_CAP, name
        headers = Headers({"Content-Type": "application/json"})
        response = UpstreamResponse(worst.status, headers, body)
        try:
            interpret_response(
                response,
                source=Source(PROJECT, name),
                observed_at=datetime.now(UTC),
                validator=validator,
                mode=ValidationMode.LENIENT,
            )
            outcomes[name] = "document"
        except (UpstreamBadResponse, JobNotFound) as error:
            outcomes[name] = type(error).__name__

    assert outcomes == {
        **dict.fromkeys(WORST, "document"),
        "zeros-past-bound": "UpstreamBadResponse",
        "nodes-past-bound": "UpstreamBadResponse",
        "error-brackets": "JobNotFound",
    }


# Interim answers (1xx but 101) before the answer, each with headers of its own.
_interim_header = st.tuples(
    st.sampled_from(["Link", "X-Progress", "Retry-After", "Content-Length", "Date"]),
    st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=40),
)
_interim = st.tuples(
    st.sampled_from([100, 102, 103, 150, 199]), st.lists(_interim_header, max_size=4)
)


def _interim_bytes(status: int, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} Interim"] + [f"{name}: {value}" for name, value in headers]
    return "".join(line + "\r\n" for line in lines).encode("latin-1") + b"\r\n"


@GENERATED
@given(interim=st.lists(_interim, min_size=1, max_size=6))
def test_generated_interim_answers_before_the_answer_are_passed_over(
    interim: list[tuple[int, list[tuple[str, str]]]],
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    answer = RawAnswer(200, [JSON_TYPE], status_body(), "OK").to_bytes()
    world.upstream.serve(WireBytes(b"".join(_interim_bytes(*each) for each in interim) + answer))

    through_every_entry(
        world, "aksk", DOCUMENT, stale=False, monkeypatch=monkeypatch, capsys=capsys, caplog=caplog
    )


_ERROR_KEYS = [b'"error_code"', b'"error_msg"', b'"errorCode"', b'"errorMsg"']


@GENERATED
@given(
    spelt=st.lists(
        st.tuples(st.sampled_from(_ERROR_KEYS).map(hostile_json.Json), hostile_json.hostile_json),
        min_size=1,
        max_size=3,
    ),
    others=st.lists(
        st.tuples(hostile_json.keys, hostile_json.hostile_json).filter(
            lambda member: member[0].text != b'"name"'
        ),
        max_size=2,
    ),
    named=st.booleans(),
)
def test_generated_error_answers_in_a_200_are_never_a_snapshot(
    spelt: list[tuple[hostile_json.Json, hostile_json.Json]],
    others: list[tuple[hostile_json.Json, hostile_json.Json]],
    named: bool,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 200 holding an error spelling and no job name is an upstream failure, served
    stale; with the job's name it is a job (the code one more unknown field)."""
    members = [*others, *spelt]
    body = hostile_json.status_answer(members) if named else hostile_json.json_object(members)
    world.upstream.serve(RawAnswer(200, [JSON_TYPE], body.text, "OK"))
    expected = DOCUMENT if named and body.accepted else FAILURE

    through_every_entry(
        world,
        "aksk",
        expected,
        stale=expected != DOCUMENT,
        monkeypatch=monkeypatch,
        capsys=capsys,
        caplog=caplog,
    )


# -- a connection kept alive: what one answer leaves behind is never the next one's ----------


def _job_answer(status: bytes, job: str, *, extra: bytes = b"") -> bytes:
    body = json.dumps({"name": job, "status": "NORMAL", "nodes": []}).encode()
    head = b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body + extra


def _smuggled(job: str) -> bytes:
    """A whole answer for another job, left behind the one that was asked for."""
    return _job_answer(b"200 OK", "someone_else")


LEFT_BEHIND = {
    "a 204 whose body is an answer": lambda job: (
        b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n" + _smuggled(job)
    ),
    "a 304 whose body is an answer": lambda job: (
        b"HTTP/1.1 304 Not Modified\r\n\r\n" + _smuggled(job)
    ),
    "an answer followed by another": lambda job: _job_answer(b"200 OK", job, extra=_smuggled(job)),
    "an answer followed by garbage": lambda job: _job_answer(b"200 OK", job, extra=b"x" * 70_000),
}


@pytest.mark.parametrize("left_behind", list(LEFT_BEHIND), ids=list(LEFT_BEHIND))
def test_bytes_left_behind_an_answer_are_never_read_as_the_next_one(
    left_behind: str, tmp_path: Path
) -> None:
    """Keep-alive pool poisoning: an answer leaves bytes on its connection (a body where
    none may be, a second answer); every later job must still read its own answer."""
    script = [LEFT_BEHIND[left_behind], *[lambda job: _job_answer(b"200 OK", job)] * 3]
    with KeepAliveUpstream(script) as server:
        env = environment(server, tmp_path, AKSK)
        api = functions(env).http
        first = api.handle(http_api_event(PROJECT, "job_0"))
        names = []
        for index in range(1, 4):
            answer = api.handle(http_api_event(PROJECT, f"job_{index}"))
            assert answer["statusCode"] == 200, answer["body"]
            names.append(json.loads(answer["body"])["job"]["name"])

    assert names == ["job_1", "job_2", "job_3"]
    if "followed" in left_behind:
        assert json.loads(first["body"])["job"]["name"] == "job_0"
    else:  # a 204 or 304 is no job: a failure, and its body is never read as one
        assert first["statusCode"] == 502, first["body"]


# -- upstream text at a terminal ---------------------------------------------------------------

# What a terminal obeys or hides: escape sequences (colour, OSC title and clipboard, a C1
# CSI), carriage return, backspace, BEL, NUL, DEL, bidi overrides, zero-width and
# byte-order marks, line and paragraph separators.
_TERMINAL_PIECES = st.sampled_from(
    [
        "\x1b[31m",
        "\x1b[2J",
        "\x1b]0;owned\x07",
        "\x1b]52;c;b3duZWQ=\x07",
        "\x9b2J",
        "\r",
        "\b",
        "\x00",
        "\x7f",
        "\u202e",
        "\u2066",
        "\u200b",
        "\ufeff",
        "\u2028",
        "\n",
        "\t",
    ]
)
terminal_text = st.lists(_TERMINAL_PIECES | st.text(max_size=4), min_size=1, max_size=6).map(
    "".join
)


def run_main(
    argv: list[str],
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str, str]:
    with monkeypatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@settings(GENERATED, max_examples=15)
@given(text=terminal_text, other=terminal_text)
def test_upstream_text_never_drives_a_terminal(
    text: str,
    other: str,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Statuses, node names, unknown keys and their values from the upstream reach the
    CLI's JSON (`get`, every `--json`) and its tables and lines (`drift`, `fleet`,
    `history`, its transitions) through the store: every character a person's terminal
    gets is printable, or a line break; the JSON still reads back as the value."""
    env = environment(world.upstream, tmp_path_factory.mktemp("terminal"), AKSK)
    job = fresh_job()
    for status in ("NORMAL", text):  # two observations: a transition to the hostile status
        body: dict[str, Any] = {"name": job, "status": status, f"x{text}": other}
        body["nodes"] = [{"name": text, "status": other}, {"name": "n", "status": status}]
        world.upstream.serve(RawAnswer(200, [JSON_TYPE], json.dumps(body).encode(), "OK"))
        code, out, err = run_main(["get", PROJECT, job], env, monkeypatch, capsys)
        assert code == 0, err
    shown = [out, err]
    assert json.loads(out)["job"]["status_raw"] == text  # escaped, not lost
    for argv in (
        ["drift"],
        ["drift", "--json"],
        ["fleet", PROJECT],
        ["fleet", PROJECT, "--json"],
        ["history", PROJECT, job],
        ["history", PROJECT, job, "--json"],
        ["history", PROJECT, job, "--transitions"],
        ["history", PROJECT, job, "--transitions", "--json"],
    ):
        code, out, err = run_main(argv, env, monkeypatch, capsys)
        assert code == 0, (argv, err)
        shown += [out, err]

    for output in shown:
        unsafe = {char for char in output if char != "\n" and not char.isprintable()}
        assert not unsafe, (sorted(unsafe), output[:400])


# -- redirects: never followed, so no credential goes where one points -------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("with_body", [False, True], ids=["no body", "a job's body"])
def test_a_redirect_is_an_upstream_failure_and_its_location_gets_nothing(
    status: int, with_body: bool, world: World, tmp_path: Path
) -> None:
    with ScriptedUpstream() as elsewhere:
        target = f"{elsewhere.url}/v1/{PROJECT}/jobs/{SEEDED}/status"
        body = status_body() if with_body else b""
        world.upstream.serve(RawAnswer(status, [JSON_TYPE, ("Location", target)], body))
        for kind in ("aksk", "token"):
            env = environment(world.upstream, tmp_path, world.credentials[kind])
            answer = functions(env).http.handle(http_api_event(PROJECT, fresh_job()))

            check_http(answer, FAILURE, stale=False)
        assert elsewhere.requests == []  # no signature, token or security token went there


def test_upstream_keys_named_like_our_own_members_stay_in_extra() -> None:
    """`schema_version`, `kind`, `stale`, `extra`, `$`... sent by the upstream are its
    unknown fields: kept in `extra`, never taken for the document's own members."""
    from datetime import UTC, datetime

    from dlf_status.bootstrap import build_validator
    from dlf_status.domain.interpret import interpret_response
    from dlf_status.domain.model import Headers, UpstreamResponse, ValidationMode
    from dlf_status.domain.normalize import Source
    from tests.hostile.upstream_corpus import CASES

    [entry] = [case for case in CASES if case.name == "status keys named like our own members"]
    answer = entry.build([])
    assert isinstance(answer, RawAnswer)
    document: Any = interpret_response(
        UpstreamResponse(200, Headers({"Content-Type": "application/json"}), answer.body),
        source=Source(PROJECT, "job"),
        observed_at=datetime.now(UTC),
        validator=build_validator(),
        mode=ValidationMode.LENIENT,
    )

    assert document["schema_version"] == SCHEMA_VERSION
    assert "stale" not in document
    assert document["job"]["name"] == "job"
    assert document["extra"] == {
        "schema_version": "9.9",
        "kind": "x",
        "stale": True,
        "extra": {"a": 1},
        "$": 1,
        "validation": {"valid": True},
        "job": {"name": "other"},
    }
    assert document["nodes"][0]["extra"] == {"extra": {"b": 2}, "$": 3}
