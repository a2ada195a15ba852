"""The read routes over a store that misbehaves, through a real proxy in front of
SeaweedFS: a refused listing or GET, a throttled one, a listing whose body is not
S3's XML. The answer is a problem that names the store (`store-failure`, 500), or a
row or page entry that says what could not be read; never `internal`, never a
traceback, never another job's data."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dlf_status import bootstrap
from dlf_status.adapters.store_s3 import S3Store
from dlf_status.domain.model import JobRef
from dlf_status.entrypoints.http_api import StatusApi
from dlf_status.errors import ConfigurationError
from dlf_status.service import SnapshotWriter
from tests.support.events import http_api_event
from tests.support.faults import S3Proxy
from tests.support.read_models import observe
from tests.support.root import root_settings
from tests.support.seaweed import SeaweedServer, production_s3_client

pytestmark = pytest.mark.integration

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
JOB = JobRef.parse(PROJECT, "orders")
NOW = datetime.now(UTC).replace(microsecond=0)
ACCESS_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Access Denied</Message></Error>"
)

Fault = Callable[[str, str], bool]


def _listing(method: str, path: str) -> bool:
    return method == "GET" and "list-type" in path


def _get(method: str, path: str) -> bool:
    return method == "GET" and "list-type" not in path


FAULTS = {
    "listing 403": (403, ACCESS_DENIED, _listing),
    "listing 503 SlowDown": (503, None, _listing),
    "listing 200, not XML": (200, b"<html>captive portal</html>", _listing),
    "listing 200, empty body": (200, b"", _listing),
    "listing 200, a key without its ETag": (
        200,
        b'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult><IsTruncated>false'
        b"</IsTruncated><Contents><Key>anything</Key></Contents></ListBucketResult>",
        _listing,
    ),
    "listing 200, truncated with no key and no token": (
        200,
        b'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult><IsTruncated>true'
        b"</IsTruncated></ListBucketResult>",
        _listing,
    ),
    "GET 403": (403, ACCESS_DENIED, _get),
    "GET 500, not XML": (500, b"oops", _get),
    "GET 200 without an ETag": (200, b"<html>captive portal</html>", _get),
}


@pytest.fixture
def api_for(seaweed: SeaweedServer) -> Iterator[Callable[[str], StatusApi]]:
    """A read API over SeaweedFS holding one job (history, transitions, latest.json),
    reached through a proxy that answers the named fault in place of the store."""
    proxies: list[S3Proxy] = []
    prefix = f"faults-{uuid.uuid4().hex[:12]}"
    direct = S3Store(production_s3_client(seaweed.endpoint, 2.0), seaweed.bucket, prefix)
    writer = SnapshotWriter(direct)
    for hours, status in ((5, "NORMAL"), (3, "EXCEPTION"), (1, "NORMAL")):
        observe(direct, JOB, status, NOW - timedelta(hours=hours), None, writer)

    def make(name: str) -> StatusApi:
        status, error, fault = FAULTS[name]
        options: dict[str, Any] = {"status": status}
        if error is not None:
            options["error"] = error
        proxy = S3Proxy(seaweed.endpoint, fault, **options)
        proxy.__enter__()
        proxies.append(proxy)
        store = S3Store(production_s3_client(proxy.url, 2.0), seaweed.bucket, prefix)
        settings = root_settings(SNAPSHOT_URI=f"s3://{seaweed.bucket}/{prefix}")

        def refuse_status(job: JobRef, *, remaining_seconds: Any = None) -> Any:
            raise ConfigurationError("these tests read the store only")

        return StatusApi(refuse_status, lambda: bootstrap.build_store_reader(settings, store=store))

    yield make
    for proxy in proxies:
        proxy.__exit__()


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("route", [None, "history", "transitions"])
def test_a_misbehaving_store_is_a_store_problem_or_a_row_that_says_so(
    api_for: Callable[[str], StatusApi], fault: str, route: str | None
) -> None:
    api = api_for(fault)

    answer = api.handle(
        http_api_event(PROJECT, None if route is None else JOB.job_name, route=route),
        request_id="r-1",
    )

    document = json.loads(answer["body"])
    if answer["statusCode"] == 200:
        # Listings work, GETs fail: each object it could not read says why.
        assert _get is FAULTS[fault][2]
        if route is None:
            assert [row["status"] for row in document["jobs"]] == ["UNKNOWN"]
            assert "cannot read" in document["jobs"][0]["error"]
        else:
            assert document["documents" if route == "history" else "records"] == []
            assert document["unreadable"]
        return
    assert answer["statusCode"] == 500, answer["body"][:300]
    assert document["type"] == "urn:dlf-status:problem:store-failure"
    assert answer["headers"]["Content-Type"] == "application/problem+json"
