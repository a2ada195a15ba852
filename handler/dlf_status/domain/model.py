"""Value objects of the core. No I/O here."""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterator, Mapping
from typing import NamedTuple

from dlf_status.errors import InvalidInput

# DataArts job names are letters, digits, "-", "_" and "." up to 128 characters in
# the console, but older jobs and other regions allow more (spaces, CJK). We accept
# any printable text and encode it wherever it goes (URL path, snapshot key); we
# refuse only what can never be a name and could change a path or a header.
MAX_JOB_NAME_LENGTH = 128
# Project and workspace ids are 32 hex digits in every region we know; a strict
# alphabet keeps them out of reach of header and path injection.
_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
_DOT_SEGMENTS = frozenset({".", ".."})


def refuse_unprintable(value: str, what: str) -> None:
    """Raise InvalidInput when `value` holds what can never be text of a name or an id."""
    for char in value:
        category = unicodedata.category(char)
        # Cc: control characters (CR, LF, NUL...); Cs: lone surrogates, which is how
        # Python carries bytes that were not UTF-8; Zl/Zp: line and paragraph separators.
        if category in ("Cc", "Cs", "Zl", "Zp"):
            raise InvalidInput(
                f"{what} contains a control or non-UTF-8 character (U+{ord(char):04X})",
                field=what,
            )


def validate_project_id(value: object) -> str:
    if not isinstance(value, str) or not _ID_PATTERN.fullmatch(value):
        raise InvalidInput(
            "project_id must be 1 to 64 letters, digits, '-' or '_'", field="project_id"
        )
    return value


def validate_workspace(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _ID_PATTERN.fullmatch(value):
        raise InvalidInput(
            "workspace must be 1 to 64 letters, digits, '-' or '_'", field="workspace"
        )
    return value


def validate_job_name(value: object) -> str:
    if not isinstance(value, str) or value == "":
        raise InvalidInput("job_name must be a non-empty string", field="job_name")
    if len(value) > MAX_JOB_NAME_LENGTH:
        raise InvalidInput(
            f"job_name is longer than {MAX_JOB_NAME_LENGTH} characters", field="job_name"
        )
    refuse_unprintable(value, "job_name")
    if value in _DOT_SEGMENTS:
        raise InvalidInput("job_name must not be '.' or '..'", field="job_name")
    if value != value.strip():
        raise InvalidInput("job_name must not start or end with white space", field="job_name")
    return value


class JobRef(NamedTuple):
    """Which job to observe: the upstream's three coordinates, validated."""

    project_id: str
    job_name: str
    workspace: str | None = None

    @classmethod
    def parse(cls, project_id: object, job_name: object, workspace: object = None) -> JobRef:
        return cls(
            project_id=validate_project_id(project_id),
            job_name=validate_job_name(job_name),
            workspace=validate_workspace(workspace),
        )


class ValidationMode(enum.StrEnum):
    """lenient records contract violations in the document; strict refuses the answer."""

    LENIENT = "lenient"
    STRICT = "strict"


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only HTTP headers that remember the first spelling."""

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        for name, value in (items or {}).items():
            self._items[name.lower()] = (name, value)

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        found = self._items.get(name.lower())
        return default if found is None else found[1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


class UpstreamResponse(NamedTuple):
    """One HTTP answer of the upstream, as received: status, headers, raw body."""

    status: int
    headers: Headers = Headers()  # read-only: one shared empty instance is safe
    body: bytes = b""

    @property
    def content_type(self) -> str:
        """The media type with its parameters, lower-cased ('' when absent)."""
        return (self.headers.get("Content-Type") or "").strip().lower()

    @property
    def mimetype(self) -> str:
        return self.content_type.split(";", 1)[0].strip()
