"""The composition root: the one place that builds adapters and wires the service layer.

Each `build_*` function takes the settings and, optionally, adapters; whatever is not
given is the production one, made from the settings. The entry points (the Lambda
functions, the CLI, `serve`, the demo) and the tests all build through here: tests
and the demo pass their own adapters (a fake upstream, a memory store, a fixed
clock), so what they run is wired exactly as production is.

What it builds, and for whom:

    build_status_service   StatusService: observe one job    HTTP, direct, CLI get/serve, demo
    build_tick_runner      TickRunner: poll a job list        schedule, CLI poll
    build_tick_discovery   TickDiscovery: a tick's discovery  (made by the tick runner)
    build_queue_worker     QueueWorker: one fanned-out job    queue
    build_job_discovery    JobDiscovery: the job list         (discovery routes, next)
    build_store_reader     StoreReader: fleet, history        HTTP read routes, CLI fleet/history
    build_event_publisher  EventPublisher: transition events  every writer (EVENT_BUS_NAME)
    build_drift_reader     DriftReader: the drift report      CLI drift

Nothing here knows about an entry point, and no error is turned into an answer here:
a failure raises (ConfigurationError when the settings or the environment cannot
give an adapter), and what to do about it is the entry point's business (a Lambda
function answers every call with the configuration problem; the CLI exits 2).
Adapters are imported where they are built: a function that never polls never
imports the tick machinery, the queue client or the YAML reader.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from dlf_status.adapters.aws import aws_client, s3_clients
from dlf_status.adapters.clock import SystemClock
from dlf_status.config import Credentials, S3Location, Settings, SnapshotConsistency
from dlf_status.domain.contract import (
    SHOW_JOB_STATUS,
    Operation,
    ResponseValidator,
    packaged_contract,
)
from dlf_status.domain.ports import Clock, EventPublisher, Metrics, ObjectStore, UpstreamClient
from dlf_status.domain.redaction import Redactor
from dlf_status.errors import ConfigurationError
from dlf_status.observability import REDACTOR, NullMetrics, logger, register_secrets
from dlf_status.service import StatusService, WriteCheck

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from dlf_status.adapters.answer_budget import AnswerBudget
    from dlf_status.adapters.signing import Authenticator
    from dlf_status.adapters.upstream_http import HttpUpstreamClient
    from dlf_status.discovery import JobDiscovery
    from dlf_status.domain.ports import JobPageClient, JobQueue
    from dlf_status.drift import DriftReader
    from dlf_status.poller import QueueWorker, TickRunner
    from dlf_status.readers import StoreReader
    from dlf_status.tick_discovery import TickDiscovery

JobListReader = Callable[[str], Any]


# -- adapters ------------------------------------------------------------------------------


def build_validator(operation: Operation = SHOW_JOB_STATUS) -> ResponseValidator:
    """The hot-path validator: the packaged spec's schemas compiled with jsonschema-rs."""
    from dlf_status.adapters.compiled_validator import CompiledValidator

    return CompiledValidator(packaged_contract(operation))


def build_reference_validator(operation: Operation = SHOW_JOB_STATUS) -> ResponseValidator:
    """openapi-core against the packaged spec, for `validate --validator reference` and
    the differential tests; imported only when asked for (dlf-status[reference])."""
    try:
        from dlf_status.adapters.openapi_core_validator import OpenAPICoreValidator
    except ImportError:
        raise ConfigurationError(
            "the reference validator needs openapi-core: pip install 'dlf-status[reference]'"
        ) from None
    return OpenAPICoreValidator(packaged_contract(operation))


def build_store(settings: Settings, pool_size: int = 10) -> ObjectStore:
    location = settings.snapshot_location
    if isinstance(location, S3Location):
        from dlf_status.adapters.store_s3 import S3Store, addressing_style_for, make_s3_client

        style = addressing_style_for(
            settings.s3_addressing_style, settings.s3_endpoint_url, location.bucket
        )
        client = aws_client(
            "S3",
            lambda: make_s3_client(
                settings.s3_endpoint_url,
                pool_size,
                call_seconds=settings.store_timeout,
                addressing_style=style,
            ),
        )
        return S3Store(
            client,
            location.bucket,
            location.key,
            require_conditional_writes=settings.snapshot_consistency is SnapshotConsistency.STRICT,
        )
    from dlf_status.adapters.store_local import LocalDirectoryStore

    return LocalDirectoryStore(location)


