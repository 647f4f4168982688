"""Following SageMaker jobs' CloudWatch logs while they run: one design for every entry point.

Why: a KFP user watches a job through the pod's stdout, and the launcher keeps a log file per
job. Printing the logs once the job has ended, or only a stream's first page, hides what
matters while it matters; tailing each job in a loop of its own that never knows when to stop,
or that calls as fast as it can, exhausts CloudWatch Logs' account-wide quotas (GetLogEvents
25/s, FilterLogEvents 5/s, not raisable) as soon as many jobs run.

Following one job:

* Discover its streams in its kind's log group with DescribeLogStreams, listing the prefix
  SageMaker names them with (``<job>/``; a labeling job's one stream is ``<job>`` itself, so
  its listing also returns other jobs whose names start with it, and a stream is the job's only
  when its name up to the first "/" is the job's), until every instance has its streams (one
  each, two for a transform: its ``/data-log`` too; the count comes from the request or one
  Describe). A missing log group or stream (ResourceNotFoundException) only means "not yet".
* Read each stream to its end (see the readers below), and merge the hosts by timestamp
  (``runner.joblogs.merge.HostMerger``), each line labelled with its host when there are several.
  Nothing is shown twice or dropped: forward tokens, with a (timestamp, count) position to
  resume from if a token is lost; eventIds and a late window for batched re-reads.
* Pace: a new round ``min_interval`` after a round that found lines, backing off to
  ``max_interval`` while nothing comes. Every call goes through ``AwsCaller``: the process-wide
  token bucket of its operation, then retries with jittered backoff when throttled.
* The tailer learns that the job ended from its outcome (``JobHandle.wait()``), never by polling
  Describe. Then it drains: one more discovery (at most ``drain_limit``), then reads until
  each stream was read ``drain_wait`` seconds after the last new line (late events), at most
  ``drain_limit`` more.
  Then it stops, and it stops on cancellation too; held lines are delivered either way.

Two readers share all of that and differ in how a round reads:

``StreamReader``
    One per job: GetLogEvents per stream, following nextForwardToken until it comes back
    unchanged (every page, never just the first). The lowest latency; a round costs one call
    per stream when nothing is new, and when something is, a call per page plus the one that
    finds the end. For components, which follow one job.
``BatchReader``
    One per log group, shared by every job followed in it: FilterLogEvents over up to
    ``batch_size`` (100) streams per call, from a start time reaching ``late_window`` back,
    every page, new events told apart by eventId. Discovery is shared too: one
    DescribeLogStreams listing on the jobs' common name prefix instead of one per job, while
    that costs fewer calls. For the launcher, which follows hundreds of jobs.

Discovery runs in a loop of its own beside the rounds, for both readers: never before a
round's reads, nor waiting for a round to end.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from typing import Any, Literal

import structlog

from runner.backoff import Backoff, jittered
from runner.config import LogPolicy
from runner.errors import AwsCallFailed, ResourceMissing, RunnerError
from runner.joblogs.merge import (
    Event,
    HostMerger,
    LogLine,
    Position,
    Resume,
    SeenEvents,
    host_label,
)
from runner.joblogs.sinks import LogSink, LogSummary
from runner.kinds import (
    TRAINING,
    TUNING,
    JobKind,
    instance_count,
    kind_named,
    log_stream_of_instance,
    log_stream_owner,
)
from runner.session import AwsCaller
from runner.tracker import JobHandle, Outcome

log = structlog.get_logger("runner.joblogs")

MIN_SHARED_PREFIX = 4  # a shorter common prefix of job names would list too many other streams
# Discovery lists the streams of the jobs still missing some, shared (one listing of their
# common name prefix, 50 streams a page) or one listing per job, whichever costs fewer calls:
# a shared listing is cut past as many pages as there are jobs (at least MIN_SHARED_PAGES),
# and its pages are remembered, so that while fewer jobs wait it is not tried again.
MIN_SHARED_PAGES = 40
# Listings per job in one round, the longest-waiting jobs first (5 s of DescribeLogStreams'
# default budget): the others wait for the next round.
PER_JOB_LISTINGS = 25
PAGE_LIMIT = 1000  # events per GetLogEvents page we ask for (AWS allows up to 10,000)
# These do not pass by waiting: the job's tail gives up (the job itself is not affected).
# InvalidSignatureException is what an endpoint of another service answers a Logs request
# ("Credential should be scoped to correct service: 'sagemaker'", HTTP 400; field reports such
# as JuliaCloud/AWS.jl#334, disneystreaming/smithy4s#1568): Logs pointed at SageMaker's endpoint.
GIVE_UP_CODES = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "UnrecognizedClientException",
        "InvalidSignatureException",
    }
)


class _Stream:
    """One log stream of a followed job, and how far it has been read."""

    __slots__ = (
        "floor",
        "host",
        "name",
        "pause",
        "position",
        "read_at",
        "read_began",
        "read_to",
        "token",
    )

    def __init__(self, job: str, summary: Mapping[str, Any]) -> None:
        self.name: str = summary["logStreamName"]
        self.host = host_label(job, self.name)
        self.token: str | None = None  # GetLogEvents' nextForwardToken
        self.position = Position()
        # GetLogEvents: a stream with nothing new is read again after a pause that grows, so a
        # quiet host of a busy job costs few calls.
        self.pause: Backoff | None = None
        self.read_at = 0.0
        created = summary.get("creationTime") or summary.get("firstEventTimestamp")
        # Batched reads: no unread event of the stream is older than this minus the late window
        # (set by a read reaching that far back, a late read).
        self.floor: int | None = int(created) if created is not None else None
        # Batched reads: the service's clock when the last read of any kind began.
        self.read_to: int | None = None
        # Monotonic: when the last read of the stream that reached its end began (batched:
        # was first answered). A drain ends once every stream was read so, long enough after
        # the job's last new line.
        self.read_began: float | None = None

    def start(self, late: bool, policy: LogPolicy) -> int | None:
        """Where a batched read of this stream begins (None: at its start): ``late``, the late
        window back from ``floor``; otherwise ``fresh_window`` back from the last read."""
        if late or self.read_to is None:
            return None if self.floor is None else self.floor - int(policy.late_window * 1000)
        return self.read_to - int(min(policy.fresh_window, policy.late_window) * 1000)


class _JobTail:
    """One followed job: its streams, its merger, its sink, and where its tail stands."""

    __slots__ = (
        "discover_at",
        "discovery_pause",
        "ended_at",
        "error",
        "expected_streams",
        "group",
        "instances",
        "kind",
        "last_new",
        "lines",
        "merger",
        "name",
        "relist_from",
        "seen",
        "sink",
        "sink_failures",
        "streams",
        "waiting",
        "woken",
    )

    def __init__(
        self, kind: JobKind, name: str, instances: int | None, sink: LogSink, policy: LogPolicy
    ) -> None:
        assert kind.log_group is not None
        self.kind = kind
        self.name = name
        self.group: str = kind.log_group
        self.instances = instances
        # Streams to find before discovery stops: each instance's, and its data-log's.
        self.expected_streams = (instances or 1) * kind.log_streams_per_instance
        self.sink = sink
        self.streams: dict[str, _Stream] = {}
        self.merger = HostMerger(policy.merge_hold, instances)
        self.seen = SeenEvents()
        self.lines = 0
        self.last_new: float | None = None  # monotonic time new events last came in
        self.ended_at: float | None = None  # monotonic time the job was known to have ended
        # Monotonic: a listing that starts at or after this is wanted (set at the job's end:
        # a stream that appeared since, or a replaced instance); None: none is.
        self.relist_from: float | None = None
        # A missing stream is looked for again after a pause that grows while none appears
        # (a host that writes nothing must not cost a listing every round).
        self.discovery_pause = policy.delays()
        self.discover_at = 0.0
        self.error: str | None = None
        self.sink_failures = 0  # writes the sink refused: said once, counted after
        # Resolved when the tail stops waiting for its job: the job ended, or the tail gave up
        # (one future per job: no Event, task or asyncio.wait of two).
        self.waiting: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Resolved at the next change a drain waits for (a listing, a read of the job's
        # streams, the tail giving up, the reader stopping): made only while a drain waits.
        self.woken: asyncio.Future[None] | None = None

    @property
    def log(self) -> structlog.typing.FilteringBoundLogger:
        """Bound on each use, not kept per job (see ``TrackedJob.log``)."""
        bound: structlog.typing.FilteringBoundLogger = log.bind(job=self.name, kind=self.kind.key)
        return bound

    def missing_streams(self) -> bool:
        return len(self.streams) < self.expected_streams

    def needs_discovery(self, now: float) -> bool:
        if self.error is not None:
            return False
        if self.relist_from is not None:
            return True
        return self.missing_streams() and now >= self.discover_at

    def listed(self, started: float, now: float, streams_before: int, policy: LogPolicy) -> None:
        """A listing has passed the job's streams, from a page asked for at ``started``: when
        to look again, if need be."""
        if self.relist_from is not None and started >= self.relist_from:
            self.relist_from = None
            self.wake()
        self.discovery_pause = self.discovery_pause.after(
            progress=len(self.streams) > streams_before
        )
        self.discover_at = now + self.discovery_pause.delay

    def found(self, summary: Mapping[str, Any]) -> bool:
        """Note a stream of the job's listing; True when it is new."""
        name = summary["logStreamName"]
        if name in self.streams:
            return False
        # A new stream is news as a line is: a drain does not end before it is read.
        self.last_new = time.monotonic()
        self.streams[name] = _Stream(self.name, summary)
        self.merger.add_stream(name, paces=log_stream_of_instance(name))
        self.log.debug("logs.stream_found", stream=name)
        self.wake()
        return True

    def read_quietly(self, since: float, wait: float, now: float) -> bool:
        """Nothing new since ``since`` (nor since the last new line), and every stream read to
        its end by a read begun ``wait`` seconds after that (no stream: ``wait`` has passed)."""
        quiet = max(since, self.last_new or since) + wait
        if not self.streams:
            return now >= quiet
        return all(
            stream.read_began is not None and stream.read_began >= quiet
            for stream in self.streams.values()
        )

    def wake(self) -> None:
        """Something a drain waits for has happened."""
        if self.woken is not None:
            _settle(self.woken)
            self.woken = None

    async def changed(self, within: float) -> None:
        """Until the next ``wake``, at most ``within`` seconds."""
        if self.woken is None:
            self.woken = asyncio.get_running_loop().create_future()
        await asyncio.wait({self.woken}, timeout=within)

    def take(self, stream: _Stream, events: Sequence[Event], now: float) -> int:
        """New events of ``stream``, in its order, never seen before."""
        if not events:
            return 0
        name, stream_name, host = self.name, stream.name, stream.host
        labelled = self.expected_streams > 1 or len(self.streams) > 1
        # LogLine(job, stream, host, timestamp, message, labelled): positional, at thousands
        # a second.
        lines = [
            LogLine(
                name,
                stream_name,
                host,
                int(event["timestamp"]),
                str(event.get("message", "")),
                labelled,
            )
            for event in events
        ]
        stream.position = stream.position.after([line.timestamp for line in lines])
        self.merger.add(stream.name, lines, now)
        self.last_new = now
        return len(lines)

    def publish(self, now: float, *, everything: bool = False) -> None:
        lines = self.merger.release_all() if everything else self.merger.release(now)
        if not lines:
            return
        self.lines += len(lines)
        try:
            self.sink.write(lines)
        except Exception as error:  # a broken sink must not stop the other jobs' tails
            self.sink_failures += 1
            if self.sink_failures == 1:  # a full disk refuses every write: said once
                self.log.error("logs.sink_failed", error=repr(error), lines=len(lines))

    def give_up(self, operation: str, error: BaseException) -> None:
        self.error = f"{operation}: {error}"
        self.log.error("logs.follow_failed", operation=operation, error=str(error))
        _settle(self.waiting)
        self.wake()


