"""Hypothesis strategies for hostile JSON text and hostile header values.

JSON is built as text, not as Python values, because the hostile part is in the
text: nesting deeper than any recursion limit, integers of thousands of digits,
lone surrogate escapes, numbers that overflow, bytes that are not UTF-8,
duplicate and odd keys. Each generated value carries the facts the README's
bounds are about, counted as it is built, so a test knows the documented outcome
without asking the code under test.
"""

from __future__ import annotations

import json
import math
from typing import NamedTuple

from hypothesis import strategies as st

from dlf_status.domain.jsoncodec import MAX_DEPTH, MAX_INTEGER_DIGITS, MAX_VALUES


class Json(NamedTuple):
    """JSON text and what it holds."""

    text: bytes
    depth: int = 0  # nested arrays and objects
    values: int = 1  # keys and values, duplicates included
    digits: int = 0  # the most digits of any integer
    broken: bool = False  # not JSON at all: lone surrogates, NaN, overflow, bad UTF-8...
    repeats: bool = False  # an object repeats a member name (compared as decoded)

    @property
    def within_bounds(self) -> bool:
        return not self.broken and (
            self.depth <= MAX_DEPTH
            and self.values <= MAX_VALUES
            and self.digits <= MAX_INTEGER_DIGITS
        )

    @property
    def accepted(self) -> bool:
        """What the README says the parser takes: I-JSON within the bounds."""
        return self.within_bounds and not self.repeats


def _combine(
    text: bytes, parts: list[Json], depth: int, values: int, repeats: bool = False
) -> Json:
    return Json(
        text,
        depth=depth + max((part.depth for part in parts), default=0),
        values=values + sum(part.values for part in parts),
        digits=max((part.digits for part in parts), default=0),
        broken=any(part.broken for part in parts),
        repeats=repeats or any(part.repeats for part in parts),
    )


def _integer(digits: int, negative: bool, first: int) -> Json:
    text = ("-" if negative else "") + str(first) + "7" * (digits - 1)
    return Json(text.encode(), digits=digits)


integers = st.builds(
    _integer,
    st.sampled_from([1, 2, 18, 19, 20, 40, MAX_INTEGER_DIGITS, MAX_INTEGER_DIGITS + 1, 4301])
    | st.integers(1, 30),
    st.booleans(),
    st.integers(1, 9),
)


def _float(mantissa: str, exponent: int | None) -> Json:
    text = mantissa + ("" if exponent is None else f"e{exponent}")
    return Json(text.encode(), broken=math.isinf(float(text)))


floats = st.builds(
    _float,
    st.sampled_from(["0.5", "-1.25", "1." + "3" * 400, "9" * 30 + ".0", "-0.0"]),
    st.none() | st.sampled_from([0, 10, 308, 309, 400, -400, -324, 99999]),
)
literals = st.sampled_from(
    [Json(b"true"), Json(b"false"), Json(b"null")]
    + [Json(word, broken=True) for word in (b"NaN", b"Infinity", b"-Infinity")]
)

# Pieces of a string's content, as JSON text: plain text, escapes, surrogates.
_PIECES = st.one_of(
    st.text(max_size=6).map(lambda text: json.dumps(text, ensure_ascii=False)[1:-1].encode()),
    st.sampled_from(
        [
            b"\\u0000",
            b"\\u001f",
            b"\\\\",
            b'\\"',
            b"\\/",
            b"[{",
            b"\\ud83d\\ude00",  # a pair: one character
            b"\\ud800",  # lone high
            b"\\udc00",  # lone low
            b"\\udbff",
            "\U0001f600".encode(),
            "中".encode(),
            b"\xff",  # not UTF-8
            b"\xed\xa0\x80",  # a surrogate encoded as UTF-8: not UTF-8 either
        ]
    ),
)


def _string(pieces: list[bytes]) -> Json:
    text = b'"' + b"".join(pieces) + b'"'
    try:
        decoded = json.loads(text.decode("utf-8"))
        decoded.encode("utf-8")  # a lone surrogate cannot be encoded
    except (UnicodeDecodeError, UnicodeEncodeError):
        return Json(text, broken=True)
    return Json(text)


strings = st.lists(_PIECES, max_size=4).map(_string)
scalars = integers | floats | literals | strings


def _array(items: list[Json]) -> Json:
    return _combine(b"[" + b",".join(item.text for item in items) + b"]", items, 1, 1)


def _decoded_key(key: Json) -> str:
    """The name a key's text spells, escapes decoded (a lone surrogate kept, bytes that
    are not UTF-8 replaced), as the lenient error-body reader compares names. A body
    with such a key is refused by the strict parser anyway."""
    name: str = json.loads(key.text.decode("utf-8", "replace"))
    return name


def json_object(members: list[tuple[Json, Json]]) -> Json:
    parts = [part for member in members for part in member]
    text = b"{" + b",".join(key.text + b":" + value.text for key, value in members) + b"}"
    names = [_decoded_key(key) for key, _ in members]
    return _combine(text, parts, 1, 1, repeats=len(set(names)) < len(names))


def _wrapped(value: Json, levels: int, in_objects: bool) -> Json:
    """`value` inside `levels` arrays or single-member objects: depth without width."""
    if in_objects:
        text = b'{"d":' * levels + value.text + b"}" * levels
        return value._replace(
            text=text, depth=value.depth + levels, values=value.values + 2 * levels
        )
    text = b"[" * levels + value.text + b"]" * levels
    return value._replace(text=text, depth=value.depth + levels, values=value.values + levels)


