"""Reading the store for consumers: the fleet, a job's history, its transitions.

No upstream call: everything comes from what the snapshot writer stored, through
the `ObjectStore` port (listings and GETs only). The documents are built by
`domain/readmodels.py`; this layer decides what to list and read, within bounds:

* **The fleet** lists `latest/project_id=P/workspace=W/` and reads a latest.json only
  when the cache of this process has no entry for its key and listed version: a warm
  container refreshes a fleet of 200 jobs with one listing call and GETs of what
  changed. The summary counts every job while rows stream past; only the page's rows
  and the cache's small entries are held, never the documents. At most
  `MAX_FLEET_READS` GETs per request (a job not read yet is an UNKNOWN row that says
  so) and `MAX_FLEET_JOBS` keys listed (beyond: `ReadLimitExceeded`).
* **History**, newest first, walks the job's date partitions back from `to`, listing
  each day only between the bounds (the compact time that starts every object name
  positions the listing), and GETs only the page's objects. A day found empty is
  followed by a binary search of one-key listings for the newest earlier day that
  holds an object: empty days are skipped, never listed one by one. At most
  `MAX_HISTORY_DAYS_PER_REQUEST` partitions per request: a page may come back short,
  even empty, with a cursor to go on.
* **Transitions**, oldest first, list the job's records from `since` (or the cursor)
  in one ascending listing and GET the page's records.

**Inside the invocation's time.** In the HTTP function a request also has a time
budget (`ReadTime`: Lambda's remaining time, and one store call's worst case): a store
call starts only with its worst case and the answer's margin left, so a slow store
never takes the function past its Timeout (API Gateway would answer its own 5xx). A
fleet row whose GET has no time left is an UNKNOWN row saying `not read: no time left`,
as the count budget does (the process keeps what it read: the next request reads on).
A history or transitions page comes back short, with a cursor that goes on after the
last object read (or, for history, past the empty days it walked). Safety is
reserved, and one step of progress: a call is held back when it may not end in time,
and a history walk that has chosen documents lists on only with the time to GET one of
them after, so a store slow at its worst still answers what fits. When the first
listing cannot start, or no object of a page can be read and no empty day was walked
past (the page would not move on), or for the fleet any listing (its summary counts
every job), the request fails with `StoreTooSlow` (503, Retry-After). `serve` and the
CLI pass no clock: no time budget.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, NamedTuple, TypeVar, cast

from dlf_status.domain.freshness import (
    FRESHNESS_LOOKBACK_SECONDS,
    Confirmed,
    merge_newest,
    read_confirmations,
)
from dlf_status.domain.model import JobRef, validate_project_id, validate_workspace
from dlf_status.domain.ports import (
    MAX_LIST_PAGE,
    Clock,
    ListedObject,
    ObjectListing,
    ObjectStore,
    RemainingSeconds,
)
from dlf_status.domain.readmodels import (
    DEFAULT_STALE_AFTER_SECONDS,
    FLEET_KIND,
    FLEET_PAGE,
    HISTORY_KIND,
    HISTORY_PAGE,
    READ_MODEL_SCHEMA_VERSION,
    TRANSITIONS_KIND,
    TRANSITIONS_PAGE,
    FleetCounts,
    FleetDocument,
    FleetEntry,
    FleetRow,
    HistoryDocument,
    TransitionsDocument,
    Unreadable,
    decode_cursor,
    encode_cursor,
    fleet_document,
    fleet_entry,
    fleet_key_job_name,
    fleet_row,
    is_earlier_release_fleet_key,
    moved_fleet_key,
    parse_limit,
    query_scope,
    read_document,
    superseding_fleet_key,
    unreadable_entry,
)
from dlf_status.domain.snapshots import (
    FRESHNESS_ROOT,
    HISTORY_ROOT,
    LATEST_ROOT,
    TRANSITIONS_ROOT,
    compact_time,
    job_prefix,
    parse_object_time,
    workspace_prefix,
)
from dlf_status.domain.timestamps import format_utc
from dlf_status.domain.transitions import TRANSITION_KIND
from dlf_status.errors import InvalidInput, ReadLimitExceeded, StoreError, StoreTooSlow
from dlf_status.observability import logger
from dlf_status.service import ANSWER_MARGIN_SECONDS, DEFAULT_STORE_CALL_SECONDS

if TYPE_CHECKING:
    from dlf_status.domain.documents import StatusDocument, TransitionRecord

# latest.json GETs in one fleet request; the cache makes the next request read on.
MAX_FLEET_READS: Final = 2000
# Keys listed for one fleet (100 listing calls): a project and workspace beyond this
# many jobs is refused whole rather than summarised wrong.
MAX_FLEET_JOBS: Final = 100_000
# Fleet entries a process keeps (about half a kilobyte each).
FLEET_CACHE_ENTRIES: Final = 20_000
# Freshness records a fleet request reads (the newest of the lookback: twelve ticks an
# hour on the default schedule), listing calls to find them, and records a process keeps.
MAX_FRESHNESS_RECORDS: Final = 32
MAX_FRESHNESS_LISTINGS: Final = 4
FRESHNESS_CACHE_RECORDS: Final = 64
# Concurrent GETs of one request.
READ_WORKERS: Final = 16
# History: date partitions listed by one request, and listing calls for one day.
MAX_HISTORY_DAYS_PER_REQUEST: Final = 32
MAX_LIST_CALLS_PER_DAY: Final = 64
# Without `from`, history goes back this far (the template's default retention).
HISTORY_DAYS_WITHOUT_FROM: Final = 400
# A fleet row whose latest.json had no time left to be read says this.
NO_TIME_LEFT: Final = "not read: no time left"

_DAY: Final = timedelta(days=1)
_WHOLE_DAY: Final = "~"  # sorts after every object name
_DAY_POSITION = re.compile(r"date=([0-9]{4}-[0-9]{2}-[0-9]{2})/(.+)")
_PARTITION_DAY = re.compile(r"date=([0-9]{4}-[0-9]{2}-[0-9]{2})/")
_TRANSITION_START = re.compile(r"[0-9]{8}T[0-9]{9}Z")

T = TypeVar("T")
R = TypeVar("R")


class FleetCache:
    """A fleet entry per latest.json key, valid for one listed version; least recently
    used entries go first. Shared by the threads of a warm process."""

    def __init__(self, capacity: int = FLEET_CACHE_ENTRIES) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[str, tuple[str, FleetEntry]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, version: str) -> FleetEntry | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] != version:
                return None
            self._entries.move_to_end(key)
            return found[1]

    def put(self, key: str, version: str, entry: FleetEntry) -> None:
        with self._lock:
            self._entries[key] = (version, entry)
            self._entries.move_to_end(key)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class FreshnessCache:
    """Freshness records already read, by key (a record never changes); the least
    recently used go first."""

    def __init__(self, capacity: int = FRESHNESS_CACHE_RECORDS) -> None:
        self._capacity = capacity
        self._records: OrderedDict[str, dict[str, Confirmed]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> dict[str, Confirmed] | None:
        with self._lock:
            found = self._records.get(key)
            if found is not None:
                self._records.move_to_end(key)
            return found

    def put(self, key: str, confirmations: dict[str, Confirmed]) -> None:
        with self._lock:
            self._records[key] = confirmations
            self._records.move_to_end(key)
            while len(self._records) > self._capacity:
                self._records.popitem(last=False)


class ReadTime:
    """One request's time: whether a store call may start now (the invocation's
    remaining time covers `calls` calls at their worst and the answer's margin), and
    whether one was held back (`cut`: the answer is not the whole one, and is not
    cached as if it were). Without `remaining_seconds` (the CLI, `serve`) every call
    may start. Shared by the request's worker threads: `cut` only ever turns True."""

    def __init__(self, remaining_seconds: RemainingSeconds | None, call_seconds: float) -> None:
        self._remaining_seconds = remaining_seconds
        self.call_seconds = call_seconds
        self.cut = False

    def allows(self, calls: int = 1) -> bool:
        if self._remaining_seconds is None:
            return True
        if self._remaining_seconds() >= calls * self.call_seconds + ANSWER_MARGIN_SECONDS:
            return True
        self.cut = True
        return False

    def require(self, what: str, calls: int = 1) -> None:
        """Raise `StoreTooSlow` unless `calls` calls may start: nothing to answer."""
        if not self.allows(calls):
            raise self.ran_out(what)

    def ran_out(self, what: str) -> StoreTooSlow:
        self.cut = True
        return StoreTooSlow(
            f"no time left to {what}: a store call may take {self.call_seconds:g} s at its "
            "worst and the invocation has less than that left; try again later"
        )