class _NameOrder:
    """Which jobs a listing has passed, page by page, and when the page where each one's
    streams begin was asked for.

    DescribeLogStreams lists in stream name order by default ("orderBy ... The default value
    is LogStreamName", ascending unless ``descending``: the CloudWatch Logs API reference), so
    a job is listed once a page reaches past its prefix, not at the listing's end; and it is
    listed *after* a moment when that page, or the one where its streams begin, was asked for
    after it. A job that ends while a listing of thousands of streams is under way is found by
    that listing when its name is still ahead (at 10,000 jobs a listing took ~70 s).
    """

    def __init__(self, jobs: Sequence[_JobTail], started: float, policy: LogPolicy) -> None:
        self._policy = policy
        self._streams_before = {id(job): len(job.streams) for job in jobs}
        self._order = sorted(jobs, key=_prefix)
        self._reached = 0  # self._order[:_reached]: jobs whose first page has come
        self._passed = 0  # self._order[:_passed]: jobs the listing has gone past
        self._asked = started  # when the page now read was asked for
        self._begun: dict[int, float] = {}  # by job: when the page its streams begin on was

    def page(self, page: Mapping[str, Any], *, last: bool) -> None:
        """Note the jobs listed once ``page`` (its streams already found) takes the listing
        past them (all that remain on the ``last`` page)."""
        now = time.monotonic()
        for job, begun in self._passed_by(page, last=last):
            job.listed(begun, now, self._streams_before[id(job)], self._policy)

    def failed(self) -> None:
        """The listing failed: the jobs it did not go past are looked for again after a
        pause (a failing listing must not be retried at once, for ever)."""
        now = time.monotonic()
        for job in self._order[self._passed :]:
            job.listed(-math.inf, now, self._streams_before[id(job)], self._policy)

    def _passed_by(self, page: Mapping[str, Any], *, last: bool) -> list[tuple[_JobTail, float]]:
        """The jobs this page takes the listing past, each with when its first page was
        asked for; the next page is asked for from now."""
        streams = page.get("logStreams") or ()
        if not streams and not last:
            return []  # nothing told: the next page counts as asked for when this one was
        final = streams[-1]["logStreamName"] if streams else ""
        order = self._order
        # Every job whose streams may begin on this page (a labeling job's prefix, without
        # "/", is shared by the jobs whose names start with it: they sort after it).
        while self._reached < len(order) and (last or final >= _prefix(order[self._reached])):
            self._begun[id(order[self._reached])] = self._asked
            self._reached += 1
        passed: list[tuple[_JobTail, float]] = []
        while self._passed < self._reached:
            job = order[self._passed]
            prefix = _prefix(job)
            if not (last or (final > prefix and not final.startswith(prefix))):
                break
            passed.append((job, self._begun.pop(id(job))))
            self._passed += 1
        self._asked = time.monotonic()
        return passed


