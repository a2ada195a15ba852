from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest
from huaweicloudsdkdgc.v1.region.dgc_region import DgcRegion
from hypothesis import given
from hypothesis import strategies as st

from dlf_status.adapters.store_s3 import addressing_style_for
from dlf_status.config import (
    KNOWN_REGIONS,
    VARIABLES,
    Credentials,
    S3Location,
    Settings,
    SnapshotConsistency,
    endpoint_for_region,
    http_url,
)
from dlf_status.domain.model import ValidationMode
from dlf_status.errors import ConfigurationError

MINIMAL = {"DLF_REGION": "cn-north-4", "DLF_AUTH_TOKEN": "token-value"}
LOCATION = "snapshot_location"


def test_the_region_table_is_the_official_sdks() -> None:
    assert set(DgcRegion.static_fields) == KNOWN_REGIONS
    for region_id, region in DgcRegion.static_fields.items():
        assert endpoint_for_region(region_id) == region.endpoints[0]


def test_defaults_give_a_working_configuration() -> None:
    settings = Settings.from_environ(MINIMAL)

    assert settings.upstream.endpoint == "https://dayu-dlf.cn-north-4.myhuaweicloud.com"
    assert settings.upstream.deadline == 20
    assert settings.upstream.max_attempts == 3
    assert settings.validation_mode is ValidationMode.LENIENT
    assert settings.snapshot_location == Path("snapshots")
    assert settings.serve_stale is True
    assert settings.credentials == Credentials(auth_token="token-value")


