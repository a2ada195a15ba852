"""Configuration: read from the environment once, at start, into one typed object.

Every variable is listed in `VARIABLES` (name, default, meaning), which is also the
README's table, and read here only. Two deliberate exceptions read the environment
before `Settings` exists: `observability.py` drops unreadable `POWERTOOLS_*` variables
at import (Powertools reads them itself and would crash the init), and
`entrypoints/startup.py` registers the credential variables with the log masker
before parsing, so that a half-parsed configuration never logs them.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, NamedTuple
from urllib.parse import urlsplit

from dlf_status.domain.model import ValidationMode
from dlf_status.domain.redaction import MIN_SECRET_LENGTH
from dlf_status.errors import ConfigurationError

# The SDK's region table (huaweicloudsdkdgc v1 DgcRegion): every region but one
# uses the dayu-dlf host. A test compares this with the SDK.
_REGION_HOST_EXCEPTIONS = {"cn-east-4": "https://dayu.cn-east-4.myhuaweicloud.com"}
KNOWN_REGIONS = frozenset(
    {
        "af-south-1",
        "ae-ad-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "cn-east-2",
        "cn-east-3",
        "cn-east-4",
        "cn-north-1",
        "cn-north-11",
        "cn-north-2",
        "cn-north-4",
        "cn-north-9",
        "cn-south-1",
        "cn-southwest-2",
        "eu-west-101",
        "la-north-2",
        "la-south-2",
        "me-east-1",
        "my-kualalumpur-1",
        "na-mexico-1",
        "ru-moscow-1",
        "ru-northwest-2",
        "sa-brazil-1",
        "tr-west-1",
    }
)


def endpoint_for_region(region: str) -> str:
    """The upstream base URL the official SDK uses for `region`."""
    if region not in KNOWN_REGIONS:
        raise ConfigurationError(
            f"DLF_REGION {shown(region)} is not a DataArts Studio region the SDK knows; "
            "set DLF_ENDPOINT instead"
        )
    return _REGION_HOST_EXCEPTIONS.get(region, f"https://dayu-dlf.{region}.myhuaweicloud.com")


class Variable(NamedTuple):
    name: str
    default: str
    meaning: str


class Limits(NamedTuple):
    """The range a numeric setting must fall in (both ends included)."""

    low: int | float
    high: int | float


# Every number has a range: a value outside it is a typo or an attack, not a wish.
# 900 s is Lambda's longest timeout: no wait of ours may outlast the function.
SECONDS: Final = Limits(0.001, 900.0)
ATTEMPTS: Final = Limits(1, 10)
# Above 64 MiB one answer could not be held in the deployed function's 256 MB.
RESPONSE_BYTES: Final = Limits(1024, 64 << 20)
# Threads per tick (and S3 connections): past a few hundred they only queue on the GIL.
CONCURRENCY: Final = Limits(1, 256)
FANOUT_JOBS: Final = Limits(1, 1_000_000)
# Lambda's MemorySize range, in MB: what AWS_LAMBDA_FUNCTION_MEMORY_SIZE may say.
FUNCTION_MEMORY_MB: Final = Limits(128, 10_240)
# Lambda's own variable: the function's memory, set by the runtime, never by us.
FUNCTION_MEMORY_VARIABLE: Final = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
# A secret read again every 10 s to every day: Secrets Manager bills each read.
CREDENTIALS_MAX_AGE: Final = Limits(10, 86_400)
# A job is stale after one second at least, a year (366 days) at most.
STALE_SECONDS: Final = Limits(1, 31_622_400)
# Snapshot keys are at most about 450 bytes below the prefix; S3 keys end at 1,024.
MAX_S3_PREFIX_BYTES: Final = 256
MAX_S3_KEY_BYTES: Final = 1024
MAX_PATH_BYTES: Final = 4096


def describe_range(limits: Limits) -> str:
    def number(value: float) -> str:
        return f"{value:,}" if isinstance(value, int) else f"{value:g}"

    return f"{number(limits.low)} to {number(limits.high)}"


VARIABLES: tuple[Variable, ...] = (
    Variable(
        "DLF_ENDPOINT",
        "",
        "Upstream base URL (http or https, no credentials, query or fragment); "
        "overrides DLF_REGION.",
    ),
    Variable(
        "DLF_REGION",
        "",
        "Huawei Cloud region (cn-north-4, ...); the endpoint as the SDK derives it.",
    ),
    Variable("DLF_AK", "", "Access key for AK/SK request signing."),
    Variable("DLF_SK", "", "Secret key for AK/SK request signing."),
    Variable("DLF_SECURITY_TOKEN", "", "Security token of temporary AK/SK credentials."),
    Variable("DLF_AUTH_TOKEN", "", "IAM token (X-Auth-Token), instead of AK/SK."),
    Variable(
        "DLF_CREDENTIALS_SECRET",
        "",
        "AWS Secrets Manager secret (name or ARN) holding the credentials as JSON: "
        '{"ak", "sk", "security_token"} or {"auth_token"}. Read at start; if that '
        "fails, again at each call until a read succeeds. Read again when the upstream "
        "rejects the credentials (at most once per 10 s; a rejected call is retried once "
        "if they changed) and when older than DLF_CREDENTIALS_MAX_AGE.",
    ),
    Variable(
        "DLF_CREDENTIALS_MAX_AGE",
        "300",
        "Seconds after which DLF_CREDENTIALS_SECRET is read again, by one thread while "
        f"the others keep signing ({describe_range(CREDENTIALS_MAX_AGE)}); a failed read "
        "keeps the credentials in use.",
    ),
    Variable(
        "DLF_CONNECT_TIMEOUT",
        "3.05",
        f"Seconds to establish a connection to the upstream ({describe_range(SECONDS)}).",
    ),
    Variable(
        "DLF_READ_TIMEOUT",
        "10",
        f"Seconds to wait for each read from the upstream ({describe_range(SECONDS)}).",
    ),
    Variable(
        "DLF_DEADLINE",
        "20",
        f"Seconds for a whole upstream call, retries included ({describe_range(SECONDS)}).",
    ),
    Variable(
        "DLF_MAX_ATTEMPTS",
        "3",
        f"Attempts per call (connection errors, 429, 502/503/504; {describe_range(ATTEMPTS)}).",
    ),
    Variable(
        "DLF_RETRY_AFTER_CAP",
        "5",
        f"Longest Retry-After we honour, in seconds ({describe_range(SECONDS)}).",
    ),
    Variable(
        "DLF_MAX_RESPONSE_BYTES",
        "8388608",
        "Largest upstream body accepted (8 MiB; 1 KiB to 64 MiB).",
    ),
    Variable("VALIDATION_MODE", "lenient", "lenient records violations; strict rejects answers."),
    Variable(
        "SNAPSHOT_URI",
        "./snapshots",
        "Where snapshots go: s3://bucket/prefix (a bucket name S3 accepts, a prefix of "
        f"at most {MAX_S3_PREFIX_BYTES} bytes) or a local directory (a relative one is "
        "read from the working directory at start; in Lambda, an s3:// URI: the task "
        "root is read-only).",
    ),
    Variable(
        "STORE_TIMEOUT",
        "2",
        "Seconds one snapshot-store call may take, its one retry included "
        f"({describe_range(SECONDS)}): the S3 client waits a quarter of it to connect and "
        "a quarter for the answer, on each of two attempts. A tick starts a job only while "
        "DLF_DEADLINE plus this is left; template.yaml sizes the functions' timeouts on "
        "the same sum.",
    ),
    Variable(
        "AWS_ENDPOINT_URL_S3",
        "",
        "S3-compatible endpoint (Huawei OBS, SeaweedFS, MinIO); empty for AWS S3.",
    ),
    Variable(
        "S3_ADDRESSING_STYLE",
        "auto",
        "auto, virtual or path: how S3 requests name the bucket. auto uses path-style only "
        "where virtual-hosted cannot work (an IP or localhost endpoint, a bucket name that "
        "cannot be a host name).",
    ),
    Variable(
        "SNAPSHOT_CONSISTENCY",
        "strict",
        "strict refuses an S3 store that ignores conditional writes or keeps no user "
        "metadata (checked once per container); best-effort accepts it and loses the "
        "guarantees listed under Snapshots.",
    ),
    Variable(
        "SERVE_STALE",
        "true",
        "Serve the latest snapshot, marked stale, when the upstream fails (true or false).",
    ),
    Variable(
        "LOG_LEVEL",
        "INFO",
        "Log level of the JSON logs: DEBUG, INFO, WARNING, ERROR or CRITICAL.",
    ),
    Variable(
        "JOBS_URI",
        "",
        "Job list for scheduled polls when the event carries none: a JSON or YAML file, "
        "local or s3://bucket/key.",
    ),
    Variable(
        "POLL_CONCURRENCY",
        "16",
        f"Jobs polled at once in one scheduled tick ({describe_range(CONCURRENCY)}).",
    ),
    Variable(
        "LARGE_ANSWERS_AT_ONCE",
        "",
        "Upstream answers past 256 KiB processed at once in one process, whatever the "
        f"threads ({describe_range(CONCURRENCY)}); empty: one per 128 MB of the function's "
        "memory past the first 128 (one at 256 MB), one outside Lambda.",
    ),
    Variable(
        "FANOUT_QUEUE_URL",
        "",
        "SQS queue for ticks too big for one invocation; empty: always poll in place.",
    ),
    Variable(
        "FANOUT_THRESHOLD",
        "2000",
        "Jobs per tick above which a tick is fanned out to FANOUT_QUEUE_URL "
        f"({describe_range(FANOUT_JOBS)}).",
    ),
    Variable(
        "STALE_AFTER",
        "900",
        "Seconds after which a job's latest snapshot is stale in the fleet "
        f"({describe_range(STALE_SECONDS)}; 900 is three polls of the default schedule). "
        "Store reads may be cached for a thirtieth of it (1 to 60 s).",
    ),
    Variable(
        "EVENT_BUS_NAME",
        "",
        "EventBridge bus (name or ARN) that every transition record is also published to, "
        "as a CloudEvent; empty: none.",
    ),
)
DEFAULTS = {variable.name: variable.default for variable in VARIABLES}
CREDENTIAL_VARIABLES = {
    "ak": "DLF_AK",
    "sk": "DLF_SK",
    "security_token": "DLF_SECURITY_TOKEN",
    "auth_token": "DLF_AUTH_TOKEN",
}


@dataclass(frozen=True, repr=False)
class Credentials:
    """What the upstream accepts: AK/SK (optionally temporary) or an IAM token.

    `repr` shows which kind, never a value: these objects end up in tracebacks.
    Checked at configuration (`check`): a credential that cannot be sent as it is
    (a line break, a control character, a non-ASCII character in a header) or is too
    short to be masked in logs (redaction.MIN_SECRET_LENGTH) is refused, and the
    message names the variable or the secret's key, never the value.
    """

    ak: str | None = None
    sk: str | None = None
    security_token: str | None = None
    auth_token: str | None = None

    def __repr__(self) -> str:
        kind = "aksk" if self.ak else "token" if self.auth_token else "none"
        return f"Credentials(kind={kind!r})"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value, for log redaction."""
        return tuple(
            value for value in (self.sk, self.security_token, self.auth_token, self.ak) if value
        )

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, object], where: str, names: Mapping[str, str] | None = None
    ) -> Credentials:
        """`names` calls each key by its own name (the environment variable) in errors."""

        def label(key: str) -> str:
            return names[key] if names is not None else f"{where}: {key}"

        def text(key: str) -> str | None:
            value = data.get(key)
            if value is None or value == "":
                return None
            if not isinstance(value, str):
                raise ConfigurationError(f"{label(key)} must be a string")
            _check_sendable(label(key), value, in_header=key != "sk")
            return value

        credentials = cls(
            ak=text("ak"),
            sk=text("sk"),
            security_token=text("security_token"),
            auth_token=text("auth_token"),
        )
        credentials.check(where)
        return credentials

    def check(self, where: str) -> None:
        if bool(self.ak) != bool(self.sk):
            raise ConfigurationError(f"{where}: an AK needs its SK and an SK its AK")
        if self.security_token and not self.ak:
            raise ConfigurationError(f"{where}: a security token needs an AK/SK")
        if not self.ak and not self.auth_token:
            raise ConfigurationError(f"{where}: no credentials (AK/SK or an IAM token)")


