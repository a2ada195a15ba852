from __future__ import annotations

import pytest
from huaweicloudsdkdgc.v1.region.dgc_region import DgcRegion

from dlf_status.config import KNOWN_REGIONS, VARIABLES, Credentials, Settings, endpoint_for_region
from dlf_status.domain.model import ValidationMode
from dlf_status.errors import ConfigurationError

MINIMAL = {"DLF_REGION": "cn-north-4", "DLF_AUTH_TOKEN": "token-value"}


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
    assert settings.snapshot_uri == "./snapshots"
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
        ({"DLF_DEADLINE": "0"}, "DLF_DEADLINE must be a positive number"),
        ({"DLF_DEADLINE": "soon"}, "DLF_DEADLINE must be a number"),
        ({"DLF_MAX_ATTEMPTS": "-1"}, "DLF_MAX_ATTEMPTS must be a positive integer"),
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
    ],
)
def test_a_bad_variable_is_named_in_the_error(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_environ({**MINIMAL, **overrides})


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
