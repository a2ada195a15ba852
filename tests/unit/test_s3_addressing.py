"""S3_ADDRESSING_STYLE: which style `auto` picks, and the URL boto3 really builds.

The URL is read from botocore's `before-send` event, which fires after signing and
before any socket is opened (unit tests run with sockets refused); the hook stops
the request there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from dlf_status.adapters.aws import s3_clients
from dlf_status.adapters.store_s3 import addressing_style_for, make_s3_client
from dlf_status.bootstrap import build_store
from dlf_status.config import S3AddressingStyle, Settings
from dlf_status.errors import ConfigurationError
from tests.support.root import root_settings
from tests.support.seaweed import PATIENT_STORE_SECONDS


class _Sent(Exception):
    """Raised by the hook: the request was built and is not sent."""


@pytest.fixture(autouse=True)
def _fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLEFAKE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret-for-url-tests")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")


def sent_url(client: Any, bucket: str) -> str:
    """The URL of a PutObject as boto3 would send it."""
    seen: list[str] = []

    def stop(request: Any, **_: Any) -> None:
        seen.append(request.url)
        raise _Sent

    client.meta.events.register("before-send.s3", stop)
    with pytest.raises(_Sent):
        client.put_object(Bucket=bucket, Key="latest/x/latest.json", Body=b"{}")
    return seen[0]


# endpoint, bucket, what auto chooses, and the host and path boto3 then sends to.
AUTO_TABLE = [
    # AWS S3 (no endpoint): virtual-hosted unless the name cannot be a host name
    (
        None,
        "snapshots",
        "virtual",
        "snapshots.s3.eu-west-1.amazonaws.com",
        "/latest/x/latest.json",
    ),
    (
        None,
        "my.snapshots",
        "path",
        "s3.eu-west-1.amazonaws.com",
        "/my.snapshots/latest/x/latest.json",
    ),
    # Huawei OBS public endpoints refuse path-style (VirtualHostDomainRequired)
    (
        "https://obs.cn-north-4.myhuaweicloud.com",
        "snapshots",
        "virtual",
        "snapshots.obs.cn-north-4.myhuaweicloud.com",
        "/latest/x/latest.json",
    ),
    (
        "https://obs.cn-north-4.myhuaweicloud.com",
        "team.snapshots",  # dots over https: no wildcard certificate covers them
        "path",
        "obs.cn-north-4.myhuaweicloud.com",
        "/team.snapshots/latest/x/latest.json",
    ),
    (
        "http://minio.internal:9000",
        "team.snapshots",  # dots over plain http are fine in a host name
        "virtual",
        "team.snapshots.minio.internal:9000",
        "/latest/x/latest.json",
    ),
    (
        "https://s3.example.com",
        "Snapshots",
        "path",
        "s3.example.com",
        "/Snapshots/latest/x/latest.json",
    ),
    (
        "https://s3.example.com",
        "snap_shots",
        "path",
        "s3.example.com",
        "/snap_shots/latest/x/latest.json",
    ),
    ("https://s3.example.com", "ab", "path", "s3.example.com", "/ab/latest/x/latest.json"),
    # legacy us-east-1 names (before 2018): capitals, underscores, up to 255 characters
    (
        None,
        "Legacy_Bucket",
        "path",
        "s3.eu-west-1.amazonaws.com",
        "/Legacy_Bucket/latest/x/latest.json",
    ),
    (
        None,
        "l" * 255,
        "path",
        "s3.eu-west-1.amazonaws.com",
        f"/{'l' * 255}/latest/x/latest.json",
    ),
    (
        "http://s3.example.com",
        "Team.Snapshots",
        "path",
        "s3.example.com",
        "/Team.Snapshots/latest/x/latest.json",
    ),
    (
        "https://s3.example.com",
        "-snapshots",
        "path",
        "s3.example.com",
        "/-snapshots/latest/x/latest.json",
    ),
    (
        "http://s3.example.com",
        "10.0.0.1",
        "path",
        "s3.example.com",
        "/10.0.0.1/latest/x/latest.json",
    ),
    # an IP literal or loopback name has no DNS name to put the bucket in
    (
        "http://127.0.0.1:8333",
        "snapshots",
        "path",
        "127.0.0.1:8333",
        "/snapshots/latest/x/latest.json",
    ),
    ("http://[::1]:9000", "snapshots", "path", "[::1]:9000", "/snapshots/latest/x/latest.json"),
    (
        "http://localhost:9000",
        "snapshots",
        "path",
        "localhost:9000",
        "/snapshots/latest/x/latest.json",
    ),
    (
        "http://s3.localhost:9000",
        "snapshots",
        "path",
        "s3.localhost:9000",
        "/snapshots/latest/x/latest.json",
    ),
    (
        "https://10.1.2.3",
        "snapshots",
        "path",
        "10.1.2.3",
        "/snapshots/latest/x/latest.json",
    ),
]


@pytest.mark.parametrize(("endpoint", "bucket", "style", "host", "path"), AUTO_TABLE)
def test_auto_chooses_path_style_only_where_virtual_hosted_cannot_work(
    endpoint: str | None, bucket: str, style: str, host: str, path: str
) -> None:
    chosen = addressing_style_for("auto", endpoint, bucket)

    url = urlsplit(
        sent_url(
            make_s3_client(endpoint, addressing_style=chosen, call_seconds=PATIENT_STORE_SECONDS),
            bucket,
        )
    )

    assert chosen == style
    assert (url.netloc, url.path) == (host, path)


@pytest.mark.parametrize(
    ("endpoint", "bucket", "host"),
    [
        ("http://minio:9000", "snapshots", "minio:9000"),  # a compose service name: path
        (
            "https://obs.cn-north-4.myhuaweicloud.com",
            "snapshots",
            "obs.cn-north-4.myhuaweicloud.com",
        ),
        (None, "snapshots", "s3.eu-west-1.amazonaws.com"),
    ],
)
def test_path_forces_path_style_everywhere(endpoint: str | None, bucket: str, host: str) -> None:
    chosen = addressing_style_for("path", endpoint, bucket)

    url = urlsplit(
        sent_url(
            make_s3_client(endpoint, addressing_style=chosen, call_seconds=PATIENT_STORE_SECONDS),
            bucket,
        )
    )

    assert (url.netloc, url.path) == (host, f"/{bucket}/latest/x/latest.json")


def test_virtual_forces_virtual_hosted_even_on_a_loopback_name() -> None:
    chosen = addressing_style_for("virtual", "http://localhost:9000", "snapshots")

    url = urlsplit(
        sent_url(
            make_s3_client(
                "http://localhost:9000", addressing_style=chosen, call_seconds=PATIENT_STORE_SECONDS
            ),
            "snapshots",
        )
    )

    assert (url.netloc, url.path) == ("snapshots.localhost:9000", "/latest/x/latest.json")


@pytest.mark.parametrize(
    ("endpoint", "bucket"),
    [
        ("http://127.0.0.1:9000", "snapshots"),
        ("https://obs.cn-north-4.myhuaweicloud.com", "Snapshots"),
        ("https://obs.cn-north-4.myhuaweicloud.com", "team.snapshots"),
    ],
)
def test_virtual_where_it_cannot_work_is_a_configuration_error(endpoint: str, bucket: str) -> None:
    with pytest.raises(ConfigurationError, match="S3_ADDRESSING_STYLE=virtual cannot reach"):
        addressing_style_for("virtual", endpoint, bucket)


@pytest.mark.parametrize(
    ("configured", "endpoint", "host"),
    [
        (
            "auto",
            "https://obs.cn-north-4.myhuaweicloud.com",
            "snapshots.obs.cn-north-4.myhuaweicloud.com",
        ),
        ("auto", "http://127.0.0.1:8333", "127.0.0.1:8333"),
        ("path", "https://obs.cn-north-4.myhuaweicloud.com", "obs.cn-north-4.myhuaweicloud.com"),
    ],
)
def test_the_configured_store_sends_where_the_settings_say(
    configured: S3AddressingStyle, endpoint: str, host: str
) -> None:
    settings = Settings.from_environ(
        {
            "DLF_REGION": "cn-north-4",
            "DLF_AUTH_TOKEN": "token-value",
            "SNAPSHOT_URI": "s3://snapshots/prefix",
            "AWS_ENDPOINT_URL_S3": endpoint,
            "S3_ADDRESSING_STYLE": configured,
        }
    )
    store: Any = build_store(settings)

    assert urlsplit(sent_url(store.client, "snapshots")).netloc == host


@pytest.mark.parametrize(
    ("endpoint", "host"),
    [
        ("", "s3.eu-west-1.amazonaws.com"),
        ("https://obs.cn-north-4.myhuaweicloud.com", "obs.cn-north-4.myhuaweicloud.com"),
    ],
)
def test_a_legacy_bucket_name_in_the_settings_is_addressed_path_style(
    endpoint: str, host: str
) -> None:
    settings = Settings.from_environ(
        {
            "DLF_REGION": "cn-north-4",
            "DLF_AUTH_TOKEN": "token-value",
            "SNAPSHOT_URI": "s3://Legacy_Bucket/prefix",
            "AWS_ENDPOINT_URL_S3": endpoint,
        }
    )
    store: Any = build_store(settings)

    url = urlsplit(sent_url(store.client, "Legacy_Bucket"))

    assert (url.netloc, url.path) == (host, "/Legacy_Bucket/latest/x/latest.json")


@pytest.mark.parametrize(
    ("uri", "location"),
    [
        ("s3://snapshots/dlf/prod/", "s3://snapshots/dlf/prod"),
        ("s3://Legacy_Bucket", "s3://Legacy_Bucket"),
        # no scheme at the start: a path, for the settings and the store alike
        ("{tmp}/out/a://b", "{tmp}/out/a:/b"),
    ],
)
def test_the_store_is_where_the_settings_parsed_snapshot_uri_says(
    tmp_path: Path, uri: str, location: str
) -> None:
    settings = root_settings(SNAPSHOT_URI=uri.format(tmp=tmp_path))

    store = build_store(settings)

    assert store.location == location.format(tmp=tmp_path.resolve())


def test_the_root_bounds_each_store_call_by_store_timeout() -> None:
    """Two attempts of a quarter to connect and a quarter to answer: a store that never
    answers costs one call STORE_TIMEOUT, what the functions' timeouts allow it."""
    settings = root_settings(SNAPSHOT_URI="s3://snapshots/p", STORE_TIMEOUT="3")

    store: Any = build_store(settings)
    config = store.client.meta.config

    assert (config.connect_timeout, config.read_timeout) == (0.75, 0.75)
    assert config.retries == {"mode": "standard", "total_max_attempts": 2}


def test_a_job_list_client_is_made_once_per_addressing_style() -> None:
    """Made at the first read and kept: a tick's read opens no new pool."""
    client_for = s3_clients("https://s3.example.com", "auto", call_seconds=2)

    hosted, again, legacy = client_for("jobs"), client_for("other-jobs"), client_for("Old_Jobs")

    assert hosted is again
    assert legacy is not hosted
    assert legacy is client_for("Another_Legacy")
    assert urlsplit(sent_url(hosted, "jobs")).netloc == "jobs.s3.example.com"
    assert urlsplit(sent_url(legacy, "Old_Jobs")).path.startswith("/Old_Jobs/")
