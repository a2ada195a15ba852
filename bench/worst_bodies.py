"""The most expensive upstream answers known to fit under the 8 MiB size cap.

Each stays just inside one of the bounds on one answer (README: "Bounds on one
answer"), where the work is largest, or just past one, where it must stop early.
`make bench` serves them one after another to a single handler process and reports
its peak RSS against the function's 256 MB (bench/memory_child.py). The hostile
suite serves the same shapes (tests/hostile/upstream_corpus.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import NamedTuple

from dlf_status.domain.interpret import MAX_NODES
from dlf_status.domain.jsoncodec import MAX_DEPTH, MAX_VALUES

SIZE_CAP = 8 * 1024 * 1024
_BAD_NODE = (
    b'{"name":%d,"status":2,"type":3,"nodeType":4,"logPath":5,"lastInstanceStatus":6,'
    b'"jobInstanceId":"x","bufferRecords":"x","speed":"x","totalGetBytes":"x",'
    b'"totalGetRecords":"x","totalPutBytes":"x","totalPutRecords":"x","extra":[]}'
)


def _job(*members: bytes) -> bytes:
    return b'{"name":"bench_job","status":"NORMAL"' + b"".join(b"," + m for m in members) + b"}"


def nodes_at_the_bound_all_wrong() -> bytes:
    """Every node at the node bound breaks the contract in every field."""
    return _job(b'"nodes":[' + b",".join(_BAD_NODE % index for index in range(MAX_NODES)) + b"]")


def nodes_at_the_bound_with_long_fields() -> bytes:
    """As many nodes as allowed, each with as much text as the size cap leaves."""
    room = SIZE_CAP // MAX_NODES - 120
    node = b'{"name":"n%05d","status":"NORMAL","logPath":"' + b"p" * room + b'","runningData":"{}"}'
    return _job(b'"nodes":[' + b",".join(node % index for index in range(MAX_NODES)) + b"]")


def empty_objects_at_the_value_bound() -> bytes:
    """The most Python objects one answer may hold: empty objects, 64 bytes each."""
    return _job(b'"x":[' + b",".join([b"{}"] * (MAX_VALUES - 10)) + b"]")


def unknown_fields_at_the_value_bound() -> bytes:
    """As many distinct unknown keys as the value bound allows, each a drift finding."""
    keys = (b'"k%06d":0' % index for index in range(MAX_VALUES // 2 - 10))
    return _job(*keys)


def distinct_strings_at_the_value_bound() -> bytes:
    return _job(b'"x":[' + b",".join(b'"s%06d"' % i for i in range(MAX_VALUES - 10)) + b"]")


def astral_string_under_the_cap() -> bytes:
    """One string that Python stores at four bytes a character."""
    text = json.dumps("\U0001f600" + "a" * (SIZE_CAP - 200), ensure_ascii=False).encode()
    return _job(b'"x":' + text)


def deep_and_wide_at_the_bounds() -> bytes:
    """Nesting at the depth bound, repeated until the value bound."""
    one = b"[" * (MAX_DEPTH - 2) + b"0" + b"]" * (MAX_DEPTH - 2)
    return _job(b'"x":[' + b",".join([one] * (MAX_VALUES // (MAX_DEPTH - 1) - 2)) + b"]")


def zeros_past_the_value_bound() -> bytes:
    """Refused on its bytes: four million values."""
    return _job(b'"x":[' + b",".join([b"0"] * (SIZE_CAP // 2 - 100)) + b"]")


def empty_nodes_past_the_node_bound() -> bytes:
    """The issue's 100,000 empty nodes: refused before validation."""
    return _job(b'"nodes":[' + b",".join([b"{}"] * 100_000) + b"]")


def error_answer_under_the_cap() -> bytes:
    """A DLF.0100 followed by eight megabytes of brackets: read for its code only."""
    return b'{"error_code":"DLF.0100","error_msg":"gone","x":' + b"[" * (SIZE_CAP - 100)


# -- one long upstream string, where per-character work once cost gigabytes ----------


