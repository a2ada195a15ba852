"""The EMF blobs of a tick of 10,000 jobs, as CloudWatch reads them: every stdout line
one JSON object; at most 100 metrics in a blob and 100 values per metric (the limits
of the embedded metric format); no dimension but the service, so nothing the upstream
says becomes a dimension; every value a finite number; no value lost.

The metrics are added as a tick adds them: from the worker threads of the pool."""

from __future__ import annotations

import json
import math
import threading
from collections import Counter

import pytest

from dlf_status.observability import METRICS_NAMESPACE, EmfMetrics

JOBS = 10_000
THREADS = 16
PER_JOB = {"UpstreamLatency": ("Milliseconds", 12.5), "Transitions": ("Count", 1.0)}
PER_TICK = {"Polled": JOBS, "PollFailures": 0, "NotReached": 0, "TickDuration": 5_000.0}
UNITS = {"Count", "Milliseconds"}


def test_a_tick_of_ten_thousand_jobs_flushes_valid_emf_blobs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    metrics = EmfMetrics()
    capsys.readouterr()

    def poll(jobs: range) -> None:
        for _ in jobs:
            for name, (unit, value) in PER_JOB.items():
                metrics.add(name, value, unit)

    share = JOBS // THREADS
    workers = [threading.Thread(target=poll, args=(range(share),)) for _ in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for name, total in PER_TICK.items():
        metrics.add(name, total, "Milliseconds" if name == "TickDuration" else "Count")
    metrics.flush()

    values: Counter[str] = Counter()
    lines = capsys.readouterr().out.splitlines()
    assert lines
    for line in lines:
        blob = json.loads(line)
        [directive] = blob["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == METRICS_NAMESPACE
        assert directive["Dimensions"] == [["service"]]
        assert 1 <= len(directive["Metrics"]) <= 100
        for metric in directive["Metrics"]:
            assert metric["Unit"] in UNITS
            value = blob[metric["Name"]]
            points = value if isinstance(value, list) else [value]
            assert 1 <= len(points) <= 100
            assert all(isinstance(point, int | float) and math.isfinite(point) for point in points)
            values[metric["Name"]] += len(points)
    assert values == Counter(
        {**{name: share * THREADS for name in PER_JOB}, **{name: 1 for name in PER_TICK}}
    )
