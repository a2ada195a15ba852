"""`make bench`: every figure a ratio against a baseline measured in the same run.

    python -m bench.run [--quick] [--output bench/results/latest.json]

1. cold init: fresh processes importing the handler and making it ready, against
   processes that import requests and boto3 and create an S3 client;
2. warm cost per response (validate + normalise + serialise, no network) for 1, 50
   and 1,000 nodes, against orjson parsing plus jsonschema-rs validation of the same
   body, and against openapi-core's validation;
3. ticks: 1,000 jobs against a local upstream answering after 20 ms, the snapshots in
   SeaweedFS: the first tick of a new process on an empty prefix and the steady tick
   after it, each as jobs/s, CPU ms per job and S3 calls per job, against requests
   alone (same threads, same upstream; its jobs/s and CPU ms per GET); rounds of
   fresh processes interleaved, figures measured inside them (bench/tick_child.py),
   medians reported; and the polling process's peak memory;
4. memory: peak RSS of a handler process that served a 1,000-node body, against the
   baseline process of (1);
5. worst-case memory: peak RSS of one handler process that served every body of
   bench/worst_bodies.py (the costliest answers known under the 8 MiB size cap),
   against the 256 MB the deployed function has;
6. Lambda's limits: in a cgroup with the function's memory (template.yaml) and the
   share of a core Lambda gives it, the HTTP function's wall time, cold start included,
   for the slowest of the costliest answers, against API Gateway's 30 s and the
   function's timeout; and a tick's jobs/s at 256 MB's 0.145 of a core.

No figure here is asserted by a test: the tests check behaviour, this reports.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bench import worst_server
from dlf_status.adapters.allocator import THRESHOLD_BYTES, THRESHOLD_VARIABLE

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
TARGETS = {
    "cold init": "<= 1.15x baseline",
    "warm 50 nodes": "<= 5x floor",
    "warm 1000 nodes": "<= 5x floor",
    "vs openapi-core": ">= 20x faster",
    "memory": "<= 100 MB",
    "worst-case memory": "<= 0.75 x 256 MB",
}
FUNCTION_MEMORY_MB = 256  # template.yaml: MemorySize
SECTIONS = ("warm", "ticks", "memory", "limits")


@dataclass
class Row:
    name: str
    ours: float
    baseline: float | None  # None: a figure with no baseline (it is reported)
    unit: str
    ratio: float | None
    target: str
    met: bool | None
    note: str = ""
    samples: tuple[float, ...] = ()  # every round, where a figure is a median of rounds


def _python(*args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(  # noqa: S603 - this interpreter, our own modules
        [sys.executable, *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )
    return result.stdout.strip().splitlines()[-1]


def _seaweed_settings(seaweed: Any) -> dict[str, str]:
    """The S3 client's endpoint and keys for the bench's SeaweedFS (`_servers`)."""
    return {
        "AWS_ENDPOINT_URL_S3": seaweed.endpoint,
        "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
    }


def _handler_environment(**extra: str) -> dict[str, str]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("DLF_", "AWS_"))
    }
    environment.update(
        {
            # The code of this tree first, whatever the virtualenv installed: a copy of
            # the tree with a changed handler/ measures that change.
            "PYTHONPATH": os.pathsep.join((str(ROOT / "handler"), str(ROOT))),
            "DLF_ENDPOINT": "http://127.0.0.1:9",
            "DLF_AUTH_TOKEN": "bench-token",
            "SNAPSHOT_URI": "s3://snapshots/bench",
            "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "LOG_LEVEL": "WARNING",
            # As template.yaml sets it for every function (tests/infrastructure checks).
            THRESHOLD_VARIABLE: str(THRESHOLD_BYTES),
            **extra,
        }
    )
    return environment


# -- 1. cold init ------------------------------------------------------------------------


def cold_init(runs: int) -> tuple[Row, dict[str, float]]:
    environment = _handler_environment()
    samples: dict[str, list[float]] = {"baseline": [], "handler": []}
    peaks: dict[str, list[float]] = {"baseline": [], "handler": []}
    # One warm-up each: bytecode caches written (even where PYTHONDONTWRITEBYTECODE is
    # set, as on our CI machines: else our modules, unlike the baseline's installed
    # ones, are compiled from source in every run), disk cache warm.
    writing = {key: value for key, value in environment.items() if key != "PYTHONDONTWRITEBYTECODE"}
    for mode in samples:
        _python("-m", "bench.cold_init_child", mode, env=writing)
    for _ in range(runs):
        for mode in samples:  # interleaved, so drift hits both alike
            elapsed, peak = _python("-m", "bench.cold_init_child", mode, env=environment).split()
            samples[mode].append(float(elapsed))
            peaks[mode].append(float(peak))
    ours, base = statistics.median(samples["handler"]), statistics.median(samples["baseline"])
    ratio = ours / base
    row = Row(
        "cold init",
        round(ours, 1),
        round(base, 1),
        "ms (median)",
        round(ratio, 2),
        TARGETS["cold init"],
        ratio <= 1.15,
        f"median of {runs} fresh processes each; baseline: requests + boto3 + S3 client",
    )
    return row, {mode: statistics.median(values) for mode, values in peaks.items()}


# -- 2. warm cost per response -------------------------------------------------------------


def _best_seconds(*functions: Callable[[], object], repeat: int = 9) -> list[float]:
    """Seconds per call of each function: the best of `repeat` rounds, the rounds
    interleaved so a noisy moment hits every function alike. The best, not the mean,
    as timeit advises: the slower rounds measure the neighbours, not the code."""
    timers = [timeit.Timer(function) for function in functions]
    numbers = [timer.autorange()[0] for timer in timers]
    best = [float("inf")] * len(timers)
    for _ in range(repeat):
        for index, (timer, number) in enumerate(zip(timers, numbers, strict=True)):
            best[index] = min(best[index], timer.timeit(number) / number)
    return best


def warm_cost() -> list[Row]:
    import jsonschema_rs
    import orjson

    from bench.upstream_server import status_body
    from dlf_status.adapters.compiled_validator import CompiledValidator
    from dlf_status.adapters.openapi_core_validator import OpenAPICoreValidator
    from dlf_status.domain import jsoncodec
    from dlf_status.domain.contract import packaged_contract
    from dlf_status.domain.interpret import interpret_response
    from dlf_status.domain.model import Headers, UpstreamResponse, ValidationMode
    from dlf_status.domain.normalize import Source
    from dlf_status.domain.redaction import Redactor

    contract = packaged_contract()
    # Credentials of real lengths: the answer is searched for them, as in production.
    redactor = Redactor(["BENCHACCESSKEY012345", "bench-secret-key-" + "0" * 23])
    compiled = CompiledValidator(contract)
    reference = OpenAPICoreValidator(contract)
    floor_validator = jsonschema_rs.Draft202012Validator(
        {
            "allOf": [{"$ref": "#/components/schemas/RealTimeJobStatus"}],
            "components": contract.spec["components"],
        }
    )
    source = Source(PROJECT, "bench_job", None, "https://dayu-dlf.cn-north-4.myhuaweicloud.com")
    observed_at = datetime.now(UTC)
    rows = []
    for nodes in (1, 50, 1000):
        raw = status_body(nodes)
        response = UpstreamResponse(
            200, Headers({"Content-Type": "application/json;charset=UTF-8"}), raw
        )

        def floor(raw: bytes = raw) -> bool:
            return bool(floor_validator.is_valid(orjson.loads(raw)))

        def ours(response: UpstreamResponse = response) -> bytes:
            document = interpret_response(
                response,
                source=source,
                observed_at=observed_at,
                validator=compiled,
                mode=ValidationMode.LENIENT,
                redactor=redactor,
            )
            return jsoncodec.canonical_bytes(document)

        def openapi_core(response: UpstreamResponse = response, raw: bytes = raw) -> object:
            return reference.validate(response, orjson.loads(raw))

        floor_s, ours_s = _best_seconds(floor, ours)
        (reference_s,) = _best_seconds(openapi_core, repeat=3)
        ratio = ours_s / floor_s
        target = None if nodes == 1 else ratio <= 5
        rows.append(
            Row(
                f"warm {nodes} node{'s' if nodes > 1 else ''}",
                round(ours_s * 1000, 4),
                round(floor_s * 1000, 4),
                "ms per response (best)",
                round(ratio, 2),
                TARGETS.get(f"warm {nodes} nodes", "(reported)"),
                target,
                "floor: orjson.loads + jsonschema-rs is_valid",
            )
        )
        speedup = reference_s / ours_s
        rows.append(
            Row(
                f"vs openapi-core, {nodes} node{'s' if nodes > 1 else ''}",
                round(ours_s * 1000, 4),
                round(reference_s * 1000, 4),
                "ms per response (best)",
                round(speedup, 1),
                TARGETS["vs openapi-core"],
                speedup >= 20,
                "ratio: openapi-core validation alone / our whole path",
            )
        )
    return rows


# -- 3. tick throughput ----------------------------------------------------------------------


@contextmanager
def _servers(nodes: int, delay_ms: int = 20) -> Iterator[tuple[Any, int]]:
    from tests.support.seaweed import ACCESS_KEY, SECRET_KEY, SeaweedServer, free_ports

    with tempfile.TemporaryDirectory(prefix="dlf-bench-") as directory:
        seaweed = SeaweedServer(Path(directory) / "seaweed").start()
        (port,) = free_ports(1)
        upstream = subprocess.Popen(  # noqa: S603 - our own benchmark server
            [sys.executable, "-m", "bench.upstream_server", str(port), str(delay_ms), str(nodes)],
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
        assert upstream.stdout is not None
        upstream.stdout.readline()
        saved = {key: os.environ.get(key) for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        os.environ.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
        try:
            yield seaweed, port
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            upstream.terminate()
            upstream.wait(timeout=10)
            seaweed.stop()


TICK_THREADS = 16  # POLL_CONCURRENCY's default
# Each round runs one process of each mode; the rounds alternate their order.
TICK_MODES = ("requests", "ours", "client")


def _tick_child(
    mode: str,
    jobs: int,
    environment: dict[str, str],
    wrap: Callable[[list[str]], list[str]] = list,
) -> dict[str, Any]:
    """One bench/tick_child.py process; its stdout (the handler's logs) to /dev/null.
    `wrap`: how the command is run (in a cgroup, for the Lambda limits section)."""
    with tempfile.TemporaryDirectory(prefix="dlf-bench-tick-") as directory:
        result = Path(directory) / "result.json"
        completed = subprocess.run(  # noqa: S603 - this interpreter, our own module
            wrap([sys.executable, "-m", "bench.tick_child", mode, str(jobs), str(result)]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            cwd=ROOT,
            env=environment,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"tick child {mode} failed:\n{completed.stderr[-3000:]}")
        loaded: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
        return loaded


class _TickFigures:
    """Per round: jobs/s and CPU ms per job of one tick (or one pass of GETs)."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self.rates: list[float] = []
        self.cpu_ms: list[float] = []
        self.calls: list[dict[str, int]] = []

    def add(self, measured: dict[str, Any]) -> None:
        self.rates.append(self.jobs / measured["seconds"])
        self.cpu_ms.append(measured["cpu_seconds"] * 1000 / self.jobs)
        self.calls.append(measured.get("store_calls", {}))

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpu_ms)

    def calls_per_job(self) -> dict[str, float]:
        """Each operation's median over the rounds, per job."""
        operations = sorted({name for calls in self.calls for name in calls})
        return {
            name: statistics.median(calls.get(name, 0) for calls in self.calls) / self.jobs
            for name in operations
        }


