"""`dlf-status`: the command line. Parses arguments, calls the core, maps errors.

Exit codes: 0 success; 1 contract violations (`validate`); 2 bad input (a flag, a
file, a job list) or configuration; 3 job not found; 4 upstream failure; 5 snapshot
store failure; 70 internal error. Every error is one line on stderr, never a
traceback. Configuration comes from the environment (see the README), read once at
start. Logs are JSON on stderr, silent unless --verbose; stdout is only for results.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import logging
import os
import re
import shlex
import shutil
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple, NoReturn

from dlf_status import __version__, bootstrap
from dlf_status.adapters.clock import SystemClock
from dlf_status.adapters.local_files import read_at_most
from dlf_status.config import (
    CONCURRENCY,
    DEFAULTS,
    SECONDS,
    Limits,
    Settings,
    decimal_number,
    describe_range,
    shown,
)
from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import (
    NOT_JSON,
    OPERATIONS,
    SHOW_JOB_STATUS,
    Operation,
    ResponseValidator,
    parsed_or_not_json,
)
from dlf_status.domain.discovered import spec_json
from dlf_status.domain.interpret import interpret_response
from dlf_status.domain.model import (
    Headers,
    JobRef,
    UpstreamResponse,
    ValidationMode,
    validate_job_name,
    validate_project_id,
    validate_workspace,
)
from dlf_status.domain.normalize import Source
from dlf_status.domain.ticks import JobOutcome, Tick, TickReport
from dlf_status.domain.timestamps import to_rfc3339
from dlf_status.entrypoints import cli_reads
from dlf_status.entrypoints.arguments import whole_argument
from dlf_status.entrypoints.console import interrupted_while_starting
from dlf_status.entrypoints.demo import DEFAULT_SNAPSHOTS
from dlf_status.entrypoints.local_server import SERVE_MAX_CONNECTIONS, SERVE_TIMEOUT_SECONDS
from dlf_status.entrypoints.problems import ExitCode, mapping_for
from dlf_status.entrypoints.results import (
    ending_at_a_gone_stdout,
    flush_results,
    require_stdout,
    write_results,
)
from dlf_status.entrypoints.tables import table_lines
from dlf_status.errors import DlfStatusError, InvalidInput, one_line
from dlf_status.observability import log_to, logger
from dlf_status.recorded import (
    RecordedExchange,
    exchange_from_json,
    exchange_keeping_repeats,
    is_recorded_exchange,
)

if TYPE_CHECKING:
    from dlf_status.domain.drift import DriftReport, FindingEntry
    from dlf_status.domain.listing import DiscoverySpec
    from dlf_status.poller import TickRunner

Command = Callable[[argparse.Namespace], int]

# A recorded exchange holds one upstream body (at most DLF_MAX_RESPONSE_BYTES, 8 MiB by
# default) escaped as JSON: 64 MiB leaves room and still bounds a mistaken /dev/zero.
MAX_INPUT_FILE_BYTES: Final = 64 << 20
PORTS: Final = Limits(0, 65535)
HTTP_STATUSES: Final = Limits(100, 599)
CONNECTIONS: Final = Limits(1, 1024)
# A violation is printed on one line, cut here: messages quote the offending value.
VIOLATION_TEXT: Final = 1000


def _read_file(path: Path) -> bytes:
    return read_at_most(path, MAX_INPUT_FILE_BYTES, what="the file", regular_only=False)


class LoadedAnswer(NamedTuple):
    """An upstream answer read from FILE: the response, its parsed body (NOT_JSON when
    it is not JSON; None is a body that is `null`), and the operation it answers."""

    response: UpstreamResponse
    body: Any
    operation: Operation


def _load_response(args: argparse.Namespace) -> LoadedAnswer:
    """The answer in FILE: a recorded exchange (its own operation) or a raw body (the
    operation `--operation` names)."""
    data = _read_file(args.file)
    operation = OPERATIONS[args.operation or SHOW_JOB_STATUS.operation_id]
    if args.status is None:
        exchange: RecordedExchange | None = None
        try:
            parsed = jsoncodec.loads(data)
        except jsoncodec.JsonRepeatedName:
            # JSON, but an object repeats a name: a violation the validator names, in
            # a raw body or in a recorded exchange's body.
            exchange = exchange_keeping_repeats(data)
            parsed = NOT_JSON
        except jsoncodec.JsonDecodeError as exc:
            raise InvalidInput(f"{args.file} is not JSON: {exc}") from None
        if exchange is None and is_recorded_exchange(parsed):
            exchange = exchange_from_json(parsed)
        if exchange is not None:
            recorded = OPERATIONS[exchange.operation]
            if args.operation is not None and recorded.operation_id != args.operation:
                raise InvalidInput(
                    f"{args.file} records a {recorded.operation_id} answer, not {args.operation}"
                )
            response = exchange.to_response()
            return LoadedAnswer(response, parsed_or_not_json(response.body), recorded)
        status = 200
    else:
        status = args.status
        parsed = NOT_JSON
        if "json" in args.content_type:
            try:
                parsed = jsoncodec.loads(data)
            except jsoncodec.JsonRepeatedName:
                pass  # JSON that repeats a name: the validator names it
            except jsoncodec.JsonDecodeError as exc:
                raise InvalidInput(f"{args.file} is not JSON: {exc}") from None
    headers = Headers({"Content-Type": args.content_type})
    return LoadedAnswer(
        UpstreamResponse(status=status, headers=headers, body=data), parsed, operation
    )


def _validator(kind: str, operation: Operation = SHOW_JOB_STATUS) -> ResponseValidator:
    if kind == "reference":
        return bootstrap.build_reference_validator(operation)
    return bootstrap.build_validator(operation)


_write = write_results


def cmd_validate(args: argparse.Namespace) -> int:
    loaded = _load_response(args)
    report = _validator(args.validator, loaded.operation).validate(loaded.response, loaded.body)
    lines = [
        f"{one_line(path, VIOLATION_TEXT)}: {one_line(message, VIOLATION_TEXT)}\n"
        for path, message in report.violations
    ]
    _write("".join(lines))
    drift = f", {len(report.unknown_fields)} unknown field(s)" if report.unknown_fields else ""
    print(
        f"{one_line(str(args.file), 200)}: {len(report.violations)} violation(s){drift}",
        file=sys.stderr,
    )
    return ExitCode.VIOLATIONS if report.violations else ExitCode.OK


def cmd_normalize(args: argparse.Namespace) -> int:
    source = Source(
        project_id=None if args.project_id is None else validate_project_id(args.project_id),
        job_name=None if args.job_name is None else validate_job_name(args.job_name),
        workspace=validate_workspace(args.workspace),
        endpoint=None,
    )
    loaded = _load_response(args)
    if loaded.operation != SHOW_JOB_STATUS:
        raise InvalidInput(
            f"{args.file} holds a {loaded.operation.operation_id} answer: normalize turns a "
            f"status answer ({SHOW_JOB_STATUS.operation_id}) into a document"
        )
    document = interpret_response(
        loaded.response,
        source=source,
        observed_at=SystemClock().now(),
        validator=_validator(args.validator),
        mode=ValidationMode(args.mode),
    )
    _write(jsoncodec.pretty_bytes(document) + b"\n")
    return ExitCode.OK


def cmd_get(args: argparse.Namespace) -> int:
    job = JobRef.parse(args.project_id, args.job_name, args.workspace)
    service = bootstrap.build_status_service(Settings.from_environ(os.environ))
    # A person at a terminal wants today's status or an error, not a stale copy.
    observation = service.observe(job, serve_stale=False)
    _write(jsoncodec.pretty_bytes(observation.document) + b"\n")
    if observation.store_error is not None:
        _error_line(observation.store_error.detail)
        return ExitCode.STORE_FAILURE
    return ExitCode.OK


def cmd_serve(args: argparse.Namespace) -> int:
    from dlf_status.entrypoints.http_api import api_for
    from dlf_status.entrypoints.local_server import make_server

    settings = Settings.from_environ(os.environ)
    server = make_server(
        api_for(settings, bootstrap.build_status_service(settings)),
        args.host,
        args.port,
        timeout=args.timeout,
        max_connections=args.max_connections,
    )
    host, port = str(server.server_address[0]), server.server_address[1]
    host = f"[{host}]" if ":" in host else host
    print(
        f"dlf-status: serving GET http://{host}:{port}/v1/{{project_id}}/jobs"
        "[/{job_name}/status|history|transitions]",
        file=sys.stderr,
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return ExitCode.OK


def _poll_table(report: TickReport) -> str:
    summary = report.summary()
    lines = [
        f"tick {summary['tick_id']}: {summary['jobs']} jobs, {summary['ok']} ok, "
        f"{summary['failed']} failed, {summary['not_reached']} not reached"
        + (f", {summary['gone']} gone" if summary["gone"] else "")
        + (f", {summary['duplicates']} duplicates dropped" if summary["duplicates"] else ""),
    ]
    for found in report.discoveries:
        said = (
            f"{found.jobs} job(s) found, {found.requests} list request(s)"
            if found.ok
            else f"failed ({found.error})"
        )
        lines.append(one_line(f"discovery of {found.describe()}: {said}", 400))
    rows = [
        [
            one_line(cell, 57)
            for cell in (
                o.job_name or "-",
                o.result,
                o.status or "-",
                o.snapshot or "-",
                o.error or "",
                o.detail or "",
            )
        ]
        for o in report.outcomes
    ]
    lines += table_lines(["JOB", "RESULT", "STATUS", "SNAPSHOT", "ERROR", "DETAIL"], rows)
    return "\n".join(lines) + "\n"


def poll_runner(settings: Settings, args: argparse.Namespace) -> TickRunner:
    """The tick runner of `poll`: in place, whatever FANOUT_QUEUE_URL says, with
    `--concurrency` when given and POLL_CONCURRENCY otherwise."""
    return bootstrap.build_tick_runner(settings, concurrency=args.concurrency, fan_out=False)


def _discovery_spec(project_id: str, args: argparse.Namespace) -> DiscoverySpec:
    """The discovery the flags ask for; bad flags are exit 2 before any call."""
    from dlf_status.domain.listing import DiscoverySpec

    return DiscoverySpec.parse(project_id, args.workspace, args.tags, args.name_pattern)


def _cell(value: object) -> str:
    return "-" if value is None else one_line(str(value), 60)


def _listed_time(value: object) -> str | None:
    converted, _ = to_rfc3339(value)
    return converted


def cmd_jobs(args: argparse.Namespace) -> int:
    spec = _discovery_spec(args.project_id, args)
    settings = Settings.from_environ(os.environ)
    discovery = bootstrap.build_job_discovery(settings).discover(spec)
    jobs = [
        {
            "name": found.listed.name,
            "status": found.listed.status,
            "job_type": found.listed.job_type,
            "owner": found.listed.raw.get("owner"),
            "create_user": found.listed.raw.get("createUser"),
            "create_time": _listed_time(found.listed.raw.get("createTime")),
        }
        for found in discovery.jobs
    ]
    if args.json:
        _write(jsoncodec.pretty_bytes(jobs) + b"\n")
    else:
        rows = [
            [_cell(job[key]) for key in ("name", "status", "owner", "create_user", "create_time")]
            for job in jobs
        ]
        _write(_table(["NAME", "STATUS", "OWNER", "CREATED BY", "CREATED"], rows))
    said = f"{len(jobs)} real-time job(s) of {_where(spec)} ({discovery.requests} list request(s))"
    if not discovery.complete:
        said += "; the list kept changing while it was read: every job seen is shown"
    print(f"dlf-status: {said}", file=sys.stderr)
    for finding in discovery.findings:
        print(f"dlf-status: {one_line(finding, 300)}", file=sys.stderr)
    if discovery.unpollable:
        print(
            f"dlf-status: {len(discovery.unpollable)} listed name(s) no status call can take "
            "are not shown",
            file=sys.stderr,
        )
    return ExitCode.OK


def _where(spec: DiscoverySpec) -> str:
    words = [f"project {spec.project_id}"]
    if spec.workspace is not None:
        words.append(f"workspace {spec.workspace}")
    if spec.tags:
        words.append("tags " + ",".join(spec.tags))
    if spec.name_pattern is not None:
        words.append(f"name pattern {spec.name_pattern}")
    return one_line(", ".join(words), 400)


def _table(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join(table_lines(header, rows)) + "\n"


def _poll_entries(args: argparse.Namespace, settings: Settings) -> list[Any]:
    """The tick's list: the entries of --jobs, then the discovery --discover asks for."""
    entries: list[Any] = []
    # A bad flag is exit 2 before anything is read.
    spec = None if args.discover is None else _discovery_spec(args.discover, args)
    if args.jobs is not None:
        raw = bootstrap.build_job_list_reader(settings)(str(args.jobs))
        if isinstance(raw, Mapping) and "jobs" in raw:
            raw = raw["jobs"]
        if not isinstance(raw, list):
            raise InvalidInput("the job list must be a list of {project_id, job_name, workspace}")
        entries.extend(raw)
    if spec is not None:
        entries.append({**spec_json(spec), "discover": True})
    return entries


