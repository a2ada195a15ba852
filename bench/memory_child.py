"""Peak memory of a handler process that served one large body, or the worst ones.

    python -m bench.memory_child baseline|handler|worst

Prints the peak RSS in MiB after the work. The handler is configured from the
environment: the benchmark points it at a local upstream that answers 1,000 nodes
(`handler`), or every body of bench/worst_bodies.py, one after another (`worst`).
"""

from __future__ import annotations

import json
import sys

from bench.child import baseline, peak_rss_mib


def handler() -> None:
    import dlf_status.entrypoints.lambda_http as module
    from tests.support.events import http_api_event, lambda_context

    answer = module.handler(
        http_api_event("b384b9e9ab9b4ee8994c8633aabc9505", "bench_job"),
        lambda_context(aws_request_id="bench"),
    )
    nodes = json.loads(answer["body"])["summary"]["node_count"]
    assert nodes == 1000, answer


def worst() -> None:
    import dlf_status.entrypoints.lambda_http as module
    from bench.worst_bodies import WORST
    from tests.support.events import http_api_event, lambda_context

    for name in WORST:
        answer = module.handler(
            http_api_event("b384b9e9ab9b4ee8994c8633aabc9505", name),
            lambda_context(aws_request_id=f"worst-{name}"),
        )
        # A document, or the precise upstream problem: never `internal`.
        assert answer["statusCode"] in (200, 404, 502), (name, answer["body"][:300])
        # What the Lambda runtime then does with the answer, in the same process:
        # awslambdaric serialises it as JSON (ASCII escapes on Python 3.11) to post it.
        posted = json.dumps(answer).encode()
        del answer, posted
        print(name, file=sys.stderr)


if __name__ == "__main__":
    {"baseline": baseline, "handler": handler, "worst": worst}[sys.argv[1]]()
    print(f"{peak_rss_mib():.1f}")