def _tick_environment(seaweed: Any, port: int) -> dict[str, str]:
    environment = _handler_environment(
        DLF_ENDPOINT=f"http://127.0.0.1:{port}",
        DLF_AK="BENCHACCESSKEY",
        DLF_SK="bench-sk-not-a-secret",
        **_seaweed_settings(seaweed),
        POLL_CONCURRENCY=str(TICK_THREADS),
        LOG_LEVEL="INFO",
    )
    environment.pop("DLF_AUTH_TOKEN")
    return environment


def tick_throughput(jobs: int, rounds: int, baseline_peak: float) -> list[Row]:
    """Both ticks of the handler against the HTTP client alone, in child processes
    measured from inside (start-up excluded), rounds interleaved."""
    figures = {name: _TickFigures(jobs) for name in ("requests", "client", "first", "steady")}
    peaks: list[float] = []
    with _servers(nodes=10) as (seaweed, port):
        environment = _tick_environment(seaweed, port)
        for round_ in range(rounds):
            for mode in TICK_MODES if round_ % 2 == 0 else TICK_MODES[::-1]:
                prefix = f"s3://{seaweed.bucket}/bench-{uuid.uuid4().hex[:8]}"  # empty
                result = _tick_child(mode, jobs, {**environment, "SNAPSHOT_URI": prefix})
                if mode == "ours":
                    figures["first"].add(result["first"])
                    figures["steady"].add(result["steady"])
                    peaks.append(result["peak_rss_mib"])
                else:  # the second pass, on warm connections
                    figures[mode].add(result["warm"])
    base = figures["requests"]
    setting = f"{jobs} jobs, {TICK_THREADS} threads, 20 ms upstream, SeaweedFS"
    rounds_note = f"medians of {rounds} interleaved rounds"
    rows = []
    for label, speed, cpu, note in (
        ("steady", 0.6, 2.0, "a warm process's next tick, the same content"),
        ("first", 0.4, 4.0, "a new process on an empty prefix: every job new"),
    ):
        tick = figures[label]
        speed_ratio, cpu_ratio = tick.rate / base.rate, tick.cpu / base.cpu
        calls = tick.calls_per_job()
        rows += [
            Row(
                f"tick {label}: jobs/s",
                round(tick.rate),
                round(base.rate),
                "jobs/s (median)",
                round(speed_ratio, 2),
                f">= {speed}x baseline",
                speed_ratio >= speed,
                f"{setting}; {note}; baseline: requests alone, same threads and "
                f"upstream; {rounds_note}",
                tuple(round(rate) for rate in tick.rates),
            ),
            Row(
                f"tick {label}: CPU per job",
                round(tick.cpu, 3),
                round(base.cpu, 3),
                "ms user+sys (median)",
                round(cpu_ratio, 2),
                f"<= {cpu:g}x baseline",
                cpu_ratio <= cpu,
                "the polling process's user + sys over the tick / jobs; baseline: "
                f"requests' CPU per GET; {rounds_note}",
                tuple(round(value, 3) for value in tick.cpu_ms),
            ),
            Row(
                f"tick {label}: store calls per job",
                round(sum(calls.values()), 3),
                None,
                "calls/job: " + ", ".join(f"{name} {value:.3g}" for name, value in calls.items()),
                None,
                "(reported)",
                None,
                "HTTP requests to the store (retries included), counted in urllib3 "
                f"by method and condition; medians of {rounds} rounds",
            ),
        ]
    client = figures["client"]
    rows += [
        Row(
            "upstream client alone: jobs/s",
            round(client.rate),
            round(base.rate),
            "jobs/s (median)",
            round(client.rate / base.rate, 2),
            "(reported)",
            None,
            f"our HttpUpstreamClient (signing, deadline, capped reads), {setting} "
            f"without the store; {rounds_note}",
            tuple(round(rate) for rate in client.rates),
        ),
        Row(
            "upstream client alone: CPU per GET",
            round(client.cpu, 3),
            round(base.cpu, 3),
            "ms user+sys (median)",
            round(client.cpu / base.cpu, 2),
            "(reported)",
            None,
            f"the part of a job's CPU spent on the upstream call; {rounds_note}",
            tuple(round(value, 3) for value in client.cpu_ms),
        ),
        Row(
            f"tick memory: {jobs} jobs",
            round(max(peaks), 1),
            round(baseline_peak, 1),
            "MiB peak RSS (max)",
            round(max(peaks) / baseline_peak, 2),
            TARGETS["memory"],
            max(peaks) <= 100,
            "VmHWM of the polling process after its first and steady ticks; the most "
            "of any round; baseline: requests + boto3 + S3 client",
            tuple(round(peak, 1) for peak in peaks),
        ),
    ]
    return rows


