"""Job lists for scheduled polls: a JSON or YAML file, local or in S3.

Read at every tick (one small GET), so editing the list needs no redeploy. A job
list is input like any other: whoever can write the file can make it hostile, so
reading one has limits, and breaking one is InvalidInput (the tick fails the
documented way, `poll` exits 2), never a traceback or an exhausted function. An S3
list that cannot be read is the deployment's problem (ConfigurationError: denied,
missing) or the store's (StoreError: an outage, throttling), both retryable, never
the list's.

* Size: at most MAX_JOB_LIST_BYTES, read incrementally (a local file in chunks; an
  S3 object refused on its ContentLength, then read to one byte past the limit).
* Values: at most MAX_JOB_LIST_VALUES (keys, scalars and collections), nested at most
  MAX_JOB_LIST_DEPTH collections deep. With the byte limit this bounds the memory a
  list can take to tens of megabytes, whatever its shape.
* YAML: the safe loader (standard tags only), no aliases at all (`*name`: a job list
  has no use for them, and refusing them makes an alias bomb impossible), numbers
  written with at most MAX_YAML_NUMBER_CHARS characters, every value readable (a
  date like 2024-13-45 is an error, not a traceback). The limits are checked on the
  parser's events before anything is built.
* JSON: orjson, which refuses invalid UTF-8, lone surrogates and numbers beyond a
  64-bit float, and nests at most 1,024 deep; no integer in a job list needs more.
* Repeated keys: refused in both formats, by the key (and the line, in YAML). Both
  parsers keep the last of repeated keys and say nothing, so a job entry written
  twice over would silently lose its first project or name.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any, Final

import orjson

from dlf_status.adapters.local_files import read_at_most
from dlf_status.config import split_s3_uri
from dlf_status.domain import jsoncodec
from dlf_status.errors import ConfigurationError, InvalidInput, StoreError, one_line

if TYPE_CHECKING:
    import yaml

    from dlf_status.adapters.aws import S3ClientFor

MAX_JOB_LIST_BYTES: Final = 1 << 20  # about 10,000 jobs
MAX_JOB_LIST_VALUES: Final = 100_000  # about 14,000 jobs of three fields
MAX_JOB_LIST_DEPTH: Final = 32  # a list needs 3: {"jobs": [{...}]}
MAX_YAML_NUMBER_CHARS: Final = 320  # a 64-bit float's range fits in 310
# S3's answers that say the deployment points at a list it may not read, or that is
# not there: a redeploy (or an upload) fixes them, not a retry of the same request.
_NOT_READABLE: Final = frozenset(
    {
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "NoSuchKey",
        "NoSuchBucket",
        "403",
        "404",
    }
)


def read_job_list(uri: str, s3_client: S3ClientFor | None = None) -> Any:
    """The parsed list (or {"jobs": list}); YAML for .yaml/.yml, JSON otherwise.
    `s3_client` gives the client for an s3:// list's bucket (`store_s3.s3_clients`)."""
    where = one_line(uri, 200)
    data = _read_bytes(uri, where, s3_client)
    if uri.lower().endswith((".yaml", ".yml")):
        return _parse_yaml(data, where)
    return _parse_json(data, where)


def _read_bytes(uri: str, where: str, s3_client: S3ClientFor | None) -> bytes:
    if uri.startswith("s3://"):
        if s3_client is None:
            raise ConfigurationError(f"the job list {where} is in S3, and no S3 client is set")
        return _read_s3(uri, where, s3_client)
    return read_at_most(uri, MAX_JOB_LIST_BYTES, what="the job list", regular_only=True)


def _read_s3(uri: str, where: str, s3_client: S3ClientFor) -> bytes:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        location = split_s3_uri(uri, key_required=True)
    except ValueError as error:
        raise InvalidInput(f"the job list {where} {error}") from None
    client = s3_client(location.bucket)
    too_large = InvalidInput(f"the job list {where} is larger than {MAX_JOB_LIST_BYTES:,} bytes")
    try:
        answer = client.get_object(Bucket=location.bucket, Key=location.key)
        body = answer["Body"]
        try:
            if (answer.get("ContentLength") or 0) > MAX_JOB_LIST_BYTES:
                raise too_large
            # A store that sends no length (or the wrong one) still costs only this.
            data: bytes = body.read(MAX_JOB_LIST_BYTES + 1)
        finally:
            body.close()
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", "error"))
        reason = f"cannot read the job list {where}: {one_line(code, 60)}"
        raise (ConfigurationError if code in _NOT_READABLE else StoreError)(reason) from None
    except (BotoCoreError, OSError) as exc:
        raise StoreError(f"cannot read the job list {where}: {type(exc).__name__}") from None
    if len(data) > MAX_JOB_LIST_BYTES:
        raise too_large
    return data


# -- JSON ---------------------------------------------------------------------------------


def _parse_json(data: bytes, where: str) -> Any:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(
            f"the job list {where} is not valid JSON: {one_line(str(exc), 200)}"
        ) from None
    _check_shape(value, where)
    try:
        jsoncodec.check_names(data, value)
    except jsoncodec.JsonRepeatedName as exc:
        raise InvalidInput(
            f"the job list {where} repeats the key {_shown_key(exc.name)} in one object "
            f"(at {one_line(exc.path, 80)})"
        ) from None
    return value


def _shown_key(key: object) -> str:
    return json.dumps(one_line(str(key), 60)) if key != "" else "the empty key"


