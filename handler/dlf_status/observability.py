"""Structured JSON logs (Powertools Logger) and CloudWatch EMF metrics (Powertools Metrics).

One logger for the whole function. Messages are short and lower case; context
goes in keys. Every line passes through a redacting formatter that replaces
each registered secret (AK, SK, security token, IAM token), in every form a line
may hold it (`domain/redaction.py`), with "***", so a secret cannot reach the
logs even by mistake. The same registry masks upstream text where it enters
(the HTTP adapter, `interpret`). The formatter never raises: a record it cannot
format becomes a short line that says so, and every line encodes to UTF-8.

Other libraries log too (urllib3 quotes a malformed header line it received,
botocore writes whole requests at DEBUG), through the root logger, whose handler
the Lambda runtime owns. Every handler of the root logger (and Python's last-resort
handler) gets a filter that masks each record before that handler formats it, and
the loggers that write request headers are never more verbose than INFO.

Powertools costs about 10 ms of cold start for the Logger and Metrics; its
event handler (about 65 ms more) is not used: one route does not need a router.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import traceback
from collections.abc import MutableMapping
from typing import Any, Final, Literal

from dlf_status.domain import jsoncodec
from dlf_status.domain.redaction import Redactor

# Powertools reads some POWERTOOLS_* variables itself and raises on a value it cannot
# read: POWERTOOLS_DEBUG at import, POWERTOOLS_DEV and the deduplication switch when
# the logger is built, the sample rate when it is configured, POWERTOOLS_METRICS_DISABLED
# at every flush. A typo there would crash the Lambda init or fail every invocation;
# such a variable is dropped before Powertools is imported, and reported once the
# logger exists (`IGNORED_POWERTOOLS_VARIABLES`).
_POWERTOOLS_SWITCHES = (
    "POWERTOOLS_DEBUG",
    "POWERTOOLS_DEV",
    "POWERTOOLS_LOGGER_LOG_EVENT",
    "POWERTOOLS_LOG_DEDUPLICATION_DISABLED",
    "POWERTOOLS_METRICS_DISABLED",
    "POWERTOOLS_TRACE_DISABLED",
)
_TRUTH_WORDS = frozenset({"1", "y", "yes", "t", "true", "on", "0", "n", "no", "f", "false", "off"})


def _is_sample_rate(value: str) -> bool:
    try:
        return 0.0 <= float(value) <= 1.0
    except ValueError:
        return False


def drop_unreadable_powertools_variables(environ: MutableMapping[str, str]) -> tuple[str, ...]:
    """Remove the POWERTOOLS_* variables Powertools would raise on; return their names."""
    unreadable = [
        name
        for name in _POWERTOOLS_SWITCHES
        if name in environ and environ[name].lower() not in _TRUTH_WORDS
    ]
    rate = environ.get("POWERTOOLS_LOGGER_SAMPLE_RATE")
    if rate is not None and not _is_sample_rate(rate):
        unreadable.append("POWERTOOLS_LOGGER_SAMPLE_RATE")
    for name in unreadable:
        del environ[name]
    return tuple(unreadable)


IGNORED_POWERTOOLS_VARIABLES = drop_unreadable_powertools_variables(os.environ)

# Imported only now, after the clean-up above.
from aws_lambda_powertools import Logger, Metrics  # noqa: E402
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter  # noqa: E402
from aws_lambda_powertools.metrics import MetricUnit  # noqa: E402

SERVICE = "dlf-status"
METRICS_NAMESPACE = "DlfStatus"
# The process's credentials, registered once at bootstrap: logs and upstream text.
REDACTOR = Redactor()


class RedactingFormatter(LambdaPowertoolsFormatter):
    """The Powertools JSON formatter, with registered secrets masked in every line."""

    def __init__(self, redactor: Redactor = REDACTOR, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        try:
            line = super().format(record)
        except Exception as error:  # noqa: BLE001 - a log line must never become a traceback
            line = json.dumps(
                {
                    "level": record.levelname,
                    "message": "log record not formatted",
                    "error": type(error).__name__,
                    "service": SERVICE,
                }
            )
        line = self.redactor.text(line)
        # The line is read at a terminal (the CLI's -v) as well as by machines, and its
        # strings are the upstream's: a character a terminal obeys or hides (a C1
        # control, a bidi override, a zero-width space) or that a UTF-8 stream cannot
        # take (a lone surrogate) is written as its JSON escape. The line breaks of an
        # indented record (POWERTOOLS_DEV) are kept.
        return bounded_line(jsoncodec.printable_json(line))


# CloudWatch Logs takes at most 256 KB per event, and Lambda cuts a longer line into
# several events, each then broken JSON that Logs Insights cannot read. Upstream text
# reaches many lines (details, violations, exception text, tracebacks): the bound is
# kept here, for every line, rather than at each call site. 16 KiB holds any line of
# ours and a deep traceback, and bounds what one hostile answer can add to the bill.
MAX_LINE_BYTES: Final = 16 * 1024
_MIN_TEXT_CHARS: Final = 32
# Another library's record (urllib3 quotes every header line it could not parse, and
# a hostile answer holds 100 lines of 64 KiB): its message and traceback, rendered into
# one text by MaskingFilter, leave room in the line for what the runtime adds.
MAX_FOREIGN_TEXT_BYTES: Final = MAX_LINE_BYTES - 1024


def bounded_line(line: str, limit: int = MAX_LINE_BYTES) -> str:
    """`line`, or when its UTF-8 form is over `limit` bytes, the same record with its
    long strings cut in the middle (head and tail kept: a traceback's last line is the
    error), its long arrays and objects cut short, and `log_truncated_from_bytes`
    added; its keys (level, message, correlation id) are kept. Still over: a short
    line that says so, with the record's level, message and correlation id."""
    if len(line) <= limit // 4:  # no character takes more than four bytes: not encoded
        return line
    size = _utf8_size(line)
    if size <= limit:
        return line
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        record = {"message": "log record not formatted", "service": SERVICE}
    chars, items = limit // 8, 64
    while chars >= _MIN_TEXT_CHARS:
        shrunk = {key: _shrunk(value, chars, items) for key, value in record.items()}
        shrunk["log_truncated_from_bytes"] = size
        text = jsoncodec.printable_json(json.dumps(shrunk, ensure_ascii=False, default=str))
        if _utf8_size(text) <= limit:
            return text
        chars, items = chars // 2, max(items // 2, 1)
    essentials = {
        key: _shrunk(record.get(key), _MIN_TEXT_CHARS, 1)
        for key in ("level", "message", "timestamp", "service", "correlation_id")
    }
    return json.dumps({**essentials, "log_truncated_from_bytes": size})


