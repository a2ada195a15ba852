"""The wheel where pyproject.toml says it runs: on every Python its classifiers claim,
and with every direct runtime dependency at its declared lower bound (what a platform
team's Lambda layer, monorepo constraints or an oldest-allowed resolver gives it).

The smoke of test_installed_wheel (validate, normalise, get against a loopback upstream,
the Lambda handler) runs again here in each such virtualenv, plus what only the S3 store
exercises: a strict-consistency write to SeaweedFS (conditional writes, user metadata),
where an older boto3 than the one pinned could fail. One built wheel serves every
virtualenv (conftest's `distributions`); pip's cache serves their downloads.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version
from pytest_httpserver import HTTPServer

from tests.integration.conftest import PROJECT, exchange_response, match_path
from tests.package.conftest import (
    ROOT,
    Distributions,
    InstalledWheel,
    run_checked,
    without_source_path,
)
from tests.package.environments import (
    Variant,
    admitted_python_minors,
    claimed_python_minors,
    find_python,
    lowest_direct_pins,
    project_table,
)
from tests.package.test_installed_wheel import (
    RUN_TIMEOUT,
    _upstream_environment,
    run_cli,
    test_get_fetches_a_signed_answer_from_the_upstream_and_writes_the_snapshot,
    test_normalize_prints_the_v1_document,
    test_the_lambda_handler_answers_a_recorded_http_api_event,
    test_the_package_is_imported_from_the_virtualenv_with_its_spec,
    test_validate_accepts_a_documented_answer,
    test_validate_reports_each_violation_and_exits_1,
)
from tests.support.seaweed import (
    ACCESS_KEY,
    PATIENT_STORE_SECONDS,
    REGION,
    SECRET_KEY,
    SeaweedServer,
)

pytestmark = pytest.mark.integration

# The smoke of test_installed_wheel, collected here again: each runs once per variant,
# against this module's `installed_wheel` fixture.
__all__ = [
    "test_get_fetches_a_signed_answer_from_the_upstream_and_writes_the_snapshot",
    "test_normalize_prints_the_v1_document",
    "test_the_lambda_handler_answers_a_recorded_http_api_event",
    "test_the_package_is_imported_from_the_virtualenv_with_its_spec",
    "test_validate_accepts_a_documented_answer",
    "test_validate_reports_each_violation_and_exits_1",
]

PROJECT_TABLE = project_table()
CLAIMED_PYTHONS = claimed_python_minors(PROJECT_TABLE)
# Every claimed Python with the lower bounds; the pinned versions (constraints.txt, what
# the Lambda artifact ships) on the claimed Pythons test_installed_wheel does not run on.
VARIANTS = [Variant(minor, "lowest") for minor in CLAIMED_PYTHONS] + [
    Variant(minor, "pinned") for minor in CLAIMED_PYTHONS if minor != sys.version_info.minor
]


def _install(variant: Variant, wheel: Path, directory: Path, constraints: Path) -> InstalledWheel:
    python = find_python(variant.python_minor)
    if python is None:
        pytest.fail(
            f"Python 3.{variant.python_minor} is claimed by pyproject.toml but not found "
            "(pyenv root, then PATH)",
            pytrace=False,
        )
    environment = directory / "venv"
    workdir = directory / "workdir"
    workdir.mkdir()
    run_checked(
        [str(python), "-m", "venv", "--without-pip", str(environment)],
        cwd=workdir,
        env=without_source_path(),
    )
    installed = run_checked(
        [
            sys.executable,
            "-m",
            "pip",
            "--disable-pip-version-check",
            "--quiet",
            "--python",
            str(environment / "bin" / "python"),
            "install",
            "--only-binary",
            ":all:",
            "--constraint",
            str(constraints),
            str(wheel),
        ],
        cwd=workdir,
        env=without_source_path(),
    )
    # a yanked lower bound is one no resolver picks on its own: the bound must move up
    assert "yanked" not in installed.stderr, installed.stderr
    return InstalledWheel(
        environment, environment / "bin" / "python", environment / "bin" / "dlf-status", workdir
    )


@pytest.fixture(scope="module", params=VARIANTS, ids=lambda variant: variant.name)
def installed_wheel(
    request: pytest.FixtureRequest,
    distributions: Distributions,
    tmp_path_factory: pytest.TempPathFactory,
) -> InstalledWheel:
    """The wheel in a fresh virtualenv outside the tree, for one variant."""
    variant: Variant = request.param
    directory = tmp_path_factory.mktemp(variant.name)
    if variant.dependencies == "lowest":
        constraints = directory / "lower-bounds.txt"
        constraints.write_text("\n".join(lowest_direct_pins(PROJECT_TABLE)) + "\n", "utf-8")
    else:
        constraints = ROOT / "constraints.txt"
    return _install(variant, distributions.wheel_from_sdist, directory, constraints)


def _constraint_versions() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    pairs = (line.split("==", 1) for line in lines if "==" in line)
    return {canonicalize_name(name): version for name, version in pairs}


def test_requires_python_admits_exactly_the_claimed_pythons() -> None:
    """What the classifiers claim is what the variants prove; requires-python may not
    admit a Python nothing runs."""
    assert CLAIMED_PYTHONS, "pyproject.toml claims no Python 3.x classifier"
    assert admitted_python_minors(PROJECT_TABLE) == CLAIMED_PYTHONS


def test_installed_versions_are_the_declared_lower_bounds(
    request: pytest.FixtureRequest, installed_wheel: InstalledWheel
) -> None:
    """Each variant runs the Python and the direct dependencies it names: the lower
    bounds (pip may not pick another), or constraints.txt's pins."""
    variant: Variant = request.node.callspec.params["installed_wheel"]
    probe = (
        "import json, sys, importlib.metadata as m; "
        "print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"
    )
    pins = {
        name: Version(version)
        for name, version in (pin.split("==") for pin in lowest_direct_pins(PROJECT_TABLE))
    }
    result = subprocess.run(
        [str(installed_wheel.python), "-I", "-c", probe, *pins],
        cwd=installed_wheel.workdir,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    installed = {name: Version(text) for name, text in json.loads(result.stdout).items()}
    python = subprocess.run(
        [str(installed_wheel.python), "-I", "-c", "import sys; print(sys.version_info[1])"],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=True,
    )
    assert int(python.stdout) == variant.python_minor
    if variant.dependencies == "lowest":
        assert installed == pins
    else:
        pinned = _constraint_versions()
        assert installed == {name: Version(pinned[canonicalize_name(name)]) for name in pins}


def test_get_writes_to_an_s3_store_in_strict_consistency(
    installed_wheel: InstalledWheel, upstream: HTTPServer, seaweed: SeaweedServer
) -> None:
    """Through boto3 as installed: the store's probe (a conditional write, user
    metadata), the first snapshot (If-None-Match), then its replacement (If-Match)."""
    upstream.expect_ordered_request(match_path("job_sms")).respond_with_response(
        exchange_response("doc-2024-success")
    )
    upstream.expect_ordered_request(match_path("job_sms")).respond_with_response(
        exchange_response("doc-2019-seven-nodes")
    )
    prefix = f"package-{uuid.uuid4().hex}"
    environment = _upstream_environment(upstream, Path("unused"))
    environment.update(
        SNAPSHOT_URI=f"s3://{seaweed.bucket}/{prefix}",
        SNAPSHOT_CONSISTENCY="strict",
        STORE_TIMEOUT=str(PATIENT_STORE_SECONDS),
        AWS_ENDPOINT_URL_S3=seaweed.endpoint,
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_DEFAULT_REGION=REGION,
    )

    first = run_cli(installed_wheel, "get", PROJECT, "job_sms", env=environment)
    second = run_cli(installed_wheel, "get", PROJECT, "job_sms", env=environment)

    assert (first.returncode, first.stderr) == (0, "")
    assert (second.returncode, second.stderr) == (0, "")
    client = seaweed.client()
    listed = client.list_objects_v2(Bucket=seaweed.bucket, Prefix=f"{prefix}/")
    keys = [item["Key"] for item in listed.get("Contents", [])]
    latest = [key for key in keys if key.endswith("/job_name=job_sms/latest.json")]
    assert len(latest) == 1, keys
    stored: dict[str, Any] = json.loads(
        client.get_object(Bucket=seaweed.bucket, Key=latest[0])["Body"].read()
    )
    assert stored["summary"] == json.loads(second.stdout)["summary"]
    assert stored["summary"] != json.loads(first.stdout)["summary"]
    assert [key for key in keys if "/transitions/" in key], keys