# -- 4. memory --------------------------------------------------------------------------------


def memory(baseline_peak: float) -> Row:
    with _servers(nodes=1000, delay_ms=0) as (seaweed, port):
        environment = _handler_environment(
            DLF_ENDPOINT=f"http://127.0.0.1:{port}",
            SNAPSHOT_URI=f"s3://{seaweed.bucket}/bench-memory",
            **_seaweed_settings(seaweed),
        )
        peak = float(_python("-m", "bench.memory_child", "handler", env=environment))
    return Row(
        "memory",
        round(peak, 1),
        round(baseline_peak, 1),
        "MiB peak RSS",
        round(peak / baseline_peak, 2),
        TARGETS["memory"],
        peak <= 100,
        "a handler process that served a 1,000-node body and wrote it to SeaweedFS; "
        "baseline: requests + boto3 + S3 client",
    )


def worst_case_memory() -> Row:
    from bench.worst_bodies import WORST

    with _servers(nodes=1, delay_ms=0) as (seaweed, _), worst_server.running() as port:
        environment = _handler_environment(
            DLF_ENDPOINT=f"http://127.0.0.1:{port}",
            SNAPSHOT_URI=f"s3://{seaweed.bucket}/bench-worst",
            **_seaweed_settings(seaweed),
        )
        peak = float(_python("-m", "bench.memory_child", "worst", env=environment))
    ratio = peak / FUNCTION_MEMORY_MB
    return Row(
        "worst-case memory",
        round(peak, 1),
        FUNCTION_MEMORY_MB,
        "MiB peak RSS",
        round(ratio, 2),
        TARGETS["worst-case memory"],
        ratio <= 0.75,
        f"one handler process served the {len(WORST)} costliest answers known under the "
        "8 MiB cap (bench/worst_bodies.py) and wrote them to SeaweedFS; baseline: the "
        "function's memory",
    )