def _check_shape(value: Any, where: str) -> None:
    """The value and depth limits, walked without recursion."""
    count = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        count += 1
        if isinstance(item, dict):
            count += len(item)  # the keys
            pending.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)
        else:
            continue
        if depth > MAX_JOB_LIST_DEPTH:
            raise _too_deep(where)
        if count + len(pending) > MAX_JOB_LIST_VALUES:
            raise _too_many(where)


def _too_deep(where: str, line: str = "") -> InvalidInput:
    return InvalidInput(
        f"the job list {where} is nested deeper than {MAX_JOB_LIST_DEPTH} levels{line}"
    )


def _too_many(where: str, line: str = "") -> InvalidInput:
    return InvalidInput(
        f"the job list {where} holds more than {MAX_JOB_LIST_VALUES:,} values{line}"
    )


# -- YAML ---------------------------------------------------------------------------------


class _UnreadableValue(Exception):
    """Raised by the loader (not a YAMLError, so that its reason is kept)."""

    def __init__(self, reason: str, mark: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.mark = mark


def _line(mark: Any) -> str:
    return f" (line {mark.line + 1})" if mark is not None else ""


def _parse_yaml(data: bytes, where: str) -> Any:
    import yaml  # only ticks with a YAML list pay for the import

    loader = _loader_class()
    try:
        _check_events(yaml.parse(data, Loader=loader), where)
        return yaml.load(data, Loader=loader)  # noqa: S506 - a SafeLoader subclass
    except _UnreadableValue as exc:
        raise InvalidInput(f"the job list {where} {exc.reason}{_line(exc.mark)}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InvalidInput(
            f"the job list {where} is not valid YAML{_line(mark)}{_problem(exc)}"
        ) from None
    except UnicodeError:
        raise InvalidInput(f"the job list {where} is not valid YAML: not UTF-8") from None


def _problem(error: Exception) -> str:
    """The parser's reason when it quotes nothing: YAML's messages quote the file where
    they can ("found undefined alias 'x'"), and the file may not be a job list."""
    problem = getattr(error, "problem", None) or getattr(error, "reason", None)
    position = getattr(error, "position", None)
    if isinstance(problem, str) and isinstance(position, int):  # the reader: bytes, not text
        problem = f"{problem} at byte {position}"
    if not isinstance(problem, str) or len(problem) > 80 or not problem.isprintable():
        return ""
    return "" if any(quote in problem for quote in "'\"`") else f": {problem}"


def _check_events(events: Any, where: str) -> None:
    """Aliases, depth and the number of values, on the parser's events: nothing is
    built until the whole list passes."""
    import yaml

    depth = values = 0
    for event in events:
        if isinstance(event, yaml.AliasEvent):
            raise InvalidInput(
                f"the job list {where} uses a YAML alias (*{one_line(str(event.anchor), 40)})"
                f"{_line(event.start_mark)}: aliases are not accepted in a job list"
            )
        if isinstance(event, yaml.ScalarEvent | yaml.CollectionStartEvent):
            values += 1
            if values > MAX_JOB_LIST_VALUES:
                raise _too_many(where, _line(event.start_mark))
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_JOB_LIST_DEPTH:
                raise _too_deep(where, _line(event.start_mark))
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


@functools.cache
def _loader_class() -> type[yaml.SafeLoader]:
    """The safe loader (libyaml's when present) with readers that cannot raise."""
    import yaml

    base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class JobListLoader(base):  # type: ignore[misc]
        def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
            """A value the standard constructors choke on (2024-13-45, `!!int x`,
            `!!bool maybe`) is an error at its line, not a ValueError or KeyError."""
            try:
                return super().construct_object(node, deep)
            except yaml.YAMLError:
                raise
            except (ValueError, TypeError, LookupError, AttributeError, OverflowError) as exc:
                raise _UnreadableValue(
                    f"has a value that cannot be read as {one_line(str(node.tag), 60)} "
                    f"({type(exc).__name__})",
                    node.start_mark,
                ) from None

        def construct_mapping(self, node: yaml.Node, deep: bool = False) -> Any:
            """A key given twice in one mapping (as the same value: `1` and `0x1`, `"a"`
            and `a`) is an error at its line; the dict would keep only the last."""
            if not isinstance(node, yaml.MappingNode):  # `!!set x`: the base says what is wrong
                return super().construct_mapping(node, deep)
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<`: merged keys are overridden by YAML's own rule
                key = self.construct_object(key_node, deep=True)
                try:
                    repeated = key in seen
                    seen.add(key)
                except TypeError:
                    continue  # an unhashable key: the base constructor refuses it
                if repeated:
                    raise _UnreadableValue(
                        f"repeats the key {_shown_key(key)} in one mapping", key_node.start_mark
                    )
            return super().construct_mapping(node, deep)

        def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:
            return super().construct_yaml_int(_short_number(node))

        def construct_yaml_float(self, node: yaml.ScalarNode) -> Any:
            return super().construct_yaml_float(_short_number(node))

    def _short_number(node: yaml.ScalarNode) -> yaml.ScalarNode:
        # int() of 5,000 digits raises, and of 100,000 sexagesimal parts is quadratic.
        if len(str(node.value)) > MAX_YAML_NUMBER_CHARS:
            raise _UnreadableValue(
                f"has a number written with more than {MAX_YAML_NUMBER_CHARS} characters",
                node.start_mark,
            )
        return node

    JobListLoader.add_constructor("tag:yaml.org,2002:int", JobListLoader.construct_yaml_int)
    JobListLoader.add_constructor("tag:yaml.org,2002:float", JobListLoader.construct_yaml_float)
    return JobListLoader
