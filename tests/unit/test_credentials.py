"""Credentials are checked once, at configuration: what cannot be sent as it is, or is
too short to be masked, is refused by the variable's name, never by its value."""

from __future__ import annotations

import pytest

from dlf_status.config import Settings
from dlf_status.domain.redaction import MIN_SECRET_LENGTH
from dlf_status.errors import ConfigurationError

REGION = {"DLF_REGION": "cn-north-4"}
AKSK = {"DLF_AK": "FAKEACCESSKEY0001", "DLF_SK": "fake-secret-key-0001"}


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DLF_SK", "fake-secret\nkey-0001"),  # requests would quote it in its error
        ("DLF_SK", "fake-secret\x00key-0001"),
        ("DLF_SK", "fake-secret\u2028key-0001"),
        ("DLF_SK", "fake-secret\udcffkey-0001"),  # a byte that is not UTF-8 (surrogateescape)
        ("DLF_AK", "FAKE ACCESS KEY"),
        ("DLF_AK", "FAKEACCESSKÉY"),
        ("DLF_AK", "FAKE\tACCESSKEY"),
        ("DLF_SECURITY_TOKEN", "fake-token\r\nX-Injected: 1"),
        ("DLF_SECURITY_TOKEN", "fake-token-\u4e2d\u6587"),
        ("DLF_AK", "F" * (MIN_SECRET_LENGTH - 1)),
        ("DLF_SK", "s" * (MIN_SECRET_LENGTH - 1)),
    ],
)
def test_an_unsendable_aksk_credential_is_refused_by_name(variable: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_environ({**REGION, **AKSK, variable: value})

    assert caught.value.detail.startswith(f"{variable} ")
    assert value.strip() not in caught.value.detail


@pytest.mark.parametrize(
    "value", ["fake-iam\ntoken-0001", "fake-iam-token-\u00e9", "fake iam token", "tok"]
)
def test_an_unsendable_iam_token_is_refused_by_name(value: str) -> None:
    with pytest.raises(ConfigurationError, match=r"^DLF_AUTH_TOKEN ") as caught:
        Settings.from_environ({**REGION, "DLF_AUTH_TOKEN": value})

    assert value not in caught.value.detail


@pytest.mark.parametrize(
    "sk", ['fake"sk\\/+=%2F-0001', "fake-sk-with-ünïcode", "fake sk with spaces inside"]
)
def test_a_secret_key_may_hold_any_printable_text(sk: str) -> None:
    """The SK only keys the signature's HMAC: it never travels in a header."""
    settings = Settings.from_environ({**REGION, **AKSK, "DLF_SK": sk})

    assert settings.credentials is not None
    assert settings.credentials.sk == sk


def test_awkward_but_sendable_header_credentials_are_accepted() -> None:
    token = 'fake"iam\\/+=%0A-token'

    settings = Settings.from_environ({**REGION, "DLF_AUTH_TOKEN": token})

    assert settings.credentials is not None
    assert settings.credentials.auth_token == token