# -- 6. under Lambda's limits -----------------------------------------------------------------

# The answers that take longest at a share of a core (tests/infrastructure's tick at
# POLL_CONCURRENCY 1 on every worst body: 1.5-1.9 s each at 0.145 of a core).
SLOWEST_BODIES = ("astral-string", "long-key-astral-capitals", "nodes-all-wrong")
API_GATEWAY_SECONDS = 30
LIMITS_TICK_JOBS = 300


class _Deployed(yaml.SafeLoader):
    """Reads template.yaml, CloudFormation's short tags (!Ref, !Sub ...) as None."""


_Deployed.add_multi_constructor("!", lambda loader, suffix, node: None)


def _template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load((ROOT / "template.yaml").read_text(), Loader=_Deployed)  # noqa: S506
    return loaded


def _deployed(function: str) -> tuple[int, int]:
    """A function's MemorySize and Timeout, as template.yaml deploys it."""
    properties = _template()["Resources"][function]["Properties"]
    return int(properties["MemorySize"]), int(properties["Timeout"])


def lambda_limits_rows() -> list[Row]:
    """The HTTP function's costliest answer, cold, and a tick, each in a cgroup with the
    function's memory and the share of a core Lambda gives it (tests/support/cgroup.py)."""
    from tests.support.cgroup import lambda_limits, limited

    http_memory, http_timeout = _deployed("StatusApiFunction")
    tick_memory, tick_timeout = _deployed("TickFunction")
    http_limits, tick_limits = lambda_limits(http_memory), lambda_limits(tick_memory)
    walls: dict[str, float] = {}
    peaks: list[int] = []
    with _servers(nodes=10) as (seaweed, port), worst_server.running() as worst_port:
        environment = _handler_environment(
            DLF_ENDPOINT=f"http://127.0.0.1:{worst_port}",
            SNAPSHOT_URI=f"s3://{seaweed.bucket}/bench-limits",
            **_seaweed_settings(seaweed),
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(http_memory),
        )
        _python("-m", "bench.limits_child", "nodes-all-wrong", env=environment)  # warm disk
        for name in SLOWEST_BODIES:
            with limited(http_limits) as cgroup:
                started = time.perf_counter()
                process = cgroup.popen(
                    [sys.executable, "-m", "bench.limits_child", name],
                    cwd=ROOT,
                    env=environment,
                    stdout=subprocess.DEVNULL,
                )
                returncode = process.wait()
                walls[name] = time.perf_counter() - started
                outcome = cgroup.outcome()
            if returncode != 0 or outcome.oom_killed:
                raise RuntimeError(f"{name} under {http_memory} MB: exit {returncode}, {outcome}")
            peaks.append(outcome.peak_bytes)
        with limited(tick_limits) as cgroup:
            prefix = f"s3://{seaweed.bucket}/bench-limits-{uuid.uuid4().hex[:8]}"
            tick = _tick_child(
                "ours",
                LIMITS_TICK_JOBS,
                {
                    **_tick_environment(seaweed, port),
                    "SNAPSHOT_URI": prefix,
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(tick_memory),
                },
                wrap=cgroup.command,
            )
            tick_outcome = cgroup.outcome()
        if tick_outcome.oom_killed:
            raise RuntimeError(f"the tick under {tick_memory} MB was OOM-killed: {tick_outcome}")
    slowest = max(walls, key=walls.__getitem__)
    wall = walls[slowest]
    setting = (
        f"{http_memory} MB, {http_limits.cores:.3f} of a core (cgroup); a fresh process: "
        f"interpreter, imports, init and the answer; the slowest of {', '.join(SLOWEST_BODIES)} "
        f"({slowest}); peak {max(peaks) / 2**20:.0f} MiB of {http_memory}"
    )
    rate = {label: LIMITS_TICK_JOBS / tick[label]["seconds"] for label in ("first", "steady")}
    # The most jobs one tick polls in place (template.yaml's FanoutThreshold default).
    fanout = int(_template()["Parameters"]["FanoutThreshold"]["Default"])
    tick_setting = (
        f"{LIMITS_TICK_JOBS} jobs, {TICK_THREADS} threads, 20 ms upstream, SeaweedFS, "
        f"{tick_memory} MB and {tick_limits.cores:.3f} of a core (cgroup); peak "
        f"{tick_outcome.peak_bytes / 2**20:.0f} MiB"
    )
    rows = [
        Row(
            "limits: HTTP costliest answer, cold, vs API Gateway",
            round(wall, 2),
            API_GATEWAY_SECONDS,
            "s wall",
            round(wall / API_GATEWAY_SECONDS, 3),
            "<= 0.5 x 30 s",
            wall <= API_GATEWAY_SECONDS / 2,
            setting,
            tuple(round(value, 2) for value in walls.values()),
        ),
        Row(
            "limits: HTTP costliest answer, cold, vs its timeout",
            round(wall, 2),
            http_timeout,
            "s wall",
            round(wall / http_timeout, 3),
            "(reported)",
            None,
            f"the function's Timeout in template.yaml; {setting}",
        ),
    ]
    for label in ("first", "steady"):
        seconds_for_fanout = fanout / rate[label]
        rows.append(
            Row(
                f"limits: tick {label}, jobs/s at {tick_limits.cores:.3f} core",
                round(rate[label]),
                None,
                "jobs/s",
                round(seconds_for_fanout / tick_timeout, 3),
                f"{fanout} jobs < 0.5 x {tick_timeout} s",
                seconds_for_fanout < tick_timeout / 2,
                f"{tick_setting}; ratio: a tick of FanoutThreshold ({fanout}) jobs at this "
                f"rate ({seconds_for_fanout:.0f} s) / the function's Timeout",
            )
        )
    return rows