class _Reader:
    """Reads the streams of its jobs in rounds, paced, and lists the streams they are still
    missing in a loop of its own, until it has no job left.

    Discovery is not a step of a round: at 10,000 jobs a round of FilterLogEvents at its
    budget lasts ~40 s, and a short job that ended before its streams were found waited for
    the round's end, then a whole round more, for the listing that found them; 530 such jobs
    of the benchmark lost every line, their drains cut at 60 s.
    """

    def __init__(self, caller: AwsCaller, policy: LogPolicy, group: str) -> None:
        self.caller = caller
        self.policy = policy
        self.group = group
        self.jobs: dict[int, _JobTail] = {}  # by id: one job may be followed twice at once
        # (when, job): a job whose merger held lines back for slower hosts, and when the
        # first of them is due, in order. Lines go out as they are taken, or at their due:
        # never held for a whole round (at 10,000 jobs a round is ~40 s of every host's
        # lines), and only the due jobs are looked at (not every job at every wake).
        self._due: deque[tuple[float, _JobTail]] = deque()
        self._task: asyncio.Task[None] | None = None
        self._discovery: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()  # the next round, now
        self._wake_discovery = asyncio.Event()  # the next listing, now
        self._shared_pages = 0  # pages the last shared listing took (cut: more than that)
        self._per_job = False  # discovery was last per job (logged when it changes)
        self._riders_due = 0.0  # monotonic: the next listing for ended jobs alone
        self._random = random.Random()

    # --- what followers use ------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def add(self, job: _JobTail) -> None:
        self.jobs[id(job)] = job
        # A task being cancelled (its last job's tail is stopping it) is not one to rely on.
        if not _alive(self._task):
            self._task = asyncio.create_task(self._run(), name=f"logs {self.group}")
        if not _alive(self._discovery):
            self._discovery = asyncio.create_task(
                self._discover_all(), name=f"logs discovery {self.group}"
            )
        self.wake()

    async def remove(self, job: _JobTail) -> None:
        self.jobs.pop(id(job), None)
        if not self.jobs:
            await self.stop()
        else:
            self.wake()

    def wake(self) -> None:
        """Start the next round and the next listing now instead of after their pauses."""
        self._wake.set()
        self._wake_discovery.set()

    async def stop(self) -> None:
        tasks = [task for task in (self._task, self._discovery) if task and not task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- the loop ----------------------------------------------------------------------------

    async def _run(self) -> None:
        policy = self.policy
        rounds = policy.delays()
        try:
            while self.jobs:
                self._wake.clear()
                readable = [job for job in self.jobs.values() if job.streams and not job.error]
                new = 0
                try:
                    new = await self._read(readable)
                except Exception as error:
                    # Each call's failures are handled where it is made: this is a bug or a
                    # malformed answer, and one bad round must not end every tail.
                    log.error("logs.round_failed", group=self.group, error=repr(error))
                self._publish(time.monotonic())
                rounds = rounds.after(progress=bool(new))
                await self._pause(rounds.delay)
        finally:
            for job in self.jobs.values():  # a drain waiting for this reader ends
                job.wake()

    async def _discover_all(self) -> None:
        """List missing streams while some job waits for one: when a job comes or ends, or
        when the first one's pause is over; listings begin ``min_interval`` apart at least
        (jobs come by the hundred a second: each must not cost a listing)."""
        while self.jobs:
            self._wake_discovery.clear()
            began = time.monotonic()
            try:
                if await self._discover(list(self.jobs.values())):
                    self._wake.set()  # new streams: read them without waiting for the pause
            except Exception as error:  # as a round's: a bug must not end every tail
                log.error("logs.discovery_failed", group=self.group, error=repr(error))
            await asyncio.sleep(max(began + self.policy.min_interval - time.monotonic(), 0))
            due = self._next_discovery()
            if due is None:
                await self._wake_discovery.wait()
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(due - time.monotonic(), 0)):  # see _pause
                    await self._wake_discovery.wait()

    def _next_discovery(self) -> float | None:
        """When the next listing is due (monotonic), None while no job waits for one."""
        due = None
        for job in self.jobs.values():
            if job.error is not None:
                continue
            if job.missing_streams():
                at = time.monotonic() if job.relist_from is not None else job.discover_at
            elif job.relist_from is not None:
                at = self._riders_due
            else:
                continue
            due = at if due is None else min(due, at)
        return due

    async def _pause(self, interval: float) -> None:
        """Sleep until the next round (sooner while a job drains, at once when woken),
        letting out held lines as their hold ends."""
        policy = self.policy
        if any(job.ended_at is not None for job in self.jobs.values()):
            drain_step = max(policy.min_interval, policy.drain_wait / 4)
            interval = min(interval, drain_step)
        interval = jittered(interval, policy.jitter, self._random)
        deadline = time.monotonic() + interval
        while self.jobs:
            now = time.monotonic()
            if now >= deadline:
                return
            timeout = min(deadline, self._due[0][0] if self._due else deadline) - now
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
                # that arrives as the event is set, and the reader would never stop.
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
                return
            except TimeoutError:
                pass
            self._publish(time.monotonic())

    def _take(self, job: _JobTail, stream: _Stream, events: Sequence[Event], now: float) -> int:
        """``job.take``, letting out at once what no slower host can precede, and noting when
        the rest is due."""
        new = job.take(stream, events, now)
        if new:
            job.publish(now)
            if len(job.merger):
                self._due.append((now + self.policy.merge_hold, job))
        self._publish(now)
        return new

    def _publish(self, now: float) -> None:
        """Let out the held lines whose time has come."""
        due = self._due
        while due and due[0][0] <= now:
            _, job = due.popleft()
            job.publish(now)

    # --- discovery ---------------------------------------------------------------------------

    async def _discover(self, jobs: Sequence[_JobTail]) -> int:
        """One listing of the streams ``jobs`` miss (or a listing per job, for the first
        ``PER_JOB_LISTINGS``); the number of new streams found.

        Jobs still missing a stream come first, on their own prefix: a job that ends before
        its streams are found loses its lines. Ended jobs listed once more (none missing)
        ride along when the listing passes their names; a listing for them alone comes
        ``max_interval`` after the last one ended: at 10,000 jobs those of one group, back to
        back, took half the DescribeLogStreams budget while another group's listing, of 218
        pages, had jobs waiting that lost every line.
        """
        now = time.monotonic()
        pending = [job for job in jobs if job.needs_discovery(now)]
        missing = [job for job in pending if job.missing_streams()]
        riders = [job for job in pending if not job.missing_streams()]
        if missing:
            return await self._list_for(missing, riders)
        if riders and now >= self._riders_due:
            try:
                return await self._list_for(riders, [])
            finally:
                self._riders_due = time.monotonic() + self.policy.max_interval
        return 0

    async def _list_for(self, pending: list[_JobTail], riders: Sequence[_JobTail]) -> int:
        """List ``pending``'s streams, shared or one by one, whichever costs fewer calls;
        ``riders`` are listed too where a shared listing passes their names."""
        # Character-wise on purpose: a prefix of stream names, which start with job names.
        names = [job.name for job in pending]
        prefix = os.path.commonprefix(names) if len(names) > 1 else ""  # noqa: RUF071
        found = 0
        if len(prefix) >= MIN_SHARED_PREFIX and self._shared_pages <= len(pending):
            budget = max(MIN_SHARED_PAGES, len(pending))
            along = [job for job in riders if job.name.startswith(prefix)]
            found, whole = await self._list_streams(prefix, pending + along, max_pages=budget)
            if whole:
                self._discovering(per_job=False, prefix=prefix, jobs=len(pending))
                return found
        self._discovering(per_job=True, prefix=prefix, jobs=len(pending))
        # Draining jobs first (their last streams), then the longest waiting.
        pending.sort(key=lambda job: (job.ended_at is None, job.discover_at))
        counts = await asyncio.gather(
            *(self._list_streams(_prefix(job), [job]) for job in pending[:PER_JOB_LISTINGS])
        )
        return found + sum(count for count, _ in counts)

    def _discovering(self, *, per_job: bool, prefix: str, jobs: int) -> None:
        if per_job != self._per_job:
            self._per_job = per_job
            way = "logs.discovery_per_job" if per_job else "logs.discovery_shared"
            log.info(way, group=self.group, prefix=prefix, jobs=jobs, pages=self._shared_pages)

    async def _list_streams(
        self, prefix: str, jobs: Sequence[_JobTail], max_pages: int | None = None
    ) -> tuple[int, bool]:
        """List the streams under ``prefix`` for ``jobs``: the number of new streams, and
        False when the listing was cut at ``max_pages``."""
        by_name: dict[str, list[_JobTail]] = {}
        for job in jobs:
            by_name.setdefault(job.name, []).append(job)
        started, pages, found, cut = time.monotonic(), 0, 0, False
        order = _NameOrder(jobs, started, self.policy)
        try:
            async for page in self.caller.pages(
                "logs", "DescribeLogStreams", logGroupName=self.group, logStreamNamePrefix=prefix
            ):
                found += _found_in(page, by_name)
                pages += 1
                order.page(page, last=not page.get("nextToken"))
                if max_pages is not None and pages >= max_pages and page.get("nextToken"):
                    self._shared_pages = pages + 1  # at least
                    cut = True
                    break
            else:  # the end (pages also ends on a token that comes back unchanged)
                order.page({}, last=True)
        except ResourceMissing:
            order.page({}, last=True)  # no log group yet: the jobs have not written anything
        except RunnerError as error:
            self._failed(jobs, "DescribeLogStreams", error)
            order.failed()
            return found, True
        now = time.monotonic()
        log.debug(
            "logs.listed",
            group=self.group,
            prefix=prefix,
            jobs=len(jobs),
            pages=pages,
            found=found,
            cut=cut,
            seconds=round(now - started, 3),
        )
        if cut:
            return found, False
        if max_pages is not None:  # a shared listing, whole: what the next one will cost
            self._shared_pages = pages
        return found, True

    def _failed(
        self, jobs: Sequence[_JobTail], operation: str, error: BaseException, **context: Any
    ) -> None:
        if isinstance(error, AwsCallFailed) and error.code in GIVE_UP_CODES:
            for job in jobs:
                job.give_up(operation, error)
            return
        log.warning(
            "logs.read_failed",
            group=self.group,
            operation=operation,
            jobs=[job.name for job in jobs][:20],
            error=str(error),
            **context,
        )

    # --- reading: one per reader kind --------------------------------------------------------

    async def _read(self, jobs: Sequence[_JobTail]) -> int:
        """Read the streams of ``jobs`` once; the number of new events."""
        raise NotImplementedError


