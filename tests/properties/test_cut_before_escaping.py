"""Upstream text is cut before anything is done per character (README: What bounds
memory), and the cut changes nothing that is shown: each helper gives exactly what
escaping all of the text, then cutting it, gives (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dlf_status.domain.contract import MAX_MESSAGE_LENGTH, Violation
from dlf_status.domain.timestamps import read_time
from dlf_status.errors import one_line

# Text around the cut, rich in what escaping lengthens (controls, separators, bidi).
TEXT = st.text(
    alphabet=st.characters(codec=None) | st.sampled_from("\n\t\x00\u2028\u202e\ufeff'\"x"),
    max_size=700,
)


def _escaped(text: str) -> str:
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_a_violation_message_is_the_escaped_message_cut(message: str) -> None:
    escaped = _escaped(message)
    if len(escaped) > MAX_MESSAGE_LENGTH:
        escaped = escaped[: MAX_MESSAGE_LENGTH - 3] + "..."

    assert Violation.of("$", message).message == escaped


@settings(max_examples=400, deadline=None)
@given(TEXT, st.integers(min_value=1, max_value=400))
def test_one_line_is_the_escaped_text_cut(text: str, limit: int) -> None:
    shown = one_line(text, limit)

    escaped = _escaped(text[:limit])  # cut before escaping: bounded work on any text
    cut = len(text) > limit or len(escaped) > limit
    assert shown == escaped[:limit] + ("..." if cut else "")  # and after: the limit holds
    assert len(shown) <= limit + len("...")
    assert shown.isprintable()


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_a_refused_time_quotes_at_most_eighty_characters_of_it(value: str) -> None:
    reading = read_time(value)

    if reading.problem is not None:
        quoted = reading.problem.removeprefix("cannot read ").split(" as a time: ", 1)[0]
        assert len(quoted) <= 80
        assert quoted == repr(value[:80])[:80]


def test_a_long_violated_value_is_cut_not_escaped_whole() -> None:
    message = Violation.of("$.createUser", '["' + "\u2028" * 2_700_000 + '"] is not a string')

    assert message.message == ('["' + "\\u2028" * 50)[: MAX_MESSAGE_LENGTH - 3] + "..."