# -- report -----------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def table(rows: list[Row]) -> str:
    header = ["benchmark", "ours", "baseline", "unit", "ratio", "target", "met"]
    cells = [
        [
            r.name,
            str(r.ours),
            "-" if r.baseline is None else str(r.baseline),
            r.unit,
            "-" if r.ratio is None else str(r.ratio),
            r.target,
            {True: "yes", False: "NO", None: "-"}[r.met],
        ]
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [header, *cells]) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *cells]
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, fewer jobs (a smoke run)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    parser.add_argument(
        "--only",
        choices=SECTIONS,
        action="append",
        help="run only this section (repeatable); the cold init always runs: it gives "
        "the memory rows their baseline",
    )
    parser.add_argument("--jobs", type=int, help="jobs per tick (default 1,000; 200 --quick)")
    parser.add_argument("--rounds", type=int, help="tick rounds (default 5; 3 with --quick)")
    args = parser.parse_args(argv)
    sys.path[:0] = [str(ROOT / "handler"), str(ROOT)]
    sections = set(args.only or SECTIONS)

    started = time.perf_counter()
    cold, peaks = cold_init(runs=3 if args.quick else 11)
    rows = [cold]
    if "warm" in sections:
        rows += warm_cost()
    if "ticks" in sections:
        rows += tick_throughput(
            jobs=args.jobs or (200 if args.quick else 1000),
            rounds=args.rounds or (3 if args.quick else 5),
            baseline_peak=peaks["baseline"],
        )
    if "memory" in sections:
        rows.append(memory(baseline_peak=peaks["baseline"]))
        rows.append(worst_case_memory())
    if "limits" in sections:
        rows += lambda_limits_rows()
    print(table(rows))
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "quick": args.quick,
        "elapsed_seconds": round(time.perf_counter() - started, 1),
        "results": [asdict(row) for row in rows],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    shown = args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output
    print(f"\nwritten to {shown}; machine: {result['machine']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
