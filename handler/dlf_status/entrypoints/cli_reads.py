"""`dlf-status fleet` and `dlf-status history`: the read routes' documents, from the
configured store, for a person at a terminal or a script.

Both read the snapshot store only (SNAPSHOT_URI and its S3 settings): no endpoint or
credentials need be configured. They follow the pages themselves: `fleet` prints every
job, `history` the newest `--limit` documents (or, with `--transitions`, the oldest
`--limit` transition records from `--since`). `--json` prints the route's document
with every page read merged into it; the table is the demo's style, under a summary
line. `fleet` exits 1 when a job is in one of the `--fail-on` statuses (the route's
503), like `poll` when a job failed.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, Final, TypeVar

from dlf_status import bootstrap
from dlf_status.config import Limits, Settings, describe_range
from dlf_status.domain import jsoncodec
from dlf_status.domain.model import JobRef, validate_project_id, validate_workspace
from dlf_status.domain.readmodels import (
    FLEET_PAGE,
    HISTORY_PAGE,
    SEVERITY,
    TRANSITIONS_PAGE,
    FleetDocument,
    HistoryDocument,
    TransitionsDocument,
    parse_fail_on,
    parse_statuses,
    parse_time,
)
from dlf_status.domain.timestamps import format_utc
from dlf_status.entrypoints.arguments import whole_argument
from dlf_status.entrypoints.problems import ExitCode
from dlf_status.entrypoints.results import write_results
from dlf_status.entrypoints.tables import table_lines
from dlf_status.errors import InvalidInput, one_line
from dlf_status.readers import StoreReader

# Documents or records one `history` prints at most (pages are followed up to this).
MAX_PRINTED: Final = Limits(1, 10_000)
DEFAULT_DOCUMENTS: Final = 20
DEFAULT_RECORDS: Final = 100
CELL: Final = 60  # longest cell in a table: names and errors are cut there

T = TypeVar("T")


def _reader() -> tuple[StoreReader, Settings]:
    settings = Settings.from_environ(os.environ, upstream_required=False)
    return bootstrap.build_store_reader(settings), settings


_write = write_results


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return table_lines(header, [[one_line(cell, CELL) for cell in row] for row in rows])


def _where(project_id: str, workspace: str | None) -> str:
    return f"project {project_id} " + (
        "(no workspace)" if workspace is None else f"workspace {workspace}"
    )


def _counts(by_status: dict[str, int] | None) -> str:
    if not by_status:
        return ""
    return ", ".join(f"{by_status[s]} {s}" for s in SEVERITY if by_status.get(s))


def _nodes(count: int | None, by_status: dict[str, int] | None) -> str:
    if count is None:
        return "-"
    counts = _counts(by_status)
    return f"{count} ({counts})" if counts else str(count)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


# --- fleet ----------------------------------------------------------------------------------


def cmd_fleet(args: argparse.Namespace) -> int:
    project_id = validate_project_id(args.project_id)
    workspace = validate_workspace(args.workspace)
    reader, settings = _reader()
    pages = [
        reader.fleet(
            project_id,
            workspace,
            statuses=args.status,
            fail_on=args.fail_on,
            limit=FLEET_PAGE[1],
            stale_after=settings.stale_after,
        )
    ]
    while pages[-1]["next_cursor"] is not None:
        pages.append(
            reader.fleet(
                project_id,
                workspace,
                statuses=args.status,
                fail_on=args.fail_on,
                limit=FLEET_PAGE[1],
                cursor=pages[-1]["next_cursor"],
                stale_after=settings.stale_after,
            )
        )
    # The summary of the last page: the newest count of the whole fleet.
    document: FleetDocument = {
        **pages[-1],
        "jobs": [row for page in pages for row in page["jobs"]],
        "next_cursor": None,
    }
    if args.json:
        _write(jsoncodec.pretty_bytes(document) + b"\n")
    else:
        _write("\n".join(_fleet_lines(document)) + "\n")
    return ExitCode.VIOLATIONS if document["failing"] else ExitCode.OK


def _fleet_lines(document: FleetDocument) -> list[str]:
    summary = document["summary"]
    counts = _counts(summary["jobs_by_status"])
    line = (
        f"fleet of {_where(document['project_id'], document['workspace'])}: "
        f"{summary['job_count']} jobs"
        + (f", overall {summary['overall']} ({counts})" if summary["overall"] else "")
        + f"; {summary['stale']} stale (older than {document['stale_after_seconds']:g} s), "
        f"{summary['invalid']} invalid, {summary['unreadable']} unreadable"
    )
    if document["status_filter"] is not None:
        line += f"; showing {', '.join(document['status_filter'])}"
    if document["fail_on"]:
        verdict = "FAILING" if document["failing"] else "passing"
        line += f"; fail-on {','.join(document['fail_on'])}: {verdict}"
    rows = [
        [
            row["job_name"],
            row["status"],
            _nodes(row["node_count"], row["nodes_by_status"]),
            _age(row["age_seconds"]),
            "stale" if row["stale"] else "-",
            "valid" if row["valid"] else "invalid",
            row["error"] or "",
        ]
        for row in document["jobs"]
    ]
    header = ["JOB", "STATUS", "NODES", "AGE", "STALE", "VALIDATION", "ERROR"]
    return [line, *_table(header, rows)]


# --- history and transitions ----------------------------------------------------------------


def _pages(
    read: Callable[[str | None, int], T],
    cursor_of: Callable[[T], str | None],
    count: Callable[[T], int],
    wanted: int,
) -> Iterator[T]:
    """Pages from `read(cursor, limit)` until `wanted` items or the last page, each
    read when the one before has been used."""
    got = 0
    cursor: str | None = None
    while True:
        page = read(cursor, wanted - got)
        yield page
        got += count(page)
        cursor = cursor_of(page)
        if cursor is None or got >= wanted:
            return


def _follow(
    read: Callable[[str | None, int], T],
    cursor_of: Callable[[T], str | None],
    count: Callable[[T], int],
    wanted: int,
) -> list[T]:
    return list(_pages(read, cursor_of, count, wanted))


def _indented(data: bytes, spaces: int) -> bytes:
    """Pretty JSON moved right by `spaces` (a line break is only ever between values:
    inside a string it is escaped)."""
    margin = b" " * spaces
    return margin + data.replace(b"\n", b"\n" + margin)


def _write_history_json(pages: Iterator[HistoryDocument], wanted: int) -> None:
    """The merged page document, written a page at a time: `--limit 10000` holds one
    page of documents, not ten thousand, and its first bytes come out at once.

    The same bytes as `pretty_bytes` of the merged document: its keys are sorted and
    "documents" sorts before every other, so the array is written first and the rest
    (the first page's fields, every unreadable object, the last cursor) after it."""
    header: dict[str, Any] = {}
    unreadable: list[Any] = []
    cursor: str | None = None
    written = 0
    _write(b'{\n  "documents": [')
    for page in pages:
        if not header:
            header = {key: value for key, value in page.items() if key != "documents"}
        kept = page["documents"][: wanted - written]
        if kept:
            _write(
                b"".join(
                    (b"," if written or index else b"")
                    + b"\n"
                    + _indented(jsoncodec.pretty_bytes(document), 4)
                    for index, document in enumerate(kept)
                )
            )
        written += len(kept)
        unreadable.extend(page["unreadable"])
        cursor = page["next_cursor"]
    rest = jsoncodec.pretty_bytes({**header, "unreadable": unreadable, "next_cursor": cursor})
    _write((b"\n  ]" if written else b"]") + b"," + rest[1:] + b"\n")


def cmd_history(args: argparse.Namespace) -> int:
    job = JobRef.parse(args.project_id, args.job_name, args.workspace)
    if args.since is not None and args.until is not None and args.since >= args.until:
        raise InvalidInput("--since must be earlier than --until", field="--since")
    reader, _ = _reader()
    if args.transitions:
        return _transitions(reader, job, args)
    wanted = args.limit or DEFAULT_DOCUMENTS
    walk = _pages(
        lambda cursor, left: reader.history(
            job,
            start=args.since,
            end=args.until,
            limit=min(left, HISTORY_PAGE[1]),
            cursor=cursor,
        ),
        lambda page: page["next_cursor"],
        lambda page: len(page["documents"]),
        wanted,
    )
    if args.json:
        _write_history_json(walk, wanted)
        return ExitCode.OK
    pages = list(walk)
    document: HistoryDocument = {
        **pages[0],
        "documents": [d for page in pages for d in page["documents"]][:wanted],
        "unreadable": [u for page in pages for u in page["unreadable"]],
        "next_cursor": pages[-1]["next_cursor"],
    }
    line = (
        f"history of job {document['job_name']!r} in "
        f"{_where(document['project_id'], document['workspace'])}, "
        f"{document['from'] or '400 days back'} to {document['to']}: "
        f"{len(document['documents'])} documents, newest first"
        + (", more before them" if document["next_cursor"] else "")
        + (f", {len(document['unreadable'])} unreadable" if document["unreadable"] else "")
    )
    rows = [
        [
            d["observed_at"],
            d["job"]["status"],
            _nodes(d["summary"]["node_count"], dict(d["summary"]["nodes_by_status"])),
            "valid" if d["validation"]["valid"] else "invalid",
        ]
        for d in document["documents"]
    ] + [[u["time"], "-", "-", f"unreadable: {u['error']}"] for u in document["unreadable"]]
    _write(
        "\n".join([line, *_table(["OBSERVED_AT", "STATUS", "NODES", "VALIDATION"], rows)]) + "\n"
    )
    return ExitCode.OK


def _transitions(reader: StoreReader, job: JobRef, args: argparse.Namespace) -> int:
    wanted = args.limit or DEFAULT_RECORDS
    until: datetime | None = args.until

    def read(cursor: str | None, left: int) -> TransitionsDocument:
        page = reader.transitions(
            job, since=args.since, limit=min(left, TRANSITIONS_PAGE[1]), cursor=cursor
        )
        if until is None:
            return page
        kept = [r for r in page["records"] if datetime.fromisoformat(r["observed_at"]) < until]
        # A record at or after --until ends the walk: they come oldest first.
        ended = len(kept) < len(page["records"])
        return {**page, "records": kept, "has_more": page["has_more"] and not ended}

    pages = _follow(
        read,
        lambda page: page["next_cursor"] if page["has_more"] else None,
        lambda page: len(page["records"]),
        wanted,
    )
    document: TransitionsDocument = {
        **pages[-1],
        "since": pages[0]["since"],
        "records": [r for page in pages for r in page["records"]][:wanted],
        "unreadable": [u for page in pages for u in page["unreadable"]],
    }
    if args.json:
        _write(jsoncodec.pretty_bytes(document) + b"\n")
        return ExitCode.OK
    line = (
        f"transitions of job {document['job_name']!r} in "
        f"{_where(document['project_id'], document['workspace'])}"
        + (f" since {document['since']}" if document["since"] else "")
        + (f" until {format_utc(until)}" if until else "")
        + f": {len(document['records'])} records, oldest first"
        + (", more after them" if document["has_more"] else "")
    )
    rows = [
        [
            record["observed_at"],
            change["scope"],
            change["node"] or "-",
            f"{change['from'] or '-'} ({change['from_raw'] or '-'})",
            f"{change['to'] or '-'} ({change['to_raw'] or '-'})",
        ]
        for record in document["records"]
        for change in record["changes"]
    ] + [[u["time"], "-", "-", "-", f"unreadable: {u['error']}"] for u in document["unreadable"]]
    header = ["OBSERVED_AT", "SCOPE", "NODE", "FROM (RAW)", "TO (RAW)"]
    _write("\n".join([line, *_table(header, rows)]) + "\n")
    return ExitCode.OK


# --- arguments ------------------------------------------------------------------------------


def _parsed(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type from a read-model parser: its refusal as argparse's."""

    def convert(value: str) -> Any:
        try:
            return parse(value)
        except InvalidInput as refused:
            raise argparse.ArgumentTypeError(refused.detail) from None

    return convert


def _given_time(flag: str) -> Callable[[str], Any]:
    """An argparse type for a time flag: an empty value is refused, as on the routes
    (`--since "$UNSET"` would otherwise read 400 days, not what was meant)."""

    def convert(value: str) -> Any:
        if value == "":
            raise argparse.ArgumentTypeError(f"{flag} is empty: leave it out for the default")
        return _parsed(lambda text: parse_time(text, flag))(value)

    return convert


def add_commands(commands: Any) -> None:
    """Register `fleet` and `history` on the CLI's subparsers."""
    fleet = commands.add_parser(
        "fleet",
        help="print the jobs of a project from the snapshot store (no upstream call)",
        description="Every job of the project and workspace, as GET /v1/{project_id}/jobs "
        "answers: a summary line and a row per job. Exit 1 when a job is in one of the "
        "--fail-on statuses.",
    )
    fleet.add_argument("project_id", metavar="PROJECT_ID")
    fleet.add_argument("--workspace", metavar="W")
    fleet.add_argument("--json", action="store_true", help="the fleet document, every row")
    fleet.add_argument(
        "--status",
        type=_parsed(lambda value: parse_statuses(value, "--status")),
        metavar="S[,S...]",
        help="show only rows in these statuses (the summary still counts every job)",
    )
    fleet.add_argument(
        "--fail-on",
        type=_parsed(lambda value: parse_fail_on(value, "--fail-on")),
        default=frozenset(),
        metavar="S[,S...]",
        help="exit 1 when any job is in one of these statuses (STALE: not observed "
        "within STALE_AFTER seconds)",
    )
    fleet.set_defaults(run=cmd_fleet)

    history = commands.add_parser(
        "history",
        help="print a job's stored documents, or its transitions, from the snapshot store",
        description="The job's documents newest first (GET .../history), or with "
        "--transitions its transition records oldest first (GET .../transitions).",
    )
    history.add_argument("project_id", metavar="PROJECT_ID")
    history.add_argument("job_name", metavar="JOB_NAME")
    history.add_argument("--workspace", metavar="W")
    history.add_argument(
        "--since",
        type=_given_time("--since"),
        metavar="TIME",
        help="RFC 3339 with an offset (2026-11-25T08:00:00Z); default: 400 days back "
        "for documents, the first record for transitions",
    )
    history.add_argument(
        "--until",
        type=_given_time("--until"),
        metavar="TIME",
        help="RFC 3339 with an offset, excluded; default: now",
    )
    history.add_argument(
        "--transitions", action="store_true", help="the transition records instead"
    )
    history.add_argument(
        "--limit",
        type=whole_argument(MAX_PRINTED),
        metavar="N",
        help=f"at most N documents (default {DEFAULT_DOCUMENTS}) or records (default "
        f"{DEFAULT_RECORDS}); {describe_range(MAX_PRINTED)}",
    )
    history.add_argument("--json", action="store_true", help="the page document, pages merged")
    history.set_defaults(run=cmd_history)
