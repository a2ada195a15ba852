"""JSONPath spelling of a place in an upstream body, e.g. ``$.nodes[0].name``."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

ROOT = "$"
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@functools.lru_cache(maxsize=4096)
def child(path: str, key: str | int) -> str:
    """`path` then `key`: .key, ['odd key'] or [index]. Cached: the same few places
    (a body's declared keys) are spelt on every poll."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _PLAIN_KEY.fullmatch(key):
        return f"{path}.{key}"
    escaped = key.replace("\\", "\\\\").replace("'", "\\'")
    return f"{path}['{escaped}']"


def any_item(path: str) -> str:
    """Every element of the array at `path`."""
    return f"{path}[*]"


def join(parts: Iterable[str | int]) -> str:
    path = ROOT
    for part in parts:
        path = child(path, part)
    return path


# Places that are not in the body, named after OpenAPI runtime expressions.
def header_path(name: str) -> str:
    return f"$response.header.{name}"


STATUS_CODE_PATH = "$statusCode"
