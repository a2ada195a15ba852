"""Any flag value, any argument list, any environment: the CLI answers with exit 0 or
2 and, on an error, exactly one line on stderr; never a traceback, never exit 70.

In-process (`main`), with an empty or hostile environment, so that no command
gets as far as the network: the real console script is run by the integration
tests (tests/integration/test_cli_lines.py).
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from unittest import mock

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dlf_status.config import CONCURRENCY, VARIABLES
from dlf_status.entrypoints.cli import CONNECTIONS, HTTP_STATUSES, PORTS, build_parser, main
from dlf_status.entrypoints.cli_reads import MAX_PRINTED
from tests.properties.setting_strategies import any_text, number_text, setting_values

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
MISSING = "/nonexistent-dlf-status-test/jobs.yaml"


@dataclass
class Run:
    code: int | str | None
    out: str
    err: str


@contextlib.contextmanager
def captured_stderr() -> Iterator[io.StringIO]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        yield err


def run(argv: list[str], environ: dict[str, str] | None = None) -> Run:
    """`main(argv)` with `environ` as the whole environment; SystemExit is an exit code."""
    out_bytes = io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", write_through=True)
    err = io.StringIO()
    with (
        mock.patch.dict(os.environ, environ or {}, clear=True),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            code: int | str | None = main(argv)
        except SystemExit as exit_:
            code = exit_.code
    return Run(code, out_bytes.getvalue().decode("utf-8", "replace"), err.getvalue())


def assert_one_error_line(result: Run) -> None:
    assert result.code == 2, result
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("dlf-status"), result.err
    assert lines[0].isprintable()
    assert "Traceback" not in result.err


# (command, flag, the other arguments the command needs, the range of a valid value)
FLAGS = [
    (["poll", "--jobs", MISSING], "--concurrency", CONCURRENCY),
    (["serve"], "--port", PORTS),
    (["serve"], "--max-connections", CONNECTIONS),
    (["validate", MISSING], "--status", HTTP_STATUSES),
    (["normalize", MISSING], "--status", HTTP_STATUSES),
    (["history", PROJECT, "job"], "--limit", MAX_PRINTED),
]


@pytest.mark.parametrize(("command", "flag", "limits"), FLAGS)
@settings(max_examples=200, deadline=None)
@given(value=number_text | any_text)
def test_a_numeric_flag_is_read_in_range_or_refused_in_one_line(
    command: list[str], flag: str, limits: object, value: str
) -> None:
    parser = build_parser()
    with captured_stderr() as err:
        try:
            args = parser.parse_args([*command, f"{flag}={value}"])
        except SystemExit as exit_:
            code = exit_.code
        else:
            code = 0
    if code == 0:
        parsed = getattr(args, flag.lstrip("-").replace("-", "_"))
        assert isinstance(parsed, int)
        assert limits.low <= parsed <= limits.high  # type: ignore[attr-defined]
        assert str(parsed) == value.lstrip("0").rjust(1, "0")
    else:
        assert_one_error_line(Run(code, "", err.getvalue()))
        assert f"argument {flag}" in err.getvalue()


@settings(max_examples=200, deadline=None)
@given(value=number_text | any_text)
def test_the_serve_timeout_is_read_in_range_or_refused_in_one_line(value: str) -> None:
    with captured_stderr() as err:
        try:
            args = build_parser().parse_args(["serve", f"--timeout={value}"])
        except SystemExit as exit_:
            assert_one_error_line(Run(exit_.code, "", err.getvalue()))
            return
    assert 0.001 <= args.timeout <= 900


COMMANDS = ["validate", "normalize", "get", "serve", "poll", "fleet", "history"]
WORDS = st.sampled_from(
    [
        *COMMANDS,
        "--jobs",
        "--concurrency",
        "--port",
        "--host",
        "--timeout",
        "--max-connections",
        "--status",
        "--content-type",
        "--validator",
        "--mode",
        "--workspace",
        "--project-id",
        "--job-name",
        "--json",
        "--fail-on",
        "--since",
        "--until",
        "--transitions",
        "--limit",
        "EXCEPTION,STALE",
        "2026-11-25T08:00:00Z",
        "--",
        "-",
        PROJECT,
        MISSING,
        "/",
        "/dev/null",
    ]
)


# Exit codes a command may end with besides 0 and 2: `validate` reports violations
# (1); `normalize` reads a raw body as the upstream's answer (3: a missing job, 4: an
# upstream failure); `fleet` fails on a --fail-on status (1; it reads ./snapshots,
# the default SNAPSHOT_URI, when the directory is there).
ALSO_ALLOWED = {"validate": {1}, "normalize": {3, 4}, "fleet": {1}}


@settings(max_examples=300, deadline=None)
@given(
    command=st.sampled_from(COMMANDS),
    words=st.lists(WORDS | number_text | any_text, max_size=6),
)
def test_any_argument_list_exits_with_a_documented_code_and_one_line(
    command: str, words: list[str]
) -> None:
    """No configuration in the environment: every command stops before the network.
    (-v is left out: it adds the JSON logs to stderr.)"""
    assume(not any(word.startswith(("-v", "--v")) for word in words))

    result = run([command, *words])

    assert "Traceback" not in result.err
    assert result.code in {0, 2, *ALSO_ALLOWED.get(command, set())}, result
    if result.code != 0:
        assert len(result.err.splitlines()) == 1, result.err
        assert result.err.rstrip("\n").isprintable(), result.err


def _environment_can_hold(value: str) -> bool:
    try:
        os.fsencode(value)
    except UnicodeError:
        return False
    return "\x00" not in value


@pytest.mark.parametrize("name", [variable.name for variable in VARIABLES])
@settings(max_examples=60, deadline=None)
@given(value=setting_values.filter(_environment_can_hold))
def test_any_setting_gives_poll_one_line_and_exit_2(name: str, value: str) -> None:
    """A job list that does not exist: a good configuration fails on it, a bad one
    first, by the variable's name (the credentials' own messages name them as a group)."""
    environ = {"DLF_REGION": "cn-north-4", "DLF_AUTH_TOKEN": "token-value", name: value}

    result = run(["poll", "--jobs", MISSING], environ)

    assert_one_error_line(result)
    assert (
        "cannot read the job list" in result.err
        or name in result.err
        or name in {"DLF_AK", "DLF_SK", "DLF_SECURITY_TOKEN", "DLF_AUTH_TOKEN"}
    )