def _check_sendable(label: str, value: str, *, in_header: bool) -> None:
    """Refuse a credential that cannot be sent or masked; never quote it."""
    if len(value) < MIN_SECRET_LENGTH:
        raise ConfigurationError(
            f"{label} is shorter than {MIN_SECRET_LENGTH} characters: not a Huawei Cloud "
            "credential, and too short to be masked in logs"
        )
    # What an HTTP header carries as it is: visible ASCII. The AK (in Authorization) and
    # the tokens (X-Security-Token, X-Auth-Token) travel in headers; the SK only keys
    # the signature's HMAC, so any printable text will do.
    if in_header and not (value.isascii() and value.isprintable() and " " not in value):
        raise ConfigurationError(
            f"{label} holds a character an HTTP header cannot carry as it is (a space, a "
            "line break, a control or non-ASCII character); check how it was copied"
        )
    if not value.isprintable():
        raise ConfigurationError(
            f"{label} holds a line break, a control character or bytes that are not "
            "UTF-8; check how it was copied"
        )


S3AddressingStyle = Literal["auto", "virtual", "path"]
S3_ADDRESSING_STYLES: tuple[S3AddressingStyle, ...] = ("auto", "virtual", "path")


class SnapshotConsistency(enum.StrEnum):
    """What the snapshot store must guarantee before dlf-status writes to it."""

    STRICT = "strict"  # conditional writes honoured, or no write at all
    BEST_EFFORT = "best-effort"  # write anyway; concurrency guarantees may be lost


