"""What the bytecode `sam build` ships saves a cold start (README, Deploying).

    python scripts/artifact_cold_init.py [ARTIFACT] [--runs N]

ARTIFACT is a built function (default `.aws-sam/build/StatusApiFunction`, the HTTP
function). Fresh processes import its handler and make it ready, as Lambda's init does
(`python -S`, only the artifact on the path, nothing written beside the sources: /var/task
is read-only), from three copies of it: as built; without the bytecode of dlf_status;
without any bytecode, as SAM's python_pip workflow built it. Rounds are interleaved so
that drift hits each copy alike; prints the median and every sample, in milliseconds.
A measurement, not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HANDLER = "dlf_status.entrypoints.lambda_http"

# Inside the child: time from before the handler's import until it is ready.
CHILD = f"""
import time
started = time.perf_counter()
import {HANDLER} as module
from dlf_status.errors import ConfigurationError
assert not isinstance(module.STARTED, ConfigurationError), module.STARTED
print((time.perf_counter() - started) * 1000)
"""

# What the handler needs to start; nothing is called at init.
ENVIRONMENT = {
    "PYTHONDONTWRITEBYTECODE": "1",
    "DLF_ENDPOINT": "http://127.0.0.1:9",
    "DLF_AUTH_TOKEN": "measure-token",
    "SNAPSHOT_URI": "s3://snapshots/measure",
    "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9",
    "AWS_ACCESS_KEY_ID": "measure",
    "AWS_SECRET_ACCESS_KEY": "measure-secret",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "LOG_LEVEL": "WARNING",
}


def without_bytecode(artifact: Path, target: Path, under: str) -> Path:
    """A copy of the artifact without the __pycache__ directories below `under`."""
    shutil.copytree(artifact, target)
    for cache in sorted((target / under).rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache)
    return target


def init_milliseconds(artifact: Path) -> float:
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **ENVIRONMENT}
    environment["PYTHONPATH"] = str(artifact)
    result = subprocess.run(  # noqa: S603 - this interpreter, the built artifact
        [sys.executable, "-S", "-c", CHILD],
        capture_output=True,
        text=True,
        check=True,
        cwd=artifact,
        env=environment,
    )
    return float(result.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "artifact", nargs="?", type=Path, default=ROOT / ".aws-sam/build/StatusApiFunction"
    )
    parser.add_argument("--runs", type=int, default=15)
    arguments = parser.parse_args(argv)
    artifact: Path = arguments.artifact.resolve()
    if not (artifact / "dlf_status" / "__pycache__").is_dir():
        parser.error(f"{artifact} holds no compiled dlf_status: run `sam build` first")
    with tempfile.TemporaryDirectory() as scratch:
        copies = {
            "as built (all bytecode)": artifact,
            "without dlf_status's bytecode": without_bytecode(
                artifact, Path(scratch, "ours"), "dlf_status"
            ),
            "without any bytecode (python_pip)": without_bytecode(
                artifact, Path(scratch, "none"), "."
            ),
        }
        samples: dict[str, list[float]] = {name: [] for name in copies}
        for path in copies.values():  # warm-up: the disk cache, not bytecode
            init_milliseconds(path)
        for _ in range(arguments.runs):
            for name, path in copies.items():
                samples[name].append(init_milliseconds(path))
    for name, values in samples.items():
        listed = ", ".join(f"{value:.0f}" for value in values)
        print(f"{name}: median {statistics.median(values):.1f} ms ({listed})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
