"""Running the consumers' JavaScript tools (tests/consumers/js: ajv, quicktype, tsc)
from pytest: node and the packages `make consumers` installs with `npm ci`.

Missing node or packages fail the test with what to do: the schemas' promise to
JavaScript consumers is untested without them, and a skip would hide that."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

JS = Path(__file__).resolve().parent / "js"
NODE_MODULES = JS / "node_modules"
BIN = NODE_MODULES / ".bin"


def node() -> str:
    """The node executable, or a failed test that says how to get one."""
    found = shutil.which("node")
    if found is None:
        pytest.fail(
            "node is not on PATH: the consumer suites run ajv and quicktype under node 20 "
            "or newer; install node and npm, then run `make consumers`",
            pytrace=False,
        )
    if not (NODE_MODULES / ".package-lock.json").is_file():
        pytest.fail(
            f"{JS.name}/node_modules is not installed: run `make consumers` "
            "(npm ci in tests/consumers/js)",
            pytrace=False,
        )
    return found


def tool(name: str) -> str:
    """A command the packages install (quicktype, tsc), checked like node."""
    node()
    return str(BIN / name)


def run(command: list[str], cwd: Path = JS) -> str:
    """Run `command`; its stdout, or a failed test with its stderr."""
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(
            f"{Path(command[0]).name} exited {done.returncode}:\n{done.stderr[-4000:]}"
            f"{done.stdout[-4000:]}",
            pytrace=False,
        )
    return done.stdout


def run_script(script: str, payload: Any) -> Any:
    """Run js/`script` under node on `payload` (passed as a JSON file); its JSON answer."""
    with tempfile.TemporaryDirectory() as directory:
        request = Path(directory) / "input.json"
        request.write_text(json.dumps(payload), encoding="utf-8")
        return json.loads(run([node(), str(JS / script), str(request)]))
