"""The fault matrix reuses the integration fixtures: the upstream and the validator."""

import pytest

from tests.integration.conftest import upstream, validator  # noqa: F401 - fixtures
from tests.support.seaweed import ACCESS_KEY, REGION, SECRET_KEY


@pytest.fixture(autouse=True)
def _seaweed_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The production S3 client takes its credentials from the environment, as in Lambda."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
