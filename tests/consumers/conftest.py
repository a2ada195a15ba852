"""The consumer suites' shared material: every kind of document dlf-status publishes,
made once per run by the product itself (tests/support/published.py)."""

from __future__ import annotations

from collections import defaultdict

import pytest
from pytest_httpserver import HTTPServer

from tests.support.published import KINDS, Published, publish_everything


@pytest.fixture(scope="session")
def published(
    make_httpserver: HTTPServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[Published]]:
    """Every published document, by the schema file that describes it."""
    try:
        found = publish_everything(make_httpserver, tmp_path_factory.mktemp("published"))
    finally:
        make_httpserver.clear()  # the handlers are this fixture's: no other test sees them
    by_kind: dict[str, list[Published]] = defaultdict(list)
    for document in found:
        by_kind[document.schema].append(document)
    assert sorted(by_kind) == sorted(KINDS)
    return dict(by_kind)