def _key_of(text: str, *, in_a_node: bool = False) -> bytes:
    member = json.dumps(text, ensure_ascii=False).encode() + b":1"
    return _job(b'"nodes":[{"name":"n",' + member + b"}]") if in_a_node else _job(member)


def long_key_of_capitals() -> bytes:
    """One unknown key of eight megabytes of capitals: an extra key written `^a` per
    letter, and a drift finding that spells the key in its path."""
    return _key_of("A" * (SIZE_CAP - 100))


def long_node_key_of_capitals() -> bytes:
    return _key_of("A" * (SIZE_CAP - 200), in_a_node=True)


def long_key_astral_then_capitals() -> bytes:
    """A cased character outside the Basic Multilingual Plane, then capitals: Python
    holds the key at four bytes a character, and its encoding escapes all of it."""
    return _key_of("\U00010400" + "A" * (SIZE_CAP - 110))


def long_key_of_e_acute() -> bytes:
    """Four million `É`: each two bytes on the wire and `^{c9}` in the document."""
    return _key_of("\u00c9" * ((SIZE_CAP - 100) // 2))


def long_violated_value() -> bytes:
    """A value of the wrong type whose violation message quotes all of it: 2.7 million
    line separators, each escaped when the message is made printable."""
    text = json.dumps(["\u2028" * ((SIZE_CAP - 200) // 3)], ensure_ascii=False).encode()
    return _job(b'"createUser":' + text)


def long_time_of_newlines() -> bytes:
    """A time field of four million newlines, quoted in the reason it is refused."""
    return _job(b'"startTime":"' + b"\\n" * ((SIZE_CAP - 200) // 2) + b'"')


def astral_text_beside_a_long_integer() -> bytes:
    """A 19-digit integer sends the document to the standard library's encoder, which
    writes every character outside ASCII as escapes: three times the bytes here."""
    text = json.dumps("\U0001f600" * ((SIZE_CAP - 200) // 4), ensure_ascii=False).encode()
    return _job(b'"n":1234567890123456789,"x":' + text)


class WorstBody(NamedTuple):
    """One answer of the worst-case memory row: its status, its body (at most the size
    cap once decompressed), and whether it is sent gzip-compressed (the cap counts the
    decompressed bytes, so eight megabytes of capitals arrive as eight kilobytes)."""

    status: int
    make: Callable[[], bytes]
    gzip: bool = False


WORST: dict[str, WorstBody] = {
    "nodes-all-wrong": WorstBody(200, nodes_at_the_bound_all_wrong),
    "nodes-long-fields": WorstBody(200, nodes_at_the_bound_with_long_fields),
    "empty-objects": WorstBody(200, empty_objects_at_the_value_bound),
    "unknown-fields": WorstBody(200, unknown_fields_at_the_value_bound),
    "distinct-strings": WorstBody(200, distinct_strings_at_the_value_bound),
    "astral-string": WorstBody(200, astral_string_under_the_cap),
    "deep-and-wide": WorstBody(200, deep_and_wide_at_the_bounds),
    "zeros-past-bound": WorstBody(200, zeros_past_the_value_bound),
    "nodes-past-bound": WorstBody(200, empty_nodes_past_the_node_bound),
    "error-brackets": WorstBody(400, error_answer_under_the_cap),
    "long-key-capitals": WorstBody(200, long_key_of_capitals),
    "long-key-capitals-gzip": WorstBody(200, long_key_of_capitals, gzip=True),
    "long-node-key-capitals-gzip": WorstBody(200, long_node_key_of_capitals, gzip=True),
    "long-key-astral-capitals": WorstBody(200, long_key_astral_then_capitals),
    "long-key-e-acute": WorstBody(200, long_key_of_e_acute),
    "long-violated-value": WorstBody(200, long_violated_value),
    "long-time-newlines-gzip": WorstBody(200, long_time_of_newlines, gzip=True),
    "astral-beside-long-integer": WorstBody(200, astral_text_beside_a_long_integer),
}


if __name__ == "__main__":
    for name, worst in WORST.items():
        body = worst.make()
        assert len(body) <= SIZE_CAP, (name, len(body))
        print(f"{name:20} {len(body):>9,} bytes")
