"""Configuration: read from the environment once, at start, into one typed object.

Nothing else in dlf-status reads `os.environ`. Every variable is listed in
`VARIABLES` (name, default, meaning), which is also the README's table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple
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
            f"DLF_REGION {region!r} is not a DataArts Studio region the SDK knows; "
            "set DLF_ENDPOINT instead"
        )
    return _REGION_HOST_EXCEPTIONS.get(region, f"https://dayu-dlf.{region}.myhuaweicloud.com")


class Variable(NamedTuple):
    name: str
    default: str
    meaning: str


VARIABLES: tuple[Variable, ...] = (
    Variable("DLF_ENDPOINT", "", "Upstream base URL; overrides DLF_REGION."),
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
        '{"ak", "sk", "security_token"} or {"auth_token"}. Read once per container.',
    ),
    Variable("DLF_CONNECT_TIMEOUT", "3.05", "Seconds to establish a connection to the upstream."),
    Variable("DLF_READ_TIMEOUT", "10", "Seconds to wait for each read from the upstream."),
    Variable("DLF_DEADLINE", "20", "Seconds for a whole upstream call, retries included."),
    Variable("DLF_MAX_ATTEMPTS", "3", "Attempts per call (connection errors, 429, 502/503/504)."),
    Variable("DLF_RETRY_AFTER_CAP", "5", "Longest Retry-After we honour, in seconds."),
    Variable("DLF_MAX_RESPONSE_BYTES", "8388608", "Largest upstream body accepted (8 MiB)."),
    Variable("VALIDATION_MODE", "lenient", "lenient records violations; strict rejects answers."),
    Variable(
        "SNAPSHOT_URI",
        "./snapshots",
        "Where snapshots go: s3://bucket/prefix or a local directory.",
    ),
    Variable(
        "AWS_ENDPOINT_URL_S3",
        "",
        "S3-compatible endpoint (Huawei OBS, SeaweedFS, MinIO); empty for AWS S3.",
    ),
    Variable(
        "SERVE_STALE", "true", "Serve the latest snapshot, marked stale, when the upstream fails."
    ),
    Variable("LOG_LEVEL", "INFO", "Log level of the JSON logs."),
    Variable(
        "JOBS_URI",
        "",
        "Job list for scheduled polls when the event carries none: a JSON or YAML file, "
        "local or s3://bucket/key.",
    ),
    Variable("POLL_CONCURRENCY", "16", "Jobs polled at once in one scheduled tick."),
    Variable(
        "FANOUT_QUEUE_URL",
        "",
        "SQS queue for ticks too big for one invocation; empty: always poll in place.",
    ),
    Variable(
        "FANOUT_THRESHOLD",
        "1000",
        "Jobs per tick above which a tick is fanned out to FANOUT_QUEUE_URL.",
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
    upstream: UpstreamSettings
    credentials: Credentials | None  # None: read DLF_CREDENTIALS_SECRET at bootstrap
    credentials_secret: str | None
    validation_mode: ValidationMode
    snapshot_uri: str
    s3_endpoint_url: str | None
    serve_stale: bool
    log_level: str
    jobs_uri: str | None = None
    poll_concurrency: int = 16
    fanout_queue_url: str | None = None
    fanout_threshold: int = 1000

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Parse and check everything; ConfigurationError names the bad variable."""

        def get(name: str) -> str:
            return environ.get(name, DEFAULTS[name]).strip()

        endpoint = _endpoint(get("DLF_ENDPOINT"), get("DLF_REGION"))
        upstream = UpstreamSettings(
            endpoint=endpoint,
            connect_timeout=_positive_float("DLF_CONNECT_TIMEOUT", get("DLF_CONNECT_TIMEOUT")),
            read_timeout=_positive_float("DLF_READ_TIMEOUT", get("DLF_READ_TIMEOUT")),
            deadline=_positive_float("DLF_DEADLINE", get("DLF_DEADLINE")),
            max_attempts=_positive_int("DLF_MAX_ATTEMPTS", get("DLF_MAX_ATTEMPTS")),
            retry_after_cap=_positive_float("DLF_RETRY_AFTER_CAP", get("DLF_RETRY_AFTER_CAP")),
            max_response_bytes=_positive_int(
                "DLF_MAX_RESPONSE_BYTES", get("DLF_MAX_RESPONSE_BYTES")
            ),
        )
        secret = get("DLF_CREDENTIALS_SECRET") or None
        credentials: Credentials | None = None
        if secret is None:
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
        snapshot_uri = get("SNAPSHOT_URI") or DEFAULTS["SNAPSHOT_URI"]
        s3_endpoint = get("AWS_ENDPOINT_URL_S3") or None
        if s3_endpoint is not None:
            _check_url("AWS_ENDPOINT_URL_S3", s3_endpoint)
        return cls(
            upstream=upstream,
            credentials=credentials,
            credentials_secret=secret,
            validation_mode=mode,
            snapshot_uri=snapshot_uri,
            s3_endpoint_url=s3_endpoint,
            serve_stale=_boolean("SERVE_STALE", get("SERVE_STALE")),
            log_level=_log_level(get("LOG_LEVEL")),
            jobs_uri=get("JOBS_URI") or None,
            poll_concurrency=_positive_int("POLL_CONCURRENCY", get("POLL_CONCURRENCY")),
            fanout_queue_url=get("FANOUT_QUEUE_URL") or None,
            fanout_threshold=_positive_int("FANOUT_THRESHOLD", get("FANOUT_THRESHOLD")),
        )


def _check_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{name} must be an http(s) URL, got {value!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigurationError(f"{name} must not carry a query, fragment or credentials")
    return value.rstrip("/")


def _endpoint(endpoint: str, region: str) -> str:
    if endpoint:
        return _check_url("DLF_ENDPOINT", endpoint)
    if region:
        return endpoint_for_region(region)
    raise ConfigurationError("set DLF_ENDPOINT or DLF_REGION")


def _positive_float(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {value!r}") from None
    if not number > 0 or number == float("inf"):
        raise ConfigurationError(f"{name} must be a positive number, got {value!r}")
    return number


def _positive_int(name: str, value: str) -> int:
    if not re.fullmatch(r"[0-9]+", value) or int(value) < 1:
        raise ConfigurationError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _boolean(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be true or false, got {value!r}")


def _log_level(value: str) -> str:
    level = value.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigurationError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return level
