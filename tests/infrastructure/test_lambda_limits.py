"""Each built function under Lambda's real limits: the `sam build` artifact run by the real
awslambdaric, in a cgroup with the memory of the function's MemorySize in template.yaml
(the kernel OOM-kills past it) and the share of a core Lambda gives that memory.

What is asserted is the outcome and that the kernel killed nothing, never a time: how
long the work takes at that share of a core is `make bench`'s (bench/limits_child.py).
"""

from __future__ import annotations

import gzip
import json
import re
import socket
import subprocess
import sys
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from pytest_httpserver import HTTPServer

import bench.worst_bodies
import bench.worst_server
from bench.worst_bodies import SIZE_CAP, WORST
from dlf_status import errors
from dlf_status.adapters.answer_budget import LARGE_ANSWER_BYTES
from dlf_status.entrypoints.problems import mapping_for_class
from tests.infrastructure.conftest import FUNCTIONS, artifact_environment
from tests.integration.conftest import PROJECT, exchange_response
from tests.support.cgroup import (
    NAME_PREFIX,
    Cgroup,
    CgroupUnavailable,
    lambda_limits,
    limited,
    process_peak_rss,
)
from tests.support.events import http_api_event, queue_event, scheduled_event
from tests.support.loopback import LoopbackListener, in_a_thread
from tests.support.runtime_api import RuntimeApi
from tests.support.seaweed import SeaweedServer

pytestmark = pytest.mark.integration

# A cold start at a seventh of a core on a busy machine, then the work: far more than
# any answer takes, so a function that is slow is not mistaken for one that died.
PATIENCE_SECONDS = 240


def memory_size(template: dict[str, Any], function: str) -> int:
    size: int = template["Resources"][function]["Properties"]["MemorySize"]
    return size


