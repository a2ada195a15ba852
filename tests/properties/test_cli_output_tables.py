"""The CLI's tables (poll, jobs, fleet, history, drift, demo) as a terminal shows them:
whatever the cells hold (CJK and emoji two columns wide, combining marks none, an
escape sequence, a carriage return, a bidi override, a zero-width space), every
line is printable and every column starts at the same terminal column on each line.

The width oracle is rich's `cell_len` (an independent table of terminal widths), not
the code under test."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len

from dlf_status.entrypoints.tables import table_lines

# Runs of characters whose terminal width is settled (not Unicode's "ambiguous" class).
_SETTLED = [
    ("a", "z"),
    ("0", "9"),
    ("\u00e0", "\u00ff"),  # Latin-1 letters: one column
    ("\u4e00", "\u4e80"),  # CJK ideographs: two
    ("\uac00", "\uac80"),  # Hangul syllables: two
    ("\uff21", "\uff3a"),  # fullwidth Latin: two
    ("\U0001f600", "\U0001f64f"),  # emoji faces: two
    ("\u0300", "\u036f"),  # combining diacritics: none
]
_HOSTILE = ["\x1b", "\r", "\x07", "\x9b", "\u202e", "\u200b", "\u2028", "\ufeff", "\x7f"]

cell_text = st.text(
    st.one_of(
        *(st.characters(min_codepoint=ord(lo), max_codepoint=ord(hi)) for lo, hi in _SETTLED),
        st.sampled_from(_HOSTILE),
    ),
    min_size=1,
    max_size=12,
)


@given(
    st.integers(min_value=1, max_value=4).flatmap(
        lambda columns: st.tuples(
            st.lists(cell_text, min_size=columns, max_size=columns),
            st.lists(st.lists(cell_text, min_size=columns, max_size=columns), max_size=6),
        )
    )
)
def test_every_column_starts_at_one_terminal_column_on_every_line(
    table: tuple[list[str], list[list[str]]],
) -> None:
    header, rows = table
    lines = table_lines(header, rows)
    assert len(lines) == len(rows) + 1
    starts = []
    for line in lines:
        assert line.isprintable(), repr(line)
        # No cell holds a space (the generator makes none, escaping adds none).
        cells = list(re.finditer(r"\S+", line))
        assert len(cells) == len(header), repr(line)
        starts.append([cell_len(line[: cell.start()]) for cell in cells])
    assert all(start == starts[0] for start in starts), lines


def test_a_cjk_name_pads_by_the_columns_it_takes() -> None:
    lines = table_lines(["JOB", "STATUS"], [["\u4f5c\u696d", "RUNNING"], ["abcdef", "FAILED"]])
    assert lines == ["JOB     STATUS", "\u4f5c\u696d    RUNNING", "abcdef  FAILED"]


def test_a_cell_that_starts_with_a_combining_mark_is_written_escaped() -> None:
    # Drawn as it is, the mark would sit on the separator's space before it.
    lines = table_lines(["A", "B"], [["x", "\u0301y"]])
    assert lines[1] == "x  \\u0301y"