class StreamReader(_Reader):
    """GetLogEvents per stream, forward tokens to the end of each."""

    async def _read(self, jobs: Sequence[_JobTail]) -> int:
        # Half a round early counts as due: rounds come every min_interval, +- jitter.
        soon = time.monotonic() + self.policy.min_interval / 2
        counts = await asyncio.gather(
            *(
                self._read_stream(job, stream)
                for job in jobs
                for stream in job.streams.values()
                if job.ended_at is not None or stream.read_at <= soon  # draining: every stream
            )
        )
        return sum(counts)

    async def _read_stream(self, job: _JobTail, stream: _Stream) -> int:
        new = await self._read_to_end(job, stream)
        policy = self.policy
        stream.pause = (stream.pause or policy.delays()).after(progress=bool(new))
        stream.read_at = time.monotonic() + stream.pause.delay
        job.wake()
        return new

    async def _read_to_end(self, job: _JobTail, stream: _Stream) -> int:
        token = stream.token
        # Without a token (first read, or the token was refused) read from the position.
        resume = None if token else Resume(stream.position)
        new, began = 0, time.monotonic()
        while True:
            params: dict[str, Any] = {
                "logGroupName": self.group,
                "logStreamName": stream.name,
                "startFromHead": True,
                "limit": PAGE_LIMIT,
            }
            if token:
                params["nextToken"] = token
            elif stream.position.timestamp >= 0:
                params["startTime"] = stream.position.timestamp
            try:
                page = await self.caller.call("logs", "GetLogEvents", **params)
            except AwsCallFailed as error:
                if token and error.code == "InvalidParameterException":
                    job.log.info("logs.token_reset", stream=stream.name, error=error.aws_message)
                    stream.token = token = None
                    resume = Resume(stream.position)
                    continue
                self._failed([job], "GetLogEvents", error, stream=stream.name)
                return new
            except RunnerError as error:
                self._failed([job], "GetLogEvents", error, stream=stream.name)
                return new
            events: Sequence[Event] = page.get("events", [])
            if resume is not None:
                events = resume.unseen(events)
            new += self._take(job, stream, events, time.monotonic())
            following = page.get("nextForwardToken")
            if not following or following == token:
                stream.read_began = began
                return new  # the end of the stream, for now
            token = stream.token = following
            if job.ended_at is None and 0 < len(page.get("events", [])) < PAGE_LIMIT:
                # While the job runs, a short page is almost surely the end: the next round
                # goes on from this token (nothing is lost), which saves the call that would
                # only confirm it. The final drain reads to the confirmed end. An empty page
                # with a new token is CloudWatch skipping ahead: read on.
                stream.read_began = began
                return new


