"""A simulated job list (ListJobs) with every paging semantics the sources allow.

`offset` counts records, pages from 0, pages from 1 (0 repeating page 1, or 0
answering nothing), or is ignored; `limit` is honoured up to a maximum, beyond it
clamped or refused (400 DLF.3051); `total` counts the list, the page, lies or is
absent; and the list can change between two requests (a job created or deleted at a
position). The unit tests page through it directly; the integration tests serve it
over HTTP (`werkzeug_handler`).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from werkzeug import Request, Response

from dlf_status.domain.model import Headers, UpstreamResponse

JSON = {"Content-Type": "application/json;charset=UTF-8"}


class OffsetMeaning(enum.StrEnum):
    RECORDS = "records"
    PAGES_FROM_0 = "pages-from-0"
    PAGES_FROM_1 = "pages-from-1"  # offset 0 repeats page 1
    PAGES_FROM_1_STRICT = "pages-from-1-strict"  # offset 0 answers nothing
    IGNORED = "ignored"  # every offset answers the first page


class TotalMeaning(enum.StrEnum):
    WHOLE = "whole"
    PAGE = "page"
    LIE = "lie"
    ABSENT = "absent"


@dataclass(frozen=True)
class Mutation:
    """Before answering request number `at` (0-based), create a job at `position`
    (a new name) or delete the job at `position` (modulo the list's length)."""

    at: int
    create: bool
    position: int


@dataclass
class SimulatedJobList:
    names: list[str]
    offset_meaning: OffsetMeaning = OffsetMeaning.RECORDS
    max_limit: int = 1000
    refuse_over_limit: bool = False  # else clamp
    ignore_limit: bool = False  # answer every job from the offset on (the legacy API)
    total_meaning: TotalMeaning = TotalMeaning.WHOLE
    lie: int = 3
    mutations: tuple[Mutation, ...] = ()
    batch_names: frozenset[str] = frozenset()  # listed with jobType BATCH
    fail_at: dict[int, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[int, int]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    initial: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.initial = tuple(self.names)

    # -- what the list was ----------------------------------------------------------

    @property
    def stable(self) -> set[str]:
        """Jobs present from the first request to the last."""
        return set(self.initial) - set(self.deleted)

    @property
    def ever(self) -> set[str]:
        return set(self.initial) | set(self.created)

    # -- one request ----------------------------------------------------------------

    def _mutate(self, number: int) -> None:
        for mutation in self.mutations:
            if mutation.at != number:
                continue
            if mutation.create:
                name = f"created-{len(self.created)}"
                self.created.append(name)
                self.names.insert(mutation.position % (len(self.names) + 1), name)
            elif self.names:
                self.deleted.append(self.names.pop(mutation.position % len(self.names)))

    def answer(self, offset: int, limit: int) -> tuple[int, Any]:
        """(HTTP status, JSON body) for one request."""
        number = len(self.requests)
        self.requests.append((offset, limit))
        self._mutate(number)
        if number in self.fail_at:
            return self.fail_at[number]
        if limit > self.max_limit and self.refuse_over_limit:
            return 400, {"error_code": "DLF.3051", "error_msg": "The request parameter is invalid."}
        size = len(self.names) if self.ignore_limit else min(limit, self.max_limit)
        meaning = self.offset_meaning
        if meaning is OffsetMeaning.RECORDS:
            start = offset
        elif meaning is OffsetMeaning.PAGES_FROM_0:
            start = offset * size
        elif meaning is OffsetMeaning.PAGES_FROM_1:
            start = (max(offset, 1) - 1) * size
        elif meaning is OffsetMeaning.PAGES_FROM_1_STRICT:
            start = (offset - 1) * size if offset else len(self.names)
        else:
            start = 0
        page = self.names[start : start + size]
        body: dict[str, Any] = {"jobs": [self.item(name) for name in page]}
        if self.total_meaning is TotalMeaning.WHOLE:
            body["total"] = len(self.names)
        elif self.total_meaning is TotalMeaning.PAGE:
            body["total"] = len(page)
        elif self.total_meaning is TotalMeaning.LIE:
            body["total"] = self.lie
        return 200, body

    def item(self, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "jobType": "BATCH" if name in self.batch_names else "REAL_TIME",
            "status": "NORMAL",
            "createUser": "simulated",
            "createTime": 1732521600000,
        }

    def response(self, offset: int, limit: int) -> UpstreamResponse:
        status, body = self.answer(offset, limit)
        return UpstreamResponse(status, Headers(JSON), json.dumps(body).encode())

    def werkzeug_handler(self, request: Request) -> Response:
        """Serve the list over HTTP (pytest-httpserver's `respond_with_handler`)."""
        query = parse_qs(request.query_string.decode("ascii"))
        status, body = self.answer(int(query["offset"][0]), int(query["limit"][0]))
        return Response(json.dumps(body), status=status, headers=JSON)