class UpstreamSettings(NamedTuple):
    endpoint: str
    connect_timeout: float
    read_timeout: float
    deadline: float
    max_attempts: int
    retry_after_cap: float
    max_response_bytes: int


@dataclass(frozen=True)
class Settings:
    """Every setting, parsed and checked. Built only by `from_environ`, so no field has
    a default of its own: VARIABLES holds them, one table (the README's)."""

    upstream: UpstreamSettings
    credentials: Credentials | None  # None: read DLF_CREDENTIALS_SECRET at bootstrap
    credentials_secret: str | None
    credentials_max_age: float  # seconds before the secret is read again
    validation_mode: ValidationMode
    snapshot_location: S3Location | Path  # SNAPSHOT_URI, parsed once: the store's only reading
    store_timeout: float  # seconds per store call, retries included (adapters/store_s3.py)
    s3_endpoint_url: str | None
    serve_stale: bool
    log_level: str
    jobs_uri: str | None
    poll_concurrency: int
    # LARGE_ANSWERS_AT_ONCE, or None: derived from `function_memory_mb` (bootstrap).
    large_answers_at_once: int | None
    # What Lambda says of the function's memory; None outside Lambda (or unreadable).
    function_memory_mb: int | None
    fanout_queue_url: str | None
    fanout_threshold: int
    s3_addressing_style: S3AddressingStyle
    snapshot_consistency: SnapshotConsistency
    stale_after: float
    event_bus_name: str | None

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], *, upstream_required: bool = True
    ) -> Settings:
        """Parse and check everything; ConfigurationError names the bad variable.

        Every variable is checked, used or not; an empty value is the default.
        `upstream_required=False` is for what reads the store only (`dlf-status drift`, `fleet`,
        `history`): no endpoint or credentials need be set (those set are checked).
        """

        def get(name: str) -> str:
            return checked_text(name, environ.get(name, "").strip()) or DEFAULTS[name]

        if upstream_required or get("DLF_ENDPOINT") or get("DLF_REGION"):
            endpoint = _endpoint(get("DLF_ENDPOINT"), get("DLF_REGION"))
        else:
            endpoint = ""
        upstream = UpstreamSettings(
            endpoint=endpoint,
            connect_timeout=_seconds("DLF_CONNECT_TIMEOUT", get("DLF_CONNECT_TIMEOUT")),
            read_timeout=_seconds("DLF_READ_TIMEOUT", get("DLF_READ_TIMEOUT")),
            deadline=_seconds("DLF_DEADLINE", get("DLF_DEADLINE")),
            max_attempts=_integer("DLF_MAX_ATTEMPTS", get("DLF_MAX_ATTEMPTS"), ATTEMPTS),
            retry_after_cap=_seconds("DLF_RETRY_AFTER_CAP", get("DLF_RETRY_AFTER_CAP")),
            max_response_bytes=_integer(
                "DLF_MAX_RESPONSE_BYTES", get("DLF_MAX_RESPONSE_BYTES"), RESPONSE_BYTES
            ),
        )
        secret = _secret_id(get("DLF_CREDENTIALS_SECRET")) or None
        credentials: Credentials | None = None
        given = any(get(name) for name in CREDENTIAL_VARIABLES.values())
        if secret is None and (upstream_required or given):
            credentials = Credentials.from_mapping(
                {
                    "ak": get("DLF_AK"),
                    "sk": get("DLF_SK"),
                    "security_token": get("DLF_SECURITY_TOKEN"),
                    "auth_token": get("DLF_AUTH_TOKEN"),
                },
                "DLF_AK/DLF_SK/DLF_AUTH_TOKEN",
                CREDENTIAL_VARIABLES,
            )
        try:
            mode = ValidationMode(get("VALIDATION_MODE").lower())
        except ValueError:
            raise ConfigurationError("VALIDATION_MODE must be lenient or strict") from None
        s3_endpoint = get("AWS_ENDPOINT_URL_S3") or None
        if s3_endpoint is not None:
            s3_endpoint = http_url("AWS_ENDPOINT_URL_S3", s3_endpoint)
        fanout_queue_url = get("FANOUT_QUEUE_URL") or None
        if fanout_queue_url is not None:
            fanout_queue_url = http_url("FANOUT_QUEUE_URL", fanout_queue_url)
        return cls(
            upstream=upstream,
            credentials=credentials,
            credentials_secret=secret,
            credentials_max_age=_seconds(
                "DLF_CREDENTIALS_MAX_AGE", get("DLF_CREDENTIALS_MAX_AGE"), CREDENTIALS_MAX_AGE
            ),
            validation_mode=mode,
            snapshot_location=_snapshot_location(get("SNAPSHOT_URI")),
            store_timeout=_seconds("STORE_TIMEOUT", get("STORE_TIMEOUT")),
            s3_endpoint_url=s3_endpoint,
            serve_stale=_boolean("SERVE_STALE", get("SERVE_STALE")),
            log_level=_log_level(get("LOG_LEVEL")),
            jobs_uri=_jobs_uri(get("JOBS_URI")),
            poll_concurrency=_integer("POLL_CONCURRENCY", get("POLL_CONCURRENCY"), CONCURRENCY),
            large_answers_at_once=(
                _integer("LARGE_ANSWERS_AT_ONCE", large_answers, CONCURRENCY)
                if (large_answers := get("LARGE_ANSWERS_AT_ONCE"))
                else None
            ),
            # Lambda's to set: a value it would not set is taken as unknown, not refused.
            function_memory_mb=whole_number(
                environ.get(FUNCTION_MEMORY_VARIABLE, "").strip(), FUNCTION_MEMORY_MB
            ),
            fanout_queue_url=fanout_queue_url,
            fanout_threshold=_integer("FANOUT_THRESHOLD", get("FANOUT_THRESHOLD"), FANOUT_JOBS),
            s3_addressing_style=_addressing_style(get("S3_ADDRESSING_STYLE")),
            snapshot_consistency=_consistency(get("SNAPSHOT_CONSISTENCY")),
            stale_after=_seconds("STALE_AFTER", get("STALE_AFTER"), STALE_SECONDS),
            event_bus_name=_event_bus(get("EVENT_BUS_NAME")) or None,
        )