def cmd_poll(args: argparse.Namespace) -> int:
    from dlf_status.entrypoints.progress import Progress

    if args.jobs is None and args.discover is None:
        raise InvalidInput("poll needs --jobs FILE, --discover PROJECT_ID, or both")
    if args.discover is None and (args.workspace or args.tags or args.name_pattern):
        raise InvalidInput("--workspace, --tags and --name-pattern go with --discover")
    settings = Settings.from_environ(os.environ)
    # The list first: a list it cannot read is exit 2 before any credential is read.
    entries = _poll_entries(args, settings)
    runner = poll_runner(settings, args)
    tick = runner.build_tick(None, None, entries)
    progress: list[Progress] = []

    def expanded(tick: Tick) -> None:
        progress.append(Progress(len(tick.entries), sys.stderr))

    def polled(outcome: JobOutcome) -> None:
        progress[0](outcome)

    try:
        report = runner.run(tick, on_outcome=polled, on_expanded=expanded)
    finally:
        for shown in progress:
            shown.end()
    _write(_poll_table(report))
    return ExitCode.OK if report.all_succeeded else ExitCode.VIOLATIONS


def cmd_record(args: argparse.Namespace) -> int:
    """One live answer, recorded as a fixture with nothing in it that authenticates."""
    from dlf_status.adapters.local_files import write_new_file
    from dlf_status.domain.contract import LIST_JOBS
    from dlf_status.domain.listing import JobPageQuery
    from dlf_status.recorded import recording, recording_redactor

    if args.list == (args.job_name is not None):
        raise InvalidInput(
            "record takes PROJECT_ID JOB_NAME (the status call), or --list PROJECT_ID"
        )
    if not args.list and (args.offset or args.limit is not None):
        raise InvalidInput("--offset and --limit go with --list")
    out = Path(args.out)
    if not args.force and os.path.lexists(out):  # before any call: a call costs quota
        raise InvalidInput(f"{one_line(str(out), 200)} exists: pass --force to replace it")
    settings = Settings.from_environ(os.environ)
    # Read once (a secret's read costs a call), for the client and for the masker.
    credentials = bootstrap.load_credentials(settings)
    settings = dataclasses.replace(settings, credentials=credentials, credentials_secret=None)
    client = bootstrap.build_upstream_client(settings, pool_size=1)
    if args.list:
        project_id = validate_project_id(args.project_id)
        query = JobPageQuery(
            project_id, validate_workspace(args.workspace), args.offset, args.limit or 100
        )
        operation, call = LIST_JOBS, client.fetch_job_page(query)
    else:
        job = JobRef.parse(args.project_id, args.job_name, args.workspace)
        operation, call = SHOW_JOB_STATUS, client.fetch_status(job)
    exchange = recording(
        call.response,
        operation=operation.operation_id,
        endpoint=settings.upstream.endpoint,
        recorded_on=SystemClock().now().date(),
        redactor=recording_redactor(credentials.secrets),
    )
    data = json.dumps(exchange, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    write_new_file(out, data, replace=args.force)
    loaded = exchange_from_json(exchange).to_response()
    report = bootstrap.build_validator(operation).validate(loaded, parsed_or_not_json(loaded.body))
    print(
        f"dlf-status: recorded a {operation.operation_id} answer (HTTP {call.response.status}) "
        f"in {one_line(str(out), 200)}: {len(report.violations)} violation(s), "
        f"{len(report.unknown_fields)} unknown field(s); dlf-status validate shows them",
        file=sys.stderr,
    )
    return ExitCode.OK


def cmd_drift(args: argparse.Namespace) -> int:
    """Unknown fields and unlisted statuses in every stored document."""
    from dlf_status.domain.drift import skipped_words

    settings = Settings.from_environ(os.environ, upstream_required=False)  # reads the store only
    reader = bootstrap.build_drift_reader(settings)
    report = reader.report(args.since)
    if args.json:
        _write(jsoncodec.pretty_bytes(report) + b"\n")
    else:
        _write(_drift_text(report))
    said = (
        f"read {report['documents_read']} document(s) of {report['jobs_read']} job(s) "
        f"from {one_line(reader.store.location, 200)}"
    )
    skipped = skipped_words(report["skipped"])
    if skipped:
        said += f"; not counted: {', '.join(skipped)}"
    elif not report["documents_read"]:
        said += "; it holds no status document (is SNAPSHOT_URI right?)"
    print(f"dlf-status: {said}", file=sys.stderr)
    if report["findings_not_kept"] or report["findings_cut_in_documents"]:
        print(
            f"dlf-status: {report['findings_not_kept']} finding(s) past the report's bound "
            f"and {report['findings_cut_in_documents']} document(s) past a document's bound "
            "were counted, not listed",
            file=sys.stderr,
        )
    if reader.first_read_error is not None:  # the report is whole but for these objects
        print(
            f"dlf-status: the store failed to return {report['skipped'].get('not_returned', 0)} "
            f"listed object(s), first: {one_line(reader.first_read_error, 300)}",
            file=sys.stderr,
        )
        return ExitCode.STORE_FAILURE
    return ExitCode.OK


def _example(job: Mapping[str, Any]) -> str:
    workspace = job["workspace"] if job["workspace"] is not None else "-"
    return one_line(f"{job['project_id']}/{workspace}/{job['job_name']}", 160)


def _seen_cells(entry: FindingEntry) -> list[str]:
    return [entry["first_seen"], entry["last_seen"], str(entry["jobs"]), str(entry["documents"])]


def _drift_text(report: DriftReport) -> str:
    text = report["summary"] + "\n"
    if report["unknown_fields"]:
        rows = [
            [entry["value"], *_seen_cells(entry), _example(entry["example_job"])]
            for entry in report["unknown_fields"]
        ]
        text += "\n" + _table(
            ["UNKNOWN FIELD", "FIRST SEEN", "LAST SEEN", "JOBS", "DOCUMENTS", "EXAMPLE JOB"], rows
        )
    if report["statuses"]:
        rows = [
            [
                entry["value"] if entry["value"] else '""',
                entry["scope"],
                entry["folded_to"],
                *_seen_cells(entry),
                _example(entry["example_job"]),
            ]
            for entry in report["statuses"]
        ]
        header = ["STATUS", "OF", "READ AS", "FIRST SEEN", "LAST SEEN", "JOBS", "DOCUMENTS"]
        text += "\n" + _table([*header, "EXAMPLE JOB"], rows)
    return text


def _program() -> str:
    """How the user ran dlf-status, for the commands the demo suggests: `dlf-status`
    when that is what PATH finds, else the path they typed (`.venv/bin/dlf-status`)."""
    typed = sys.argv[0] if sys.argv else ""
    if Path(typed).name != "dlf-status":
        return "dlf-status"  # python -m, or a test calling main()
    found = shutil.which("dlf-status")
    if found is not None and Path(found).resolve() == Path(typed).resolve():
        return "dlf-status"
    return shlex.quote(typed)


def cmd_demo(args: argparse.Namespace) -> int:
    from dlf_status.devtools.replay import RECORDED
    from dlf_status.entrypoints.demo import run_demo
    from dlf_status.entrypoints.startup import cannot_write

    fixtures = RECORDED if args.fixtures is None else args.fixtures
    if not fixtures.is_dir():
        raise InvalidInput(f"no recorded fixtures at {one_line(str(fixtures), 200)}")
    # A read-only cwd would show every snapshot `failed`, with no reason.
    reason = cannot_write(args.snapshots)
    if reason is not None:
        raise InvalidInput(
            f"the demo cannot write its snapshots to {one_line(str(args.snapshots), 200)} "
            f"({one_line(reason, 300)}): run it where you can write, or pass --snapshots DIR"
        )
    text = io.StringIO()
    code = run_demo(fixtures, args.snapshots, text, _program())
    _write(text.getvalue())  # UTF-8, whatever the locale: a path may not be ASCII
    return code


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error said in one line (argparse prints the usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(
            ExitCode.BAD_INPUT,
            f"{self.prog}: {one_line(message, 500)} (see {self.prog} --help)\n",
        )


def _seconds(value: str) -> float:
    number = decimal_number(value, SECONDS)
    if number is None:
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds from {describe_range(SECONDS)}, got {shown(value)}"
        )
    return number


def _host(value: str) -> str:
    if not 0 < len(value) <= 253 or not value.isprintable() or " " in value:
        raise argparse.ArgumentTypeError(f"must be a host name or address, got {shown(value)}")
    return value


def _day(value: str) -> date:
    """An argparse type: a calendar day, YYYY-MM-DD exactly."""
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value, re.ASCII):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise argparse.ArgumentTypeError(f"must be a day as YYYY-MM-DD, got {shown(value)}")