def test_an_explicit_endpoint_wins_over_the_region() -> None:
    settings = Settings.from_environ({**MINIMAL, "DLF_ENDPOINT": "http://127.0.0.1:9000/"})

    assert settings.upstream.endpoint == "http://127.0.0.1:9000"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DLF_REGION": "mars-1"}, "DLF_REGION 'mars-1'"),
        ({"DLF_REGION": ""}, "set DLF_ENDPOINT or DLF_REGION"),
        ({"DLF_ENDPOINT": "ftp://x"}, "DLF_ENDPOINT must be an http"),
        ({"DLF_ENDPOINT": "https://user:pw@host"}, "must not carry"),
        ({"DLF_DEADLINE": "0"}, "DLF_DEADLINE must be a number of seconds from 0.001 to 900"),
        ({"DLF_DEADLINE": "soon"}, "DLF_DEADLINE must be a number of seconds"),
        ({"DLF_MAX_ATTEMPTS": "-1"}, "DLF_MAX_ATTEMPTS must be a whole number from 1 to 10"),
        ({"VALIDATION_MODE": "loose"}, "VALIDATION_MODE must be lenient or strict"),
        ({"SERVE_STALE": "maybe"}, "SERVE_STALE must be true or false"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be"),
        ({"DLF_AUTH_TOKEN": ""}, "no credentials"),
        ({"DLF_AK": "FAKEACCESSKEY"}, "an AK needs its SK"),
        (
            {"DLF_AUTH_TOKEN": "", "DLF_SECURITY_TOKEN": "fake-security-token"},
            "a security token needs an AK/SK",
        ),
        ({"AWS_ENDPOINT_URL_S3": "localhost:8333"}, "AWS_ENDPOINT_URL_S3 must be an http"),
        ({"S3_ADDRESSING_STYLE": "dns"}, "S3_ADDRESSING_STYLE must be auto, virtual or path"),
        (
            {"SNAPSHOT_CONSISTENCY": "eventual"},
            "SNAPSHOT_CONSISTENCY must be strict or best-effort",
        ),
    ],
)
def test_a_bad_variable_is_named_in_the_error(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_environ({**MINIMAL, **overrides})


def test_stores_are_checked_and_addressed_as_they_allow_by_default() -> None:
    defaults = Settings.from_environ(MINIMAL)
    chosen = Settings.from_environ(
        {**MINIMAL, "S3_ADDRESSING_STYLE": "Path", "SNAPSHOT_CONSISTENCY": "BEST-EFFORT"}
    )

    assert (defaults.s3_addressing_style, defaults.snapshot_consistency) == ("auto", "strict")
    assert (chosen.s3_addressing_style, chosen.snapshot_consistency) == ("path", "best-effort")
    assert chosen.snapshot_consistency is SnapshotConsistency.BEST_EFFORT


def test_a_credentials_secret_defers_credentials_to_bootstrap() -> None:
    settings = Settings.from_environ(
        {"DLF_REGION": "cn-north-4", "DLF_CREDENTIALS_SECRET": "dlf/creds"}
    )

    assert settings.credentials is None
    assert settings.credentials_secret == "dlf/creds"


def test_credentials_never_show_their_values() -> None:
    credentials = Credentials(ak="AKVALUE", sk="SKVALUE", security_token="STVALUE")

    assert "VALUE" not in repr(credentials)
    assert "VALUE" not in str(credentials)
    assert set(credentials.secrets) == {"AKVALUE", "SKVALUE", "STVALUE"}


def test_the_readme_configuration_table_is_the_code_s() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("| name | default | meaning |", 1)[1].split("\n\n", 1)[0]
    rows = [
        [cell.strip().strip("`") for cell in line.strip("|").split("|")]
        for line in table.strip().splitlines()[1:]
    ]

    assert rows == [[v.name, v.default, v.meaning] for v in VARIABLES]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DLF_ENDPOINT", "http://[::1", "DLF_ENDPOINT has an invalid IPv6 host"),
        ("DLF_ENDPOINT", "http://[::1]x", "DLF_ENDPOINT has an invalid IPv6 host"),
        ("DLF_ENDPOINT", "http://h:99999", "DLF_ENDPOINT must have a port from 1 to 65535"),
        ("DLF_ENDPOINT", "http://h:0", "DLF_ENDPOINT must have a port from 1 to 65535"),
        ("DLF_ENDPOINT", "http://h:", "DLF_ENDPOINT must have a port from 1 to 65535"),
        ("DLF_ENDPOINT", "http://h:+80", "DLF_ENDPOINT must have a port from 1 to 65535"),
        ("DLF_ENDPOINT", "http://h:8_0", "DLF_ENDPOINT must have a port from 1 to 65535"),
        ("DLF_ENDPOINT", "http://h:\uff18\uff10", "DLF_ENDPOINT must be an http(s) URL of"),
        ("DLF_ENDPOINT", "http://exa mple.com", "DLF_ENDPOINT must be an http(s) URL of"),
        ("DLF_ENDPOINT", "http://h\\@evil", "DLF_ENDPOINT must not carry credentials"),
        ("DLF_ENDPOINT", "http://h/?", "DLF_ENDPOINT must not carry a query"),
        ("DLF_ENDPOINT", "http://-h-/", "DLF_ENDPOINT has an invalid host name"),
        ("DLF_ENDPOINT", "http:///path", "DLF_ENDPOINT has an invalid host name"),
        ("DLF_ENDPOINT", "http://h/%zz", "DLF_ENDPOINT has a '%' that is not an escape"),
        ("DLF_ENDPOINT", "http://h\udcff", "DLF_ENDPOINT is not valid UTF-8"),
        ("DLF_ENDPOINT", "http://h/\u202eexe", "DLF_ENDPOINT holds a control character (U+202E)"),
        ("AWS_ENDPOINT_URL_S3", "http://[::1", "AWS_ENDPOINT_URL_S3 has an invalid IPv6"),
        ("AWS_ENDPOINT_URL_S3", "http://h:65536", "AWS_ENDPOINT_URL_S3 must have a port"),
        ("FANOUT_QUEUE_URL", "sqs://queue", "FANOUT_QUEUE_URL must be an http(s) URL"),
        ("SNAPSHOT_URI", "s3://", "SNAPSHOT_URI 's3://' names no bucket"),
        ("SNAPSHOT_URI", "s3:///prefix", "names no bucket"),
        ("SNAPSHOT_URI", "s3://ab/x", "names bucket 'ab': S3 bucket names are 3 to 255"),
        ("SNAPSHOT_URI", "s3://" + "a" * 256, "S3 bucket names are 3 to 255 letters"),
        ("SNAPSHOT_URI", "s3://snap shots/x", "names bucket 'snap shots'"),
        ("SNAPSHOT_URI", "s3://snap:shots/x", "names bucket 'snap:shots'"),
        ("SNAPSHOT_URI", "s3://sn\u00e4pshots/x", "names bucket 'sn\u00e4pshots'"),
        ("JOBS_URI", "s3://b@d/jobs.json", "JOBS_URI 's3://b@d/jobs.json' names bucket 'b@d'"),
        ("SNAPSHOT_URI", "s3://bucket/a/../b", "'..' segment"),
        ("SNAPSHOT_URI", "s3://bucket/a//b", "empty, '.' or '..' segment"),
        ("SNAPSHOT_URI", "s3://bucket/" + "p" * 257, "a key longer than 256 bytes"),
        ("SNAPSHOT_URI", "gs://bucket/x", "SNAPSHOT_URI must be s3://... or a local path"),
        ("STORE_TIMEOUT", "0", "STORE_TIMEOUT must be a number of seconds from 0.001 to 900"),
        ("SNAPSHOT_URI", "/x/" * 2000, "SNAPSHOT_URI is a path longer than 4096 bytes"),
        ("JOBS_URI", "s3://bucket", "JOBS_URI 's3://bucket' names no object key"),
        ("JOBS_URI", "s3://bucket/config/", "names no object key"),
        ("JOBS_URI", "https://host/jobs.json", "JOBS_URI must be s3://... or a local path"),
        ("DLF_CONNECT_TIMEOUT", "inf", "DLF_CONNECT_TIMEOUT must be a number of seconds"),
        ("DLF_READ_TIMEOUT", "nan", "DLF_READ_TIMEOUT must be a number of seconds"),
        ("DLF_DEADLINE", "1e309", "DLF_DEADLINE must be a number of seconds"),
        ("DLF_DEADLINE", "1e-320", "DLF_DEADLINE must be a number of seconds"),
        ("DLF_DEADLINE", "901", "DLF_DEADLINE must be a number of seconds from 0.001 to 900"),
        ("DLF_DEADLINE", "\uff11\uff10", "DLF_DEADLINE must be a number of seconds"),
        ("DLF_RETRY_AFTER_CAP", "-1", "DLF_RETRY_AFTER_CAP must be a number of seconds"),
        ("DLF_MAX_ATTEMPTS", "9" * 5000, "DLF_MAX_ATTEMPTS must be a whole number from 1 to 10"),
        ("DLF_MAX_ATTEMPTS", "1_0", "DLF_MAX_ATTEMPTS must be a whole number"),
        ("DLF_MAX_ATTEMPTS", "\u00b2", "DLF_MAX_ATTEMPTS must be a whole number"),
        ("DLF_MAX_RESPONSE_BYTES", "99999999999999999999", "from 1,024 to 67,108,864"),
        ("POLL_CONCURRENCY", "0", "POLL_CONCURRENCY must be a whole number from 1 to 256"),
        ("POLL_CONCURRENCY", "100000000", "POLL_CONCURRENCY must be a whole number"),
        ("FANOUT_THRESHOLD", "-5", "FANOUT_THRESHOLD must be a whole number"),
        ("LOG_LEVEL", "debug\x00", "LOG_LEVEL holds a control character (U+0000) at position 5"),
        ("LOG_LEVEL", "TRACE", "LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL"),
        ("SERVE_STALE", "\udcff", "SERVE_STALE is not valid UTF-8"),
        ("DLF_CREDENTIALS_SECRET", "dlf creds", "DLF_CREDENTIALS_SECRET must be a Secrets"),
        ("DLF_REGION", "r" * 500, "DLF_REGION 'rrrr"),
    ],
)
def test_each_class_of_bad_value_is_refused_by_name(name: str, value: str, message: str) -> None:
    environ = {**MINIMAL, name: value}

    with pytest.raises(ConfigurationError) as caught:
        Settings.from_environ(environ)

    assert message in caught.value.detail
    assert caught.value.detail.isprintable()
    assert len(caught.value.detail) < 400