def load_credentials(
    settings: Settings, secrets_client: Callable[[], SecretsManagerClient] | None = None
) -> Credentials:
    """The configured credentials, or the secret's, read now (`secrets_client` makes
    the client: a new one unless the caller keeps one)."""
    if settings.credentials is not None:
        return settings.credentials
    if settings.credentials_secret is None:
        raise ConfigurationError("no credentials configured")
    from dlf_status.adapters.secrets import make_secrets_client, read_credentials_secret

    client = aws_client("Secrets Manager", secrets_client or make_secrets_client)
    return read_credentials_secret(settings.credentials_secret, client)


def build_authenticator(
    settings: Settings, *, monotonic: Callable[[], float] | None = None
) -> Authenticator:
    """The upstream's authenticator, its credentials registered with the log masker.

    Credentials from the environment are used as they are. A secret is read now, and
    if that fails (the detail is logged) again at each call until a read succeeds:
    a Secrets Manager blip at a cold start must not last the container's life. Then
    it is read again when the upstream rejects the credentials and when older than
    DLF_CREDENTIALS_MAX_AGE (`monotonic`: that age's clock, a test's)."""
    from dlf_status.adapters.signing import DeferredAuthenticator, authenticator_for

    if settings.credentials is not None or settings.credentials_secret is None:
        credentials = load_credentials(settings)
        register_secrets(*credentials.secrets)
        return authenticator_for(credentials)
    from dlf_status.adapters.secrets import make_secrets_client

    # One client for every read of the container's life: its connection is kept too.
    secrets_client = functools.cache(make_secrets_client)
    deferred = DeferredAuthenticator(
        lambda: load_credentials(settings, secrets_client),
        on_read=lambda credentials: register_secrets(*credentials.secrets),
        max_age=settings.credentials_max_age,
        monotonic=monotonic,
    )
    try:
        deferred.ready()
    except ConfigurationError as error:
        logger.warning(
            "credentials not read yet; read again at the next call",
            extra={"detail": error.detail},
        )
    return deferred


def build_answer_budget(settings: Settings) -> AnswerBudget:
    """The process's one budget for the upstream answers in flight: every upstream
    client and service built here shares it, so the large answers processed at once
    are bounded whatever the threads (a tick's, `serve`'s). LARGE_ANSWERS_AT_ONCE, or
    derived from the function's memory (adapters/answer_budget.py)."""
    from dlf_status.adapters.answer_budget import permits_for_memory

    permits = settings.large_answers_at_once or permits_for_memory(settings.function_memory_mb)
    return _answer_budget(permits)


@functools.cache
def _answer_budget(permits: int) -> AnswerBudget:
    from dlf_status.adapters.answer_budget import AnswerBudget

    return AnswerBudget(permits)


def build_upstream_client(
    settings: Settings,
    *,
    pool_size: int | None = None,
    redactor: Redactor = REDACTOR,
    authenticator: Authenticator | None = None,
) -> HttpUpstreamClient:
    """The signed HTTP client of DataArts Studio: the status call and the job list.

    Its credentials are registered with the process's log masker before the first
    call (`build_authenticator`). `authenticator` replaces the settings' one (a test's
    signer with its own clock); its secrets are then the caller's to register."""
    from dlf_status.adapters.upstream_http import HttpUpstreamClient

    return HttpUpstreamClient(
        settings.upstream,
        build_authenticator(settings) if authenticator is None else authenticator,
        pool_size=settings.poll_concurrency if pool_size is None else pool_size,
        redactor=redactor,
        budget=build_answer_budget(settings),
    )


def build_job_list_reader(settings: Settings) -> JobListReader:
    """Reads a job list (a file, or s3://bucket/key with the store's S3 settings); its
    S3 client is made at the first S3 read and kept for the next ticks."""
    from dlf_status.adapters.job_list import read_job_list

    clients = s3_clients(
        settings.s3_endpoint_url,
        settings.s3_addressing_style,
        call_seconds=settings.store_timeout,
    )
    return partial(read_job_list, s3_client=clients)


def build_job_queue(settings: Settings) -> JobQueue | None:
    """The fan-out queue (SQS), or None when FANOUT_QUEUE_URL is not set."""
    if settings.fanout_queue_url is None:
        return None
    from dlf_status.adapters.queue_sqs import SqsJobQueue, make_sqs_client

    client = aws_client("SQS", make_sqs_client)
    return SqsJobQueue(settings.fanout_queue_url, client)


