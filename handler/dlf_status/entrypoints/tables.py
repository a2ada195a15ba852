"""The plain-text tables the command line and the demo print."""

from __future__ import annotations

from collections.abc import Sequence


def table_lines(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """The header and rows in columns as wide as their widest cell, two spaces apart,
    without trailing blanks (cells are the caller's to cut and escape)."""
    lines = [list(header), *rows]
    widths = [max(len(line[index]) for line in lines) for index in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    ]