@pytest.mark.parametrize(
    ("name", "value", "field", "expected"),
    [
        ("DLF_ENDPOINT", "http://[::1]:8080/", "endpoint", "http://[::1]:8080"),
        (
            "DLF_ENDPOINT",
            "https://host.example:443/proxy/",
            "endpoint",
            "https://host.example:443/proxy",
        ),
        ("DLF_ENDPOINT", "http://my_service:65535", "endpoint", "http://my_service:65535"),
        ("SNAPSHOT_URI", "s3://snap-1.example/", LOCATION, S3Location("snap-1.example", "")),
        # legacy names (us-east-1 before 2018) and what S3-compatible stores allow
        ("SNAPSHOT_URI", "s3://Legacy_Bucket/dlf", LOCATION, S3Location("Legacy_Bucket", "dlf")),
        ("SNAPSHOT_URI", "s3://a..b/x", LOCATION, S3Location("a..b", "x")),
        ("SNAPSHOT_URI", "s3://192.168.1.1/x/y/", LOCATION, S3Location("192.168.1.1", "x/y")),
        ("SNAPSHOT_URI", "s3://-_.", LOCATION, S3Location("-_.", "")),
        ("SNAPSHOT_URI", "s3://" + "B" * 255, LOCATION, S3Location("B" * 255, "")),
        ("JOBS_URI", "s3://Config_2016/jobs.json", "jobs_uri", "s3://Config_2016/jobs.json"),
        ("SNAPSHOT_URI", "  ", LOCATION, Path("snapshots")),
        ("SNAPSHOT_URI", "/srv/\u5feb\u7167", LOCATION, Path("/srv/\u5feb\u7167")),
        # a scheme only at the start makes a URI: the rest is a path, for config and store
        ("SNAPSHOT_URI", "out/a://b", LOCATION, Path("out/a:/b")),
        ("JOBS_URI", "s3://bucket/config/jobs.yaml", "jobs_uri", "s3://bucket/config/jobs.yaml"),
        ("DLF_DEADLINE", ".5", "deadline", 0.5),
        ("STORE_TIMEOUT", "", "store_timeout", 2.0),
        ("STORE_TIMEOUT", "0.8", "store_timeout", 0.8),
        ("DLF_DEADLINE", "900", "deadline", 900.0),
        ("DLF_CONNECT_TIMEOUT", "3.", "connect_timeout", 3.0),
        ("DLF_MAX_ATTEMPTS", "010", "max_attempts", 10),
        ("POLL_CONCURRENCY", "", "poll_concurrency", 16),
        ("POLL_CONCURRENCY", "256\n", "poll_concurrency", 256),
    ],
)
def test_good_values_are_read(name: str, value: str, field: str, expected: object) -> None:
    parsed = Settings.from_environ({**MINIMAL, name: value})

    holder = parsed.upstream if field in parsed.upstream._fields else parsed
    assert getattr(holder, field) == expected


