"""The SAM application: tools from the SAM tool virtualenv (aws-sam-cli pins its own
boto3), the awslambdaric client installed apart; `make test` installs both."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.runtime_api import RuntimeApi
from tests.support.seaweed import (
    ACCESS_KEY,
    PATIENT_STORE_SECONDS,
    REGION,
    SECRET_KEY,
    SeaweedServer,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SAM_BIN = ROOT / ".tools" / "sam" / "bin"
RIC = ROOT / ".tools" / "ric"

pytestmark = pytest.mark.integration


def tool(name: str) -> str:
    path = SAM_BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: `make test` installs the SAM tool virtualenv")
    return str(path)


def run_tool(*command: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_REGION": "us-east-1"}
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
        env=environment,
    )


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation's short tags (!Ref, !Sub ...) as {"Fn::...": value}."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _tag)


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=_CloudFormationLoader)  # noqa: S506
    return loaded


# Each function of template.yaml, its artifact directory and its handler.
FUNCTIONS = {
    "StatusApiFunction": "dlf_status.entrypoints.lambda_http.handler",
    "DlfStatusFunction": "dlf_status.entrypoints.lambda_direct.handler",
    "TickFunction": "dlf_status.entrypoints.lambda_schedule.handler",
    "QueueFunction": "dlf_status.entrypoints.lambda_queue.handler",
}


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One `sam build` per session, for every test that runs the artifact."""
    build_dir = tmp_path_factory.mktemp("sam-build")
    result = run_tool(
        tool("sam"),
        "build",
        "--template-file",
        str(TEMPLATE),
        "--build-dir",
        str(build_dir),
        "--cache-dir",
        str(ROOT / ".tools" / "sam-cache"),
        "--cached",
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for function in FUNCTIONS:
        assert (build_dir / function / "dlf_status" / "spec" / "openapi.json").is_file(), function
    return build_dir


def artifact_environment(
    function: str,
    artifact: Path,
    api: RuntimeApi,
    *,
    seaweed: SeaweedServer,
    upstream: str,
    prefix: str,
    memory_mb: int = 256,
) -> dict[str, str]:
    """The environment awslambdaric runs a built function in: Lambda's own variables,
    the artifact and the client alone on the path, SeaweedFS and a loopback upstream."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": f"{artifact}:{RIC}",
        "LAMBDA_TASK_ROOT": str(artifact),
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "STORE_TIMEOUT": str(PATIENT_STORE_SECONDS),
        "AWS_ENDPOINT_URL_S3": seaweed.endpoint,
        "DLF_ENDPOINT": upstream,
        "DLF_AUTH_TOKEN": "artifact-token-value",
        "SNAPSHOT_URI": f"s3://{seaweed.bucket}/{prefix}",
        "JOBS_URI": f"s3://{seaweed.bucket}/{prefix}/config/jobs.json",
    }