# -- parsers: each returns the value or raises ConfigurationError naming the setting ------

# Characters no setting may hold: C0/C1 controls, lone surrogates (bytes that were not
# UTF-8), line and paragraph separators, and bidi overrides, which reorder what a
# person reads in a log line or a terminal.
_UNSAFE_CHARACTER = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def shown(value: str, limit: int = 80) -> str:
    """A value quoted for an error message: one line, escaped, cut."""
    cut = value[:limit]
    return repr(cut) + ("..." if len(value) > limit else "")


def checked_text(name: str, value: str) -> str:
    """`value` unless it holds a character no setting may hold (never echoed: the
    value may be a credential)."""
    found = _UNSAFE_CHARACTER.search(value)
    if found is None:
        return value
    if "\ud800" <= found.group() <= "\udfff":
        raise ConfigurationError(f"{name} is not valid UTF-8")
    raise ConfigurationError(
        f"{name} holds a control character (U+{ord(found.group()):04X}) at position {found.start()}"
    )


# Printable ASCII that may appear in an http(s) base URL: no space, no quote, no
# backslash (parsers disagree on it), no '?', '#' or '@' (query, fragment, credentials).
_URL_CHARACTERS = re.compile(r"[A-Za-z0-9._~:/!$&'()*+,;=%\[\]-]+")
_HOST_LABEL = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
_PORT = re.compile(r"[0-9]{1,5}")
_PERCENT_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def http_url(name: str, value: str) -> str:
    """An http(s) base URL every HTTP client reads the same way, without the final '/'.

    Stricter than `urlsplit`: it raises on some inputs (`http://[::1`), accepts ports
    of 0 or 99999 until they are read, and reads some hosts differently from urllib3.
    """
    what = f"{name} must be an http(s) URL"
    if "@" in value:
        raise ConfigurationError(f"{name} must not carry credentials")
    if "?" in value or "#" in value:
        raise ConfigurationError(f"{name} must not carry a query or fragment")
    if not _URL_CHARACTERS.fullmatch(value):
        raise ConfigurationError(f"{what} of printable ASCII without spaces, got {shown(value)}")
    scheme, separator, rest = value.partition("://")
    if not separator or scheme.lower() not in ("http", "https"):
        raise ConfigurationError(f"{what}, got {shown(value)}")
    authority, _, path = rest.partition("/")
    if authority.startswith("["):
        host, bracket, after = authority[1:].partition("]")
        if not bracket or not _is_ipv6(host) or (after and not after.startswith(":")):
            raise ConfigurationError(f"{name} has an invalid IPv6 host, got {shown(value)}")
        has_port, port = bool(after), after[1:]
    else:
        host, colon, port = authority.partition(":")
        has_port = bool(colon)
        if not _is_hostname(host):
            raise ConfigurationError(f"{name} has an invalid host name, got {shown(value)}")
        if _ends_in_a_number(host) and not _is_ipv4(host):
            # 127.1, 2130706433, 0x7f.1, 0177.0.0.1: the C library (and so the HTTP
            # stack) connects to an IP, while Python's ipaddress reads a host name
            # (and S3_ADDRESSING_STYLE=auto would put the bucket in front of it).
            raise ConfigurationError(
                f"{name} must write an IPv4 address as four decimal numbers "
                f"(like 127.0.0.1), got {shown(value)}"
            )
    if has_port and not (_PORT.fullmatch(port) and 1 <= int(port) <= 65535):
        raise ConfigurationError(f"{name} must have a port from 1 to 65535, got {shown(value)}")
    if _PERCENT_ESCAPE.search(path):
        raise ConfigurationError(f"{name} has a '%' that is not an escape, got {shown(value)}")
    try:
        urlsplit(value)  # the reading requests and botocore start from must agree
    except ValueError:
        raise ConfigurationError(f"{what}, got {shown(value)}") from None
    return value.rstrip("/")