@dataclass
class ReadCost:
    """What a reader's request cost, counted as it runs; the last request's is kept
    (`StoreReader.last_cost`) for logs, tests and benchmarks."""

    listing_calls: int = 0
    keys_listed: int = 0
    reads: int = 0
    cache_hits: int = 0


@dataclass
class StoreReader:
    store: ObjectStore
    clock: Clock
    cache: FleetCache = field(default_factory=FleetCache)
    freshness_cache: FreshnessCache = field(default_factory=FreshnessCache)
    max_fleet_reads: int = MAX_FLEET_READS
    max_fleet_jobs: int = MAX_FLEET_JOBS
    workers: int = READ_WORKERS
    # One store call's worst case, retries included (bootstrap.store_call_worst_case):
    # what a request must have left before it starts one.
    store_call_seconds: float = DEFAULT_STORE_CALL_SECONDS
    last_cost: ReadCost = field(default_factory=ReadCost, init=False)

    def read_time(self, remaining_seconds: RemainingSeconds | None) -> ReadTime:
        """A request's time budget: `remaining_seconds` is the invocation's time left
        (None: no bound, as for the CLI and `serve`)."""
        return ReadTime(remaining_seconds, self.store_call_seconds)

    # --- the fleet -------------------------------------------------------------------

    def fleet(
        self,
        project_id: str,
        workspace: str | None = None,
        *,
        statuses: frozenset[str] | None = None,
        fail_on: frozenset[str] = frozenset(),
        limit: int = FLEET_PAGE[0],
        cursor: str | None = None,
        stale_after: float = DEFAULT_STALE_AFTER_SECONDS,
        time: ReadTime | None = None,
    ) -> FleetDocument:
        """The fleet of one project and workspace (None: no workspace, the Hive null
        partition, as on the status route). `statuses` filters rows, never the summary;
        `fail_on` sets `failing`, over the whole fleet. Parse request values with the
        `readmodels.parse_*` helpers first."""
        time = time or ReadTime(None, self.store_call_seconds)  # no bound: every call starts
        project_id = validate_project_id(project_id)
        workspace = validate_workspace(workspace)
        limit = parse_limit(limit, FLEET_PAGE)
        statuses = statuses or None  # no status named: every row, as without a filter
        scope = query_scope(FLEET_KIND, project_id, workspace)
        position = decode_cursor(cursor, FLEET_KIND, scope)
        if position is not None and fleet_key_job_name(position) is None:
            raise InvalidInput("cursor names no job of this fleet", field="cursor")
        now = self.clock.now()
        prefix = workspace_prefix(LATEST_ROOT, project_id, workspace)
        counts = FleetCounts()
        cost = ReadCost()
        confirmations = self._confirmations(project_id, workspace, now, cost, time)
        # The page: the `limit` + 1 smallest keys after the position, sorted here (a
        # store's listing order need not be byte order: SeaweedFS's is not).
        page: list[tuple[str, FleetRow]] = []

        def add(relative: str, row: FleetRow) -> None:
            counts.add(row)
            if (statuses is None or row["status"] in statuses) and (
                position is None or relative > position
            ):
                _keep_smallest(page, (relative, row), limit + 1)

        # Rows under a key an earlier release gave the job (a name beyond ASCII moved:
        # snapshots.py) are left out once the job's new key is listed. Old keys are read
        # last, once every listing is done, and only when no listed key supersedes them:
        # they never spend the read budget of the jobs observed since the upgrade.
        # A new key that supersedes one is never all ASCII (the names of ASCII kept
        # their keys): only those are remembered.
        beyond_ascii: set[str] = set()
        earlier: list[ListedObject] = []
        held: list[tuple[str, str, FleetRow]] = []  # (the key it has now, its key, its row)

        def place(relative: str, entry: FleetEntry) -> None:
            if entry.gone:
                return  # reported gone: no longer in the fleet (domain/gone.py)
            row = fleet_row(entry, now, stale_after)
            now_at = moved_fleet_key(relative, entry.job_name)
            if now_at is None:
                add(relative, row)
            else:
                held.append((now_at, relative, row))

        start_after = ""
        while True:
            # Every listing or none: the summary counts the whole fleet.
            time.require("list the fleet's latest.json keys")
            listing = self.store.list_objects(prefix, start_after=start_after)
            cost.listing_calls += 1
            cost.keys_listed += len(listing.objects)
            if cost.keys_listed > self.max_fleet_jobs:
                raise ReadLimitExceeded(
                    f"the fleet of project {project_id} holds more than "
                    f"{self.max_fleet_jobs} jobs: more than one request may read",
                    limit=self.max_fleet_jobs,
                )
            current: list[ListedObject] = []
            for listed in listing.objects:
                relative = listed.key[len(prefix) :]
                if is_earlier_release_fleet_key(relative):
                    earlier.append(listed)
                else:
                    current.append(listed)
                    if not relative.isascii():
                        beyond_ascii.add(relative)
            for relative, entry in self._fleet_entries(current, prefix, cost, time, confirmations):
                place(relative, entry)
            if listing.resume_after is None:
                break
            start_after = listing.resume_after
        unsuperseded = [
            listed
            for listed in earlier
            if superseding_fleet_key(listed.key[len(prefix) :]) not in beyond_ascii
        ]
        for relative, entry in self._fleet_entries(unsuperseded, prefix, cost, time, confirmations):
            place(relative, entry)
        for now_at, relative, row in held:
            if now_at not in beyond_ascii:  # not observed since the upgrade: its old row
                add(relative, row)
        more = len(page) > limit
        rows = page[:limit]
        next_cursor = encode_cursor(FLEET_KIND, scope, rows[-1][0]) if more else None
        self._done(cost, "fleet read", project_id=project_id, jobs=counts.job_count)
        return fleet_document(
            project_id=project_id,
            workspace=workspace,
            generated_at=now,
            stale_after=stale_after,
            status_filter=statuses,
            fail_on=fail_on,
            summary=counts.summary(),
            rows=[row for _, row in rows],
            limit=limit,
            next_cursor=next_cursor,
        )

    def _fleet_entries(
        self,
        objects: Sequence[ListedObject],
        prefix: str,
        cost: ReadCost,
        time: ReadTime,
        confirmations: Mapping[str, Confirmed] | None = None,
    ) -> list[tuple[str, FleetEntry]]:
        """Each listed latest.json's entry: from the cache when its version is known,
        read otherwise (concurrently, within the request's read budget and its time);
        its `observed_at` the newest of its own and a tick's confirmation of that
        version."""
        confirmations = confirmations or {}

        def confirmed(entry: FleetEntry, version: str) -> FleetEntry:
            found = confirmations.get(entry.job_name)
            if (
                found is None
                or found.latest_version != version
                or entry.observed_at is None
                or found.observed_at <= entry.observed_at
            ):
                return entry
            return entry._replace(observed_at=found.observed_at)

        entries: list[tuple[str, FleetEntry]] = []
        missing: list[tuple[str, str, ListedObject]] = []
        for listed in objects:
            relative = listed.key[len(prefix) :]
            name = fleet_key_job_name(relative)
            if name is None:
                continue  # not a latest.json of this workspace
            cached = self.cache.get(listed.key, listed.version)
            if cached is not None:
                cost.cache_hits += 1
                entries.append((relative, confirmed(cached, listed.version)))
            elif cost.reads < self.max_fleet_reads:
                cost.reads += 1
                missing.append((relative, name, listed))
            else:
                entries.append(
                    (
                        relative,
                        unreadable_entry(
                            name,
                            f"not read: this request read {self.max_fleet_reads} latest.json "
                            "already; the next request reads on",
                        ),
                    )
                )

        def read(item: tuple[str, str, ListedObject]) -> tuple[str, FleetEntry] | None:
            relative, name, listed = item
            if not time.allows():
                return relative, unreadable_entry(name, NO_TIME_LEFT)
            try:
                stored = self.store.get(listed.key)
            except StoreError as error:
                return relative, unreadable_entry(name, f"cannot read latest.json: {error.detail}")
            if stored is None:
                return None  # replaced by nothing since the listing: the job is gone
            entry = fleet_entry(stored.body, name)
            self.cache.put(listed.key, stored.version, entry)
            return relative, confirmed(entry, stored.version)

        entries.extend(found for found in self._map(read, missing) if found is not None)
        return entries

    def _confirmations(
        self,
        project_id: str,
        workspace: str | None,
        now: datetime,
        cost: ReadCost,
        time: ReadTime,
    ) -> dict[str, Confirmed]:
        """Each job's newest confirmation in the workspace's freshness records of the
        last `FRESHNESS_LOOKBACK_SECONDS` (the newest `MAX_FRESHNESS_RECORDS`). Records
        never change: each is read once per process. A fleet without its
        confirmations would call jobs stale that are not: no time for them is no fleet
        (`StoreTooSlow`)."""
        prefix = workspace_prefix(FRESHNESS_ROOT, project_id, workspace)
        start_after = prefix + compact_time(now - timedelta(seconds=FRESHNESS_LOOKBACK_SECONDS))
        keys: list[str] = []
        for _ in range(MAX_FRESHNESS_LISTINGS):
            time.require("list the freshness records")
            listing = self.store.list_objects(prefix, start_after=start_after)
            cost.listing_calls += 1
            cost.keys_listed += len(listing.objects)
            keys.extend(
                item.key
                for item in listing.objects
                if parse_object_time(item.key[len(prefix) :]) is not None
            )
            if listing.resume_after is None:
                break
            start_after = listing.resume_after
        keys = sorted(keys)[-MAX_FRESHNESS_RECORDS:]

        def read(key: str) -> dict[str, Confirmed]:
            known = self.freshness_cache.get(key)
            if known is not None:
                cost.cache_hits += 1
                return known
            time.require("read the freshness records")
            cost.reads += 1
            try:
                stored = self.store.get(key)
            except StoreError as error:
                logger.warning(
                    "freshness record not read", extra={"key": key, "detail": error.detail}
                )
                return {}
            found = read_confirmations(stored.body) if stored is not None else None
            self.freshness_cache.put(key, found or {})
            return found or {}

        newest: dict[str, Confirmed] = {}
        for found in self._map(read, keys):
            merge_newest(newest, found)
        return newest

    # --- history -----------------------------------------------------------------------

    def history(
        self,
        job: JobRef,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = HISTORY_PAGE[0],
        cursor: str | None = None,
        time: ReadTime | None = None,
    ) -> HistoryDocument:
        """Stored documents of `job` whose objects are named after a time in
        [`start`, `end`) (`end` defaults to now, `start` to HISTORY_DAYS_WITHOUT_FROM
        days before it), newest first. The name's time is the observation's slot: the
        schedule's time for a tick, the observation time otherwise. Short of `time`,
        the page ends after the last document read, its cursor going on from there."""
        time = time or ReadTime(None, self.store_call_seconds)  # no bound: every call starts
        limit = parse_limit(limit, HISTORY_PAGE)
        now = self.clock.now()
        if start is not None and end is not None and start >= end:
            raise InvalidInput("from must be earlier than to", field="from")
        scope = query_scope(
            HISTORY_KIND,
            job.project_id,
            job.workspace,
            job.job_name,
            None if start is None else start.isoformat(),
            None if end is None else end.isoformat(),
        )
        position = _day_position(decode_cursor(cursor, HISTORY_KIND, scope))
        upper_time = (end or now).astimezone(UTC)
        if position is not None and position[0] > upper_time.date():
            # Past `to` (a cursor no page returned, or a clock behind the one that
            # wrote it): the walk starts at `to`, never beyond the query's bounds.
            position = None
        floor = (start or _days_before(upper_time, HISTORY_DAYS_WITHOUT_FROM)).astimezone(UTC)
        prefix = job_prefix(HISTORY_ROOT, job)
        cost = ReadCost()
        chosen: list[str] = []  # relative keys, newest first
        day = position[0] if position is not None else upper_time.date()
        # Dates are fixed-width: the first key listed is the job's oldest, in any store.
        # No walk goes back beyond it.
        time.require("list the job's history")
        first_day = self._oldest_day(prefix, cost)
        # None: the job has no object at all, and there is nothing to walk.
        floor_day = None if first_day is None else max(floor.date(), first_day)
        next_position: str | None = None
        start_day = day
        for _ in range(MAX_HISTORY_DAYS_PER_REQUEST):
            if floor_day is None or day < floor_day:
                break
            upper = _WHOLE_DAY
            if day == upper_time.date():
                upper = compact_time(upper_time)
            if position is not None and day == position[0]:
                upper = min(upper, position[1])
            lower = compact_time(floor) if day == floor.date() else ""
            needed = limit - len(chosen)
            # Once documents are chosen, a walk call starts only with the time to GET
            # one of them after it: a page that found documents answers one at least.
            reserve = 1 if chosen else 0
            newest = self._newest_in_day(
                prefix, day.isoformat(), lower, upper, needed, cost, time, reserve
            )
            if newest is None:  # no time to list the whole day: the page ends before it
                if chosen:
                    next_position = chosen[-1]
                elif (position is not None and day == position[0]) or day == upper_time.date():
                    raise time.ran_out("list the job's history")  # no progress at all
                else:
                    next_position = f"date={day.isoformat()}/{_WHOLE_DAY}"
                break
            chosen.extend(newest)
            if len(chosen) == limit:
                next_position = chosen[-1]
                break
            if day <= floor_day:
                break
            if newest:
                day -= _DAY
                continue
            # An empty day: the days before it are skipped to the newest that holds
            # an object, found in a few one-key listings, never listed one by one.
            seek = self._newest_day_with_objects(
                prefix, floor_day, day - _DAY, cost, time, 1 if chosen else 0
            )
            if seek.day is None:
                if seek.unsearched_to is not None:  # no time: go on where the search was
                    next_position = (
                        chosen[-1] if chosen else f"date={seek.unsearched_to}/{_WHOLE_DAY}"
                    )
                break
            day = seek.day
        else:
            if floor_day is not None and day >= floor_day:
                next_position = f"date={day.isoformat()}/{_WHOLE_DAY}"
        found, unreadable, taken = self._read_page(
            prefix, chosen, cost, time, lambda read: "observed_at" in read, "not a status document"
        )
        if taken < len(chosen):  # no time to read them all: the page ends at the last read
            if taken:
                next_position = chosen[taken - 1]
            else:
                next_position = _before_newest(chosen[0], start_day)
                if next_position is None:  # not one day walked past: no progress at all
                    raise time.ran_out("read the job's history")
        # What the writer stored (schema 1.0 or 1.1), served as it was stored.
        documents = cast("list[StatusDocument]", found)
        self._done(cost, "history read", job_name=job.job_name)
        return HistoryDocument(
            {
                "kind": HISTORY_KIND,
                "schema_version": READ_MODEL_SCHEMA_VERSION,
                "project_id": job.project_id,
                "workspace": job.workspace,
                "job_name": job.job_name,
                "generated_at": format_utc(now),
                "from": None if start is None else format_utc(start),
                "to": format_utc(upper_time),
                "documents": documents,
                "unreadable": unreadable,
                "limit": limit,
                "next_cursor": (
                    None
                    if next_position is None
                    else encode_cursor(HISTORY_KIND, scope, next_position)
                ),
            }
        )

    def _oldest_day(self, prefix: str, cost: ReadCost) -> date | None:
        """The date partition of the job's oldest object; None when it has none. Keys
        that sort before the partitions (`aaa.txt`, dropped there by hand or by a tool)
        are listed past; a first partition whose date cannot be read bounds nothing
        (date.min): an object dlf-status did not name never hides the history, nor does
        a key the store skips as not dlf-status's (`_first_key`)."""
        listing = self.store.list_objects(prefix, start_after=f"{prefix}date=", limit=1)
        cost.listing_calls += 1
        cost.keys_listed += len(listing.objects)
        first = _first_key(listing)
        if first is None:
            return None
        found = _PARTITION_DAY.match(first[len(prefix) :])
        try:
            return date.fromisoformat(found[1]) if found else date.min
        except ValueError:  # date=2026-13-45/
            return date.min

    def _newest_day_with_objects(
        self,
        prefix: str,
        lowest: date,
        highest: date,
        cost: ReadCost,
        time: ReadTime,
        reserve: int = 0,
    ) -> _Seek:
        """The newest date partition in [lowest, highest] that holds a key, by binary
        search: each probe lists the one first key at or after a day (keys are in byte
        order and dates fixed-width), so a year of empty days costs about nine calls,
        not 365. Short of time (a probe starts only with `reserve` more calls' time
        left), `unsearched_to` is the newest day not yet known empty."""
        if lowest == highest:  # one day: listing it costs what a probe would
            return _Seek(highest, None)
        found: date | None = None
        low, high = lowest, highest  # the newest such day, if any, is in [low, high]
        while low <= high:
            if not time.allows(1 + reserve):
                return _Seek(None, high)  # every day after `high` is known empty
            middle = low + timedelta(days=(high - low).days // 2 + (high - low).days % 2)
            listing = self.store.list_objects(
                prefix, start_after=f"{prefix}date={middle.isoformat()}/", limit=1
            )
            cost.listing_calls += 1
            cost.keys_listed += len(listing.objects)
            first = _first_key(listing)
            relative = None if first is None else first[len(prefix) :]
            # Every key of a day up to `high` sorts before "date=<high>0" ("0" > "/").
            if relative is None or relative >= f"date={high.isoformat()}0":
                if middle == low:
                    break
                high = middle - _DAY
                continue
            parts = _position_parts(relative)
            # A key not named as dlf-status names them stands for the day probed.
            at = middle if parts is None or parts[0] < middle else parts[0]
            found = at
            if at >= high:
                break
            low = at + _DAY
        return _Seek(found, None)

    def _newest_in_day(
        self,
        prefix: str,
        day: str,
        lower: str,
        upper: str,
        needed: int,
        cost: ReadCost,
        time: ReadTime,
        reserve: int = 0,
    ) -> list[str] | None:
        """The `needed` newest object names of one date partition in [lower, upper),
        as keys relative to the job's prefix, newest first. Names are fixed-width times,
        so every store lists them in time order and the listing stops at `upper`.
        None when a listing call has no time left: the newest of the day are listed
        last, so a day listed in part gives nothing."""
        day_prefix = f"{prefix}date={day}/"
        kept: list[str] = []  # ascending, at most `needed`
        start_after = day_prefix + lower if lower else ""
        for _ in range(MAX_LIST_CALLS_PER_DAY):
            if not time.allows(1 + reserve):  # with `reserve` calls' time left after it
                return None
            listing = self.store.list_objects(day_prefix, start_after=start_after)
            cost.listing_calls += 1
            cost.keys_listed += len(listing.objects)
            for listed in listing.objects:
                name = listed.key[len(day_prefix) :]
                if name >= upper:
                    return [f"date={day}/{name}" for name in reversed(kept)]
                if parse_object_time(name) is None:
                    continue  # not an object dlf-status named
                kept.append(name)
                if len(kept) > needed:
                    del kept[0]
            if listing.resume_after is None:
                return [f"date={day}/{name}" for name in reversed(kept)]
            start_after = listing.resume_after
        raise ReadLimitExceeded(
            f"the history of this job on {day} holds more than "
            f"{MAX_LIST_CALLS_PER_DAY * MAX_LIST_PAGE} objects in the range asked: "
            "narrow from and to",
            limit=MAX_LIST_CALLS_PER_DAY * MAX_LIST_PAGE,
        )

    # --- transitions -------------------------------------------------------------------

    def transitions(
        self,
        job: JobRef,
        *,
        since: datetime | None = None,
        limit: int = TRANSITIONS_PAGE[0],
        cursor: str | None = None,
        time: ReadTime | None = None,
    ) -> TransitionsDocument:
        """The transition records of `job` observed at or after `since` (all without
        it), oldest first. `next_cursor` is always set: it names the position after
        the last record returned, so a consumer that keeps it gets only newer records
        on its next call (`has_more`: more are there already). Short of `time`, the page
        ends after the last record read, `has_more` set."""
        time = time or ReadTime(None, self.store_call_seconds)  # no bound: every call starts
        limit = parse_limit(limit, TRANSITIONS_PAGE)
        now = self.clock.now()
        scope = query_scope(
            TRANSITIONS_KIND,
            job.project_id,
            job.workspace,
            job.job_name,
            None if since is None else since.isoformat(),
        )
        position = decode_cursor(cursor, TRANSITIONS_KIND, scope)
        if position is None:
            position = "" if since is None else _since_position(since)
        elif position:
            _day_position(position)
        if since is not None:  # a cursor never reaches before `since`
            position = max(position, _since_position(since))
        prefix = job_prefix(TRANSITIONS_ROOT, job)
        cost = ReadCost()
        keys: list[str] = []
        start_after = prefix + position if position else ""
        listed_all = True
        while len(keys) <= limit:
            if cost.listing_calls == 0:
                time.require("list the job's transition records")
            elif not time.allows():
                listed_all = False
                break
            listing = self.store.list_objects(
                prefix, start_after=start_after, limit=min(MAX_LIST_PAGE, limit + 1 - len(keys))
            )
            cost.listing_calls += 1
            cost.keys_listed += len(listing.objects)
            keys.extend(
                relative
                for relative in (listed.key[len(prefix) :] for listed in listing.objects)
                if _is_record_key(relative)
            )
            if listing.resume_after is None:
                break
            start_after = listing.resume_after
        has_more = len(keys) > limit or not listed_all
        keys = keys[:limit]
        found, unreadable, taken = self._read_page(prefix, keys, cost, time, lambda _: True, "gone")
        if taken < len(keys):  # no time to read them all: the page ends at the last read
            if taken == 0:
                raise time.ran_out("read the job's transition records")
            keys = keys[:taken]
            has_more = True
        records = cast("list[TransitionRecord]", found)
        self._done(cost, "transitions read", job_name=job.job_name)
        return TransitionsDocument(
            kind=TRANSITIONS_KIND,
            schema_version=READ_MODEL_SCHEMA_VERSION,
            project_id=job.project_id,
            workspace=job.workspace,
            job_name=job.job_name,
            generated_at=format_utc(now),
            since=None if since is None else format_utc(since),
            records=records,
            unreadable=unreadable,
            limit=limit,
            has_more=has_more,
            next_cursor=encode_cursor(TRANSITIONS_KIND, scope, keys[-1] if keys else position),
        )

    # --- shared --------------------------------------------------------------------------

    def _read_page(
        self,
        prefix: str,
        relative_keys: Sequence[str],
        cost: ReadCost,
        time: ReadTime,
        accept: Callable[[dict[str, Any]], bool],
        otherwise: str,
    ) -> tuple[list[dict[str, Any]], list[Unreadable], int]:
        """A page's objects, in order: those read that `accept` takes, and the rest as
        Unreadable, timed by their key's name, with why (`otherwise` if no reason); and
        how many keys that is: those before the first one `time` left unread."""
        found: list[dict[str, Any]] = []
        unreadable: list[Unreadable] = []
        read = self._read_all(prefix, relative_keys, cost, time)
        taken = 0
        for relative, outcome in zip(relative_keys, read, strict=True):
            if outcome is None:
                break  # not read for lack of time: the page ends before it
            taken += 1
            parsed, error = outcome
            if parsed is not None and accept(parsed):
                found.append(parsed)
            else:
                named = parse_object_time(relative.rpartition("/")[2])
                unreadable.append(
                    Unreadable(time=format_utc(named) if named else "", error=error or otherwise)
                )
        return found, unreadable, taken

    def _read_all(
        self, prefix: str, relative_keys: Sequence[str], cost: ReadCost, time: ReadTime
    ) -> list[tuple[dict[str, Any] | None, str | None] | None]:
        """Each object parsed, or (None, why not): one bad object never fails a page.
        None for an object whose GET had no time left."""
        kind = TRANSITION_KIND if prefix.startswith(TRANSITIONS_ROOT + "/") else None

        def read(relative: str) -> tuple[dict[str, Any] | None, str | None] | None:
            if not time.allows():
                return None
            try:
                stored = self.store.get(prefix + relative)
            except StoreError as error:
                return None, f"cannot read: {error.detail}"
            if stored is None:
                return None, "gone since it was listed (expired)"
            return read_document(stored.body, kind)

        cost.reads += len(relative_keys)
        return self._map(read, relative_keys)

    def _map(self, function: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """`function` over `items`, in order, concurrently when there are several."""
        if len(items) <= 1 or self.workers <= 1:
            return [function(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(self.workers, len(items))) as pool:
            return list(pool.map(function, items))

    def _done(self, cost: ReadCost, message: str, **context: Any) -> None:
        self.last_cost = cost
        logger.info(message, extra={**context, **asdict(cost)})


class _Seek(NamedTuple):
    """What a search for the newest day with objects found: the day (None: none in
    the range, or no time), and without time the newest day not known empty."""

    day: date | None
    unsearched_to: date | None


def _first_key(listing: ObjectListing) -> str | None:
    """The key a one-key listing met first: its object's, or the key the store listed
    and skipped as not dlf-status's (`date=2026-11-14 copy/x.json`), which it resumes
    after (see `ObjectListing`); None when no key is left. Read as 'no object', a
    skipped key hid every day after it."""
    return listing.objects[0].key if listing.objects else listing.resume_after


def _before_newest(newest: str, start_day: date) -> str | None:
    """A position that a walk resumed from lists `newest` (the newest key a page
    chose) and nothing newer that the walk has not already shown: the start of its
    day, when that day is older than the walk's first (every day between was listed
    empty or skipped as empty). None when it is the first day: no progress."""
    parts = _position_parts(newest)
    if parts is None or parts[0] >= start_day:
        return None
    return f"date={parts[0].isoformat()}/{_WHOLE_DAY}"


def _keep_smallest(page: list[tuple[str, FleetRow]], item: tuple[str, FleetRow], most: int) -> None:
    """Insert `item` into the sorted `page`, keeping its `most` smallest keys."""
    if len(page) == most and item[0] >= page[-1][0]:
        return
    bisect.insort(page, item, key=lambda kept: kept[0])
    if len(page) > most:
        page.pop()


def _position_parts(position: str) -> tuple[date, str] | None:
    """(day, name) of `date=YYYY-MM-DD/<name>`, where the name is an object's, a
    compact time or `~` (the whole day); None for anything else."""
    match = _DAY_POSITION.fullmatch(position)
    if match is None:
        return None
    name = match[2]
    if not (name == _WHOLE_DAY or parse_object_time(name) or _TRANSITION_START.fullmatch(name)):
        return None
    try:
        return datetime.strptime(match[1], "%Y-%m-%d").date(), name
    except ValueError:
        return None


def _day_position(position: str | None) -> tuple[date, str] | None:
    """The parts of a cursor's position; None without one. A position that has none
    is not one a page returned."""
    if position is None:
        return None
    parts = _position_parts(position)
    if parts is None:
        raise InvalidInput("cursor names no object of this job", field="cursor")
    return parts


def _days_before(moment: datetime, days: int) -> datetime:
    """`moment` less `days` days, or the first moment there is (for a `to` in year 1)."""
    try:
        return moment - timedelta(days=days)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)


def _is_record_key(relative: str) -> bool:
    parts = _position_parts(relative)
    return parts is not None and parse_object_time(parts[1]) is not None


def _since_position(since: datetime) -> str:
    """A listing position just before every record observed at or after `since`."""
    moment = since.astimezone(UTC)
    return f"date={moment.date().isoformat()}/{compact_time(moment)}"