def _content_type(value: str) -> str:
    if not 0 < len(value) <= 256 or not (value.isascii() and value.isprintable()):
        raise argparse.ArgumentTypeError(
            f"must be a content type of at most 256 printable ASCII characters, got {shown(value)}"
        )
    return value


def _add_input_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        type=Path,
        metavar="FILE",
        help="a recorded exchange (status, headers, body), or a raw body",
    )
    parser.add_argument(
        "--status",
        type=whole_argument(HTTP_STATUSES),
        metavar="N",
        help="read FILE as a raw body answered with HTTP status N (default: auto-detect; "
        "a file that is not a recorded exchange is a 200 body)",
    )
    parser.add_argument(
        "--validator",
        choices=["compiled", "reference"],
        default="compiled",
        help="compiled: jsonschema-rs, what the function runs (default); "
        "reference: openapi-core, the referee (needs dlf-status[reference])",
    )
    parser.add_argument(
        "--operation",
        choices=sorted(OPERATIONS),
        help="the call the answer belongs to (default: what a recorded exchange names; "
        f"{SHOW_JOB_STATUS.operation_id} for a raw body)",
    )
    parser.add_argument(
        "--content-type",
        type=_content_type,
        default="application/json;charset=UTF-8",
        help="content type of a raw body (default: %(default)s)",
    )