def test_a_credential_with_a_control_character_is_refused_without_quoting_it() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_environ({**MINIMAL, "DLF_AUTH_TOKEN": "token\nvalue-secret"})

    assert "DLF_AUTH_TOKEN" in caught.value.detail
    assert "secret" not in caught.value.detail


# -- IPv4 addresses spelt only some clients' way ------------------------------------------


@pytest.mark.parametrize(
    "host",
    ["127.1", "2130706433", "0x7f.1", "0x7f000001", "0177.0.0.1", "127.0.0.01", "127.0.0.1."],
)
def test_an_ipv4_address_not_written_as_four_decimal_numbers_is_refused(host: str) -> None:
    with pytest.raises(ConfigurationError, match="four decimal numbers"):
        http_url("AWS_ENDPOINT_URL_S3", f"http://{host}:8333")


@pytest.mark.parametrize("host", ["127.0.0.1", "10.0.0.255", "s3.example.com", "a1.b2", "v1"])
def test_canonical_ipv4_and_host_names_are_kept(host: str) -> None:
    assert http_url("AWS_ENDPOINT_URL_S3", f"http://{host}:8333") == f"http://{host}:8333"


HOSTS = st.lists(
    st.text(alphabet="0123456789xXabcf", min_size=1, max_size=11), min_size=1, max_size=5
).map(".".join)


