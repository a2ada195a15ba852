"""Upstream credentials from AWS Secrets Manager, read at the first call and again when
they may have changed (signing.DeferredAuthenticator)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from dlf_status.adapters.aws import bounded_config
from dlf_status.config import Credentials
from dlf_status.domain import jsoncodec
from dlf_status.errors import ConfigurationError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

# A read happens inside an upstream call when the upstream rejected the credentials
# (and once per DLF_CREDENTIALS_MAX_AGE on some call): bounded so that it adds at most
# SECRET_READ_WORST_CASE_SECONDS to that call, not botocore's default minutes. Secrets
# Manager answers in tens of milliseconds; a read that fails keeps the credentials in
# use, and the next call reads again.
CONNECT_TIMEOUT_SECONDS: Final = 1.0
READ_TIMEOUT_SECONDS: Final = 2.0
SECRET_READ_WORST_CASE_SECONDS: Final = CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS


def make_secrets_client() -> SecretsManagerClient:
    """The Secrets Manager client: one attempt per read, bounded as above."""
    config = bounded_config(
        connect_seconds=CONNECT_TIMEOUT_SECONDS, read_seconds=READ_TIMEOUT_SECONDS, attempts=1
    )
    return boto3.client("secretsmanager", config=config)


def read_credentials_secret(
    secret_id: str, client: SecretsManagerClient | None = None
) -> Credentials:
    """The secret's JSON: {"ak", "sk", "security_token"?} or {"auth_token"}."""
    where = f"secret {secret_id}"
    client = client or make_secrets_client()
    try:
        answer = client.get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise ConfigurationError(f"cannot read {where}: {code}") from None
    except BotoCoreError as exc:
        raise ConfigurationError(f"cannot read {where}: {type(exc).__name__}") from None
    text = answer.get("SecretString")
    if not isinstance(text, str):
        raise ConfigurationError(f"{where} has no SecretString")
    try:
        # surrogatepass: a lone surrogate (a JSON escape boto3 decoded) must reach the
        # parser, which refuses it, instead of failing the encoding at init.
        data = jsoncodec.loads(text.encode("utf-8", "surrogatepass"))
    except jsoncodec.JsonDecodeError:
        # Never quote the secret's text in the message.
        raise ConfigurationError(f"{where} is not a JSON object") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{where} is not a JSON object")
    return Credentials.from_mapping(data, where)