def escaped_within(text: str, limit: int = MAX_FOREIGN_TEXT_BYTES) -> str:
    """`text`, cut in the middle until even its most escaped JSON form (every
    character beyond ASCII as `\\u` escapes) is at most `limit` bytes: the runtime
    formats another library's record, in text or JSON, and we cannot bound its line."""
    chars = min(len(text), limit)  # a character takes one byte at least
    while chars > _MIN_TEXT_CHARS and len(json.dumps(_cut_middle(text, chars))) > limit:
        chars //= 2
    return _cut_middle(text, chars)


def _cut_middle(text: str, chars: int) -> str:
    if len(text) <= chars:
        return text
    half = chars // 2
    return f"{text[:half]}...[{len(text) - 2 * half} characters cut]...{text[-half:]}"


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _shrunk(value: Any, chars: int, items: int) -> Any:
    """`value` with each string at most about `chars` characters and each array or
    object at most `items` entries (what is left out is counted in a marker)."""
    if isinstance(value, str):
        return _cut_middle(value, chars)
    if isinstance(value, list):
        kept = [_shrunk(item, chars, items) for item in value[:items]]
        if len(value) > items:
            kept.append(f"...[{len(value) - items} more items cut]")
        return kept
    if isinstance(value, dict):
        entries = list(value.items())
        shrunk = {str(key)[:chars]: _shrunk(item, chars, items) for key, item in entries[:items]}
        if len(entries) > items:
            shrunk["..."] = f"[{len(entries) - items} more keys cut]"
        return shrunk
    return value


# Attributes every LogRecord has; any other one was given by the caller (`extra`).
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}
# Libraries whose DEBUG lines hold request headers (signatures, the role's session
# token): never more verbose than INFO, whatever the root logger's level.
_HEADER_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3")


