from __future__ import annotations

import pytest

from dlf_status.domain.model import Headers, JobRef, UpstreamResponse
from dlf_status.errors import InvalidInput

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"


@pytest.mark.parametrize(
    "job_name",
    ["job_sms", "a b", "作业-1", "a/b", "%2F", "..a", "x" * 128, "semi;colon", "q?x#y", "~tilde"],
)
def test_printable_job_names_are_accepted_as_given(job_name: str) -> None:
    assert JobRef.parse(PROJECT, job_name).job_name == job_name


@pytest.mark.parametrize(
    ("job_name", "reason"),
    [
        ("", "non-empty"),
        (".", "'.' or '..'"),
        ("..", "'.' or '..'"),
        ("a\r\nX-Injected: 1", "control"),
        ("nul\x00byte", "control"),
        ("bad\udcffutf8", "non-UTF-8"),
        ("line\u2028sep", "control"),
        ("x" * 129, "longer than 128"),
        (" padded", "white space"),
        (7, "non-empty string"),
        (None, "non-empty string"),
    ],
)
def test_hostile_job_names_are_refused_with_a_reason(job_name: object, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason) as caught:
        JobRef.parse(PROJECT, job_name)

    assert caught.value.field == "job_name"


@pytest.mark.parametrize("project_id", ["", "../etc", "a/b", "p\r\n", "x" * 65, None, 12, "ä"])
def test_project_id_outside_the_id_alphabet_is_refused(project_id: object) -> None:
    with pytest.raises(InvalidInput, match="project_id") as caught:
        JobRef.parse(project_id, "job")

    assert caught.value.field == "project_id"


@pytest.mark.parametrize("workspace", ["a b", "w\r\nX: y", "../w", "x" * 65, 5])
def test_workspace_outside_the_id_alphabet_is_refused(workspace: object) -> None:
    with pytest.raises(InvalidInput, match="workspace"):
        JobRef.parse(PROJECT, "job", workspace)


@pytest.mark.parametrize("workspace", [None, ""])
def test_no_workspace_means_the_default_one(workspace: object) -> None:
    assert JobRef.parse(PROJECT, "job", workspace).workspace is None


def test_headers_are_case_insensitive_and_keep_the_first_spelling() -> None:
    headers = Headers({"Content-Type": "Application/JSON; charset=UTF-8", "X-Request-Id": "r1"})

    assert headers["content-type"] == "Application/JSON; charset=UTF-8"
    assert "x-request-id" in headers
    assert list(headers) == ["Content-Type", "X-Request-Id"]


def test_response_media_type_is_lower_case_without_parameters() -> None:
    response = UpstreamResponse(200, Headers({"content-type": "Application/JSON;charset=UTF-8"}))

    assert response.mimetype == "application/json"
    assert response.content_type == "application/json;charset=utf-8"
