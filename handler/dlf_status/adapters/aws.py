"""AWS clients built by boto3, with its refusals of the environment made ours."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from dlf_status.errors import ConfigurationError, one_line

Client = TypeVar("Client")


def aws_client(service: str, make: Callable[[], Client]) -> Client:
    """`make()`, with what botocore refuses in the AWS_* environment (a region it
    cannot read, an unknown profile, a bad defaults mode) as a ConfigurationError."""
    from botocore.exceptions import BotoCoreError

    try:
        return make()
    except (BotoCoreError, ValueError) as error:
        raise ConfigurationError(
            f"cannot configure the {service} client: {type(error).__name__}: "
            f"{one_line(str(error), 200)}"
        ) from None
