"""A 200 whose object is an error answer is an upstream failure, never a stored job
(README "A 200 is a snapshot only when it is a job"), whatever error spelling it uses
and whether it leaves `name` out or writes it null, as a Java service writes every
absent member (contract_tests/fixtures/valid/java-nulls.json). A body with a real
`name` string is a job, its error members more unknown fields."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlf_status import errors
from dlf_status.domain.interpret import interpret_response
from dlf_status.domain.model import Headers, UpstreamResponse, ValidationMode
from dlf_status.domain.normalize import Source
from tests.conftest import StubValidator

# The error body spellings the README lists (its sources table, [S7]): the gateway's,
# its camel case, the SDK's.
SPELLINGS = [("error_code", "error_msg"), ("errorCode", "errorMsg"), ("code", "message")]
ABSENT = object()
SOURCE = Source("p1", "job_sms", None, "https://upstream.invalid")
JOB_NULLS = {"status": None, "nodes": None, "startTime": None, "lastUpdateTime": None}

codes = st.one_of(st.sampled_from(["DLF.0002", "DLF.0100", "APIGW.0301", "APIG.0201"]), st.text())
messages = st.one_of(st.none(), st.text(max_size=40))


@st.composite
def error_members(draw: st.DrawFn) -> dict[str, Any]:
    """One spelling's code, message or both (each of any value, null too)."""
    code_key, message_key = draw(st.sampled_from(SPELLINGS))
    members = draw(st.sampled_from([(code_key,), (message_key,), (code_key, message_key)]))
    return {key: draw(codes if key == code_key else messages) for key in members}


def interpret(body: dict[str, Any]) -> Any:
    return interpret_response(
        UpstreamResponse(
            200, Headers({"Content-Type": "application/json"}), json.dumps(body).encode()
        ),
        source=SOURCE,
        observed_at=datetime(2026, 11, 25, tzinfo=UTC),
        validator=StubValidator(),
        mode=ValidationMode.LENIENT,
    )


def with_name(body: dict[str, Any], name: object) -> dict[str, Any]:
    return body if name is ABSENT else {"name": name, **body}


@given(
    members=error_members(),
    name=st.sampled_from([ABSENT, None]),
    java_nulls=st.booleans(),
)
def test_an_error_answer_without_a_name_string_is_an_upstream_failure(
    members: dict[str, Any], name: object, java_nulls: bool
) -> None:
    body = with_name({**(JOB_NULLS if java_nulls else {}), **members}, name)

    with pytest.raises(errors.UpstreamBadResponse, match="is an error answer, not a job"):
        interpret(body)


@given(members=error_members(), name=st.text(min_size=1, max_size=40), java_nulls=st.booleans())
def test_a_body_with_a_name_string_is_a_job_whatever_error_members_it_has(
    members: dict[str, Any], name: str, java_nulls: bool
) -> None:
    body = {"name": name, "status": "NORMAL", **(JOB_NULLS if java_nulls else {}), **members}
    body["status"] = body["status"] or "NORMAL"

    document = interpret(body)

    assert document["job"]["name"] == name


@given(name=st.sampled_from([ABSENT, None]))
def test_a_body_with_no_error_member_is_not_an_error_answer(name: object) -> None:
    """Without any error member nothing says it is an error answer: a document whose
    contract violations say what is missing, as before."""
    document = interpret(with_name({"status": "NORMAL"}, name))

    assert document["job"]["name"] is None