def _is_ipv6(host: str) -> bool:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return "%" not in host  # zone ids have no agreed spelling in URLs


def _ends_in_a_number(host: str) -> bool:
    """The URL Standard's rule: a host whose last label is a number is an IPv4 address."""
    last = host.removesuffix(".").rsplit(".", 1)[-1]
    return _NUMBER_LABEL.fullmatch(last) is not None


def _is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


_NUMBER_LABEL: Final = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]*")


def _is_hostname(host: str) -> bool:
    labels = host.removesuffix(".").split(".")
    return 0 < len(host) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)


def _endpoint(endpoint: str, region: str) -> str:
    if endpoint:
        return http_url("DLF_ENDPOINT", endpoint)
    if region:
        return endpoint_for_region(region)
    raise ConfigurationError("set DLF_ENDPOINT or DLF_REGION")


_DECIMAL = re.compile(r"[0-9]{1,9}(\.[0-9]{0,9})?|\.[0-9]{1,9}")
_WHOLE = re.compile(r"[0-9]{1,20}")


def decimal_number(value: str, limits: Limits) -> float | None:
    """A plain decimal in range, else None: no exponent, sign, inf or nan, ASCII
    digits only (float() takes fullwidth digits, '1e309' and 'nan')."""
    number = float(value) if _DECIMAL.fullmatch(value) else None
    return number if number is not None and limits.low <= number <= limits.high else None