class BatchReader(_Reader):
    """FilterLogEvents over up to ``batch_size`` streams of the group's jobs per call."""

    def __init__(self, caller: AwsCaller, policy: LogPolicy, group: str) -> None:
        super().__init__(caller, policy, group)
        # The newest ingestion time seen: a lower bound of the service's clock.
        self._clock = -1
        self._late_due = 0.0  # monotonic: when the next round re-reads the late window

    async def _read(self, jobs: Sequence[_JobTail]) -> int:
        now = time.monotonic()
        late = now >= self._late_due
        if late:
            self._late_due = now + self.policy.late_interval
        chunks = self._chunks(jobs, late)
        counts = await asyncio.gather(*(self._filter(chunk, late) for chunk in chunks))
        window = self._window_ms
        for job in jobs:
            floors = [stream.floor for stream in job.streams.values()]
            if floors and None not in floors:
                job.seen.forget_before(min(f for f in floors if f is not None) - window)
        return sum(counts)

    @property
    def _window_ms(self) -> int:
        return int(self.policy.late_window * 1000)

    def _chunks(self, jobs: Sequence[_JobTail], late: bool) -> list[list[tuple[_JobTail, _Stream]]]:
        """Streams in calls of at most ``batch_size``, those read from about the same time
        together, and a job's streams together when they fit.

        A call reads all its streams from the earliest start among them: one stream just found
        (read from its creation) or one job draining (its late window) in a call of 100 made
        the 99 others read again what they had read. At 10,000 jobs, where streams are found
        every round, that was most calls.
        """
        policy, size = self.policy, self.policy.batch_size

        def start(job: _JobTail) -> int:
            at = _earliest_start([(job, stream) for stream in job.streams.values()], late, policy)
            return -1 if at is None else at

        chunks: list[list[tuple[_JobTail, _Stream]]] = []
        current: list[tuple[_JobTail, _Stream]] = []
        for job in sorted(jobs, key=start):
            streams = [(job, stream) for stream in job.streams.values()]
            if current and len(current) + len(streams) > size:
                chunks.append(current)
                current = []
            while len(streams) > size:
                chunks.append(streams[:size])
                streams = streams[size:]
            current.extend(streams)
        if current:
            chunks.append(current)
        return chunks

    def _take_filtered(
        self,
        page: Mapping[str, Any],
        by_stream: Mapping[str, list[tuple[_JobTail, _Stream]]],
        window: int,
    ) -> tuple[int, int]:
        """Take in one FilterLogEvents page: the number of new events, and the newest
        ingestion time among its events (-1: none)."""
        events = page.get("events") or ()
        newest = max((int(e.get("ingestionTime", e["timestamp"])) for e in events), default=-1)
        self._clock = max(self._clock, newest)
        named: defaultdict[str, list[Event]] = defaultdict(list)
        for event in events:  # in the page's order, so each stream's own
            named[event.get("logStreamName", "")].append(event)
        now, taken = time.monotonic(), 0
        for name, of_stream in named.items():
            for job, stream in by_stream.get(name, ()):
                # Older than the floor's late window: read in an earlier round, forgotten since.
                floor = None if stream.floor is None else stream.floor - window
                fresh = job.seen.first_seen(of_stream, floor)
                if fresh:
                    taken += self._take(job, stream, fresh, now)
        return taken, newest

    async def _filter(self, chunk: list[tuple[_JobTail, _Stream]], late: bool) -> int:
        """One FilterLogEvents over ``chunk``'s streams (every page). A late read reaches the
        late window back, for events ingested late; other rounds reach ``fresh_window`` back
        from where the last read began; a draining job's streams are always read late."""
        window = self._window_ms
        read_at = self._clock
        by_stream: dict[str, list[tuple[_JobTail, _Stream]]] = {}
        for job, stream in chunk:
            by_stream.setdefault(stream.name, []).append((job, stream))
        params: dict[str, Any] = {"logGroupName": self.group, "logStreamNames": list(by_stream)}
        start = _earliest_start(chunk, late, self.policy)
        if start is not None and start > 0:
            params["startTime"] = start
        new, pages, answered = 0, 0, time.monotonic()
        try:
            async for page in self.caller.pages("logs", "FilterLogEvents", **params):
                taken, newest = self._take_filtered(page, by_stream, window)
                new += taken
                if pages == 0:
                    # What the first page holds was ingested before the call was answered:
                    # a later bound than the round's start, where this call may have waited
                    # for its token for most of a long round (and the next read would go
                    # back over all it read).
                    answered = time.monotonic()
                    read_at = max(read_at, newest)
                pages += 1
                del page  # not held while the next page waits for its token
        except RunnerError as error:
            jobs = list({id(job): job for job, _ in chunk}.values())
            self._failed(jobs, "FilterLogEvents", error, streams=len(by_stream))
            return new
        # Every stream of the chunk is read from ``start``: what is still unread was ingested
        # after the call was answered, so later than ``read_at``. A stream read from its late
        # window back (or from before it) has nothing unread older than ``read_at`` minus that
        # window: its floor moves up.
        for job, stream in chunk:
            stream.read_began = answered
            if read_at >= 0:
                stream.read_to = max(stream.read_to or read_at, read_at)
                covered = start is None or stream.floor is None or start <= stream.floor - window
                if covered:
                    stream.floor = max(stream.floor or read_at, read_at)
            job.wake()
        return new


