"""JSONPath spelling of a place in an upstream body, e.g. ``$.nodes[0].name``."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

ROOT = "$"
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# Keys longer than this are spelt cut, then `...`: a path names a place for people and
# listings, and an upstream key may be megabytes long (its value is kept whole in
# `extra`, see extra_keys).
MAX_KEY_LENGTH = 1_024
# Keys up to this long are cached. The cache outlives every answer, and its keys are
# the upstream's: a long key (an unknown field of megabytes) kept there would stay
# for the life of the process, 4,096 of them at most, each with its path.
_CACHED_KEY_LENGTH = 64


def _spell(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _PLAIN_KEY.fullmatch(key):
        return f"{path}.{key}"
    escaped = key.replace("\\", "\\\\").replace("'", "\\'")
    return f"{path}['{escaped}']"


_spell_cached = functools.lru_cache(maxsize=4096)(_spell)


def child(path: str, key: str | int) -> str:
    """`path` then `key`: .key, ['odd key'] or [index]. Short places are cached: the
    same few (a body's declared keys) are spelt on every poll. Long ones, which only
    a hostile or broken upstream sends, are spelt each time and never kept; past
    MAX_KEY_LENGTH characters a key is cut, and the path ends in `...`."""
    if isinstance(key, str) and len(key) > MAX_KEY_LENGTH:
        return _spell(path, key[:MAX_KEY_LENGTH]) + "..."
    if len(path) > _CACHED_KEY_LENGTH or (isinstance(key, str) and len(key) > _CACHED_KEY_LENGTH):
        return _spell(path, key)
    return _spell_cached(path, key)


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
