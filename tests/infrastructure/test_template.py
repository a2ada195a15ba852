"""template.yaml: linted by cfn-lint and sam, and holding the promises the README makes."""

from __future__ import annotations

import fnmatch
import sys
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.infrastructure.conftest import TEMPLATE, run_tool, tool

pytestmark = pytest.mark.integration


def test_cfn_lint_finds_nothing() -> None:
    result = run_tool(tool("cfn-lint"), str(TEMPLATE))

    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_finds_nothing() -> None:
    result = run_tool(
        tool("sam"), "validate", "--lint", "--region", "us-east-1", "--template-file", str(TEMPLATE)
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def test_the_function_runs_the_local_python_and_our_handler(template: dict[str, Any]) -> None:
    [function] = resources(template, "AWS::Serverless::Function").values()
    properties = function["Properties"]

    # sam build without Docker needs the runtime to match a local interpreter.
    assert properties["Runtime"] == f"python{sys.version_info.major}.{sys.version_info.minor}"
    assert properties["Handler"] == "dlf_status.entrypoints.lambda_handler.handler"
    assert properties["CodeUri"] == "handler/"


def test_the_route_is_ours_and_iam_protected(template: dict[str, Any]) -> None:
    [function] = resources(template, "AWS::Serverless::Function").values()
    route = function["Properties"]["Events"]["StatusRoute"]["Properties"]
    [api] = resources(template, "AWS::Serverless::HttpApi").values()

    assert (route["Method"], route["Path"]) == ("GET", "/v1/{project_id}/jobs/{job_name}/status")
    assert api["Properties"]["Auth"] == {
        "EnableIamAuthorizer": True,
        "DefaultAuthorizer": "AWS_IAM",
    }


def test_the_bucket_is_private_encrypted_versioned_and_tls_only(template: dict[str, Any]) -> None:
    bucket = template["Resources"]["SnapshotBucket"]["Properties"]
    policy = template["Resources"]["SnapshotBucketPolicy"]["Properties"]["PolicyDocument"]

    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert {rule["Id"] for rule in bucket["LifecycleConfiguration"]["Rules"]} >= {
        "expire-history",
        "expire-transitions",
        "expire-replaced-versions",
    }
    [deny] = policy["Statement"]
    assert (deny["Effect"], deny["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": False}})


def test_the_function_may_read_and_write_snapshots_but_not_delete_them(
    template: dict[str, Any],
) -> None:
    [function] = resources(template, "AWS::Serverless::Function").values()
    statements = function["Properties"]["Policies"][0]["Statement"]
    actions: set[str] = set()
    for statement in statements:
        action = statement["Action"]
        actions.update(action if isinstance(action, list) else [action])

    assert actions == {"s3:GetObject", "s3:PutObject", "s3:ListBucket"}


def test_the_function_may_write_every_key_it_writes(template: dict[str, Any]) -> None:
    from dlf_status.adapters.store_s3 import PROBE_KEY
    from dlf_status.domain.model import JobRef
    from dlf_status.domain.snapshots import (
        history_key,
        latest_key,
        staged_transition_key,
        transition_key,
    )

    [function] = resources(template, "AWS::Serverless::Function").values()
    [writes] = [
        statement
        for statement in function["Properties"]["Policies"][0]["Statement"]
        if "s3:PutObject" in statement["Action"]
    ]
    allowed = [
        resource["Fn::Sub"].removeprefix("${SnapshotBucket.Arn}/")
        for resource in writes["Resource"]
    ]
    job, moment = JobRef.parse("p", "j"), datetime(2026, 11, 25, tzinfo=UTC)
    keys = [
        history_key(job, moment, "0" * 64),
        latest_key(job),
        transition_key(job, moment, "0" * 64),
        staged_transition_key(job, moment, "0" * 64, "1" * 64),
        PROBE_KEY,
    ]

    for key in keys:
        assert any(fnmatch.fnmatchcase(key, pattern) for pattern in allowed), key


def test_the_function_may_list_every_prefix_the_read_models_list(
    template: dict[str, Any],
) -> None:
    from dlf_status.domain.model import JobRef
    from dlf_status.domain.snapshots import (
        HISTORY_ROOT,
        LATEST_ROOT,
        TRANSITIONS_ROOT,
        job_prefix,
        workspace_prefix,
    )

    [function] = resources(template, "AWS::Serverless::Function").values()
    [listing] = [
        statement
        for statement in function["Properties"]["Policies"][0]["Statement"]
        if "s3:ListBucket" in statement["Action"]
    ]
    job = JobRef.parse("p", "j", "w")
    prefixes = [
        workspace_prefix(LATEST_ROOT, "p", None),
        workspace_prefix(LATEST_ROOT, "p", "w"),
        job_prefix(HISTORY_ROOT, job) + "date=2026-11-25/",
        job_prefix(TRANSITIONS_ROOT, job),
    ]

    assert listing["Resource"] == {"Fn::GetAtt": "SnapshotBucket.Arn"}
    # Without a condition every prefix may be listed; with one, each must match it.
    allowed = listing.get("Condition", {}).get("StringLike", {}).get("s3:prefix", ["*"])
    for prefix in prefixes:
        assert any(fnmatch.fnmatchcase(prefix, pattern) for pattern in allowed), prefix


def test_schedule_failures_and_async_failures_have_somewhere_to_go(
    template: dict[str, Any],
) -> None:
    [function] = resources(template, "AWS::Serverless::Function").values()
    properties = function["Properties"]
    schedule = properties["Events"]["Tick"]

    assert schedule["Type"] == "ScheduleV2"
    assert schedule["Properties"]["ScheduleExpression"] == {"Ref": "ScheduleRate"}
    assert "DeadLetterConfig" in schedule["Properties"]
    assert properties["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Type"] == "SQS"
    assert properties["Events"]["FannedOutJobs"]["Properties"]["FunctionResponseTypes"] == [
        "ReportBatchItemFailures"
    ]


def test_there_are_alarms_for_errors_throttles_and_contract_violations(
    template: dict[str, Any],
) -> None:
    alarms = resources(template, "AWS::CloudWatch::Alarm").values()
    metrics = {alarm["Properties"].get("MetricName") for alarm in alarms}

    assert {"Errors", "Throttles", "ContractViolations", "PollFailures"} <= metrics


def test_every_environment_variable_is_one_the_function_reads(template: dict[str, Any]) -> None:
    from dlf_status.config import VARIABLES

    [function] = resources(template, "AWS::Serverless::Function").values()
    variables = set(function["Properties"]["Environment"]["Variables"])

    assert variables <= {variable.name for variable in VARIABLES}