def deployed_variables(template: dict[str, Any], function: str) -> dict[str, str]:
    """The function's environment as deployed, where it does not depend on the stack:
    the literal values (MALLOC_MMAP_THRESHOLD_, DLF_DEADLINE) and the parameters'
    defaults (POLL_CONCURRENCY); a value naming another resource is left out."""
    defaults = {name: spec.get("Default") for name, spec in template["Parameters"].items()}
    variables = {
        **template["Globals"]["Function"]["Environment"]["Variables"],
        **template["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {}),
    }
    found = {}
    for name, value in variables.items():
        if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in defaults:
            value = defaults[value["Ref"]]
        if isinstance(value, str | int) and str(value):
            found[name] = str(value)
    return found


class LimitedFunction(NamedTuple):
    api: RuntimeApi
    prefix: str
    cgroup: Cgroup
    process: subprocess.Popen[bytes]

    def invoke(self, event: Any) -> Any:
        try:
            invocation = self.api.invoke(
                event, timeout=PATIENCE_SECONDS, running=lambda: self.process.poll() is None
            )
        except RuntimeError as error:
            raise AssertionError(f"{error}: exit {self.process.poll()}, {self.memory()}") from error
        assert invocation.error is None, invocation.error
        return invocation.response

    def memory(self) -> str:
        """The kernel's figures and the process's own peak, for a failure's message."""
        peak = process_peak_rss(self.process.pid)
        return f"{self.cgroup.outcome()}, process peak RSS {peak / 2**20:.1f} MiB"

    def assert_within_its_memory(self) -> None:
        """Alive, never OOM-killed, its own peak RSS below the limit. The cgroup's
        peak counts page cache too (the kernel reclaims it before it kills), so it may
        reach the limit with nothing in danger: a kill is the failure."""
        outcome = self.cgroup.outcome()
        peak = process_peak_rss(self.process.pid)
        assert self.process.poll() is None, f"the function's process ended: {self.memory()}"
        assert not outcome.oom_killed, self.memory()
        assert 0 < peak < self.cgroup.limits.memory_bytes, self.memory()


@pytest.fixture
def start_limited(
    build_dir: Path, template: dict[str, Any], seaweed: SeaweedServer
) -> Iterator[Callable[[str, str], LimitedFunction]]:
    """Starts a built function under awslambdaric in a cgroup with its Lambda limits."""
    with ExitStack() as stack:

        def start(function: str, upstream: str) -> LimitedFunction:
            memory_mb = memory_size(template, function)
            try:
                cgroup = stack.enter_context(limited(lambda_limits(memory_mb)))
            except CgroupUnavailable as error:
                pytest.fail(str(error))
            properties = template["Resources"][function]["Properties"]
            api = RuntimeApi(deadline_seconds=properties["Timeout"]).start()
            stack.callback(api.stop)
            prefix = f"limits-{uuid.uuid4().hex[:8]}"
            artifact = build_dir / function
            environment = {
                **deployed_variables(template, function),
                **artifact_environment(
                    function,
                    artifact,
                    api,
                    seaweed=seaweed,
                    upstream=upstream,
                    prefix=prefix,
                    memory_mb=memory_mb,
                ),
                "LOG_LEVEL": "WARNING",
            }
            process = cgroup.popen(
                [sys.executable, "-S", "-m", "awslambdaric", FUNCTIONS[function]],
                cwd=artifact,
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            stack.callback(process.wait, 10)
            stack.callback(process.kill)
            return LimitedFunction(api, prefix, cgroup, process)

        yield start


def test_the_cgroup_kills_a_process_that_allocates_past_its_memory() -> None:
    """The harness bites: past the limit the kernel kills, and the outcome says so."""
    try:
        with limited(lambda_limits(256)) as cgroup:
            process = cgroup.popen([sys.executable, "-c", "held = bytearray(400 * 2**20)"])
            returncode = process.wait(timeout=PATIENCE_SECONDS)
            outcome = cgroup.outcome()
    except CgroupUnavailable as error:
        pytest.fail(str(error))

    assert returncode == -9
    assert outcome.oom_killed, outcome
    assert outcome.peak_bytes <= 256 * 2**20


def test_a_cgroup_left_by_a_test_process_that_died_is_swept_with_its_processes() -> None:
    """A test killed before its `finally` leaves its cgroup and the function in it; the
    next harness removes both (the maker's pid, in the name, is no longer alive)."""
    dead_maker = subprocess.Popen(["true"])
    dead_maker.wait()
    orphan_name = f"{NAME_PREFIX}{dead_maker.pid}-orphan"
    try:
        with limited(lambda_limits(256)) as cgroup:
            orphans = [parent / orphan_name for parent in cgroup.parents]
    except CgroupUnavailable as error:
        pytest.fail(str(error))
    for orphan in orphans:
        orphan.mkdir()
    left = subprocess.Popen(["sleep", "600"])
    for orphan in orphans:
        (orphan / "cgroup.procs").write_text(str(left.pid))

    with limited(lambda_limits(256)):
        assert [orphan.exists() for orphan in orphans] == [False, False]
    assert left.wait(timeout=PATIENCE_SECONDS) == -9


def test_lambda_gives_a_256_mb_function_a_seventh_of_a_core() -> None:
    limits = lambda_limits(256)

    assert limits.memory_bytes == 268_435_456
    assert 0.144 < limits.cores < 0.146


# -- the HTTP API function (and the direct one) on the costliest answers ---------------------


@pytest.fixture(scope="module")
def worst_upstream() -> Iterator[str]:
    """bench/worst_server.py: each job name answered with that body of bench/worst_bodies.py."""
    with bench.worst_server.running() as port:
        yield f"http://127.0.0.1:{port}"


# What each worst body ends in (tests/hostile checks the same on the domain alone).
WORST_OUTCOME: dict[str, type[errors.DlfStatusError] | None] = {
    **dict.fromkeys(WORST),
    "zeros-past-bound": errors.UpstreamBadResponse,
    "nodes-past-bound": errors.UpstreamBadResponse,
    "error-brackets": errors.JobNotFound,
}


def test_the_http_function_answers_each_costliest_answer_within_its_memory(
    start_limited: Callable[[str, str], LimitedFunction], worst_upstream: str
) -> None:
    """One container, every body one after another (as a warm container may get them):
    each ends in its document or its precise problem, and the kernel kills nothing."""
    function = start_limited("StatusApiFunction", worst_upstream)

    for name, expected in WORST_OUTCOME.items():
        answer = function.invoke(http_api_event(PROJECT, name))
        body = json.loads(answer["body"])
        if expected is None:
            assert answer["statusCode"] == 200, (name, answer["body"][:300])
            assert body["source"]["job_name"] == name
        else:
            mapping = mapping_for_class(expected)
            assert (answer["statusCode"], body["type"]) == (
                mapping.http_status,
                mapping.problem_type,
            )
    function.assert_within_its_memory()


def test_the_direct_function_answers_each_costliest_answer_within_its_memory(
    start_limited: Callable[[str, str], LimitedFunction], worst_upstream: str
) -> None:
    """The direct function has half the HTTP one's memory, and the same upstream."""
    function = start_limited("DlfStatusFunction", worst_upstream)

    for name, expected in WORST_OUTCOME.items():
        answer = function.invoke({"project_id": PROJECT, "job_name": name})
        if expected is None:
            assert answer["source"]["job_name"] == name, (name, str(answer)[:300])
        else:
            assert answer["type"] == mapping_for_class(expected).problem_type, name
    function.assert_within_its_memory()


# -- huge but valid: an answer past the cap, plain or as a small gzip -----------------------

_VALID_NODE = b'{"name":"n","status":"NORMAL","type":"x","logPath":"' + b"p" * 400 + b'"}'


def _valid_job(nodes: int) -> Iterator[bytes]:
    """A valid status answer of `nodes` nodes, in pieces (never whole in memory)."""
    yield b'{"name":"huge","status":"NORMAL","nodes":['
    piece = b",".join([_VALID_NODE] * 1000)
    for index in range(nodes // 1000):
        yield (b"," if index else b"") + piece
    yield b"]}"


def _answer(body: bytes, *, encoding: str = "") -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (
        head.encode()
        + (f"Content-Encoding: {encoding}\r\n" if encoding else "").encode()
        + b"\r\n"
        + body
    )


def huge_plain() -> bytes:
    """Four times the cap of valid JSON, with its length announced."""
    return _answer(b"".join(_valid_job(4 * SIZE_CAP // len(_VALID_NODE))))


def huge_gzip() -> bytes:
    """Thirty-two times the cap of valid JSON in a few hundred kilobytes of gzip."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    pieces = [compressor.compress(piece) for piece in _valid_job(32 * SIZE_CAP // len(_VALID_NODE))]
    return _answer(b"".join(pieces) + compressor.flush(), encoding="gzip")


class ByJobName(LoopbackListener):
    """Answers each status request with the answer its job name selects."""

    def __init__(self, answers: dict[str, bytes]) -> None:
        super().__init__()
        self.answers = answers

    def _take(self, connection: socket.socket) -> None:
        in_a_thread(self._serve, connection)

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = connection.recv(4096)
                if not chunk:
                    return
                request += chunk
            name = request.split(b" ", 2)[1].decode().split("/")[4]
            with suppress(OSError):  # the client stopped reading at the cap
                connection.sendall(self.answers[name])


def test_the_http_function_refuses_huge_valid_answers_within_its_memory(
    start_limited: Callable[[str, str], LimitedFunction],
) -> None:
    answers = {"huge-plain": huge_plain(), "huge-gzip": huge_gzip()}
    assert (
        len(gzip.decompress(answers["huge-gzip"].partition(b"\r\n\r\n")[2])) > 32 * SIZE_CAP - 2000
    )
    refused = mapping_for_class(errors.UpstreamBadResponse)

    with ByJobName(answers) as upstream:
        function = start_limited("StatusApiFunction", upstream.url)
        for name in answers:
            answer = function.invoke(http_api_event(PROJECT, name))
            body = json.loads(answer["body"])
            assert (answer["statusCode"], body["type"]) == (
                refused.http_status,
                refused.problem_type,
            )
        function.assert_within_its_memory()


# -- the 256 MB functions on a tick of many jobs and a queue batch ---------------------------

TICK_JOBS = 300


def test_the_tick_function_polls_hundreds_of_jobs_within_its_memory(
    start_limited: Callable[[str, str], LimitedFunction],
    httpserver: HTTPServer,
    seaweed: SeaweedServer,
) -> None:
    httpserver.expect_request(re.compile(r"/v1/[^/]+/jobs/[^/]+/status")).respond_with_response(
        exchange_response("doc-2019-seven-nodes")
    )
    function = start_limited("TickFunction", httpserver.url_for("").rstrip("/"))
    jobs = [{"project_id": PROJECT, "job_name": f"job-{index:04d}"} for index in range(TICK_JOBS)]
    seaweed.client().put_object(
        Bucket=seaweed.bucket,
        Key=f"{function.prefix}/config/jobs.json",
        Body=json.dumps({"jobs": jobs}),
    )

    report = function.invoke(scheduled_event(id="evt-limits", time="2026-11-25T11:00:00Z"))

    assert (report["jobs"], report["ok"], report["failed"]) == (TICK_JOBS, TICK_JOBS, 0)
    function.assert_within_its_memory()


def test_the_queue_function_answers_a_batch_of_five_within_its_memory(
    start_limited: Callable[[str, str], LimitedFunction], worst_upstream: str
) -> None:
    """Five fanned-out jobs, each one of the costliest answers under the cap."""
    function = start_limited("QueueFunction", worst_upstream)
    names = [
        "nodes-all-wrong",
        "long-key-capitals-gzip",
        "astral-string",
        "unknown-fields",
        "deep-and-wide",
    ]
    bodies = [
        json.dumps(
            {"project_id": PROJECT, "job_name": name, "scheduled_time": "2026-11-25T11:30:00Z"}
        )
        for name in names
    ]

    answer = function.invoke(queue_event(bodies))

    assert answer == {"batchItemFailures": []}
    function.assert_within_its_memory()


def test_the_tick_function_polls_the_costliest_answers_at_once_within_its_memory(
    start_limited: Callable[[str, str], LimitedFunction],
    worst_upstream: str,
    seaweed: SeaweedServer,
    template: dict[str, Any],
) -> None:
    """A tick whose every job answers one of the costliest bodies, polled by the
    template's POLL_CONCURRENCY threads at once: each large answer waits for the
    process's permit (adapters/answer_budget.py), so every job ends in its document,
    its precise failure, or `LargeAnswersBusy` (retried at the next tick), and the
    kernel kills nothing."""
    concurrency = int(deployed_variables(template, "TickFunction")["POLL_CONCURRENCY"])
    assert concurrency > 1
    function = start_limited("TickFunction", worst_upstream)
    seaweed.client().put_object(
        Bucket=seaweed.bucket,
        Key=f"{function.prefix}/config/jobs.json",
        Body=json.dumps({"jobs": [{"project_id": PROJECT, "job_name": name} for name in WORST]}),
    )

    report = function.invoke(scheduled_event(id="evt-worst", time="2026-11-25T11:05:00Z"))

    function.assert_within_its_memory()
    outcomes = {outcome["job_name"]: outcome for outcome in report["outcomes"]}
    assert sorted(outcomes) == sorted(WORST)
    busy = errors.LargeAnswersBusy.__name__
    for name, expected in WORST_OUTCOME.items():
        outcome = outcomes[name]
        if outcome.get("error") == busy:
            assert outcome["retryable"] is True, outcome
        elif expected is None:
            assert outcome["result"] == "ok", outcome
        else:
            assert (outcome["result"], outcome["error"]) == ("failed", expected.__name__), outcome
    # Some large answer was processed: the permit is given, not only refused.
    assert any(outcome["result"] == "ok" for outcome in outcomes.values()), outcomes


def _scaled_to(limit: int, make: Callable[[], bytes], monkeypatch: pytest.MonkeyPatch) -> bytes:
    """The shape `make` builds, its size cap and node and value bounds scaled down
    together until it is at most `limit` bytes: the costliest answer of that shape
    that needs no large-answer permit."""
    low, high, best = 0.0, 1.0, b""
    for _ in range(24):
        scale = (low + high) / 2
        with monkeypatch.context() as patched:
            for bound in ("SIZE_CAP", "MAX_NODES", "MAX_VALUES"):
                full = getattr(bench.worst_bodies, bound)
                patched.setattr(bench.worst_bodies, bound, max(1, int(full * scale)))
            body = make()
        if len(body) <= limit:
            low, best = scale, body
        else:
            high = scale
    return best


def test_the_tick_function_polls_the_costliest_shapes_under_the_permit_size_at_once(
    start_limited: Callable[[str, str], LimitedFunction],
    seaweed: SeaweedServer,
    template: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Answers under the large-answer size are processed without a permit, as many at
    once as the tick has threads: the costliest shapes, each scaled to just under that
    size, polled all at once, fit the 256 MB function too."""
    concurrency = int(deployed_variables(template, "TickFunction")["POLL_CONCURRENCY"])
    answers = {}
    for name, worst in WORST.items():
        body = _scaled_to(LARGE_ANSWER_BYTES, worst.make, monkeypatch)
        if len(body) < LARGE_ANSWER_BYTES // 2:
            continue  # a shape whose size no bound sets (100,000 empty nodes)
        encoding = "gzip" if worst.gzip else ""
        sent = gzip.compress(body) if worst.gzip else body
        answers[name] = _answer(sent, encoding=encoding).replace(
            b"200 OK", f"{worst.status} Whatever".encode(), 1
        )
    assert len(answers) >= concurrency
    with ByJobName(answers) as upstream:
        function = start_limited("TickFunction", upstream.url)
        seaweed.client().put_object(
            Bucket=seaweed.bucket,
            Key=f"{function.prefix}/config/jobs.json",
            Body=json.dumps({"jobs": [{"project_id": PROJECT, "job_name": n} for n in answers]}),
        )

        report = function.invoke(scheduled_event(id="evt-small", time="2026-11-25T11:10:00Z"))

        function.assert_within_its_memory()
    assert len(report["outcomes"]) == len(answers)
    for outcome in report["outcomes"]:
        expected = WORST_OUTCOME[outcome["job_name"]]
        if outcome["result"] != "ok":
            assert expected is not None, outcome
            assert (outcome["result"], outcome["error"]) == ("failed", expected.__name__), outcome
