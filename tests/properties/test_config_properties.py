"""Any value of any variable gives a Settings object or one ConfigurationError that
names the variable, in one printable line; never another exception."""

from __future__ import annotations

import math
import re
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlf_status import bootstrap
from dlf_status.adapters.store_s3 import addressing_style_for
from dlf_status.config import (
    ATTEMPTS,
    CONCURRENCY,
    FANOUT_JOBS,
    RESPONSE_BYTES,
    SECONDS,
    VARIABLES,
    S3Location,
    Settings,
)
from dlf_status.entrypoints import startup
from dlf_status.errors import ConfigurationError
from tests.properties.setting_strategies import setting_values

MINIMAL = {"DLF_REGION": "cn-north-4", "DLF_AUTH_TOKEN": "token-value"}
# The Credentials class words its own errors (they name the variables as a group).
CREDENTIALS = {"DLF_AK", "DLF_SK", "DLF_SECURITY_TOKEN", "DLF_AUTH_TOKEN"}
NAMES = [variable.name for variable in VARIABLES]


def settings_or_error(environ: dict[str, str]) -> Settings | ConfigurationError:
    try:
        return Settings.from_environ(environ)
    except ConfigurationError as error:
        return error


def assert_one_printable_line(text: str) -> None:
    assert text
    assert text.isprintable(), text
    assert len(text) < 600


def assert_in_documented_ranges(parsed: Settings) -> None:
    upstream = parsed.upstream
    for seconds in (
        upstream.connect_timeout,
        upstream.read_timeout,
        upstream.deadline,
        upstream.retry_after_cap,
    ):
        assert math.isfinite(seconds)
        assert SECONDS.low <= seconds <= SECONDS.high
    assert ATTEMPTS.low <= upstream.max_attempts <= ATTEMPTS.high
    assert RESPONSE_BYTES.low <= upstream.max_response_bytes <= RESPONSE_BYTES.high
    assert CONCURRENCY.low <= parsed.poll_concurrency <= CONCURRENCY.high
    assert FANOUT_JOBS.low <= parsed.fanout_threshold <= FANOUT_JOBS.high
    assert upstream.endpoint.lower().startswith(("http://", "https://"))
    assert parsed.log_level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
    for url in (parsed.s3_endpoint_url, parsed.fanout_queue_url):
        assert url is None or url.lower().startswith(("http://", "https://"))


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=150, deadline=None)
@given(value=setting_values)
def test_any_value_of_a_variable_is_accepted_in_range_or_refused_by_name(
    name: str, value: str
) -> None:
    environ = {**MINIMAL, name: value}
    if name == "DLF_ENDPOINT":
        environ.pop("DLF_REGION")

    outcome = settings_or_error(environ)

    if isinstance(outcome, Settings):
        assert_in_documented_ranges(outcome)
        return
    assert_one_printable_line(outcome.detail)
    if name in CREDENTIALS:
        # a credential is never quoted back, whole or in part
        assert len(value.strip()) < 4 or value.strip() not in outcome.detail
    else:
        assert name in outcome.detail


@settings(max_examples=200, deadline=None)
@given(
    environ=st.dictionaries(
        st.sampled_from([name for name in NAMES if name != "DLF_CREDENTIALS_SECRET"]),
        setting_values,
        max_size=8,
    ),
    build=st.sampled_from(
        [
            bootstrap.build_status_service,
            bootstrap.build_tick_runner,
            bootstrap.build_queue_worker,
        ]
    ),
)
def test_every_function_starts_from_any_environment_without_raising(
    environ: dict[str, str], build: Any
) -> None:
    """What each Lambda function's init runs: it must never raise, whatever the
    environment (the secret is left out: reading it is a network call)."""
    # Generated credentials must not stay registered with the process-wide log masker:
    # it would mask them (say "true" or '",') in every later test's log lines.
    with (
        mock.patch.object(startup, "register_secrets"),
        mock.patch.object(bootstrap, "register_secrets"),
    ):
        started = startup.start(build, {**MINIMAL, **environ})

    if isinstance(started, ConfigurationError):
        assert_one_printable_line(started.detail)
    else:
        assert type(started).__name__ in ("StatusService", "TickRunner", "QueueWorker")


# The README's rule for the bucket of an s3:// URI, and for a DNS label (which
# virtual-hosted addressing needs over https), written here from the README.
README_BUCKET = re.compile(r"[A-Za-z0-9._-]{3,255}")
DNS_LABEL = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
bucket_text = st.one_of(
    st.text(st.sampled_from("aZ09._-"), min_size=1, max_size=260),
    st.text(st.sampled_from("abc-"), min_size=1, max_size=70),
    st.text(max_size=20),
    st.sampled_from(["Legacy_Bucket", "my.Bucket-2017", "a" * 255, "a" * 256, "snapshots"]),
).filter(lambda bucket: "/" not in bucket and bucket)


@settings(max_examples=300, deadline=None)
@given(bucket=bucket_text, variable=st.sampled_from(["SNAPSHOT_URI", "JOBS_URI"]))
def test_a_bucket_is_accepted_exactly_when_the_readme_rule_allows_it(
    bucket: str, variable: str
) -> None:
    uri = f"s3://{bucket}/dlf/jobs.json"

    outcome = settings_or_error({**MINIMAL, variable: uri})

    if README_BUCKET.fullmatch(bucket):
        assert isinstance(outcome, Settings)
        if variable == "JOBS_URI":
            assert outcome.jobs_uri == uri
        else:
            assert outcome.snapshot_location == S3Location(bucket, "dlf/jobs.json")
        # and `auto` reaches it: virtual-hosted only where the name is a DNS label
        style = addressing_style_for("auto", "https://s3.example.com", bucket)
        assert style == ("virtual" if DNS_LABEL.fullmatch(bucket) else "path")
    else:
        assert isinstance(outcome, ConfigurationError)
        assert variable in outcome.detail
        assert_one_printable_line(outcome.detail)