def _seconds(name: str, value: str, limits: Limits = SECONDS) -> float:
    number = decimal_number(value, limits)
    if number is None:
        raise ConfigurationError(
            f"{name} must be a number of seconds from {describe_range(limits)}, got {shown(value)}"
        )
    return number


def whole_number(value: str, limits: Limits) -> int | None:
    """ASCII digits in range, else None (int() takes fullwidth digits, '1_000', ' +7'
    and raises on 5,000 digits)."""
    number = int(value) if _WHOLE.fullmatch(value) else None
    return number if number is not None and limits.low <= number <= limits.high else None


def _integer(name: str, value: str, limits: Limits) -> int:
    number = whole_number(value, limits)
    if number is None:
        raise ConfigurationError(
            f"{name} must be a whole number from {describe_range(limits)}, got {shown(value)}"
        )
    return number


def _boolean(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be true or false, got {shown(value)}")


def _addressing_style(value: str) -> S3AddressingStyle:
    for style in S3_ADDRESSING_STYLES:
        if value.lower() == style:
            return style
    raise ConfigurationError(
        f"S3_ADDRESSING_STYLE must be auto, virtual or path, got {shown(value)}"
    )


def _consistency(value: str) -> SnapshotConsistency:
    try:
        return SnapshotConsistency(value.lower())
    except ValueError:
        raise ConfigurationError(
            f"SNAPSHOT_CONSISTENCY must be strict or best-effort, got {shown(value)}"
        ) from None


def _log_level(value: str) -> str:
    level = value.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigurationError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return level


# PutEvents' EventBusName (botocore's NonPartnerEventBusNameOrArn, ASCII): a bus name
# of letters, digits, '.', '-' and '_', or the bus's ARN.
_EVENT_BUS = re.compile(
    r"(arn:aws[A-Za-z0-9_-]*:events:[a-z]+-[a-z]+-[A-Za-z0-9_-]+:[0-9]{12}:event-bus/)?"
    r"[.A-Za-z0-9_-]{1,256}"
)


def _event_bus(value: str) -> str:
    if value and not _EVENT_BUS.fullmatch(value):
        raise ConfigurationError(
            "EVENT_BUS_NAME must be an EventBridge bus name (letters, digits, '.', '-' and "
            f"'_', at most 256) or its ARN, got {shown(value)}"
        )
    return value


# Secrets Manager names are letters, digits and /_+=.@-; an ARN adds ':'.
_SECRET_ID = re.compile(r"[A-Za-z0-9/_+=.@:-]{1,2048}")


def _secret_id(value: str) -> str:
    if value and not _SECRET_ID.fullmatch(value):
        raise ConfigurationError(
            "DLF_CREDENTIALS_SECRET must be a Secrets Manager secret name or ARN "
            f"(letters, digits and /_+=.@:-), got {shown(value)}"
        )
    return value


class S3Location(NamedTuple):
    bucket: str
    key: str  # a prefix (snapshots) or an object key (job lists); no leading or final '/'


# Every bucket name S3 has ever accepted: 3-255 letters, digits, '.', '-' and '_'.
# S3's rules for new buckets (3-63 lower-case, DNS-safe; OBS, MinIO and SeaweedFS
# share them) are narrower, but us-east-1 still holds buckets made before 2018 under
# the legacy rules (capitals, underscores, up to 255) and S3-compatible stores vary
# (rclone takes them). Refusing more would lock out a bucket that exists; a name the
# store refuses fails at the first request. Such names are not DNS labels, so
# S3_ADDRESSING_STYLE=auto addresses them path-style (adapters/store_s3.py).
_BUCKET = re.compile(r"[A-Za-z0-9._-]{3,255}")


def split_s3_uri(uri: str, *, key_required: bool) -> S3Location:
    """`s3://bucket/some/key` -> S3Location; ValueError says what is wrong.

    Bucket names S3 never accepted, '.'/'..' or empty key segments (some
    S3-compatible stores resolve them as paths) and keys longer than S3 takes are
    refused here, not at the first request.
    """
    if not uri.startswith("s3://"):
        raise ValueError("is not an s3://bucket/key URI")
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket:
        raise ValueError("names no bucket")
    if not _BUCKET.fullmatch(bucket):
        raise ValueError(
            f"names bucket {shown(bucket)}: S3 bucket names are 3 to 255 letters, digits, "
            "'.', '-' and '_'"
        )
    key = key.removesuffix("/") if not key_required else key
    if key_required and (not key or key.endswith("/")):
        raise ValueError("names no object key (s3://bucket/key)")
    if key and any(segment in ("", ".", "..") for segment in key.split("/")):
        raise ValueError("has an empty, '.' or '..' segment in its key")
    if len(key.encode("utf-8")) > (MAX_S3_KEY_BYTES if key_required else MAX_S3_PREFIX_BYTES):
        limit = MAX_S3_KEY_BYTES if key_required else MAX_S3_PREFIX_BYTES
        raise ValueError(f"has a key longer than {limit} bytes")
    return S3Location(bucket, key)


_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


def _location(name: str, value: str, *, key_required: bool) -> S3Location | None:
    """s3://bucket/... parsed, or None for a local path (any other scheme is refused)."""
    if value.startswith("s3://"):
        try:
            return split_s3_uri(value, key_required=key_required)
        except ValueError as error:
            raise ConfigurationError(f"{name} {shown(value)} {error}") from None
    scheme = _SCHEME.match(value)
    if scheme is not None:
        raise ConfigurationError(
            f"{name} must be s3://... or a local path, got scheme {shown(scheme.group(1))}"
        )
    if len(value.encode("utf-8")) > MAX_PATH_BYTES:
        raise ConfigurationError(f"{name} is a path longer than {MAX_PATH_BYTES} bytes")
    return None


def _snapshot_location(value: str) -> S3Location | Path:
    return _location("SNAPSHOT_URI", value, key_required=False) or Path(value)


def _jobs_uri(value: str) -> str | None:
    """Checked here, kept as text: a tick reads it as `poll --jobs` reads its argument
    (adapters/job_list.py, with the same `split_s3_uri`)."""
    if value:
        _location("JOBS_URI", value, key_required=True)
    return value or None