def _tags(value: str) -> list[str]:
    """`t1,t2`: each tag is then checked as a discovery entry's are."""
    return value.split(",")


def _add_discovery_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workspace", metavar="W", help="the workspace id (default: none)")
    parser.add_argument(
        "--tags",
        type=_tags,
        metavar="T1,T2",
        help="only jobs that carry every one of these tags",
    )
    parser.add_argument(
        "--name-pattern",
        metavar="GLOB",
        help="only jobs whose whole name matches (*, ?, [seq]; case-sensitive)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dlf-status",
        description="Status proxy for Huawei Cloud DataArts Studio real-time jobs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser(
        "validate",
        help="check an upstream answer against openapi.yaml",
        description="Print one line per contract violation; exit 1 when there is any.",
    )
    _add_input_arguments(validate)
    validate.set_defaults(run=cmd_validate)

    normalize = commands.add_parser(
        "normalize",
        help="print the normalised status document for an upstream answer",
        description="Validate and normalise an upstream answer into the v1 status document.",
    )
    _add_input_arguments(normalize)
    normalize.add_argument("--project-id", metavar="P")
    normalize.add_argument("--job-name", metavar="J")
    normalize.add_argument("--workspace", metavar="W")
    normalize.add_argument(
        "--mode",
        choices=[mode.value for mode in ValidationMode],
        default=ValidationMode.LENIENT.value,
        help="lenient records violations in the document; strict fails on them",
    )
    normalize.set_defaults(run=cmd_normalize)

    get = commands.add_parser(
        "get",
        help="fetch a job's status from DataArts Studio, print it and write the snapshot",
        description="Exit 3 when the job does not exist, 4 on an upstream failure, "
        "5 when the snapshot could not be written (the document is still printed).",
    )
    get.add_argument("project_id", metavar="PROJECT_ID")
    get.add_argument("job_name", metavar="JOB_NAME")
    get.add_argument("--workspace", metavar="W")
    get.set_defaults(run=cmd_get)

    serve = commands.add_parser(
        "serve",
        help="serve the function's HTTP API locally (API Gateway 2.0 events)",
        description="For development and tests: no TLS, no authorisation.",
    )
    serve.add_argument("--host", type=_host, default="127.0.0.1")
    serve.add_argument(
        "--port",
        type=whole_argument(PORTS),
        default=8080,
        help="0 picks a free port (default 8080)",
    )
    serve.add_argument(
        "--timeout",
        type=_seconds,
        default=SERVE_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="close a connection idle this long, mid-request too (default %(default)s)",
    )
    serve.add_argument(
        "--max-connections",
        type=whole_argument(CONNECTIONS),
        default=SERVE_MAX_CONNECTIONS,
        metavar="N",
        help="connections served at once; more are answered 503 (default %(default)s)",
    )
    serve.set_defaults(run=cmd_serve, writes_results=False)  # its answers go to clients

    jobs = commands.add_parser(
        "jobs",
        help="list the real-time jobs of a project (and workspace) from DataArts Studio",
        description="The job list API's real-time jobs, with the list's own status: a table, "
        "or a JSON array with --json. Exit 4 when the list cannot be read whole.",
    )
    jobs.add_argument("project_id", metavar="PROJECT_ID")
    _add_discovery_arguments(jobs)
    jobs.add_argument("--json", action="store_true", help="a JSON array of objects")
    jobs.set_defaults(run=cmd_jobs)

    poll = commands.add_parser(
        "poll",
        help="poll every job of a list, as a scheduled tick does, and print a summary",
        description="Exit 0 when every job succeeded, 1 otherwise (2 for a bad list).",
    )
    poll.add_argument("--jobs", metavar="FILE", help="JSON or YAML job list")
    poll.add_argument(
        "--discover",
        metavar="PROJECT_ID",
        help="also poll every real-time job of this project that the job list names",
    )
    _add_discovery_arguments(poll)
    poll.add_argument(
        "--concurrency",
        type=whole_argument(CONCURRENCY),
        default=None,
        help=f"jobs at once, {describe_range(CONCURRENCY)} (default: POLL_CONCURRENCY, "
        f"{DEFAULTS['POLL_CONCURRENCY']})",
    )
    poll.set_defaults(run=cmd_poll)

    record = commands.add_parser(
        "record",
        help="record one live answer of DataArts Studio as a fixture, credentials removed",
        description="Calls the upstream with the configured credentials and writes the "
        "answer (status, headers, body) in the format of contract_tests/fixtures/, with "
        "every credential, token, cookie and signature removed. Writes FILE whole or not "
        "at all, and never over an existing file without --force. Exit 0 when a file was "
        "written (whatever the answer's status), 4 when no answer came.",
    )
    record.add_argument("project_id", metavar="PROJECT_ID")
    record.add_argument("job_name", metavar="JOB_NAME", nargs="?", help="the status call's job")
    record.add_argument("--workspace", metavar="W")
    record.add_argument(
        "--list",
        action="store_true",
        help="record a page of the job list (ListJobs) instead of a status answer",
    )
    record.add_argument(
        "--offset",
        type=whole_argument(Limits(0, 100_000)),
        default=0,
        metavar="N",
        help="with --list: the page's offset, as sent (default 0)",
    )
    record.add_argument(
        "--limit",
        type=whole_argument(Limits(1, 1000)),
        metavar="N",
        help="with --list: the page's limit, as sent (default 100)",
    )
    record.add_argument("--out", required=True, metavar="FILE", help="where to write")
    record.add_argument("--force", action="store_true", help="replace FILE if it exists")
    record.set_defaults(run=cmd_record, writes_results=False)  # FILE, and a line on stderr

    drift = commands.add_parser(
        "drift",
        help="report unknown fields and statuses outside the documented five in the store",
        description="Reads every status document of SNAPSHOT_URI (history and latest, "
        "streamed) and reports each unknown field and each upstream status outside the "
        "documented five: first and last seen, in how many jobs and documents, one "
        "example job. A summary line first; a table, or one JSON object with --json. "
        "Exit 5 when the store cannot be read.",
    )
    drift.add_argument(
        "--since",
        type=_day,
        metavar="YYYY-MM-DD",
        help="only documents observed on or after this day (UTC)",
    )
    drift.add_argument("--json", action="store_true", help="one JSON object")
    drift.set_defaults(run=cmd_drift)

    demo = commands.add_parser(
        "demo",
        help="poll a few jobs from a local replay upstream and show the result (no account)",
    )
    demo.add_argument(
        "--fixtures",
        type=Path,
        metavar="DIR",
        help="recorded exchanges to replay, named as the package's own (default: the "
        "package's own, so the demo runs wherever dlf-status is installed)",
    )
    demo.add_argument(
        "--snapshots",
        type=Path,
        default=DEFAULT_SNAPSHOTS,
        help="where to write snapshots (default: ./%(default)s)",
    )
    demo.set_defaults(run=cmd_demo)

    cli_reads.add_commands(commands)  # fleet, history: the store's read models

    for command in commands.choices.values():
        command.add_argument("-v", "--verbose", action="store_true", help="JSON logs on stderr")
    return parser


