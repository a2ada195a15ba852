"""The composition root: the one place that builds production adapters.

Entry points call `build_service` (or `build_function_app`) once per process;
tests build `StatusService` with their own adapters.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from dlf_status.adapters.aws import aws_client
from dlf_status.adapters.clock import SystemClock
from dlf_status.config import Credentials, Settings, SnapshotConsistency
from dlf_status.domain.contract import ResponseValidator, packaged_contract
from dlf_status.domain.ports import Metrics, ObjectStore
from dlf_status.entrypoints.app import FunctionApp
from dlf_status.errors import ConfigurationError
from dlf_status.observability import IGNORED_POWERTOOLS_VARIABLES, logger, register_secrets
from dlf_status.service import StatusService

if TYPE_CHECKING:
    from dlf_status.poller import TickRunner

# Time a polled job may need beyond the upstream deadline: storing its snapshot.
STORE_ALLOWANCE_SECONDS = 2.0
# Registered with the log masker before anything is parsed (see build_function_app).
CREDENTIAL_VARIABLES = ("DLF_AK", "DLF_SK", "DLF_SECURITY_TOKEN", "DLF_AUTH_TOKEN")


def build_validator() -> ResponseValidator:
    """The hot-path validator: the packaged spec's schemas compiled with jsonschema-rs."""
    from dlf_status.adapters.compiled_validator import CompiledValidator

    return CompiledValidator(packaged_contract())


def build_reference_validator() -> ResponseValidator:
    """openapi-core against the packaged spec, for `validate --validator reference` and
    the differential tests; imported only when asked for (dlf-status[reference])."""
    try:
        from dlf_status.adapters.openapi_core_validator import OpenAPICoreValidator
    except ImportError:
        raise ConfigurationError(
            "the reference validator needs openapi-core: pip install 'dlf-status[reference]'"
        ) from None
    return OpenAPICoreValidator(packaged_contract())


def build_store(settings: Settings, pool_size: int = 10) -> ObjectStore:
    if settings.snapshot_uri.startswith("s3://"):
        from dlf_status.adapters.store_s3 import (
            S3Store,
            addressing_style_for,
            make_s3_client,
            parse_s3_uri,
        )

        bucket, prefix = parse_s3_uri(settings.snapshot_uri)
        style = addressing_style_for(settings.s3_addressing_style, settings.s3_endpoint_url, bucket)
        client = aws_client(
            "S3",
            lambda: make_s3_client(settings.s3_endpoint_url, pool_size, addressing_style=style),
        )
        return S3Store(
            client,
            bucket,
            prefix,
            require_conditional_writes=settings.snapshot_consistency is SnapshotConsistency.STRICT,
        )
    if "://" in settings.snapshot_uri:
        raise ConfigurationError(
            f"SNAPSHOT_URI must be s3://bucket/prefix or a directory, got {settings.snapshot_uri!r}"
        )
    from dlf_status.adapters.store_local import LocalDirectoryStore

    return LocalDirectoryStore(Path(settings.snapshot_uri))


def load_credentials(settings: Settings) -> Credentials:
    if settings.credentials is not None:
        return settings.credentials
    if settings.credentials_secret is None:
        raise ConfigurationError("no credentials configured")
    import boto3

    from dlf_status.adapters.secrets import read_credentials_secret

    client = aws_client("Secrets Manager", lambda: boto3.client("secretsmanager"))
    return read_credentials_secret(settings.credentials_secret, client)


def build_service(settings: Settings, metrics: Metrics, *, pool_size: int = 10) -> StatusService:
    from dlf_status.adapters.signing import authenticator_for
    from dlf_status.adapters.upstream_http import HttpUpstreamClient

    credentials = load_credentials(settings)
    register_secrets(*credentials.secrets)
    return StatusService(
        upstream=HttpUpstreamClient(
            settings.upstream, authenticator_for(credentials), pool_size=pool_size
        ),
        store=build_store(settings, pool_size),
        validator=build_validator(),
        clock=SystemClock(),
        metrics=metrics,
        mode=settings.validation_mode,
        serve_stale=settings.serve_stale,
    )


def build_tick_runner(settings: Settings, service: StatusService, metrics: Metrics) -> TickRunner:
    from dlf_status.adapters.job_list import read_job_list
    from dlf_status.poller import Dispatcher, TickRunner

    dispatcher = None
    if settings.fanout_queue_url is not None:
        import boto3

        from dlf_status.adapters.queue_sqs import SqsJobQueue

        client = aws_client("SQS", lambda: boto3.client("sqs"))
        dispatcher = Dispatcher(SqsJobQueue(settings.fanout_queue_url, client), metrics)
    return TickRunner(
        service,
        metrics,
        read_job_list=partial(
            read_job_list,
            s3_endpoint_url=settings.s3_endpoint_url,
            s3_addressing_style=settings.s3_addressing_style,
        ),
        jobs_uri=settings.jobs_uri,
        concurrency=settings.poll_concurrency,
        job_allowance_seconds=settings.upstream.deadline + STORE_ALLOWANCE_SECONDS,
        dispatcher=dispatcher,
        fanout_threshold=settings.fanout_threshold,
    )


def build_function_app(
    environ: Mapping[str, str], metrics: Metrics, *, apply_log_level: bool = True
) -> FunctionApp:
    """The app, or an app that answers every call with the configuration error.

    Never raises: this runs in the Lambda init, where an exception is a crashed
    container that answers nothing. A failure that is not a ConfigurationError (a
    bug, or a library refusing its own part of the environment) becomes one that
    says where to look; its traceback goes to the log.
    """
    # Masked from the first line on, even if parsing stops half-way.
    register_secrets(*(environ.get(name, "").strip() for name in CREDENTIAL_VARIABLES))
    if IGNORED_POWERTOOLS_VARIABLES:
        logger.warning(
            "unreadable powertools variables ignored",
            extra={"variables": list(IGNORED_POWERTOOLS_VARIABLES)},
        )
    try:
        settings = Settings.from_environ(environ)
        if apply_log_level:  # the CLI keeps its own (silent unless -v)
            logger.setLevel(settings.log_level)
        service = build_service(settings, metrics, pool_size=settings.poll_concurrency)
        return FunctionApp(
            service, tick_runner_factory=partial(build_tick_runner, settings, service, metrics)
        )
    except ConfigurationError as error:
        logger.error("configuration error", extra={"detail": error.detail})
        return FunctionApp(None, configuration_error=error)
    except Exception as error:  # noqa: BLE001 - the init must not crash, whatever happened
        logger.exception("start-up failed", extra={"error": type(error).__name__})
        return FunctionApp(
            None,
            configuration_error=ConfigurationError(
                f"dlf-status could not start ({type(error).__name__}); the cause is in the logs"
            ),
        )
