"""`dlf-status`: the command line. Parses arguments, calls the core, maps errors.

Exit codes: 0 success; 1 contract violations (`validate`); 2 bad input (a flag, a
file, a job list) or configuration; 3 job not found; 4 upstream failure; 5 snapshot
store failure; 70 internal error. Every error is one line on stderr, never a
traceback. Configuration comes from the environment (see the README), read once at
start. Logs are JSON on stderr, silent unless --verbose; stdout is only for results.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn

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
    whole_number,
)
from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import ResponseValidator
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
from dlf_status.domain.ticks import TickReport
from dlf_status.entrypoints.local_server import SERVE_MAX_CONNECTIONS, SERVE_TIMEOUT_SECONDS
from dlf_status.entrypoints.problems import ExitCode, mapping_for
from dlf_status.errors import DlfStatusError, InvalidInput, one_line
from dlf_status.observability import log_to, logger
from dlf_status.recorded import exchange_from_json, is_recorded_exchange

if TYPE_CHECKING:
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


def _load_response(args: argparse.Namespace) -> tuple[UpstreamResponse, Any]:
    """The response in FILE and its parsed body (None when the body is not JSON)."""
    data = _read_file(args.file)
    if args.status is None:
        try:
            parsed = jsoncodec.loads(data)
        except jsoncodec.JsonDecodeError as exc:
            raise InvalidInput(f"{args.file} is not JSON: {exc}") from None
        if is_recorded_exchange(parsed):
            response = exchange_from_json(parsed).to_response()
            try:
                return response, jsoncodec.loads(response.body)
            except jsoncodec.JsonDecodeError:
                return response, None
        status = 200
    else:
        status = args.status
        parsed = None
        if "json" in args.content_type:
            try:
                parsed = jsoncodec.loads(data)
            except jsoncodec.JsonDecodeError as exc:
                raise InvalidInput(f"{args.file} is not JSON: {exc}") from None
    headers = Headers({"Content-Type": args.content_type})
    return UpstreamResponse(status=status, headers=headers, body=data), parsed


def _validator(kind: str) -> ResponseValidator:
    if kind == "reference":
        return bootstrap.build_reference_validator()
    return bootstrap.build_validator()


def _write(text: bytes | str) -> None:
    data = text.encode("utf-8") if isinstance(text, str) else text
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def cmd_validate(args: argparse.Namespace) -> int:
    response, body = _load_response(args)
    report = _validator(args.validator).validate(response, body)
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
    response, _ = _load_response(args)
    document = interpret_response(
        response,
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
        print(f"dlf-status: {observation.store_error.detail}", file=sys.stderr)
        return ExitCode.STORE_FAILURE
    return ExitCode.OK


def cmd_serve(args: argparse.Namespace) -> int:
    from dlf_status.entrypoints.http_api import StatusApi
    from dlf_status.entrypoints.local_server import make_server

    service = bootstrap.build_status_service(Settings.from_environ(os.environ))
    server = make_server(
        StatusApi(service.observe),
        args.host,
        args.port,
        timeout=args.timeout,
        max_connections=args.max_connections,
    )
    host, port = str(server.server_address[0]), server.server_address[1]
    host = f"[{host}]" if ":" in host else host
    print(
        f"dlf-status: serving GET http://{host}:{port}/v1/{{project_id}}/jobs/{{job_name}}/status",
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
        + (f", {summary['duplicates']} duplicates dropped" if summary["duplicates"] else ""),
    ]
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
    header = ["JOB", "RESULT", "STATUS", "SNAPSHOT", "ERROR", "DETAIL"]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines) + "\n"


def poll_runner(settings: Settings, args: argparse.Namespace) -> TickRunner:
    """The tick runner of `poll`: in place, whatever FANOUT_QUEUE_URL says, with
    `--concurrency` when given and POLL_CONCURRENCY otherwise."""
    return bootstrap.build_tick_runner(settings, concurrency=args.concurrency, fan_out=False)


def cmd_poll(args: argparse.Namespace) -> int:
    from dlf_status.entrypoints.progress import Progress

    settings = Settings.from_environ(os.environ)
    # The list first: a list it cannot read is exit 2 before any credential is read.
    raw_jobs = bootstrap.build_job_list_reader(settings)(str(args.jobs))
    runner = poll_runner(settings, args)
    tick = runner.build_tick(None, None, raw_jobs, runner.service.clock.now())
    report = runner.run(tick, on_outcome=Progress(len(tick.entries), sys.stderr))
    _write(_poll_table(report))
    return ExitCode.OK if report.all_succeeded else ExitCode.VIOLATIONS


def cmd_demo(args: argparse.Namespace) -> int:
    from dlf_status.entrypoints.demo import run_demo

    if not args.fixtures.is_dir():
        raise InvalidInput(f"no recorded fixtures at {args.fixtures}; run from the repository")
    return run_demo(args.fixtures, args.snapshots, sys.stdout)


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error said in one line (argparse prints the usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(
            ExitCode.BAD_INPUT,
            f"{self.prog}: {one_line(message, 500)} (see {self.prog} --help)\n",
        )


def _whole(limits: Limits) -> Callable[[str], int]:
    """An argparse type: ASCII digits in range (`int` takes fullwidth digits, '1_0', ' -3')."""

    def parse(value: str) -> int:
        number = whole_number(value, limits)
        if number is None:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {describe_range(limits)}, got {shown(value)}"
            )
        return number

    return parse


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
        type=_whole(HTTP_STATUSES),
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
        "--content-type",
        type=_content_type,
        default="application/json;charset=UTF-8",
        help="content type of a raw body (default: %(default)s)",
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
        "--port", type=_whole(PORTS), default=8080, help="0 picks a free port (default 8080)"
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
        type=_whole(CONNECTIONS),
        default=SERVE_MAX_CONNECTIONS,
        metavar="N",
        help="connections served at once; more are answered 503 (default %(default)s)",
    )
    serve.set_defaults(run=cmd_serve)

    poll = commands.add_parser(
        "poll",
        help="poll every job of a list, as a scheduled tick does, and print a summary",
        description="Exit 0 when every job succeeded, 1 otherwise (2 for a bad list).",
    )
    poll.add_argument("--jobs", required=True, metavar="FILE", help="JSON or YAML job list")
    poll.add_argument(
        "--concurrency",
        type=_whole(CONCURRENCY),
        default=None,
        help=f"jobs at once, {describe_range(CONCURRENCY)} (default: POLL_CONCURRENCY, "
        f"{DEFAULTS['POLL_CONCURRENCY']})",
    )
    poll.set_defaults(run=cmd_poll)

    demo = commands.add_parser(
        "demo",
        help="poll a few jobs from a local replay upstream and show the result (no account)",
    )
    demo.add_argument(
        "--fixtures",
        type=Path,
        default=Path("contract_tests/fixtures/valid"),
        help="recorded exchanges to replay (default: %(default)s)",
    )
    demo.add_argument(
        "--snapshots",
        type=Path,
        default=Path("snapshots"),
        help="where to write snapshots (default: %(default)s)",
    )
    demo.set_defaults(run=cmd_demo)

    for command in commands.choices.values():
        command.add_argument("-v", "--verbose", action="store_true", help="JSON logs on stderr")
    return parser


def _configure_logging(verbose: bool) -> None:
    log_to("stderr")
    logger.setLevel(logging.INFO if verbose else logging.CRITICAL)


def _error_line(text: str) -> None:
    print(f"dlf-status: {one_line(text, 1000)}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # a bad flag: one line, exit 2
    _configure_logging(args.verbose)
    run: Command = args.run
    try:
        return run(args)
    except DlfStatusError as error:
        _error_line(error.detail)
        return mapping_for(error).exit_code
    except KeyboardInterrupt:
        _error_line("interrupted")
        return 130
    except Exception as error:  # noqa: BLE001 - a bug: one line here, the traceback with -v
        logger.exception("unexpected error")
        _error_line(f"internal error ({type(error).__name__}); run with -v for the traceback")
        return ExitCode.INTERNAL


if __name__ == "__main__":
    sys.exit(main())