def build_event_publisher(settings: Settings) -> EventPublisher:
    """EventBridge when EVENT_BUS_NAME is set, else none. Either way no AWS client is
    made here: the EventBridge adapter makes its boto3 client at its first publish,
    so the cold start does not grow."""
    if settings.event_bus_name is None:
        from dlf_status.domain.events import NoEvents

        return NoEvents()
    from dlf_status.adapters.events_eventbridge import EventBridgePublisher

    return EventBridgePublisher(settings.event_bus_name)


# -- the service layer ---------------------------------------------------------------------


def build_status_service(
    settings: Settings,
    *,
    upstream: UpstreamClient | None = None,
    store: ObjectStore | None = None,
    validator: ResponseValidator | None = None,
    clock: Clock | None = None,
    metrics: Metrics | None = None,
    redactor: Redactor = REDACTOR,
    pool_size: int | None = None,
    events: EventPublisher | None = None,
) -> StatusService:
    """Observe one job: fetch, validate, normalise, store (service.py).

    `pool_size` sizes the HTTP and S3 connection pools: by default POLL_CONCURRENCY,
    the threads of a tick (a gateway container serves one request at a time, and an
    unused pool slot costs nothing). Metrics default to none (the CLI's): a Lambda
    function passes the EMF metrics it flushes after each invocation. `events`
    defaults to the settings' (build_event_publisher)."""
    size = settings.poll_concurrency if pool_size is None else pool_size
    if upstream is None:
        upstream = build_upstream_client(settings, pool_size=size, redactor=redactor)
    if store is None:
        store = build_store(settings, size)
    return StatusService(
        upstream=upstream,
        store=store,
        validator=build_validator() if validator is None else validator,
        clock=SystemClock() if clock is None else clock,
        metrics=NullMetrics() if metrics is None else metrics,
        mode=settings.validation_mode,
        serve_stale=settings.serve_stale,
        redactor=redactor,
        events=build_event_publisher(settings) if events is None else events,
        store_call_seconds=store_call_worst_case(settings),
        write_check=store_write_check(settings, store),
        answer_scope=build_answer_budget(settings).scope,
    )


def store_write_check(settings: Settings, store: ObjectStore) -> WriteCheck | None:
    """The S3 store's conditional-write check (SNAPSHOT_CONSISTENCY=strict), for the
    writer to run within the invocation's time; None for any other store, and in
    best-effort, where it makes none."""
    strict = settings.snapshot_consistency is SnapshotConsistency.STRICT
    if not strict or not isinstance(settings.snapshot_location, S3Location):
        return None
    from dlf_status.adapters.store_s3 import S3Store, probe_call_worst_case

    if not isinstance(store, S3Store):
        return None
    return WriteCheck(
        lambda: store.conditional_writes_pending,
        store.check_conditional_writes,
        probe_call_worst_case(settings.store_timeout),
    )


def store_call_worst_case(settings: Settings) -> float:
    """The longest one call of the configured store takes, retries included: what a
    writer or a reader must have left before it starts one (the S3 adapter's figure;
    the local store's calls have no timeout, and STORE_TIMEOUT stands for them)."""
    if isinstance(settings.snapshot_location, S3Location):
        from dlf_status.adapters.store_s3 import s3_call_worst_case

        return s3_call_worst_case(settings.store_timeout)
    return settings.store_timeout


def build_tick_runner(
    settings: Settings,
    *,
    service: StatusService | None = None,
    metrics: Metrics | None = None,
    read_job_list: JobListReader | None = None,
    queue: JobQueue | None = None,
    fan_out: bool = True,
    concurrency: int | None = None,
    events: EventPublisher | None = None,
    job_pages: JobPageClient | None = None,
) -> TickRunner:
    """Poll a tick's job list in place, or fan it out to the queue (poller.py).

    `service` defaults to the production one with pools sized for the tick's threads
    and `events` (the settings' publisher by default). `queue` defaults to SQS when
    FANOUT_QUEUE_URL is set; `fan_out=False` always polls in place (the CLI).
    `concurrency` overrides POLL_CONCURRENCY. Discovery entries are listed through
    `job_pages`, by default the service's own upstream client (the HTTP client serves
    both calls), and the ListJobs validator is compiled at the first tick that has one."""
    from dlf_status.poller import Dispatcher, Poller, TickRunner

    threads = settings.poll_concurrency if concurrency is None else concurrency
    metrics = NullMetrics() if metrics is None else metrics
    if service is None:
        service = build_status_service(settings, metrics=metrics, pool_size=threads, events=events)
    if fan_out and queue is None:
        queue = build_job_queue(settings)
    poller = Poller(
        service, metrics, concurrency=threads, job_allowance_seconds=_job_allowance(settings)
    )
    return TickRunner(
        poller,
        service.clock,
        read_job_list=build_job_list_reader(settings) if read_job_list is None else read_job_list,
        jobs_uri=settings.jobs_uri,
        fanout_threshold=settings.fanout_threshold,
        dispatcher=(
            Dispatcher(queue, metrics, send_allowance_seconds=_send_allowance())
            if fan_out and queue is not None
            else None
        ),
        discovery=functools.cache(
            partial(build_tick_discovery, settings, service, metrics, job_pages, threads)
        ),
    )