class LogTailer:
    """Follows jobs' logs into sinks: ``await tailer.follow(handle, sink)`` returns once the
    job has ended and its logs are drained.

        tailer = LogTailer(runner.caller)             # policy: runner.config.logs
        outcome = await tailer.wait_with_logs(handle, TextSink(), request=request)

    With ``policy.batched``, every job followed through this tailer in a log group shares one
    ``BatchReader``; otherwise each job has its own ``StreamReader``.
    """

    def __init__(self, caller: AwsCaller, policy: LogPolicy | None = None) -> None:
        self.caller = caller
        self.policy = policy or caller.config.logs
        self._batch_readers: dict[str, BatchReader] = {}
        self._stream_readers: set[StreamReader] = set()

    async def close(self) -> None:
        """Stop every reader; followers still waiting end their tails."""
        readers: list[_Reader] = [*self._batch_readers.values(), *self._stream_readers]
        await asyncio.gather(*(reader.stop() for reader in readers))

    # --- following ---------------------------------------------------------------------------

    async def follow(
        self, handle: JobHandle, sink: LogSink, *, request: Mapping[str, Any] | None = None
    ) -> LogSummary:
        """Follow the job of ``handle`` until it has ended and its logs are drained.

        ``request`` (the job's request) gives the instance count; without it, one Describe
        does. A tuning job's logs are its best training job's, once it has ended.
        """
        kind = kind_named(handle.kind)
        if kind.logs_from_training:
            summaries = await self.follow_tuning(handle, sink)
            return summaries[0] if summaries else self._nothing(kind, handle.name, sink)
        if kind.log_group is None:
            return self._nothing(kind, handle.name, sink)
        instances = instance_count(kind, request) if request is not None else None
        if instances is None and kind.instance_path is not None:
            instances = await self._described_instances(kind, handle.name)
        name, ended = handle.name, _end_of(handle)
        # The drain outlives the job: hold its name, not its handle (and so not its outcome,
        # whose final Describe thousands of draining tails would otherwise keep at once), nor
        # its request (~1.3 KB a job, for the instance count already taken from it).
        del handle, request
        return await self.follow_job(kind, name, sink, ended=ended, instances=instances)

    async def follow_job(
        self,
        kind: JobKind | str,
        name: str,
        sink: LogSink,
        *,
        ended: Awaitable[object] | None = None,
        instances: int | None = None,
    ) -> LogSummary:
        """Follow job ``name`` until ``ended`` resolves (None: it has already ended), then drain.

        Never raises for the job's sake: read errors are ``logs.*`` events, and the summary
        says whether the tail was complete.
        """
        job_kind = kind if isinstance(kind, JobKind) else kind_named(kind)
        if job_kind.log_group is None:
            return self._nothing(job_kind, name, sink)
        waiter: asyncio.Future[Any] | None = (
            asyncio.ensure_future(ended) if ended is not None else None
        )
        job = _JobTail(job_kind, name, instances, sink, self.policy)
        reader = self._reader_for(job)
        reader.add(job)
        drained = False
        try:
            if waiter is not None:
                await self._until_ended(waiter, job)
                waiter = ended = None  # drained without the job's outcome held
            if job.error is None:
                drained = await self._drain(job, reader)
        finally:
            if waiter is not None:
                waiter.cancel()
            await reader.remove(job)
            if isinstance(reader, StreamReader):
                self._stream_readers.discard(reader)
            job.publish(time.monotonic(), everything=True)
            summary = LogSummary(
                job=name,
                kind=job_kind.key,
                streams=len(job.streams),
                lines=job.lines,
                drained=drained,
                error=job.error,
            )
            job.log.info(
                "logs.followed",
                streams=summary.streams,
                lines=summary.lines,
                drained=drained,
                **({"sink_failures": job.sink_failures} if job.sink_failures else {}),
            )
            try:
                sink.finish(summary)
            except Exception as error:
                job.log.error("logs.sink_failed", error=repr(error))
        return summary

    @staticmethod
    async def _until_ended(waiter: asyncio.Future[Any], job: _JobTail) -> None:
        """Until the job has ended (``waiter``, then done or cancelled) or its tail gave up;
        ``waiter``'s error is retrieved (never reported as unhandled): logs never decide an
        outcome."""

        def ended(_: asyncio.Future[Any]) -> None:
            if not waiter.cancelled():
                waiter.exception()
            _settle(job.waiting)

        waiter.add_done_callback(ended)
        await job.waiting
        if not waiter.done():
            waiter.cancel()  # the tail gave up first

    async def wait_with_logs(
        self, handle: JobHandle, sink: LogSink, *, request: Mapping[str, Any] | None = None
    ) -> Outcome:
        """``handle.wait()``, returning only once the job's logs are drained into ``sink``: a
        failed job's last lines (its error) are shown before its failure is reported."""
        tail = asyncio.ensure_future(self.follow(handle, sink, request=request))
        try:
            outcome = await handle.wait()
            try:
                await tail
            except Exception as error:  # the logs never decide the job's outcome
                log.error("logs.follow_failed", job=handle.name, error=repr(error))
        finally:
            if not tail.done():
                tail.cancel()
                await asyncio.gather(tail, return_exceptions=True)
        return outcome

    async def follow_tuning(
        self,
        handle: JobHandle,
        sink: LogSink,
        *,
        children: Literal["best", "all"] = "best",
    ) -> list[LogSummary]:
        """A tuning job's training jobs' logs.

        ``best``: once the tuning job has ended, its best training job's logs (one drain).
        ``all``: every training job it launches, followed live as it appears (listed with
        ListTrainingJobsForHyperParameterTuningJob, whose statuses also say when each ends).
        """
        if children == "best":
            outcome = await handle.wait()
            best = (outcome.description.get("BestTrainingJob") or {}).get("TrainingJobName")
            if not best:
                return []
            instances = await self._described_instances(TRAINING, best)
            return [await self.follow_job(TRAINING, best, sink, instances=instances)]
        return await self._follow_children(handle, sink)

    async def _follow_children(self, handle: JobHandle, sink: LogSink) -> list[LogSummary]:
        policy = self.policy
        instances = None
        try:
            tuning = await self.caller.sagemaker(
                TUNING.describe, HyperParameterTuningJobName=handle.name
            )
            definition: Mapping[str, Any] = tuning.get("TrainingJobDefinition") or next(
                iter(tuning.get("TrainingJobDefinitions") or []), {}
            )
            instances = instance_count(TRAINING, definition)
        except RunnerError as error:
            log.warning(
                "logs.read_failed", job=handle.name, operation=TUNING.describe, error=str(error)
            )
        ended = asyncio.ensure_future(handle.wait())
        followers: dict[str, asyncio.Task[LogSummary]] = {}
        child_ended: dict[str, asyncio.Future[None]] = {}
        listings = policy.delays()
        try:
            while True:
                finished = ended.done()
                grew = await self._follow_new_children(
                    handle.name, sink, instances, followers, child_ended
                )
                if finished:
                    break
                listings = listings.after(progress=grew)
                await asyncio.wait({ended}, timeout=listings.delay)
        except BaseException:
            for follower in followers.values():  # cancelled: the children's tails end too
                follower.cancel()
            await asyncio.gather(*followers.values(), return_exceptions=True)
            raise
        finally:
            if not ended.done():
                ended.cancel()
            # The tuning job has ended: so have its children, whatever the last listing said.
            for future in child_ended.values():
                _settle(future)
        return list(await asyncio.gather(*followers.values()))

    async def _follow_new_children(
        self,
        tuning: str,
        sink: LogSink,
        instances: int | None,
        followers: dict[str, asyncio.Task[LogSummary]],
        child_ended: dict[str, asyncio.Future[None]],
    ) -> bool:
        """List the tuning job's training jobs: follow the new ones, settle the ended ones;
        True when one was new."""
        grew = False
        try:
            async for summary in self._children(tuning):
                child = summary["TrainingJobName"]
                if child not in followers:
                    grew = True
                    child_ended[child] = asyncio.get_running_loop().create_future()
                    followers[child] = asyncio.create_task(
                        self.follow_job(
                            TRAINING, child, sink, ended=child_ended[child], instances=instances
                        )
                    )
                if summary.get("TrainingJobStatus") in TRAINING.states.terminal:
                    _settle(child_ended[child])
        except RunnerError as error:
            log.warning(
                "logs.read_failed",
                job=tuning,
                operation="ListTrainingJobsForHyperParameterTuningJob",
                error=str(error),
            )
        return grew

    def _children(self, tuning: str) -> AsyncIterator[dict[str, Any]]:
        return self.caller.paginate(
            "sagemaker",
            "ListTrainingJobsForHyperParameterTuningJob",
            HyperParameterTuningJobName=tuning,
            MaxResults=100,
        )

    # --- helpers -----------------------------------------------------------------------------

    def _reader_for(self, job: _JobTail) -> _Reader:
        if self.policy.batched:
            reader = self._batch_readers.get(job.group)
            if reader is None:
                reader = self._batch_readers[job.group] = BatchReader(
                    self.caller, self.policy, job.group
                )
            return reader
        stream_reader = StreamReader(self.caller, self.policy, job.group)
        self._stream_readers.add(stream_reader)
        return stream_reader

    async def _drain(self, job: _JobTail, reader: _Reader) -> bool:
        """Until every stream of the job was read by a read begun ``drain_wait`` seconds after
        its last new line, at most ``drain_limit``; False when cut. A job still missing a
        stream is first listed once more (at most ``drain_limit``), and its reading's limit
        counts from that listing: a short job that ends before its streams are found must not
        be cut before a listing could find them.

        A read, not a round: at 10,000 jobs a batched round lasts ~40 s, and waiting for a
        whole quiet round after the last line cut most drains at 60 s."""
        policy = self.policy
        job.ended_at = job.relist_from = time.monotonic()  # a stream that appeared since
        reader.wake()
        try:
            if job.missing_streams():
                async with asyncio.timeout(policy.drain_limit):
                    while (
                        job.relist_from is not None
                        and job.missing_streams()
                        and job.error is None
                        and reader.running
                    ):
                        await job.changed(policy.drain_limit)
            reading_from = time.monotonic()
            async with asyncio.timeout(
                max(reading_from + policy.drain_limit - time.monotonic(), 0)
            ):
                while job.error is None and reader.running:
                    if job.read_quietly(reading_from, policy.drain_wait, time.monotonic()):
                        return True
                    await job.changed(policy.drain_wait)
        except TimeoutError:
            job.log.warning("logs.drain_cut", limit_s=policy.drain_limit)
        return False

    async def _described_instances(self, kind: JobKind, name: str) -> int | None:
        try:
            description = await self.caller.sagemaker(kind.describe, **{kind.name_field: name})
        except RunnerError as error:
            log.warning("logs.read_failed", job=name, operation=kind.describe, error=str(error))
            return None
        return instance_count(kind, description)

    @staticmethod
    def _nothing(kind: JobKind, name: str, sink: LogSink) -> LogSummary:
        summary = LogSummary(job=name, kind=kind.key, streams=0, lines=0, drained=True)
        sink.finish(summary)
        return summary


