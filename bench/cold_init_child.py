"""One cold start, measured from inside a fresh interpreter.

    python -m bench.cold_init_child baseline|handler

Prints `<milliseconds to ready> <peak RSS in MiB>`. The interpreter's own start-up
is the same for both and is left out: the figure is what each process imports and
builds before it can serve.
"""

from __future__ import annotations

import sys
import time

from bench.child import baseline, peak_rss_mib

STARTED = time.perf_counter()


def handler() -> None:
    import dlf_status.entrypoints.lambda_http as module
    from dlf_status.errors import ConfigurationError

    assert not isinstance(module.STARTED, ConfigurationError), module.STARTED


if __name__ == "__main__":
    {"baseline": baseline, "handler": handler}[sys.argv[1]]()
    elapsed_ms = (time.perf_counter() - STARTED) * 1000
    print(f"{elapsed_ms:.2f} {peak_rss_mib():.1f}")
