"""Every error class has a deliberate policy: whether a retry may mend it, and what a
caller sees (HTTP status, problem type, CLI exit code). Decided from the class, never
from its name: a subclass inherits its parent's policy until it says otherwise."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
from pathlib import Path
from typing import NamedTuple, cast

import pytest

import dlf_status
from dlf_status import errors
from dlf_status.entrypoints.problems import ExitCode, mapping_for, mapping_for_class


class Policy(NamedTuple):
    retryable: bool
    http_status: int
    slug: str
    exit_code: int


# The table a new error class must join: written by hand, one decision per row.
POLICIES: dict[type[errors.DlfStatusError], Policy] = {
    errors.DlfStatusError: Policy(False, 500, "internal", ExitCode.INTERNAL),
    errors.InvalidInput: Policy(False, 400, "invalid-input", ExitCode.BAD_INPUT),
    errors.RouteNotFound: Policy(False, 404, "route-not-found", ExitCode.BAD_INPUT),
    errors.MethodNotAllowed: Policy(False, 405, "method-not-allowed", ExitCode.BAD_INPUT),
    errors.RequestNotReadable: Policy(False, 400, "invalid-input", ExitCode.BAD_INPUT),
    errors.RequestTargetTooLong: Policy(False, 414, "request-target-too-long", ExitCode.BAD_INPUT),
    errors.RequestHeadersTooLarge: Policy(
        False, 431, "request-headers-too-large", ExitCode.BAD_INPUT
    ),
    errors.HttpVersionNotSupported: Policy(
        False, 505, "http-version-not-supported", ExitCode.BAD_INPUT
    ),
    errors.ServerBusy: Policy(True, 503, "server-busy", ExitCode.UPSTREAM_FAILURE),
    errors.ConfigurationError: Policy(True, 500, "configuration", ExitCode.BAD_INPUT),
    errors.UpstreamError: Policy(True, 502, "upstream-failure", ExitCode.UPSTREAM_FAILURE),
    errors.JobNotFound: Policy(False, 404, "job-not-found", ExitCode.JOB_NOT_FOUND),
    errors.UpstreamAuthRejected: Policy(
        False, 502, "upstream-auth-rejected", ExitCode.UPSTREAM_FAILURE
    ),
    errors.UpstreamTimeout: Policy(True, 504, "upstream-timeout", ExitCode.UPSTREAM_FAILURE),
    errors.UpstreamThrottled: Policy(True, 502, "upstream-failure", ExitCode.UPSTREAM_FAILURE),
    errors.UpstreamUnavailable: Policy(True, 502, "upstream-failure", ExitCode.UPSTREAM_FAILURE),
    errors.UpstreamRejected: Policy(False, 502, "upstream-failure", ExitCode.UPSTREAM_FAILURE),
    errors.UpstreamBadResponse: Policy(True, 502, "upstream-failure", ExitCode.UPSTREAM_FAILURE),
    errors.LargeAnswersBusy: Policy(True, 503, "large-answers-busy", ExitCode.UPSTREAM_FAILURE),
    errors.IncompleteJobList: Policy(False, 502, "upstream-failure", ExitCode.UPSTREAM_FAILURE),
    errors.ContractViolation: Policy(False, 502, "contract-violation", ExitCode.UPSTREAM_FAILURE),
    errors.StoreError: Policy(True, 500, "store-failure", ExitCode.STORE_FAILURE),
    errors.StoreConflict: Policy(True, 500, "store-failure", ExitCode.STORE_FAILURE),
    errors.ConditionalWritesIgnored: Policy(True, 500, "store-failure", ExitCode.STORE_FAILURE),
    errors.UserMetadataDropped: Policy(True, 500, "store-failure", ExitCode.STORE_FAILURE),
    errors.WriteOutcomeUnknown: Policy(True, 500, "store-failure", ExitCode.STORE_FAILURE),
    errors.ClockAhead: Policy(True, 500, "store-failure", ExitCode.STORE_FAILURE),
    errors.TransitionDeferred: Policy(True, 500, "store-failure", ExitCode.STORE_FAILURE),
    errors.StoreFileSystemError: Policy(True, 500, "store-failure", ExitCode.STORE_FAILURE),
    errors.StoreTooSlow: Policy(True, 503, "store-too-slow", ExitCode.STORE_FAILURE),
    errors.ReadLimitExceeded: Policy(False, 422, "read-limit-exceeded", ExitCode.BAD_INPUT),
    # retryable per error (the publisher decides); the class default is the base's
    errors.EventPublishError: Policy(False, 500, "event-publish-failure", ExitCode.STORE_FAILURE),
    errors.QueueError: Policy(True, 500, "queue-failure", ExitCode.STORE_FAILURE),
    errors.TickFailed: Policy(True, 500, "tick-failed", ExitCode.BAD_INPUT),
    errors.RetryLater: Policy(True, 503, "retry-later", ExitCode.UPSTREAM_FAILURE),
}


def error_classes() -> set[type[BaseException]]:
    return {
        value
        for value in vars(errors).values()
        if inspect.isclass(value)
        and issubclass(value, BaseException)
        and value.__module__ == errors.__name__
    }


def test_every_error_class_has_a_row_in_the_policy_table() -> None:
    assert error_classes() == set(POLICIES)


@pytest.mark.parametrize(
    ("error_class", "policy"), list(POLICIES.items()), ids=[c.__name__ for c in POLICIES]
)
def test_each_error_class_has_its_deliberate_policy(
    error_class: type[errors.DlfStatusError], policy: Policy
) -> None:
    mapping = mapping_for_class(error_class)

    assert error_class.retryable is policy.retryable
    assert (mapping.http_status, mapping.slug, mapping.exit_code) == (
        policy.http_status,
        policy.slug,
        policy.exit_code,
    )


@pytest.mark.parametrize("parent", list(POLICIES), ids=[c.__name__ for c in POLICIES])
def test_a_subclass_inherits_its_parents_policy_whatever_its_name(
    parent: type[errors.DlfStatusError],
) -> None:
    renamed = cast("type[errors.DlfStatusError]", type("SomethingElseEntirely", (parent,), {}))
    error = renamed.__new__(renamed)

    assert errors.is_retryable(error) is POLICIES[parent].retryable
    assert mapping_for(error) == mapping_for_class(parent)


def test_the_event_publisher_decides_retries_per_error() -> None:
    later = errors.EventPublishError("throttled", retryable=True)
    never = errors.EventPublishError("access denied", retryable=False)

    assert (errors.is_retryable(later), errors.is_retryable(never)) == (True, False)


def test_the_queue_adapter_decides_retries_per_refused_message() -> None:
    outage = errors.QueueError("the queue is down")
    refused = errors.QueueError("the message itself is refused", retryable=False)

    assert (errors.is_retryable(outage), errors.is_retryable(refused)) == (True, False)


def test_an_error_that_is_not_ours_is_retried_and_answered_as_internal() -> None:
    bug = KeyError("a bug")

    assert errors.is_retryable(bug) is True
    assert mapping_for(bug).slug == "internal"


def test_no_error_of_ours_is_answered_as_internal_but_the_base() -> None:
    internal = [cls for cls in POLICIES if mapping_for_class(cls).slug == "internal"]

    assert internal == [errors.DlfStatusError]


PACKAGE = Path(dlf_status.__file__).parent
# Built at import as the Lambda runtime loads them: read as text, never imported here.
ENTRY_MODULES = "dlf_status.entrypoints.lambda_"
# A codec's own ValueError, as json.JSONDecodeError is json's: every boundary turns it
# into InvalidInput or UpstreamBadResponse, and no caller ever meets it.
CODEC_ERRORS = {
    "dlf_status.domain.jsoncodec.JsonDecodeError",
    "dlf_status.domain.jsoncodec.JsonLimitExceeded",
    "dlf_status.domain.jsoncodec.JsonRepeatedName",
}


def test_every_exception_class_of_the_package_lives_in_errors_or_is_private() -> None:
    """Private ones (`_RetryableFailure`) never leave their module; the codec's are listed."""
    found = []
    for module_info in pkgutil.walk_packages([str(PACKAGE)], "dlf_status."):
        name = module_info.name
        if name.startswith(ENTRY_MODULES):
            path = PACKAGE.joinpath(*name.split(".")[1:]).with_suffix(".py")
            tree = ast.parse(path.read_text(encoding="utf-8"))
            assert not [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)], name
            continue
        if name == errors.__name__:
            continue
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == name
                and not value.__name__.startswith("_")
            ):
                found.append(f"{name}.{value.__name__}")

    assert sorted(found) == sorted(CODEC_ERRORS), json.dumps(found)