def _earliest_start(
    streams: Sequence[tuple[_JobTail, _Stream]], late: bool, policy: LogPolicy
) -> int | None:
    """Where one batched read of ``streams`` begins: the earliest of their starts (None: at
    their beginning); a draining job's streams are read late."""
    starts = [stream.start(late or job.ended_at is not None, policy) for job, stream in streams]
    return None if None in starts else min(at for at in starts if at is not None)


def _prefix(job: _JobTail) -> str:
    return job.kind.log_stream_prefix(job.name)


def _found_in(page: Mapping[str, Any], jobs: Mapping[str, list[_JobTail]]) -> int:
    """The new streams of a DescribeLogStreams page for ``jobs`` (by name), noted."""
    found = 0
    for summary in page.get("logStreams", []):
        for job in jobs.get(log_stream_owner(summary["logStreamName"]), []):
            found += job.found(summary)
    return found


def _end_of(handle: JobHandle) -> asyncio.Future[None]:
    """Resolves to None once the job of ``handle`` has ended (or its following was cancelled):
    unlike the outcome's own future, it holds nothing of the job."""
    end: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    handle.when_ended(lambda: _settle(end))
    return end


def _alive(task: asyncio.Task[None] | None) -> bool:
    return task is not None and not task.done() and not task.cancelling()


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