def _job_allowance(settings: Settings) -> float:
    """The time a job is started only while it is left: a whole upstream deadline
    and a store call."""
    return settings.upstream.deadline + settings.store_timeout


def _send_allowance() -> float:
    """The time a fan-out send is started only while it is left: one SendMessageBatch
    at its worst, and as much again for the tick to answer with its report."""
    from dlf_status.adapters.queue_sqs import SEND_WORST_CASE_SECONDS

    return 2 * SEND_WORST_CASE_SECONDS


def build_tick_discovery(
    settings: Settings,
    service: StatusService,
    metrics: Metrics,
    job_pages: JobPageClient | None = None,
    concurrency: int | None = None,
) -> TickDiscovery:
    """Expands a tick's discovery entries (tick_discovery.py) through `job_pages`, or
    the service's upstream client when it pages the job list too, into `service`'s store."""
    from dlf_status.discovery import JobDiscovery
    from dlf_status.domain.contract import LIST_JOBS
    from dlf_status.tick_discovery import TickDiscovery

    if job_pages is None:
        upstream = service.upstream
        job_pages = (
            cast("JobPageClient", upstream)
            if hasattr(upstream, "fetch_job_page")
            else build_upstream_client(settings, pool_size=1)
        )
    validator = build_validator(LIST_JOBS)
    return TickDiscovery(
        job_pages,
        partial(
            JobDiscovery,
            validator=validator,
            mode=settings.validation_mode,
            redactor=service.redactor,
        ),
        service.store,
        service.clock,
        metrics,
        concurrency=settings.poll_concurrency if concurrency is None else concurrency,
        allowance_seconds=_job_allowance(settings),
    )


def build_queue_worker(
    settings: Settings,
    *,
    service: StatusService | None = None,
    metrics: Metrics | None = None,
    events: EventPublisher | None = None,
) -> QueueWorker:
    """Poll one fanned-out job per queue message (poller.py), publishing transitions
    to `events` (the settings' publisher by default)."""
    from dlf_status.poller import QueueWorker

    if service is None:
        service = build_status_service(settings, metrics=metrics, events=events)
    return QueueWorker(service, job_allowance_seconds=_job_allowance(settings))


def build_job_discovery(
    settings: Settings,
    *,
    client: JobPageClient | None = None,
    validator: ResponseValidator | None = None,
    redactor: Redactor = REDACTOR,
) -> JobDiscovery:
    """The real-time jobs a discovery spec selects, from the upstream's job list
    (discovery.py), each page checked against the ListJobs operation."""
    from dlf_status.discovery import JobDiscovery
    from dlf_status.domain.contract import LIST_JOBS

    if client is None:
        client = build_upstream_client(settings, pool_size=1, redactor=redactor)
    return JobDiscovery(
        client,
        build_validator(LIST_JOBS) if validator is None else validator,
        mode=settings.validation_mode,
        redactor=redactor,
    )


def build_store_reader(
    settings: Settings, *, store: ObjectStore | None = None, clock: Clock | None = None
) -> StoreReader:
    """The fleet, a job's history and its transitions, read from the store (readers.py)."""
    from dlf_status.readers import READ_WORKERS, StoreReader

    return StoreReader(
        build_store(settings, READ_WORKERS) if store is None else store,
        SystemClock() if clock is None else clock,
        store_call_seconds=store_call_worst_case(settings),
    )


def build_drift_reader(settings: Settings, *, store: ObjectStore | None = None) -> DriftReader:
    """The drift report over every status document of the store (drift.py)."""
    from dlf_status.drift import READ_WORKERS, DriftReader

    return DriftReader(build_store(settings, READ_WORKERS) if store is None else store)
