"""Recording a live answer as a fixture (recorded.py) and writing it whole or not at
all (adapters/local_files.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from dlf_status.adapters.local_files import write_new_file
from dlf_status.domain.model import Headers, UpstreamResponse
from dlf_status.domain.redaction import NO_SECRETS
from dlf_status.errors import InvalidInput
from dlf_status.recorded import exchange_from_json, is_sensitive_header, recording, region_of


@pytest.mark.parametrize(
    ("endpoint", "region"),
    [
        ("https://dayu-dlf.cn-north-4.myhuaweicloud.com", "cn-north-4"),
        ("https://dayu.cn-east-4.myhuaweicloud.com", "cn-east-4"),
        ("https://dayu-dlf.ap-southeast-1.myhuaweicloud.com:443/base", "ap-southeast-1"),
        ("http://127.0.0.1:8080", "unknown (endpoint host 127.0.0.1)"),
    ],
)
def test_the_region_is_read_from_the_endpoint_host(endpoint: str, region: str) -> None:
    assert region_of(endpoint) == region


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "x-auth-token",
        "X-Security-Token",
        "Set-Cookie",
        "Cookie",
        "WWW-Authenticate",
        "Proxy-Authorization",
        "X-Subject-Token",
        "X-Sdk-Date",
        "X-Api-Key",
        "X-Session-Id",
    ],
)
def test_headers_that_may_authenticate_are_sensitive(name: str) -> None:
    assert is_sensitive_header(name)


@pytest.mark.parametrize("name", ["Content-Type", "X-Request-Id", "Retry-After", "Date"])
def test_ordinary_headers_are_not(name: str) -> None:
    assert not is_sensitive_header(name)


def test_a_recording_drops_framing_and_keeps_the_rest_as_a_fixture() -> None:
    response = UpstreamResponse(
        200,
        Headers(
            {
                "Content-Type": "application/json",
                "Content-Length": "99",
                "Content-Encoding": "gzip",
                "Transfer-Encoding": "chunked",
                "X-Request-Id": "r-1",
            }
        ),
        b'{"total": 0, "jobs": []}',
    )

    recorded = recording(
        response,
        operation="ListJobs",
        endpoint="https://dayu-dlf.cn-north-4.myhuaweicloud.com",
        recorded_on=date(2026, 11, 25),
        redactor=NO_SECRETS,
    )

    assert recorded == {
        "source": "recorded by dlf-status record on 2026-11-25 from region cn-north-4: "
        "a live ListJobs answer (HTTP 200)",
        "operation": "ListJobs",
        "status": 200,
        "body": {"total": 0, "jobs": []},
        "headers": {"Content-Type": "application/json", "X-Request-Id": "r-1"},
    }
    assert exchange_from_json(recorded).to_response().status == 200


def test_a_body_that_is_not_utf8_is_text_and_the_source_says_so() -> None:
    response = UpstreamResponse(502, Headers({}), b"bad \xff gateway")

    recorded = recording(
        response,
        operation="ShowJobStatus",
        endpoint="http://127.0.0.1:1",
        recorded_on=date(2026, 11, 25),
        redactor=NO_SECRETS,
    )

    assert recorded["body_text"] == "bad \ufffd gateway"
    assert recorded["source"].endswith("; bytes that are not UTF-8 replaced by U+FFFD")


def test_a_new_file_is_written_whole(tmp_path: Path) -> None:
    target = tmp_path / "out.json"

    write_new_file(target, b"data")

    assert target.read_bytes() == b"data"
    assert [path.name for path in tmp_path.iterdir()] == ["out.json"]


def test_an_existing_file_is_refused_unless_replaced(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_bytes(b"old")

    with pytest.raises(InvalidInput, match="exists: pass --force"):
        write_new_file(target, b"new")
    assert target.read_bytes() == b"old"
    write_new_file(target, b"new", replace=True)

    assert target.read_bytes() == b"new"
    assert [path.name for path in tmp_path.iterdir()] == ["out.json"]


def test_a_file_in_a_missing_directory_is_one_error_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot write"):
        write_new_file(tmp_path / "nowhere" / "out.json", b"data")

    assert list(tmp_path.iterdir()) == []


def test_a_symlink_in_the_way_is_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "link.json"
    target.symlink_to(tmp_path / "missing")

    with pytest.raises(InvalidInput, match="exists"):
        write_new_file(target, b"data")
    assert not (tmp_path / "missing").exists()