@given(HOSTS)
def test_an_accepted_host_is_an_ip_to_python_whenever_it_is_one_to_the_c_library(
    host: str,
) -> None:
    try:
        http_url("AWS_ENDPOINT_URL_S3", f"http://{host}")
    except ConfigurationError:
        return
    try:
        socket.inet_aton(host)
    except OSError:
        return  # not an IP to the C library either: a host name to both
    ipaddress.IPv4Address(host)  # raises if the two disagree
    assert addressing_style_for("auto", f"http://{host}", "snapshots") == "path"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        ("dlf-status-events", "dlf-status-events"),
        ("Team.Bus_1", "Team.Bus_1"),
        (
            "arn:aws:events:eu-west-1:123456789012:event-bus/dlf-status",
            "arn:aws:events:eu-west-1:123456789012:event-bus/dlf-status",
        ),
        (
            "arn:aws-cn:events:cn-north-1:123456789012:event-bus/ops",
            "arn:aws-cn:events:cn-north-1:123456789012:event-bus/ops",
        ),
    ],
)
def test_an_event_bus_is_a_name_or_its_arn(value: str, expected: str | None) -> None:
    assert Settings.from_environ({**MINIMAL, "EVENT_BUS_NAME": value}).event_bus_name == expected


@pytest.mark.parametrize(
    "value",
    [
        "bus with spaces",
        "b" * 257,
        "arn:aws:events:eu-west-1:1234:event-bus/short-account",
        "arn:aws:sqs:eu-west-1:123456789012:queue",
        "bus/with/slashes",
        "\u0431\u0443\u0441",
    ],
)
def test_a_bad_event_bus_is_refused_by_name(value: str) -> None:
    with pytest.raises(ConfigurationError, match=r"^EVENT_BUS_NAME must be an EventBridge bus"):
        Settings.from_environ({**MINIMAL, "EVENT_BUS_NAME": value})


@pytest.mark.parametrize(
    ("value", "expected"), [("", 900.0), ("60", 60.0), ("1", 1.0), ("31622400", 31_622_400.0)]
)
def test_stale_after_is_seconds_within_a_year(value: str, expected: float) -> None:
    assert Settings.from_environ({**MINIMAL, "STALE_AFTER": value}).stale_after == expected


@pytest.mark.parametrize("value", ["0", "0.5", "31622401", "1e3", "-60", "soon"])
def test_a_bad_stale_after_is_refused_by_name(value: str) -> None:
    with pytest.raises(ConfigurationError, match=r"^STALE_AFTER must be a number of seconds"):
        Settings.from_environ({**MINIMAL, "STALE_AFTER": value})


def test_store_reads_need_no_upstream_settings_but_check_those_given() -> None:
    """`dlf-status fleet` and `history` read the store only: no endpoint or
    credentials need be configured for them, and what is configured is still checked."""
    bare = Settings.from_environ({"SNAPSHOT_URI": "/srv/snapshots"}, upstream_required=False)

    assert (bare.upstream.endpoint, bare.credentials, bare.snapshot_location) == (
        "",
        None,
        Path("/srv/snapshots"),
    )
    with pytest.raises(ConfigurationError, match="set DLF_ENDPOINT or DLF_REGION"):
        Settings.from_environ({"SNAPSHOT_URI": "/srv/snapshots"})
    with pytest.raises(ConfigurationError, match="DLF_REGION 'mars-1'"):
        Settings.from_environ({"DLF_REGION": "mars-1"}, upstream_required=False)
    with pytest.raises(ConfigurationError, match="an AK needs its SK"):
        Settings.from_environ({"DLF_AK": "FAKEACCESSKEY"}, upstream_required=False)
