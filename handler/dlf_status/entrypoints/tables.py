"""The plain-text tables the command line and the demo print."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from dlf_status.errors import one_line

# Unicode's width classes that a terminal draws two columns wide (CJK, fullwidth forms,
# most emoji), and the categories it draws in none (a combining mark sits on the
# character before it). The rest are one column: what `len` assumed for every one.
_WIDE = frozenset({"W", "F"})
_ZERO_WIDTH = frozenset({"Mn", "Me"})


def display_width(text: str) -> int:
    """The columns `text` takes on a terminal (printable text: one_line's output).

    unicodedata, not the wcwidth package: a table of job names needs only the two
    classes above, and the Lambda artifact should not carry a dependency for the CLI."""
    if text.isascii():
        return len(text)
    return sum(
        0
        if unicodedata.category(char) in _ZERO_WIDTH
        else 2
        if unicodedata.east_asian_width(char) in _WIDE
        else 1
        for char in text
    )


def _cell(text: str) -> str:
    """A cell as a terminal may show it: escaped, and a combining mark first (which
    would sit on the column's separator) written as its escape."""
    shown = one_line(text, 10 * len(text))  # escaped, never cut: one character is ten at most
    if shown and unicodedata.category(shown[0]) in _ZERO_WIDTH:
        shown = shown[0].encode("unicode_escape").decode("ascii") + shown[1:]
    return shown


def table_lines(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """The header and rows in columns as wide as their widest cell on a terminal, two
    spaces apart, without trailing blanks. Every cell is escaped here (a value from the
    upstream may hold what a terminal obeys or hides); cutting is the caller's."""
    lines = [[_cell(cell) for cell in line] for line in [header, *rows]]
    widths = [max(display_width(line[index]) for line in lines) for index in range(len(header))]
    return [
        "  ".join(
            cell + " " * (width - display_width(cell))
            for cell, width in zip(line, widths, strict=True)
        ).rstrip()
        for line in lines
    ]
