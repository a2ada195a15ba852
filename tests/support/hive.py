"""How Hive-style engines of the JVM read a partition value: a copy, in Python, of the
decoding in Hive's `FileUtils.unescapePathName`, which Spark's
`ExternalCatalogUtils.unescapePathName` and Trino's `Partitions.unescapePathName` copy
too: each `%XX` (two characters that `Integer.parseInt(_, 16)` reads as a number >= 0,
with a third character or more after the '%') becomes the ONE character of that
code, `(char) code`; anything else is kept."""

from __future__ import annotations

import re

# What Integer.parseInt(s, 16) accepts in two characters, and reads as >= 0.
_JAVA_HEX = re.compile(r"\+?[0-9A-Fa-f]{1,2}")


def hive_unescape(value: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(value):
        char = value[index]
        digits = value[index + 1 : index + 3]
        if char == "%" and index + 2 < len(value) and _JAVA_HEX.fullmatch(digits):
            out.append(chr(int(digits, 16)))
            index += 3
        else:
            out.append(char)
            index += 1
    return "".join(out)
