"""template.yaml: linted by cfn-lint and sam, and holding the promises the README makes:
a function per trigger, each with its own handler, timeout, memory, concurrency and
permissions, over one code package."""

from __future__ import annotations

import ast
import fnmatch
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dlf_status.adapters.allocator import THRESHOLD_BYTES, THRESHOLD_VARIABLE
from dlf_status.adapters.events_eventbridge import publish_worst_case
from dlf_status.adapters.store_s3 import s3_call_worst_case
from dlf_status.config import DEFAULTS, VARIABLES
from dlf_status.service import ANSWER_MARGIN_SECONDS
from tests.infrastructure.conftest import ROOT, TEMPLATE, run_tool, tool

pytestmark = pytest.mark.integration

# API Gateway's longest integration timeout: the HTTP function must answer within it.
API_GATEWAY_TIMEOUT_SECONDS = 30
HTTP_FUNCTION, DIRECT_FUNCTION = "StatusApiFunction", "DlfStatusFunction"
TICK_FUNCTION, QUEUE_FUNCTION = "TickFunction", "QueueFunction"
MAKEFILE = ROOT / "handler" / "Makefile"
HANDLERS = {
    HTTP_FUNCTION: "dlf_status.entrypoints.lambda_http.handler",
    DIRECT_FUNCTION: "dlf_status.entrypoints.lambda_direct.handler",
    TICK_FUNCTION: "dlf_status.entrypoints.lambda_schedule.handler",
    QUEUE_FUNCTION: "dlf_status.entrypoints.lambda_queue.handler",
}


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


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each function's properties, with what Globals gives every function merged in
    (environment variables merged, as SAM merges them)."""
    shared = template["Globals"]["Function"]
    merged = {}
    for name, function in resources(template, "AWS::Serverless::Function").items():
        properties = {**shared, **function["Properties"]}
        properties["Environment"] = {
            "Variables": {
                **shared.get("Environment", {}).get("Variables", {}),
                **function["Properties"].get("Environment", {}).get("Variables", {}),
            }
        }
        merged[name] = properties
    return merged


def statements(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    """Every IAM statement a function's role gets: inline, and those of the customer
    managed policies it names."""
    found: list[dict[str, Any]] = []
    for policy in functions(template)[function]["Policies"]:
        if isinstance(policy, dict) and "Statement" in policy:
            found.extend(policy["Statement"])
        elif isinstance(policy, dict) and "Ref" in policy:
            managed = template["Resources"][policy["Ref"]]
            assert managed["Type"] == "AWS::IAM::ManagedPolicy"
            found.extend(managed["Properties"]["PolicyDocument"]["Statement"])
    return found


def actions(template: dict[str, Any], function: str) -> set[str]:
    granted: set[str] = set()
    for statement in statements(template, function):
        action = statement["Action"]
        granted.update(action if isinstance(action, list) else [action])
    return granted


def policy_templates(template: dict[str, Any], function: str) -> set[str]:
    """The SAM policy templates a function names (SQSSendMessagePolicy ...)."""
    return {
        next(iter(policy))
        for policy in functions(template)[function]["Policies"]
        if isinstance(policy, dict) and "Statement" not in policy and "Ref" not in policy
    }


def setting_of(properties: dict[str, Any], name: str) -> float:
    """The number a function runs with: its own variable, or the default."""
    variables = properties.get("Environment", {}).get("Variables", {})
    return float(variables.get(name, DEFAULTS[name]))


def time_per_job(properties: dict[str, Any]) -> float:
    """What one job may take at its worst: a whole upstream call, then a store call at
    the S3 adapter's own worst case for the function's STORE_TIMEOUT, and, with an event
    bus, a transition record's PUT and its event's publish at theirs (a writer starts
    each only with that much and the answer's margin left, service.py), then the margin."""
    store_call = s3_call_worst_case(setting_of(properties, "STORE_TIMEOUT"))
    job = setting_of(properties, "DLF_DEADLINE") + store_call + ANSWER_MARGIN_SECONDS
    if properties["Environment"]["Variables"].get("EVENT_BUS_NAME"):
        job += store_call + publish_worst_case()
    return job


def test_there_is_a_function_per_trigger_each_with_its_own_handler(
    template: dict[str, Any],
) -> None:
    found = functions(template)

    assert {name: properties["Handler"] for name, properties in found.items()} == HANDLERS
    events = {name: properties.get("Events", {}) for name, properties in found.items()}
    assert {event["Type"] for event in events[HTTP_FUNCTION].values()} == {"HttpApi"}
    assert [event["Type"] for event in events[TICK_FUNCTION].values()] == ["ScheduleV2"]
    assert events[DIRECT_FUNCTION] == events[QUEUE_FUNCTION] == {}
    [mapping] = resources(template, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["FunctionName"] == {"Ref": QUEUE_FUNCTION}
    assert mapping["Properties"]["EventSourceArn"] == {"Fn::GetAtt": "JobQueue.Arn"}


def test_every_function_runs_the_local_python_and_a_handler_the_package_has(
    template: dict[str, Any],
) -> None:
    for properties in functions(template).values():
        # sam build without Docker needs the runtime to match a local interpreter.
        assert properties["Runtime"] == f"python{sys.version_info.major}.{sys.version_info.minor}"
        assert properties["CodeUri"] == "handler/"
        module, _, function = properties["Handler"].rpartition(".")
        source = ROOT / "handler" / Path(*module.split(".")).with_suffix(".py")
        defined = {
            node.name
            for node in ast.parse(source.read_text(encoding="utf-8")).body
            if isinstance(node, ast.FunctionDef)
        }
        assert function in defined, properties["Handler"]


def makefile_setting(name: str) -> str:
    """A variable handler/Makefile sets (`NAME := value` or `NAME ?= value`)."""
    [value] = re.findall(rf"^{name} [:?]?= (.+)$", MAKEFILE.read_text(encoding="utf-8"), re.M)
    return str(value)


def test_every_function_is_built_by_the_makefile_for_its_runtime_and_architecture(
    template: dict[str, Any],
) -> None:
    """handler/Makefile builds each function (for its bytecode: README, Deploying); it
    must pick the wheels and compile for what the template deploys."""
    built = makefile_setting("FUNCTIONS").split()
    platforms = makefile_setting("PLATFORMS").split()
    version = makefile_setting("RUNTIME_VERSION")

    for name, properties in functions(template).items():
        assert template["Resources"][name]["Metadata"] == {"BuildMethod": "makefile"}, name
        assert properties["Runtime"] == f"python{version}"
        [architecture] = properties["Architectures"]
        assert all(platform.endswith(f"_{architecture}") for platform in platforms), platforms
    assert sorted(built) == sorted(HANDLERS)


def test_every_route_is_ours_and_iam_protected(template: dict[str, Any]) -> None:
    from dlf_status.entrypoints.events import ROUTES

    routes = functions(template)[HTTP_FUNCTION]["Events"].values()
    [api] = resources(template, "AWS::Serverless::HttpApi").values()

    assert sorted(
        (route["Properties"]["Method"], route["Properties"]["Path"]) for route in routes
    ) == sorted(("GET", route.value) for route in ROUTES)
    assert {route["Properties"]["ApiId"]["Ref"] for route in routes} == {"HttpApi"}
    assert api["Properties"]["Auth"] == {
        "EnableIamAuthorizer": True,
        "DefaultAuthorizer": "AWS_IAM",
    }


def test_the_http_function_answers_inside_api_gateways_limit_and_after_its_deadline(
    template: dict[str, Any],
) -> None:
    """A whole job at its worst does not fit in API Gateway's 30 s: the HTTP function
    covers its deadline and a store call (the next test), and a record and its event
    only when both fit (otherwise owed to the next writer, service.py)."""
    properties = functions(template)[HTTP_FUNCTION]

    assert setting_of(properties, "DLF_DEADLINE") < properties["Timeout"]
    # What is left of API Gateway's 30 s is the cold start's.
    assert properties["Timeout"] <= API_GATEWAY_TIMEOUT_SECONDS - 5


def test_the_http_function_has_time_for_a_store_call_at_its_worst_after_a_whole_deadline(
    template: dict[str, Any],
) -> None:
    """Every store call starts only with its worst case and the answer's margin left
    (service.py): after an upstream call that took its whole deadline, the first store
    call (the stale read, or the write's first) still fits, at the S3 adapter's own
    worst case for the template's STORE_TIMEOUT."""
    properties = functions(template)[HTTP_FUNCTION]
    store_call = s3_call_worst_case(setting_of(properties, "STORE_TIMEOUT"))

    first_call_ends = setting_of(properties, "DLF_DEADLINE") + store_call + ANSWER_MARGIN_SECONDS
    assert first_call_ends <= properties["Timeout"]


def test_every_function_has_time_for_what_it_starts(template: dict[str, Any]) -> None:
    """Outside API Gateway's limit, a function covers a whole job at its worst after a
    whole deadline (`time_per_job`); the queue worker polls its batch one job after
    another; SQS hides a message six timeouts long."""
    found = functions(template)
    [mapping] = resources(template, "AWS::Lambda::EventSourceMapping").values()
    queue = template["Resources"]["JobQueue"]["Properties"]

    for name, properties in found.items():
        if name != HTTP_FUNCTION:  # its figures: the two tests above
            assert properties["Timeout"] >= time_per_job(properties), name
    worker = found[QUEUE_FUNCTION]
    per_job = time_per_job(worker)
    assert worker["Timeout"] >= mapping["Properties"]["BatchSize"] * per_job
    assert queue["VisibilityTimeout"] >= 6 * worker["Timeout"]


def test_every_function_has_its_memory_and_concurrency(template: dict[str, Any]) -> None:
    found = functions(template)
    [mapping] = resources(template, "AWS::Lambda::EventSourceMapping").values()

    assert all(128 <= properties["MemorySize"] <= 10240 for properties in found.values())
    assert found[HTTP_FUNCTION]["ReservedConcurrentExecutions"] == {
        "Fn::If": ["HasApiConcurrency", {"Ref": "ApiReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
    }
    assert mapping["Properties"]["ScalingConfig"] == {
        "MaximumConcurrency": {"Ref": "QueueMaximumConcurrency"}
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
        "expire-freshness-records",
        "expire-replaced-versions",
    }
    [deny] = policy["Statement"]
    assert (deny["Effect"], deny["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": False}})


@pytest.mark.parametrize("function", list(HANDLERS))
def test_a_function_may_read_and_write_snapshots_but_not_delete_them(
    template: dict[str, Any], function: str
) -> None:
    s3 = {action for action in actions(template, function) if action.startswith("s3:")}

    assert s3 == {"s3:GetObject", "s3:PutObject", "s3:ListBucket"}
    assert "secretsmanager:GetSecretValue" in actions(template, function)


def test_each_function_has_only_the_permissions_of_its_own_trigger(
    template: dict[str, Any],
) -> None:
    """Least privilege: only the tick reads the job list and sends to the queue; only
    the queue worker consumes it; the HTTP and direct functions do neither."""
    config_readers = {
        function
        for function in HANDLERS
        for statement in statements(template, function)
        if any("/config/" in str(resource) for resource in _resources(statement))
    }
    senders = {
        function
        for function in HANDLERS
        if "SQSSendMessagePolicy" in policy_templates(template, function)
    }
    consumers = {
        function for function in HANDLERS if "sqs:ReceiveMessage" in actions(template, function)
    }

    assert config_readers == senders == {TICK_FUNCTION}
    assert consumers == {QUEUE_FUNCTION}
    assert actions(template, HTTP_FUNCTION) == actions(template, DIRECT_FUNCTION)
    assert (
        policy_templates(template, HTTP_FUNCTION)
        == policy_templates(template, DIRECT_FUNCTION)
        == set()
    )
    [consume] = [
        s for s in statements(template, QUEUE_FUNCTION) if "sqs:ReceiveMessage" in s["Action"]
    ]
    assert consume["Resource"] == {"Fn::GetAtt": "JobQueue.Arn"}


def _resources(statement: dict[str, Any]) -> list[Any]:
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


@pytest.mark.parametrize("function", list(HANDLERS))
def test_a_function_may_write_every_key_it_writes(template: dict[str, Any], function: str) -> None:
    from dlf_status.adapters.store_s3 import PROBE_KEYS
    from dlf_status.domain.model import JobRef
    from dlf_status.domain.snapshots import (
        freshness_key,
        history_key,
        latest_key,
        staged_transition_key,
        transition_key,
    )

    [writes] = [
        statement
        for statement in statements(template, function)
        if "s3:PutObject" in statement["Action"]
    ]
    allowed = [
        resource["Fn::Sub"].removeprefix("${SnapshotBucket.Arn}/")
        for resource in _resources(writes)
    ]
    job, moment = JobRef.parse("p", "j"), datetime(2026, 11, 25, tzinfo=UTC)
    keys = [
        history_key(job, moment, "0" * 64),
        latest_key(job),
        transition_key(job, moment, "0" * 64),
        staged_transition_key(job, moment, "0" * 64, "1" * 64),
        freshness_key("p", None, moment, "tick"),
        *PROBE_KEYS,
    ]

    for key in keys:
        assert any(fnmatch.fnmatchcase(key, pattern) for pattern in allowed), key


@pytest.mark.parametrize("function", list(HANDLERS))
def test_a_function_may_list_every_prefix_the_read_models_list(
    template: dict[str, Any], function: str
) -> None:
    from dlf_status.domain.model import JobRef
    from dlf_status.domain.snapshots import (
        FRESHNESS_ROOT,
        HISTORY_ROOT,
        LATEST_ROOT,
        TRANSITIONS_ROOT,
        job_prefix,
        workspace_prefix,
    )

    [listing] = [
        statement
        for statement in statements(template, function)
        if "s3:ListBucket" in statement["Action"]
    ]
    job = JobRef.parse("p", "j", "w")
    prefixes = [
        workspace_prefix(LATEST_ROOT, "p", None),
        workspace_prefix(LATEST_ROOT, "p", "w"),
        job_prefix(HISTORY_ROOT, job) + "date=2026-11-25/",
        job_prefix(TRANSITIONS_ROOT, job),
        workspace_prefix(FRESHNESS_ROOT, "p", "w"),
    ]

    assert listing["Resource"] == {"Fn::GetAtt": "SnapshotBucket.Arn"}
    # Without a condition every prefix may be listed; with one, each must match it.
    allowed = listing.get("Condition", {}).get("StringLike", {}).get("s3:prefix", ["*"])
    for prefix in prefixes:
        assert any(fnmatch.fnmatchcase(prefix, pattern) for pattern in allowed), prefix


def test_schedule_failures_and_async_failures_have_somewhere_to_go(
    template: dict[str, Any],
) -> None:
    tick = functions(template)[TICK_FUNCTION]
    schedule = tick["Events"]["Tick"]
    [mapping] = resources(template, "AWS::Lambda::EventSourceMapping").values()

    assert schedule["Type"] == "ScheduleV2"
    assert schedule["Properties"]["ScheduleExpression"] == {"Ref": "ScheduleRate"}
    assert "DeadLetterConfig" in schedule["Properties"]
    assert tick["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Type"] == "SQS"
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def _metric_names(alarm: dict[str, Any]) -> set[str]:
    properties = alarm["Properties"]
    names = {properties.get("MetricName")}
    for metric in properties.get("Metrics", []):
        if "MetricStat" in metric:
            names.add(metric["MetricStat"]["Metric"]["MetricName"])
    return names - {None}


def test_there_are_alarms_for_errors_throttles_and_contract_violations(
    template: dict[str, Any],
) -> None:
    alarms = resources(template, "AWS::CloudWatch::Alarm").values()
    metrics = set().union(*(_metric_names(alarm) for alarm in alarms))

    assert {"Errors", "Throttles", "ContractViolations", "PollFailures"} <= metrics


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_errors_and_throttles_of_every_function_raise_an_alarm(
    template: dict[str, Any], metric: str
) -> None:
    [alarm] = [
        alarm
        for alarm in resources(template, "AWS::CloudWatch::Alarm").values()
        if metric in _metric_names(alarm)
    ]
    watched = {
        dimension["Value"]["Ref"]
        for entry in alarm["Properties"]["Metrics"]
        if "MetricStat" in entry
        for dimension in entry["MetricStat"]["Metric"]["Dimensions"]
    }

    assert watched == set(HANDLERS)


def test_every_environment_variable_is_one_the_function_reads(template: dict[str, Any]) -> None:
    # Ours, and the C library's one the allocator adapter relies on.
    names = {variable.name for variable in VARIABLES} | {THRESHOLD_VARIABLE}

    for properties in functions(template).values():
        assert set(properties["Environment"]["Variables"]) <= names


def test_every_function_gives_large_freed_blocks_back(template: dict[str, Any]) -> None:
    """glibc reads the threshold at process start; the allocator adapter then skips its
    own mallopt call only when the value is exactly the one it would set."""
    for properties in functions(template).values():
        assert properties["Environment"]["Variables"][THRESHOLD_VARIABLE] == str(THRESHOLD_BYTES)


BUS = {"Fn::If": ["CreateEventBus", {"Ref": "TransitionEventBus"}, {"Ref": "EventBusName"}]}


def test_every_function_publishes_its_transitions_to_the_bus(template: dict[str, Any]) -> None:
    """Every function writes snapshots, so every one publishes: the bus the stack made,
    or the one it was given."""
    for properties in functions(template).values():
        assert properties["Environment"]["Variables"]["EVENT_BUS_NAME"] == BUS
    bus = template["Resources"]["TransitionEventBus"]
    assert bus["Type"] == "AWS::Events::EventBus"
    assert bus["Condition"] == "CreateEventBus"
    assert template["Conditions"]["CreateEventBus"] == {"Fn::Equals": [{"Ref": "EventBusName"}, ""]}
    assert template["Outputs"]["EventBusName"]["Value"] == BUS


@pytest.mark.parametrize("function", list(HANDLERS))
def test_a_function_may_put_events_on_that_bus_and_nothing_else(
    template: dict[str, Any], function: str
) -> None:
    events = [
        statement
        for statement in statements(template, function)
        if any(action.startswith("events:") for action in _actions(statement))
    ]

    [statement] = events
    assert _actions(statement) == ["events:PutEvents"]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == {
        "Fn::If": [
            "CreateEventBus",
            {"Fn::GetAtt": "TransitionEventBus.Arn"},
            {
                "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}"
                ":event-bus/${EventBusName}"
            },
        ]
    }


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_a_given_bus_name_is_one_the_function_accepts(template: dict[str, Any]) -> None:
    """The parameter allows what EVENT_BUS_NAME accepts (a name; an ARN would not fit
    the policy's resource), and nothing the function would refuse at its start."""
    import re

    from dlf_status.config import Settings
    from dlf_status.errors import ConfigurationError
    from tests.support.root import BASE_ENVIRONMENT

    allowed = re.compile(template["Parameters"]["EventBusName"]["AllowedPattern"])
    for name in ["dlf-status-transitions", "a.b_c-1", "x" * 256, "a/b", "a b", "x" * 257, "é"]:
        accepted = True
        try:
            Settings.from_environ({**BASE_ENVIRONMENT, "EVENT_BUS_NAME": name})
        except ConfigurationError:
            accepted = False
        assert (allowed.fullmatch(name) is not None) == accepted, name


def _envelope(record: dict[str, Any]) -> dict[str, Any]:
    from dlf_status.domain.events import put_events_entry, transition_event

    entry = put_events_entry(transition_event(record), "bus")
    assert entry is not None
    return {
        "source": entry["Source"],
        "detail-type": entry["DetailType"],
        "detail": json.loads(entry["Detail"]),
    }


def test_the_example_rule_sends_changes_to_exception_to_its_queue_only(
    template: dict[str, Any],
) -> None:
    from dlf_status.domain.model import JobRef
    from tests.support.event_patterns import matches
    from tests.support.fakes import MemoryStore
    from tests.support.read_models import observe

    rule = template["Resources"]["ExceptionRule"]
    policy = template["Resources"]["ExceptionAlertQueuePolicy"]["Properties"]
    store, job = MemoryStore(), JobRef.parse("p", "j")
    moments = [datetime(2026, 11, 25, 8, minute, tzinfo=UTC) for minute in range(4)]
    for moment, status, node in zip(
        moments,
        ["NORMAL", "NORMAL", "NORMAL", "STOPPED"],
        ["NORMAL", "EXCEPTION", "NORMAL", "NORMAL"],
        strict=True,
    ):
        observe(store, job, status, moment, {"n1": node})
    records = store.transitions()  # a node to EXCEPTION, back to NORMAL, the job STOPPED

    pattern = rule["Properties"]["EventPattern"]
    assert [matches(pattern, _envelope(record)) for record in records] == [True, False, False]
    assert rule["Properties"]["EventBusName"] == {"Ref": "TransitionEventBus"}
    [target] = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": "ExceptionAlertQueue.Arn"}
    assert policy["Queues"] == [{"Ref": "ExceptionAlertQueue"}]
    [allow] = policy["PolicyDocument"]["Statement"]
    assert (allow["Principal"], allow["Action"]) == (
        {"Service": "events.amazonaws.com"},
        "sqs:SendMessage",
    )
    assert allow["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": "ExceptionRule.Arn"}}
    }


def test_the_fleet_goes_stale_after_the_parameter(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["StaleAfterSeconds"]

    assert str(parameter["Default"]) == DEFAULTS["STALE_AFTER"]
    for properties in functions(template).values():
        assert properties["Environment"]["Variables"]["STALE_AFTER"] == {"Ref": "StaleAfterSeconds"}