class MaskingFilter(logging.Filter):
    """Masks the registered credentials in a record of any logger, before a handler
    that is not ours formats it (the Lambda runtime's, on the root logger).

    The record is rendered to one masked message first: the message with its
    arguments, then its traceback and stack, if any, which would otherwise be
    formatted from the exception itself (urllib3's header warning quotes the
    upstream's bytes in its exception). Text given as `extra` is masked as well. Each
    text is then cut to MAX_FOREIGN_TEXT_BYTES (escaped): one hostile answer made
    urllib3's warning 11 MB, and the runtime's handler does not bound its lines."""

    def __init__(self, redactor: Redactor = REDACTOR) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if _is_ours(record):
            return True
        try:
            message = record.getMessage()
        except Exception as error:  # noqa: BLE001 - a log line must never become a traceback
            message = f"log record not formatted ({type(error).__name__})"
        if record.exc_info:
            message += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
        elif record.exc_text:
            message += "\n" + record.exc_text
        if record.stack_info:
            message += "\n" + record.stack_info
        record.msg, record.args = escaped_within(self.redactor.text(message)), ()
        if hasattr(record, "message"):  # what a formatter before this one computed
            record.message = record.msg
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        for name, value in list(vars(record).items()):
            if name not in _RECORD_ATTRIBUTES and isinstance(value, str):
                setattr(record, name, escaped_within(self.redactor.text(value)))
        return True


def _is_ours(record: logging.LogRecord) -> bool:
    """A record of our own logger: our formatter masks its whole line, and Powertools
    keeps it off the root handlers. Rewriting it here would change the record that
    every later handler sees (its message would carry its traceback)."""
    return record.name == SERVICE or record.name.startswith(SERVICE + ".")


_masking_filter = MaskingFilter()


def mask_every_handler() -> None:
    """Put the masking filter on every handler of the root logger (and the last-resort
    handler), once; and keep the header-writing loggers at INFO or quieter. Run at
    import and again at start: the Lambda runtime sets up its handler before either."""
    for handler in [*logging.root.handlers, logging.lastResort]:
        if handler is not None and _masking_filter not in handler.filters:
            handler.addFilter(_masking_filter)
    for name in _HEADER_LOGGERS:
        library = logging.getLogger(name)
        if library.level < logging.INFO:
            library.setLevel(logging.INFO)


mask_every_handler()


class _StandardStream:
    """Writes to whichever sys.stdout or sys.stderr is current at write time.

    Lambda reads logs from stdout; the CLI keeps stdout for results and sends
    logs to stderr (`log_to`).
    """

    def __init__(self) -> None:
        self.target = "stdout"

    def write(self, text: str) -> int:
        written: int = getattr(sys, self.target).write(text)
        return written

    def flush(self) -> None:
        getattr(sys, self.target).flush()


_stream = _StandardStream()
formatter = RedactingFormatter()
# The level is given, not read by Powertools from LOG_LEVEL (it raises on an unknown
# level at import): config.py reads LOG_LEVEL and refuses a bad one by name.
logger = Logger(
    service=SERVICE,
    level=logging.INFO,
    logger_formatter=formatter,
    logger_handler=logging.StreamHandler(_stream),
)


def log_to(target: Literal["stdout", "stderr"]) -> None:
    _stream.target = target


def register_secrets(*secrets: str | None) -> None:
    """Mask these credentials in every log line and in upstream text from now on."""
    REDACTOR.add(*secrets)


class EmfMetrics:
    """The `Metrics` port over Powertools (EMF lines, flushed once per invocation).

    A lock guards the shared metric set: ticks add metrics from several threads.
    """

    def __init__(self, metrics: Metrics | None = None) -> None:
        self.powertools = metrics or Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)
        self._lock = threading.Lock()

    def add(self, name: str, value: float, unit: str = "Count") -> None:
        with self._lock:
            self.powertools.add_metric(name=name, unit=MetricUnit(unit), value=value)

    def flush(self) -> None:
        with self._lock:
            self.powertools.flush_metrics(raise_on_empty_metrics=False)


class NullMetrics:
    """For the CLI: metrics are for the deployed function's dashboards."""

    def add(self, name: str, value: float, unit: str = "Count") -> None:
        return None
