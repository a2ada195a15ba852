"""One process of the tick benchmark, measured from inside: wall time, CPU and store calls
around each tick, start-up left out.

    python -m bench.tick_child ours|client|requests JOBS RESULT_PATH

`ours`: the scheduled tick's Lambda handler as the runtime loads it (init at import),
then two scheduled ticks of JOBS jobs: `first` (a new process on an empty prefix, every job new) and
`steady` (the same process, the same content again). `client`: our upstream client
alone, `requests`: a plain requests session (the baseline); both GET every job twice
with the tick's threads, and the second pass, on warm connections, is the figure.

The configuration comes from the environment (bench/run.py sets it). Logs go to stdout,
as on Lambda: run.py points stdout at /dev/null, so results go to RESULT_PATH as JSON.
CPU is user + sys of the whole process (every thread) and of any process it forks and
waits for, from getrusage (RUSAGE_SELF + RUSAGE_CHILDREN), taken just before and after
a tick. Memory is VmHWM, never ru_maxrss (see child.py).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from bench.child import peak_rss_mib

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"


class Measured(NamedTuple):
    seconds: float
    cpu_seconds: float


def job_names(jobs: int) -> list[str]:
    return [f"job-{index:05d}" for index in range(jobs)]


def _cpu_seconds() -> float:
    """User + sys of this process and of the processes it forked and waited for: a
    tick that polls with a process per core is charged for all of them."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def measure(work: Callable[[], object]) -> Measured:
    cpu, started = _cpu_seconds(), time.perf_counter()
    work()
    return Measured(time.perf_counter() - started, _cpu_seconds() - cpu)


class StoreCalls:
    """Counts the HTTP requests sent to the store, by what they do (GET, PUT with its
    condition, LIST, HEAD), retries included. Counted in urllib3, under botocore or any
    leaner client, for the endpoint in AWS_ENDPOINT_URL_S3: the product code is measured
    as it is, whatever client it uses, without a wrapper around it."""

    def __init__(self, endpoint: str) -> None:
        parts = urlsplit(endpoint)
        self.port = parts.port
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def install(self) -> None:
        import urllib3.connectionpool

        pool = urllib3.connectionpool.HTTPConnectionPool
        urlopen = pool.urlopen
        count, port = self._count, self.port

        def counted(pool: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if pool.port == port:  # the store's, not the upstream's
                headers = kwargs.get("headers") or (args[1] if len(args) > 1 else None) or {}
                count(method, url, headers)
            return urlopen(pool, method, url, *args, **kwargs)

        setattr(pool, "urlopen", counted)  # noqa: B010 - a patch, typed as urllib3 has it

    def _count(self, method: str, url: str, headers: Any) -> None:
        operation = method
        if method == "GET" and "list-type=" in url:
            operation = "LIST"
        elif method == "PUT":
            names = {str(name).lower() for name in headers}
            if "if-match" in names:
                operation = "PUT if-match"
            elif "if-none-match" in names:
                operation = "PUT if-none-match"
        with self._lock:
            self.calls[operation] += 1

    def take(self) -> dict[str, int]:
        """The counts since the last take, and start again from zero."""
        with self._lock:
            taken = dict(self.calls)
            self.calls.clear()
        return taken


def ours(jobs: int) -> dict[str, Any]:
    """The handler's init (not measured), then the first and the steady tick."""
    counter = StoreCalls(os.environ["AWS_ENDPOINT_URL_S3"])
    counter.install()
    import dlf_status.entrypoints.lambda_schedule as module
    from dlf_status.errors import ConfigurationError
    from tests.support.events import lambda_context

    assert not isinstance(module.STARTED, ConfigurationError), module.STARTED
    counter.take()  # the init's calls, if any, belong to no tick
    event_jobs = [{"project_id": PROJECT, "job_name": name} for name in job_names(jobs)]
    result: dict[str, Any] = {}
    for label in ("first", "steady"):
        answers: list[dict[str, Any]] = []
        context = lambda_context(aws_request_id=label, remaining_millis=900_000)

        def tick(label: str = label, context: Any = context, answers: list[Any] = answers) -> None:
            answers.append(module.handler({"jobs": event_jobs, "tick_id": label}, context))

        measured = measure(tick)
        (report,) = answers
        if report["ok"] != jobs:
            raise SystemExit(f"{label} tick: {report['ok']} of {jobs} ok: {report['failed']}")
        result[label] = {**measured._asdict(), "store_calls": counter.take()}
    result["peak_rss_mib"] = peak_rss_mib()
    return result


def _get_all(fetch: Callable[[str], object], names: list[str], threads: int) -> Measured:
    """Every job once, with `threads` threads: the pool is made inside the measured
    span, as the tick makes its own."""

    def work() -> None:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(fetch, names))

    return measure(work)


def http_only(jobs: int, *, plain: bool) -> dict[str, Any]:
    from dlf_status.config import Settings

    settings = Settings.from_environ(os.environ)
    threads = settings.poll_concurrency
    endpoint = settings.upstream.endpoint.rstrip("/")
    fetch: Callable[[str], object]
    if plain:
        import requests

        session = requests.Session()
        session.trust_env = False  # as our client: no proxy or netrc look-up per request
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=threads, max_retries=0)
        session.mount("http://", adapter)

        def fetch(name: str) -> object:
            answer = session.get(f"{endpoint}/v1/{PROJECT}/jobs/{name}/status", timeout=10)
            answer.raise_for_status()
            return answer.content

    else:
        from dlf_status.adapters.signing import authenticator_for
        from dlf_status.adapters.upstream_http import HttpUpstreamClient
        from dlf_status.bootstrap import load_credentials
        from dlf_status.domain.model import JobRef

        client = HttpUpstreamClient(
            settings.upstream, authenticator_for(load_credentials(settings)), pool_size=threads
        )

        def fetch(name: str) -> object:
            call = client.fetch_status(JobRef.parse(PROJECT, name))
            assert call.response.status == 200, call.response.status
            return call

    names = job_names(jobs)
    cold = _get_all(fetch, names, threads)
    warm = _get_all(fetch, names, threads)
    return {"cold": cold._asdict(), "warm": warm._asdict(), "peak_rss_mib": peak_rss_mib()}


def main(argv: list[str]) -> None:
    mode, jobs, path = argv[0], int(argv[1]), Path(argv[2])
    if mode == "ours":
        result = ours(jobs)
    elif mode in ("client", "requests"):
        result = http_only(jobs, plain=mode == "requests")
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    path.write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
