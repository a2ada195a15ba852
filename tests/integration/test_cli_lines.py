"""The installed `dlf-status` script, run as a user runs it: every bad flag, setting
or file is exit 2 and exactly one line on stderr, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SCRIPT = Path(sys.executable).parent / "dlf-status"
PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
GOOD = {"DLF_REGION": "cn-north-4", "DLF_AUTH_TOKEN": "cli-token-not-a-secret"}


def run(
    argv: list[str | bytes], environment: dict[str, str] | dict[bytes, bytes], cwd: Path
) -> subprocess.CompletedProcess[bytes]:
    """The script with only `environment` (plus PATH and HOME); bytes reach it as they
    are, as bytes that are not UTF-8 reach a real process."""
    env = {os.fsencode(name): os.fsencode(value) for name, value in environment.items()}
    env[b"PATH"] = os.fsencode(os.environ.get("PATH", ""))
    env[b"HOME"] = os.fsencode(str(cwd))
    return subprocess.run(
        [str(SCRIPT), *argv], env=env, capture_output=True, check=False, cwd=cwd, timeout=120
    )


def assert_one_line(result: subprocess.CompletedProcess[bytes], code: int, fragment: str) -> None:
    err = result.stderr.decode("utf-8", "backslashreplace")
    assert result.returncode == code, err
    assert b"Traceback" not in result.stderr
    assert len(err.splitlines()) == 1, err
    assert err.rstrip("\n").isprintable(), err
    assert fragment in err, err


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["poll", "--jobs", "jobs.json", "--concurrency", "0"], "--concurrency: must be a whole"),
        (["poll", "--jobs", "jobs.json", "--concurrency", "-3"], "--concurrency: must be a whole"),
        (["poll", "--jobs", "jobs.json", "--concurrency", "9" * 5000], "got '999999"),
        (["poll", "--jobs", "jobs.json", "--concurrency", "\uff11\uff10"], "--concurrency"),
        (["serve", "--port", "99999"], "--port: must be a whole number from 0 to 65,535"),
        (["serve", "--timeout", "nan"], "--timeout: must be a number of seconds"),
        (["serve", "--max-connections", "0"], "--max-connections: must be a whole number"),
        (["serve", "--host", "bad\nhost"], "--host: must be a host name or address"),
        (["validate", "--status", "\u00b2", "x.json"], "--status: must be a whole number"),
        (["validate", "--content-type", "a\x1bb", "x.json"], "--content-type: must be"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "the following arguments are required: COMMAND"),
        (["get", PROJECT], "the following arguments are required: JOB_NAME"),
        (["get", PROJECT, "a\nb"], "control"),
        ([b"get", PROJECT, b"job\xff\xfe"], "job_name"),
        (["validate", "missing\nfile.json"], "cannot read the file missing\\nfile.json"),
        (["validate", "/"], "Is a directory"),
        ([b"poll", b"--jobs", b"\xff.json"], "cannot read the job list"),
    ],
)
def test_a_bad_flag_or_argument_is_one_line_and_exit_2(
    argv: list[str | bytes], fragment: str, tmp_path: Path
) -> None:
    assert_one_line(run(argv, GOOD, tmp_path), 2, fragment)


@pytest.mark.parametrize(
    ("environment", "fragment"),
    [
        ({"DLF_ENDPOINT": "http://[::1"}, "DLF_ENDPOINT has an invalid IPv6 host"),
        ({"DLF_ENDPOINT": "http://127.0.0.1:99999"}, "DLF_ENDPOINT must have a port"),
        ({"DLF_ENDPOINT": "http://127.0.0.1:0"}, "DLF_ENDPOINT must have a port"),
        ({"SNAPSHOT_URI": "s3://"}, "SNAPSHOT_URI 's3://' names no bucket"),
        ({"SNAPSHOT_URI": "s3://bad!bucket/x"}, "names bucket 'bad!bucket'"),
        ({"AWS_ENDPOINT_URL_S3": "localhost:8333"}, "AWS_ENDPOINT_URL_S3 must be an http"),
        ({"DLF_READ_TIMEOUT": "1e309"}, "DLF_READ_TIMEOUT must be a number of seconds"),
        ({"DLF_MAX_RESPONSE_BYTES": "9" * 5000}, "DLF_MAX_RESPONSE_BYTES must be a whole"),
        ({"POLL_CONCURRENCY": "-1"}, "POLL_CONCURRENCY must be a whole number"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be"),
        ({"JOBS_URI": "s3://bucket"}, "JOBS_URI 's3://bucket' names no object key"),
        ({"DLF_AUTH_TOKEN": "tok\x1ben"}, "DLF_AUTH_TOKEN holds a control character"),
        ({"POWERTOOLS_DEBUG": "maybe", "DLF_REGION": ""}, "set DLF_ENDPOINT or DLF_REGION"),
        (
            {"SNAPSHOT_URI": "s3://bucket/p", "AWS_DEFAULT_REGION": "us east"},
            "cannot configure the S3 client: InvalidRegionError",
        ),
    ],
)
@pytest.mark.parametrize("command", [["get", PROJECT, "job_sms"], ["serve", "--port", "0"]])
def test_a_bad_setting_is_one_line_naming_it_and_exit_2(
    command: list[str], environment: dict[str, str], fragment: str, tmp_path: Path
) -> None:
    result = run(list(command), {**GOOD, **environment}, tmp_path)

    assert_one_line(result, 2, fragment)


def test_a_setting_that_is_not_utf8_is_one_line_and_exit_2(tmp_path: Path) -> None:
    environment = {
        b"DLF_ENDPOINT": b"http://h\xff/",
        b"DLF_AUTH_TOKEN": b"cli-token-not-a-secret",
    }

    result = run(["get", PROJECT, "job_sms"], environment, tmp_path)

    assert_one_line(result, 2, "DLF_ENDPOINT is not valid UTF-8")


def test_serve_on_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]

        result = run(["serve", "--port", str(port)], GOOD, tmp_path)

    assert_one_line(result, 2, f"cannot listen on 127.0.0.1 port {port}: Address already in use")


@pytest.mark.parametrize(
    ("host", "fragment"),
    [
        ("no-such-host.invalid", "cannot listen on no-such-host.invalid"),
        ("192.0.2.1", "Cannot assign requested address"),
    ],
)
def test_serve_on_a_host_it_cannot_bind_is_one_line_and_exit_2(
    host: str, fragment: str, tmp_path: Path
) -> None:
    result = run(["serve", "--host", host, "--port", "0"], GOOD, tmp_path)

    assert_one_line(result, 2, fragment)


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("bomb.yaml", "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", "aliases are not accepted"),
        ("deep.yaml", "[" * 5000 + "]" * 5000, "exceeded maximum nesting depth"),
        ("deep.json", "[" * 5000 + "]" * 5000, "depth limit exceeded"),
        ("deep.json", "[" * 40 + "]" * 40, "nested deeper than 32 levels"),
        ("number.json", "[" + "9" * 5000 + "]", "not valid JSON: number is infinity"),
        ("number.yaml", "- " + "9" * 5000 + "\n", "a number written with more than 320"),
        ("date.yaml", "- 2024-13-45\n", "cannot be read as tag:yaml.org,2002:timestamp"),
        ("tag.yaml", "- !!python/object/apply:os.system [id]\n", "not valid YAML (line 1)"),
        ("bytes.json", b'[{"job_name": "\xff"}]', "not valid JSON: str is not valid UTF-8"),
        ("nul.yaml", b"- a\x00\n", "control characters are not allowed at byte 3"),
        ("scalar.yaml", "just text", "the job list must be a list"),
    ],
)
def test_poll_with_a_hostile_job_list_is_one_line_and_exit_2(
    name: str, content: str | bytes, fragment: str, tmp_path: Path
) -> None:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)

    result = run(["poll", "--jobs", str(path)], GOOD, tmp_path)

    assert_one_line(result, 2, fragment)
