"""Credentials from Secrets Manager; moto stands in for the AWS API (no local server exists)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from dlf_status.adapters.secrets import read_credentials_secret
from dlf_status.config import Credentials
from dlf_status.errors import ConfigurationError


@pytest.fixture
def secretsmanager(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


def test_aksk_credentials_are_read_from_the_secret(secretsmanager: Any) -> None:
    secretsmanager.create_secret(
        Name="dlf/creds",
        SecretString=json.dumps(
            {"ak": "FAKEAK0001", "sk": "fake-sk-0001", "security_token": "fake-st-0001"}
        ),
    )

    credentials = read_credentials_secret("dlf/creds", secretsmanager)

    assert credentials == Credentials(
        ak="FAKEAK0001", sk="fake-sk-0001", security_token="fake-st-0001"
    )


def test_a_token_secret_is_read_too(secretsmanager: Any) -> None:
    secretsmanager.create_secret(
        Name="dlf/token", SecretString=json.dumps({"auth_token": "fake-iam-token"})
    )

    assert read_credentials_secret("dlf/token", secretsmanager) == Credentials(
        auth_token="fake-iam-token"
    )


def test_a_missing_secret_is_a_configuration_error(secretsmanager: Any) -> None:
    with pytest.raises(
        ConfigurationError, match="cannot read secret dlf/nope: ResourceNotFoundException"
    ):
        read_credentials_secret("dlf/nope", secretsmanager)


@pytest.mark.parametrize("text", ["sk=abc", "[1, 2]", '{"ak": "only-the-ak"}'])
def test_a_malformed_secret_is_refused_without_quoting_it(secretsmanager: Any, text: str) -> None:
    secretsmanager.create_secret(Name="dlf/bad", SecretString=text)

    with pytest.raises(ConfigurationError) as caught:
        read_credentials_secret("dlf/bad", secretsmanager)

    assert "abc" not in caught.value.detail
    assert "only-the-ak" not in caught.value.detail


@pytest.mark.parametrize(
    ("secret", "key"),
    [
        ({"ak": "FAKEAK0001", "sk": "fake-sk\n-0001"}, "sk"),
        ({"ak": "FAKE AK 0001", "sk": "fake-sk-0001"}, "ak"),
        ({"auth_token": "fake-token-\u00e9t\u00e9"}, "auth_token"),
        (
            {"ak": "FAKEAK0001", "sk": "fake-sk-0001", "security_token": "st\r\nX: 1"},
            "security_token",
        ),
        ({"auth_token": "t0k3n"}, "auth_token"),
    ],
)
def test_a_credential_that_cannot_be_sent_is_refused_naming_its_key(
    secretsmanager: Any, secret: dict[str, str], key: str
) -> None:
    secretsmanager.create_secret(Name="dlf/odd", SecretString=json.dumps(secret))

    with pytest.raises(ConfigurationError) as caught:
        read_credentials_secret("dlf/odd", secretsmanager)

    assert caught.value.detail.startswith(f"secret dlf/odd: {key} ")
    assert secret[key] not in caught.value.detail


@pytest.mark.parametrize(
    "text",
    [
        '{"auth_token": "fake-token-\\ud800-0001"}',  # a lone surrogate escape
        '{"auth_token": "fake-token-\ud800-0001"}',  # a lone surrogate in the string itself
        '{"auth_token": ' + "[" * 100 + "]" * 100 + "}",
        '{"auth_token": ' + "9" * 5000 + "}",
    ],
)
def test_a_hostile_secret_string_is_a_configuration_error(secretsmanager: Any, text: str) -> None:
    secretsmanager.create_secret(Name="dlf/hostile", SecretString=text)

    with pytest.raises(ConfigurationError, match="secret dlf/hostile"):
        read_credentials_secret("dlf/hostile", secretsmanager)
