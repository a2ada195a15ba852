"""Records of any logger are masked before a handler that is not ours formats them
(observability.MaskingFilter, on the root logger's handlers)."""

from __future__ import annotations

import io
import logging
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from dlf_status.domain.redaction import Redactor, forms
from dlf_status.errors import ConfigurationError, TickFailed
from dlf_status.observability import MaskingFilter, mask_every_handler

SECRET = 'fake"sk\\/+=%2F-not-real-0123'
ENCODED = sorted(forms(SECRET))


class ExceptionFormatter(logging.Formatter):
    """Like the Lambda runtime's JSON formatter: the exception's own text, not exc_text."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" error={record.exc_info[1]}"
        return text + f" extra={getattr(record, 'detail', '')}"


def _written(record: logging.LogRecord) -> str:
    stream = io.StringIO()
    for formatter in (logging.Formatter("%(message)s"), ExceptionFormatter()):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter)
        handler.addFilter(MaskingFilter(Redactor([SECRET])))
        handler.handle(record)
    return stream.getvalue()


def _record(message: str, argument: str, detail: str, error: str | None) -> logging.LogRecord:
    exc_info = None
    if error is not None:
        try:
            raise ValueError(error)
        except ValueError:
            exc_info = sys.exc_info()
    record = logging.LogRecord(
        "urllib3.connection", logging.WARNING, __file__, 1, message, (argument,), exc_info
    )
    record.detail = detail
    return record


TEXT = st.text(max_size=20)
WITH_SECRET = st.builds(lambda a, form, b: a + form + b, TEXT, st.sampled_from(ENCODED), TEXT)


@settings(max_examples=200)
@given(
    message=st.sampled_from(["%s", "unparsed data: %r", "x=%s!"]),
    argument=WITH_SECRET | TEXT,
    detail=WITH_SECRET | TEXT,
    error=st.none() | WITH_SECRET | TEXT,
)
def test_no_form_of_a_secret_is_written_from_any_part_of_a_record(
    message: str, argument: str, detail: str, error: str | None
) -> None:
    written = _written(_record(message, argument, detail, error))

    assert [form for form in ENCODED if form in written] == []


def test_the_rest_of_the_record_is_written() -> None:
    written = _written(_record("unparsed data: %r", f"X-Echo {SECRET}", "kept", "boom"))

    assert "unparsed data: 'X-Echo ***'" in written
    assert "ValueError: boom" in written  # the traceback, in the message
    assert "Traceback (most recent call last)" in written
    assert "extra=kept" in written


def test_a_chained_cause_is_written_masked() -> None:
    """A failed tick keeps its cause (schedule.tick_failed): a root handler that writes
    the traceback writes the cause's class, with its text masked too."""
    try:
        try:
            raise ConfigurationError(f"DLF_SK holds {SECRET}")
        except ConfigurationError as cause:
            raise TickFailed("the tick could not run") from cause
    except TickFailed:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "awslambdaric", logging.ERROR, __file__, 1, "invocation failed", (), exc_info
    )

    written = _written(record)

    assert "ConfigurationError: DLF_SK holds ***" in written
    assert "TickFailed: the tick could not run" in written
    assert [form for form in ENCODED if form in written] == []


def test_every_root_handler_and_the_last_resort_get_the_filter_once() -> None:
    handler = logging.StreamHandler(io.StringIO())
    logging.root.addHandler(handler)
    try:
        mask_every_handler()
        mask_every_handler()

        for each in (handler, logging.lastResort):
            assert each is not None
            assert sum(isinstance(f, MaskingFilter) for f in each.filters) == 1
        assert logging.getLogger("botocore").getEffectiveLevel() >= logging.INFO
    finally:
        logging.root.removeHandler(handler)
