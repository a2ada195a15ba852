"""State that outlives one answer never keeps upstream text of any length (README:
What bounds memory): the caches of the hot path are keyed by short strings only, so
a warm container that reads a thousand answers, each with a new long key or content
type, holds no more than after the first."""

from __future__ import annotations

import gc
import json
import tracemalloc
from datetime import UTC, datetime

from dlf_status import bootstrap
from dlf_status.domain.interpret import interpret_response
from dlf_status.domain.model import Headers, UpstreamResponse, ValidationMode
from dlf_status.domain.normalize import Source, encode_document

KEY_LENGTH = 100_000
ANSWERS = 20


def _answer(index: int) -> UpstreamResponse:
    key = f"{index:03d}" + "K" * KEY_LENGTH  # capitals: the extra key is encoded too
    body = {"name": "job", "status": "NORMAL", key: 1, "nodes": [{"name": "n", key: 2}]}
    content_type = "application/json;charset=UTF-8"
    if index % 2:  # a media type of its own, as long as a header may be
        content_type = f"application/json+{index:03d}{'x' * KEY_LENGTH}"
    return UpstreamResponse(200, Headers({"Content-Type": content_type}), json.dumps(body).encode())


def _observe(response: UpstreamResponse) -> None:
    document = interpret_response(
        response,
        source=Source("p1", "job", None, None),
        observed_at=datetime(2026, 11, 25, tzinfo=UTC),
        validator=VALIDATOR,
        mode=ValidationMode.LENIENT,
    )
    # Validated against the schema (its drift listed), or not JSON to the contract.
    assert document["validation"]["unknown_fields"] or not document["validation"]["valid"]
    encode_document(document)


VALIDATOR = bootstrap.build_validator()


def test_answers_with_long_keys_and_content_types_leave_nothing_behind() -> None:
    _observe(_answer(0))  # whatever a first answer sets up (compiled plans) is made
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for index in range(1, ANSWERS + 1):
            _observe(_answer(index))
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # Each answer holds its key three times over (the key, its path, its encoded
    # form) and a content type: kept, twenty of them would be some 8 MB.
    assert after - before < 4 * KEY_LENGTH