def _configure_logging(verbose: bool) -> None:
    log_to("stderr")
    logger.setLevel(logging.INFO if verbose else logging.CRITICAL)


def _error_line(text: str) -> None:
    # A stderr that is gone too leaves the exit code to say it.
    with contextlib.suppress(OSError, ValueError):
        print(f"dlf-status: {one_line(text, 1000)}", file=sys.stderr)


def _arguments(words: Sequence[str]) -> list[str]:
    """The command line's words as the user typed them. In the C locale with UTF-8 mode
    off (`LC_ALL=C PYTHONUTF8=0`) Python decodes them as ASCII, and a UTF-8 job name
    arrives as surrogates that no job has: its bytes are read as UTF-8 again (bytes
    that are not UTF-8 stay surrogates, refused by name). Any other locale's decoding
    is what the user's terminal sent, and is kept."""
    if sys.getfilesystemencoding() != "ascii":
        return list(words)
    return [os.fsencode(word).decode("utf-8", "surrogateescape") for word in words]


def main(argv: Sequence[str] | None = None) -> int:
    try:
        if signal.getsignal(signal.SIGINT) is interrupted_while_starting:
            # From here, the except below; a Ctrl-C pending meanwhile is raised inside it.
            signal.signal(signal.SIGINT, signal.default_int_handler)
        # First: argparse may print help and exit, and no log line may ever reach stdout.
        log_to("stderr")
        words = _arguments(sys.argv[1:]) if argv is None else argv
        return ending_at_a_gone_stdout(lambda: _main(words))
    except KeyboardInterrupt:  # Ctrl-C anywhere: parsing arguments, writing results
        _error_line("interrupted")
        return ExitCode.INTERRUPTED


def _main(argv: Sequence[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)  # a bad flag: one line, exit 2
    except SystemExit:
        flush_results()  # --help, --version: their text reached stdout, or it is gone
        raise
    if getattr(args, "writes_results", True):
        require_stdout()  # started with stdout closed (`>&-`): nothing done, one line
    _configure_logging(args.verbose)
    run: Command = args.run
    try:
        code = run(args)
        flush_results()
        return code
    except DlfStatusError as error:
        _error_line(error.detail)
        return mapping_for(error).exit_code
    except Exception as error:  # noqa: BLE001 - a bug: one line here, the traceback with -v
        logger.exception("unexpected error")
        _error_line(f"internal error ({type(error).__name__}); run with -v for the traceback")
        return ExitCode.INTERNAL


if __name__ == "__main__":
    sys.exit(main())