keys = strings | st.sampled_from(
    [Json(b'"name"'), Json(b'"status"'), Json(b'""'), Json(b'"nodes"'), Json(b'"\\u0000"')]
)
hostile_json = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4).map(_array)
        | st.lists(st.tuples(keys, children), max_size=4).map(json_object)
        | st.builds(_wrapped, children, st.integers(1, 140), st.booleans())
    ),
    max_leaves=12,
)


def status_answer(members: list[tuple[Json, Json]]) -> Json:
    """A 200 body: a job object with the hostile members after its name."""
    return json_object([(Json(b'"name"'), Json(b'"job"')), *members])


def error_answer(before: list[tuple[Json, Json]], after: list[tuple[Json, Json]]) -> Json:
    """A DLF.0100 error body, hostile members around a readable code. Not always JSON:
    the hostile members may not be, and the code must still be read (unless a name is
    repeated: `repeats`)."""
    code = Json(b'"error_code"'), Json(b'"DLF.0100"')
    return json_object([*before, code, *after])


# Header values as http.client reads them: latin-1, no CR or LF (those end the line).
header_values = st.one_of(
    st.text(st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=40),
    st.sampled_from(["²", "¹2", "٣", "1_000", " 5 ", "-1", "0x10", "1e3", "9" * 40, "5, 6"]),
    st.sampled_from(
        [
            "Fri, 31 Dec 9999 23:59:59 GMT",
            "Thu, 01 Jan 1970 00:00:00 GMT",
            "Mon, 32 Foo 0000 99:99:99 XYZ",
            "Sun, 06 Nov 1994 08:49:37 +9999",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "\x00\x01\x7f\x85",
        ]
    ),
    st.integers(1, 70_000).map(lambda size: "x\x01" * size),
)


# -- a repeated member name at any depth of a valid answer -----------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from([":", '":"', "\\", '\\"', "a:b", "{}"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
statuses = st.sampled_from(["NORMAL", "EXCEPTION", "STOPPED", "STARTING", "RUNNING"])
nodes = st.lists(
    st.fixed_dictionaries(
        {"name": st.text(min_size=1, max_size=8), "status": statuses},
        optional={"extra": json_values, "totalGetBytes": st.integers(0, 2**70)},
    ),
    max_size=3,
)
valid_status_answers = st.fixed_dictionaries(
    {"name": st.just("job"), "status": statuses, "nodes": nodes},
    optional={"x": json_values, "detail": st.dictionaries(st.text(max_size=6), json_values)},
)


class Repeated(NamedTuple):
    """A valid answer's JSON text with one object's member name given a second time."""

    text: bytes
    name: str  # the repeated name, decoded
    path: str  # where its object is, as the parser's paths spell it


def _spelt(name: str, escape: int | None) -> bytes:
    """`name` as a JSON string; one character as a `\\u` escape when `escape` says which."""
    if escape is None or not name:
        return json.dumps(name, ensure_ascii=False).encode()
    at = escape % len(name)
    escaped = json.dumps(name[at])[1:-1]  # \\uXXXX (a pair for an astral character) or itself
    if not escaped.startswith("\\u"):
        escaped = f"\\u{ord(name[at]):04x}"
    before, after = (json.dumps(part)[1:-1] for part in (name[:at], name[at + 1 :]))
    return ('"' + before + escaped + after + '"').encode()


def _path_child(path: str, key: str | int) -> str:
    from dlf_status.domain import paths  # the spelling the parser's messages use

    return paths.child(path, key)


def write_with_repeat(
    value: object, target: int, position: int, escape: int | None, second: object
) -> Repeated:
    """`value` as JSON text, the `target`-th object (preorder, modulo their number)
    given one of its names again (at `position`, spelt with an escape or not, with the
    value `second`); an empty object gets a name twice."""
    objects: list[tuple[dict[str, object], str]] = []

    def collect(item: object, path: str) -> None:
        if isinstance(item, dict):
            objects.append((item, path))
            for key, child in item.items():
                collect(child, _path_child(path, key))
        elif isinstance(item, list):
            for index, child in enumerate(item):
                collect(child, _path_child(path, index))

    collect(value, "$")
    chosen, path = objects[target % len(objects)]
    keys = list(chosen)
    name = keys[position % len(keys)] if keys else "k"

    def write(item: object) -> bytes:
        if isinstance(item, dict):
            members = [_spelt(key, None) + b":" + write(child) for key, child in item.items()]
            if item is chosen:
                if not keys:
                    members.append(_spelt(name, None) + b":null")
                extra = _spelt(name, escape) + b":" + write(second)
                members.insert(position % (len(members) + 1), extra)
            return b"{" + b",".join(members) + b"}"
        if isinstance(item, list):
            return b"[" + b",".join(map(write, item)) + b"]"
        return json.dumps(item, ensure_ascii=False).encode()

    return Repeated(write(value), name, path)


def repeated_names(
    answers: st.SearchStrategy[object] = valid_status_answers,
    seconds: st.SearchStrategy[object] = json_values,
) -> st.SearchStrategy[Repeated]:
    """Valid answers with a name repeated in any of their objects, at any depth (the
    second value drawn from `seconds`)."""
    return st.builds(
        write_with_repeat,
        answers,
        st.integers(0, 50),
        st.integers(0, 50),
        st.none() | st.integers(0, 20),
        seconds,
    )
