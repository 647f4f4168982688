"""The runner: submit many SageMaker jobs, follow them all from one loop, stop them together.

    async with Runner(RunnerConfig(...)) as runner:
        handle = await runner.submit("training", request, identity=Identity(run_id, "train"))
        outcome = await handle.wait()

Following jobs. A job on its own is Described with a growing, jittered interval (reset when
its status changes). Once ``delta_threshold`` jobs of a kind are in flight, the kind is
*swept*: every ``sweep_interval``, one listing of the kind bounded by the batch (newest first,
down to the oldest followed job's creation time, at most ``sweep_page_cap`` pages), or a
``Search`` by the run's tag, or per-job Describe, whichever the measured cost says
(``runner.sweeps``); a job is Described when it ends (for its outputs and failure reason).

Submitting. A job's name is given, or derived from its ``Identity``; a tag carries the
request's digest. Before Create the name is looked up: the same digest re-attaches to the
existing job (a restarted pod, a resumed batch), another digest is a ``JobConflict``.

Stopping. ``shutdown()`` goes in named phases (``runner.stopping.ShutdownPhase``): Creates not
yet sent are abandoned (``runner.gate``), a Stop goes for every job in flight at the Stop
budget's pace, and each job is settled from what the Stop answers and sweeps say until the
grace deadline. Endpoints this run was creating are deleted. The runner
installs no signal handler: entry points do (``smrun.signals``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

import structlog

from runner import eventfirst, stopping
from runner.backoff import jittered
from runner.config import RunnerConfig, shutdown_timeout_for
from runner.errors import (
    AnswerUnknown,
    AwsCallFailed,
    AwsUnreachable,
    JobConflict,
    NotSent,
    ResourceMissing,
    RunnerClosed,
    RunnerError,
)
from runner.feed.changes import Change
from runner.kinds import JobKind, Update, kind_named
from runner.naming import DIGEST_TAG, Identity
from runner.requests import PreparedRequest, prepare_request
from runner.scheduler import Scheduler
from runner.session import AwsCaller
from runner.stopping import ShutdownPhase
from runner.sweeps import (
    Strategy,
    SweepChoice,
    SweepResult,
    floor_of,
    list_window,
    measured_skew,
    run_tag,
    search_window,
    seconds_per_call,
    service_time,
)
from runner.tracker import Follow, JobHandle, Outcome, TrackedJob

log = structlog.get_logger("runner")

# After a shutdown's bound: how long the answers of Stops already sent are waited for.
STOP_ANSWER_WAIT_S = 0.5
SHUTDOWN_SWEEP_INTERVAL_S = 1.0  # between a shutdown's sweeps, at most
RULE_STATUS_KEYS = ("DebugRuleEvaluationStatuses", "ProfilerRuleEvaluationStatuses")
RULE_PENDING = frozenset({"InProgress"})
RULE_FAILED = frozenset({"Error"})


class Runner:
    """Drives many SageMaker jobs from one event loop. Use as an async context manager."""

    def __init__(
        self, config: RunnerConfig | None = None, *, caller: AwsCaller | None = None
    ) -> None:
        self.config = config or RunnerConfig()
        self.caller = caller or AwsCaller(self.config)
        self.scheduler = Scheduler(max_concurrency=max(self.config.max_connections, 1))
        # Every job known, held weakly: a job in flight is held by ``_active`` (or by its
        # submit call), an ended one only by its handles. Following 10,000 jobs, each ended
        # job's final Describe would otherwise stay for the process's life (~13 KB a job).
        self._jobs: weakref.WeakValueDictionary[tuple[str, str], TrackedJob] = (
            weakref.WeakValueDictionary()
        )
        self._active: dict[str, dict[str, TrackedJob]] = {}  # kind -> name -> job not yet done
        self._sweeping: set[str] = set()  # kinds whose sweep timer runs
        self._sweep_choices: dict[str, SweepChoice] = {}  # kind -> how it is followed, and costs
        self._closing = False
        self._closed = asyncio.Event()
        self._shut_down = asyncio.Event()  # set when a shutdown() has returned
        self._not_sent = 0  # Creates a shutdown abandoned before they were sent
        self._feed = (
            eventfirst.EventFeed(
                self.caller, self.config.events_queue, self._follows, self._in_flight_count
            )
            if self.config.events_queue
            else None
        )
        self._stops: set[asyncio.Task[None]] = set()  # shutdown's Stop senders, while they run
        self._stops_closed = False  # the shutdown's bound ran out: no Stop is sent any more
        self._random = random.Random()

    # --- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Runner:
        self.scheduler.start()
        if self._feed is not None:
            self._feed.start(self._on_change, self._on_feed_usable)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Leaving the block normally only closes connections: jobs keep running in SageMaker
        # unless shutdown() was asked for. On an exception (a cancelled pod), stop them.
        if exc_type is not None and not self._closing:
            await asyncio.shield(self.shutdown(reason=f"runner exited with {exc_type.__name__}"))
        await self.close()

    async def close(self) -> None:
        """Stop following jobs and close the clients; does not stop jobs."""
        self._closing = True
        for task in list(self._stops):  # Stops still queued for the budget when the grace ran out
            task.cancel()
        await asyncio.gather(*self._stops, return_exceptions=True)
        if self._feed is not None:
            await self._feed.stop()
        await self.scheduler.close()
        await self.caller.close()
        for job in list(self._jobs.values()):
            if not job.outcome.done():
                job.outcome.cancel()
        self._closed.set()

    # --- submission --------------------------------------------------------------------------

    def prepare(
        self,
        kind: str | JobKind,
        request: Mapping[str, Any],
        *,
        identity: Identity | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> PreparedRequest:
        """The request as it will be sent (name, tags), and its digest (``prepare_request``
        with this runner's ``run_tags``). Raises RequestInvalid."""
        prepared = prepare_request(
            kind, request, identity=identity, run_tags=self.config.run_tags, tags=tags
        )
        return prepared.checked()

    async def submit(
        self,
        kind: str | JobKind,
        request: Mapping[str, Any],
        *,
        identity: Identity | None = None,
        tags: Mapping[str, str] | None = None,
        known_new: bool = False,
    ) -> JobHandle:
        """Create the job (or re-attach to it) and start following it.

        ``known_new``: the caller knows no Create was ever sent for this name (a launcher entry
        its journal shows unsent), so no lookup goes before Create; a name conflict on Create
        is still re-attached to, digest checked. Raises RequestInvalid (nothing sent),
        JobConflict, AwsCallFailed or RunnerClosed.
        """
        if self._closing:
            raise RunnerClosed("the runner is shutting down")
        prepared = self.prepare(kind, request, identity=identity, tags=tags)
        job_kind, body, digest = prepared.kind, prepared.body, prepared.digest
        name = body[job_kind.name_field]
        key = (job_kind.key, name)
        known = self._jobs.get(key)
        # An update is an action, not a resource: once one has finished, another may follow.
        if known is not None and not (job_kind.update is not None and known.done):
            # Submitted twice in this process: one job, two handles.
            if known.digest != digest:
                raise JobConflict(job_kind.key, name, known.digest, digest)
            return JobHandle(known, self._stop_job)
        job = TrackedJob(kind=job_kind, name=name, request=body, digest=digest, identity=identity)
        self._jobs[key] = job
        # A freshly generated name (no name given, no identity) cannot exist yet: no lookup.
        look_up = not known_new and (bool(request.get(job_kind.name_field)) or identity is not None)
        try:
            if job_kind.update is not None:
                await self._submit_update(job, job_kind.update)
            else:
                await self._create_or_attach(job, look_up=look_up)
        except BaseException as error:
            if isinstance(error, NotSent):
                self._not_sent += 1  # counted in the shutdown's last phase, not a line each
            del self._jobs[key]
            job.move(Follow.DONE)
            stopping.settled(job)  # no job, nothing to stop
            if not job.outcome.done():
                job.outcome.cancel()  # a shutdown waiting on it moves on
            raise
        # Sent (or found): what is read of the request from now on is kept, the rest let go.
        kept = followed_fields(job_kind)
        job.request = {field: value for field, value in job.request.items() if field in kept}
        if self._feed is not None and self._in_flight_count() == 0:
            self._feed.jobs_started()
        active = self._active.setdefault(job_kind.key, {})
        active[name] = job
        job.outcome.add_done_callback(lambda _: active.pop(name, None))
        self._follow(job)
        if job.stop_reason is not None:
            # shutdown() came while Create was on its way: the job exists now, stop it.
            await self._send_stop(job, job.stop_reason)
        return JobHandle(job, self._stop_job)

    async def _lookup(self, kind: JobKind, name: str) -> dict[str, Any] | None:
        try:
            answer = await self.caller.sagemaker(kind.describe, **{kind.name_field: name})
        except ResourceMissing:
            return None
        return answer.get(kind.describe_wrapper, answer) if kind.describe_wrapper else answer

    async def _existing_digest(self, arn: str) -> str | None:
        tags = await self.caller.sagemaker("ListTags", ResourceArn=arn, MaxResults=100)
        return next((t["Value"] for t in tags.get("Tags", []) if t["Key"] == DIGEST_TAG), None)

    async def _attach(self, job: TrackedJob, existing: dict[str, Any]) -> None:
        arn = existing.get(job.kind.arn_field)
        found = await self._existing_digest(arn) if arn else None
        if found != job.digest:
            raise JobConflict(job.kind.key, job.name, found, job.digest)
        job.arn, job.attached = arn, True
        job.observe(existing)
        job.log.info("job.attached", arn=arn, status=job.status)

    async def _create_or_attach(self, job: TrackedJob, *, look_up: bool = True) -> None:
        kind = job.kind
        existing = await self._lookup(kind, job.name) if look_up else None
        if existing is not None:
            await self._attach(job, existing)
            return
        try:
            answer = await self.caller.create(kind.create, **job.request)
        except AnswerUnknown:
            await self._created_unknown(job)
            return
        except RunnerClosed:
            raise
        except AwsCallFailed as error:
            if error.code != "ResourceInUse" and "already exist" not in error.aws_message:
                raise
            # Someone created it between our lookup and our Create: the same rules apply.
            existing = await self._lookup(kind, job.name)
            if existing is None:
                raise
            await self._attach(job, existing)
            return
        job.arn = answer.get(kind.arn_field)
        job.created_by_runner = True
        job.log.info("job.submitted", arn=job.arn)

    async def _created_unknown(self, job: TrackedJob) -> None:
        """Shutdown came while the Create's answer was unknown: look the job up. If it exists
        (with our digest) it is ours and ``submit`` stops it; if not, it was never made."""
        existing = await self._lookup(job.kind, job.name)
        if existing is None:
            raise NotSent(f"{job.kind.create} not made: shutting down")
        await self._attach(job, existing)
        job.attached, job.created_by_runner = False, True
        job.log.info("job.submitted", arn=job.arn, answer_was_unknown=True)

    async def _submit_update(self, job: TrackedJob, update: Update) -> None:
        target = update.of
        existing = await self._lookup(target, job.name)
        if existing is None:
            raise ResourceMissing(
                job.kind.create, "ValidationException", f"{target.key} {job.name} does not exist"
            )
        wanted = job.request[update.wanted_field]
        job.arn = existing.get(target.arn_field)
        if (
            existing.get(update.wanted_field) == wanted
            or target.status_of(existing) == update.in_progress
        ):
            # Already on (or moving to) the wanted config: a restarted step re-attaches.
            job.attached = True
            job.observe(existing)
            job.log.info("job.attached", status=job.status, endpoint_config=wanted)
            return
        await self.caller.create(job.kind.create, **job.request)
        job.status = update.in_progress
        job.log.info("job.submitted", arn=job.arn, endpoint_config=wanted)

    # --- following jobs ----------------------------------------------------------------------

    def _follow(self, job: TrackedJob) -> None:
        if job.kind.is_synchronous:
            self._spawn_final(job, None)
            return
        # An update's status at submission is the resource's before the update: not an end.
        if job.status in job.kind.states.terminal and job.kind.update is None:
            self._spawn_final(job, None)
            return
        kind = job.kind
        if kind.key in self._sweeping:
            self._hand_over([job], swept=True)
        elif (
            kind.list_operation and len(self._active[kind.key]) >= self.config.poll.delta_threshold
        ):
            job.move(Follow.POLLED)
            self._start_sweeping(kind)
            self._poll_soon(job, first=True)  # until the first sweep tick takes it over
        else:
            self._poll_soon(job, first=True)

    def _on_error(self, job: TrackedJob) -> Callable[[Exception], None]:
        """What a job's scheduled action that raised does: end the job, saying why."""
        return lambda error: self._give_up(job, error)

    def _poll_soon(
        self, job: TrackedJob, *, first: bool = False, delay: float | None = None
    ) -> None:
        """Describe ``job`` after its poll delay (``first``: the initial one; ``delay``: then)."""
        if job.follow is not Follow.RULES:
            job.move(Follow.POLLED)
        if first or job.polls is None:
            job.polls = self.config.poll.delays()
        self.scheduler.call_later(
            self._poll_delay(job) if delay is None else delay,
            ("poll", job.kind.key, job.name),
            lambda: self._poll(job),
            on_error=self._on_error(job),
        )

    async def _poll(self, job: TrackedJob) -> None:
        if job.follow not in (Follow.POLLED, Follow.SWEPT, Follow.RULES):
            return  # done, or its end is being read
        try:
            answer = await self._lookup(job.kind, job.name)
        except RunnerError as error:
            self._give_up(job, error)
            return
        if answer is None:
            self._give_up(job, RunnerError(f"{job.kind.key} {job.name} no longer exists"))
            return
        if job.follow not in (Follow.POLLED, Follow.SWEPT, Follow.RULES):
            return  # a sweep saw its end meanwhile, or it was given up
        changed = job.observe(answer)
        if self._is_final(job, answer):
            await self._finalize(job, answer)
            return
        if job.follow is Follow.SWEPT:
            return  # the kind's sweep follows it from here
        job.polls = (job.polls or self.config.poll.delays()).after(progress=changed)
        self._poll_soon(job)

    # --- the change feed: events first, polling as the safety net ----------------------------

    def _by_events(self, kind: JobKind) -> bool:
        """Whether ``kind``'s jobs are followed by the feed now (it is usable)."""
        return self._feed is not None and self._feed.usable and eventfirst.followed_by_events(kind)

    def _poll_delay(self, job: TrackedJob) -> float:
        assert job.polls is not None
        if job.follow is Follow.POLLED and self._by_events(job.kind):
            return jittered(self.config.feed.safety_interval, self.config.poll.jitter, self._random)
        return job.polls.sample(self._random)

    def _sweep_interval(self, kind: JobKind) -> float:
        if self._closing:  # shutting down: each Stopped seen as soon as the List budget allows
            return min(self.config.poll.sweep_interval, SHUTDOWN_SWEEP_INTERVAL_S)
        if self._by_events(kind):
            return self.config.feed.safety_interval
        return self.config.poll.sweep_interval

    def _in_flight_count(self) -> int:
        return sum(len(jobs) for jobs in self._active.values())

    def _event_jobs(self, kind: str, name: str) -> list[TrackedJob]:
        """The jobs in flight an event about ``kind`` ``name`` is about."""
        keys = eventfirst.EVENT_KINDS.get(kind, ())
        return [job for key in keys if (job := self._active.get(key, {}).get(name)) is not None]

    def _follows(self, kind: str, name: str) -> bool:
        return bool(self._event_jobs(kind, name))

    def _on_change(self, change: Change) -> None:
        """A new change from the feed: settle the job it ends (the event carries the outcome),
        Describe it now (an end whose outcome needs a Describe), or only take it in."""
        for job in self._event_jobs(change.kind, change.name):
            if job.follow not in (Follow.POLLED, Follow.SWEPT, Follow.RULES):
                continue
            description = eventfirst.description_of(change, job.kind)
            if job.follow is not Follow.RULES and eventfirst.settles(
                job.kind, job.request, description
            ):
                job.log.debug("job.settled_by_event", status=change.status)
                self._spawn_final(job, description)
            elif self._is_final(job, description) or job.follow is Follow.RULES:
                self.observe(job.kind, job.name, description)
            elif not _older(description, job.last_modified):
                job.observe(description)

    def _on_feed_usable(self, usable: bool) -> None:
        """The feed became unusable: poll and sweep its kinds' jobs as without it, at once.
        (Usable again: the next poll or sweep of each is set at the safety interval.)"""
        if usable:
            return
        for key in sorted(eventfirst.FOLLOWED_BY_EVENTS):
            for job in list(self._active.get(key, {}).values()):
                if job.follow is Follow.POLLED:
                    self._poll_soon(job, first=True)
            if key in self._sweeping:
                self._sweep_later(kind_named(key), 0.0)

    def observe(
        self, kind: str | JobKind, name: str, description: Mapping[str, Any] | None = None
    ) -> bool:
        """Something outside the scheduler (an EventBridge event, issue 12) says ``name``
        changed: take in what it says and Describe the job now. False when the runner does not
        follow such a job (it is unknown, not yet created, or ended).

        The job is never declared finished from ``description`` alone: its end, outputs and
        failure reason come from that Describe, as from any poll. A description older than
        what the runner has seen (events come late and out of order) is ignored, the Describe
        is not."""
        job_kind = kind if isinstance(kind, JobKind) else kind_named(kind)
        job = self._jobs.get((job_kind.key, name))
        if job is None or job.follow not in (Follow.POLLED, Follow.SWEPT, Follow.RULES):
            return False
        if description is not None and not _older(description, job.last_modified):
            job.observe(description)
        job.log.debug("job.observed", follow=job.follow.value)
        if job.follow is Follow.SWEPT:
            self.scheduler.call_later(
                0.0,
                ("poll", job_kind.key, name),
                lambda: self._poll(job),
                on_error=self._on_error(job),
            )
        else:
            self._poll_soon(job, first=True, delay=0.0)
        return True

    def _sweep_choice(self, kind: JobKind) -> SweepChoice:
        choice = self._sweep_choices.get(kind.key)
        if choice is None:
            choice = self._sweep_choices[kind.key] = SweepChoice(kind, self.config.limits)
        return choice

    def _start_sweeping(self, kind: JobKind) -> None:
        self._sweeping.add(kind.key)
        self._sweep_later(kind, 0.0)

    def _sweep_later(self, kind: JobKind, delay: float) -> None:
        self.scheduler.call_later(
            delay,
            ("sweep", kind.key),
            lambda: self._sweep(kind),
            on_error=lambda error: self._sweep_broke(kind, error),
        )

    def _sweepable(self, kind: JobKind) -> dict[str, TrackedJob]:
        """The kind's jobs in flight that a sweep may follow."""
        exiled = self._sweep_choice(kind).describe_only
        return {
            name: job
            for name, job in self._active.get(kind.key, {}).items()
            if job.follow in (Follow.POLLED, Follow.SWEPT) and name not in exiled
        }

    def _hand_over(self, jobs: Iterable[TrackedJob], *, swept: bool) -> None:
        """Follow ``jobs`` by their kind's sweep, or each by its own Describe polls."""
        for job in jobs:
            if swept and job.follow in (Follow.SUBMITTING, Follow.POLLED):
                job.move(Follow.SWEPT)
                self.scheduler.cancel(("poll", job.kind.key, job.name), running=True)
            elif not swept and (
                job.follow in (Follow.SUBMITTING, Follow.SWEPT)
                or (
                    job.follow is Follow.POLLED
                    and not self.scheduler.pending(("poll", job.kind.key, job.name))
                )
            ):
                self._poll_soon(job, first=True)

    async def _sweep(self, kind: JobKind) -> None:
        """One sweep tick for ``kind``: choose how to follow its jobs (``runner.sweeps``), then
        one bounded List or Search sweep, or one round of per-job Describes. Ticks are spaced
        start to start, every ``sweep_interval`` (or as long as a round takes, if longer), so
        that an end waits at most one interval for the sweep to reach its job again."""
        started = time.monotonic()
        choice = self._sweep_choice(kind)
        jobs = self._sweepable(kind)
        if not jobs:
            self._stop_sweeping(kind)
            return
        interval = self._sweep_interval(kind)
        strategy = choice.choose(len(jobs), run_tag(jobs.values()), interval=interval)
        self._hand_over(jobs.values(), swept=True)
        round_s = 0.0
        if strategy is Strategy.DESCRIBE:
            round_s = self._describe_round(kind, jobs, interval)
        else:
            await self._sweep_once(kind, choice, strategy, jobs)
        if self._sweepable(kind):
            spacing = max(jittered(interval, self.config.poll.jitter, self._random), round_s)
            self._sweep_later(kind, spacing - (time.monotonic() - started))
        else:
            self._stop_sweeping(kind)

    def _describe_round(self, kind: JobKind, jobs: dict[str, TrackedJob], interval: float) -> float:
        """Describe each of ``jobs`` once, spread over one ``interval`` (longer when the
        Describe budget needs it), as the cost model counts them: a job followed this way is
        looked at every round, not on its own backoff to ``PollPolicy.maximum``. Returns how
        long the round takes."""
        spacing = max(interval / len(jobs), seconds_per_call(self.config.limits, kind.describe))
        for index, job in enumerate(jobs.values()):
            if job.follow is Follow.SWEPT:
                self.scheduler.call_later(
                    index * spacing,
                    ("poll", kind.key, job.name),
                    lambda job=job: self._poll(job),  # type: ignore[misc]
                    on_error=self._on_error(job),
                )
        return spacing * len(jobs)

    async def _sweep_once(
        self, kind: JobKind, choice: SweepChoice, strategy: Strategy, jobs: dict[str, TrackedJob]
    ) -> None:
        policy = self.config.poll
        started = time.time()
        skew = measured_skew(jobs.values(), self.caller.clock.offset)
        floor = floor_of(jobs.values(), skew, policy)
        cap = policy.sweep_page_cap

        def take_page(page: list[dict[str, Any]]) -> None:
            self._take_page(kind, jobs, page)

        try:
            if strategy is Strategy.SEARCH:
                tag = run_tag(jobs.values())
                assert tag is not None
                result = await search_window(self.caller, kind, tag, floor, cap, on_page=take_page)
            else:
                result = await list_window(self.caller, kind, floor, cap, on_page=take_page)
        except AwsUnreachable as error:
            log.warning("sweep.failed", kind=kind.key, strategy=strategy.value, error=str(error))
            return  # the next tick may pass
        except AwsCallFailed as error:
            # Not transient (retries are below us): e.g. no permission to List or Search. Those
            # jobs are Described until the next tick chooses another way.
            log.warning("sweep.disabled", kind=kind.key, strategy=strategy.value, error=str(error))
            choice.disable(strategy)
            self._hand_over(jobs.values(), swept=False)
            return
        choice.record(result)
        self._take_sweep(
            kind, jobs, result, listable_before=started - policy.sweep_overlap, skew=skew
        )

    def _take_sweep(
        self,
        kind: JobKind,
        jobs: dict[str, TrackedJob],
        result: SweepResult,
        *,
        listable_before: float,
        skew: float,
    ) -> None:
        """After a sweep (its pages were taken in as they came, ``_take_page``): a job it did
        not reach (past the page cap), or should have seen and did not, is Described from now
        on."""
        seen = {s.get(kind.name_field) for s in result.summaries}
        exiled = 0
        for name, job in jobs.items():
            if job.follow not in (Follow.POLLED, Follow.SWEPT) or name in seen:
                continue  # seen, or ended or being finished meanwhile
            if not result.reached(service_time(job, skew)) or job.submitted_at < listable_before:
                exiled += 1
                self._sweep_choice(kind).describe_only.add(name)
                self._hand_over([job], swept=False)
        log.debug(
            "sweep.done",
            kind=kind.key,
            strategy=result.strategy.value,
            pages=result.pages,
            complete=result.complete,
            summaries=len(result.summaries),
            followed=len(jobs),
            to_describe=exiled,
        )

    def _take_page(
        self, kind: JobKind, jobs: dict[str, TrackedJob], page: list[dict[str, Any]]
    ) -> None:
        """Take in one page of a sweep: each followed job on it is observed, and finished if
        the page shows its end."""
        for summary in page:
            job = jobs.get(summary.get(kind.name_field))  # type: ignore[arg-type]
            if job is None or job.follow not in (Follow.POLLED, Follow.SWEPT):
                continue  # not ours, or ended or being finished meanwhile
            job.observe(summary)
            if self._is_final(job, summary):
                self._spawn_final(job, summary if self._stopped_as_asked(job, summary) else None)

    def _sweep_broke(self, kind: JobKind, error: Exception) -> None:
        """The kind's sweep raised what no sweep should (a bug, not AWS): Describe its jobs;
        the next job of the kind to arrive starts sweeping again. It acts, then logs."""
        jobs = self._sweepable(kind)
        self._stop_sweeping(kind)
        self._hand_over(jobs.values(), swept=False)
        log.warning("sweep.failed", kind=kind.key, error=str(error) or repr(error))

    def _stop_sweeping(self, kind: JobKind) -> None:
        self._sweeping.discard(kind.key)

    def _spawn_final(self, job: TrackedJob, answer: dict[str, Any] | None) -> None:
        job.move(Follow.FINISHING)
        self.scheduler.cancel(("poll", job.kind.key, job.name))
        self.scheduler.call_later(
            0.0,
            ("final", job.kind.key, job.name),
            lambda: self._finalize(job, answer),
            on_error=self._on_error(job),
        )

    def _stopped_as_asked(self, job: TrackedJob, answer: Mapping[str, Any]) -> bool:
        """Whether ``answer`` (a List summary) settles ``job`` without a final Describe: the
        runner asked for its Stop and it says Stopped. A stopped job has no outputs to read
        (they are read for a success only) and its reason is the runner's own, so a shutdown
        of 1,000 jobs does not wait on 1,000 Describes at the Describe budget (issue 16: the
        report said 722 ``running`` of 1,000 SageMaker had stopped)."""
        return job.stop_reason is not None and job.kind.status_of(answer) in job.kind.states.stopped

    def _is_final(self, job: TrackedJob, answer: Mapping[str, Any]) -> bool:
        kind = job.kind
        if kind.is_synchronous:
            return True
        return kind.status_of(answer) in kind.states.terminal

    async def _finalize(self, job: TrackedJob, answer: dict[str, Any] | None) -> None:
        """Read the job's final Describe and outputs, and set its outcome."""
        if job.done:
            return
        if job.follow is not Follow.FINISHING:
            job.move(Follow.FINISHING)
        try:
            answer = await self._final_answer(job, answer)
            if answer is None:
                return  # not final after all, or its rules still run: polled again
            succeeded, failure = self._verdict(job, answer)
            outputs = (
                await job.kind.read_outputs(answer, self.caller.sagemaker) if succeeded else {}
            )
        except RunnerError as error:
            self._give_up(job, error)
            return
        job.finish(self._outcome(job, answer, succeeded, failure, outputs))

    async def _final_answer(
        self, job: TrackedJob, answer: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """The Describe the outcome is read from; None when the job is polled again instead."""
        if answer is None:
            answer = await self._lookup(job.kind, job.name)
            if answer is None:
                raise RunnerError(f"{job.kind.key} {job.name} no longer exists")
        job.observe(answer)
        if not self._is_final(job, answer):  # a sweep saw a status a Describe does not yet
            self._poll_soon(job, first=True)
            return None
        if self._rules_pending(job, answer):
            return None
        return answer

    def _verdict(self, job: TrackedJob, answer: Mapping[str, Any]) -> tuple[bool, str | None]:
        kind = job.kind
        failure = self._failure_reason(job, answer)
        succeeded = failure is None and (
            kind.is_synchronous or kind.status_of(answer) in kind.states.succeeded
        )
        return succeeded, failure

    def _outcome(
        self,
        job: TrackedJob,
        answer: dict[str, Any],
        succeeded: bool,
        failure: str | None,
        outputs: Mapping[str, Any],
    ) -> Outcome:
        kind = job.kind
        status = kind.status_of(answer) or "Created"
        stopped = status in kind.states.stopped
        return Outcome(
            kind=kind.key,
            name=job.name,
            status=status,
            succeeded=succeeded,
            arn=job.arn or answer.get(kind.arn_field),
            failure_reason=failure if not succeeded else None,
            outputs=outputs,
            description=answer,
            stopped_by_runner=stopped and job.stop_reason is not None,
            stop_reason=job.stop_reason,
            attached=job.attached,
            submitted_at=job.submitted_at,
            ended_at=time.time(),
            stop_accepted_at=job.stop_accepted_at,
        )

    def _rules_pending(self, job: TrackedJob, answer: Mapping[str, Any]) -> bool:
        """Training succeeded but its Debugger/Profiler rules still run: keep polling it."""
        if (
            not job.kind.waits_for_rules
            or job.kind.status_of(answer) not in job.kind.states.succeeded
        ):
            return False
        statuses = [s for key in RULE_STATUS_KEYS for s in answer.get(key) or []]
        if not any(s.get("RuleEvaluationStatus") in RULE_PENDING for s in statuses):
            return False
        if job.follow is not Follow.RULES:
            job.log.info(
                "job.waiting_for_rules", rules=[s.get("RuleConfigurationName") for s in statuses]
            )
        job.move(Follow.RULES)
        self._poll_soon(job)
        return True

    def _failure_reason(self, job: TrackedJob, answer: Mapping[str, Any]) -> str | None:
        kind = job.kind
        status = kind.status_of(answer)
        if kind.is_synchronous:
            return None
        if kind.update is not None:
            return kind.update.failure(job.request, answer)
        if status in kind.states.succeeded:
            return _rules_failure(answer)
        if status in kind.states.stopped:
            return (
                f"stopped by the runner ({job.stop_reason})"
                if job.stop_reason
                else "stopped outside the runner"
            )
        return str(answer.get("FailureReason") or f"ended in status {status}")

    def _give_up(self, job: TrackedJob, error: BaseException) -> None:
        """End ``job`` with an "Error" outcome: the runner cannot follow it (the reason is
        ``error``'s text, or its class when it has none, for an unexpected one)."""
        if job.done:
            return
        reason = (
            str(error) if isinstance(error, RunnerError) else f"{type(error).__name__}: {error}"
        )
        job.finish(
            Outcome(
                kind=job.kind.key,
                name=job.name,
                status="Error",
                succeeded=False,
                arn=job.arn,
                failure_reason=reason,
                stop_reason=job.stop_reason,
                attached=job.attached,
                submitted_at=job.submitted_at,
                ended_at=time.time(),
                stop_accepted_at=job.stop_accepted_at,
            )
        )
        job.log.error("job.follow_failed", error=reason, error_type=type(error).__name__)

    # --- waiting -----------------------------------------------------------------------------

    @property
    def in_flight(self) -> list[JobHandle]:
        return [JobHandle(job, self._stop_job) for job in list(self._jobs.values()) if not job.done]

    async def as_completed(self, handles: Iterable[JobHandle]) -> AsyncIterator[Outcome]:
        """Outcomes in the order the jobs finish."""
        for next_done in asyncio.as_completed([handle.wait() for handle in handles]):
            yield await next_done

    async def wait_all(self, handles: Iterable[JobHandle]) -> list[Outcome]:
        return list(await asyncio.gather(*(handle.wait() for handle in handles)))

    # --- stopping ----------------------------------------------------------------------------

    async def _stop_job(self, job: TrackedJob, reason: str) -> None:
        """Ask SageMaker to stop ``job`` (once); the poll loop sees it to Stopped."""
        if self._ask_stop(job, reason):
            await self._send_stop(job, reason)

    def _ask_stop(self, job: TrackedJob, reason: str) -> bool:
        """Record that ``job`` is to stop (once); True when its Stop is to be sent now, False
        when it has ended, was asked already, or its Create is on its way (``submit`` sends
        the Stop once the answer names the job)."""
        if job.done or job.stop_reason is not None:
            return False
        job.stop_reason = reason
        stopping.asked(job)
        return job.follow is not Follow.SUBMITTING

    async def _send_stops(self, queue: deque[TrackedJob], reason: str) -> None:
        """One of shutdown's Stop senders: the next job's Stop, until none is left or the
        shutdown's bound has run out (those left were not stopped)."""
        while queue and not self._stops_closed:
            job = queue.popleft()
            if not job.done:
                await self._send_stop(job, reason)

    async def _send_stop(self, job: TrackedJob, reason: str) -> None:
        kind = job.kind
        if kind.stop_operation:
            operation, params = kind.stop_operation, {kind.name_field: job.name}
        elif kind.delete_operation and job.created_by_runner:
            # A half-created endpoint is deleted only if this run created it.
            operation, params = kind.delete_operation, {kind.name_field: job.name}
        else:
            job.log.info("job.left_running", reason=reason)
            stopping.settled(job)
            return
        # No log line before the call: a shutdown's thousand Stops would each wait behind a
        # thousand lines (issue 12 measured the first Stop 0.341 s after SIGTERM). The answer's
        # event (accepted, refused, retrying) names the operation and the reason.
        try:
            await self.caller.sagemaker(operation, **params)  # at the Stop budget's pace
        except AwsUnreachable as error:
            # Throttled or unreachable for every retry: ask again later, while the job runs.
            job.log.warning(
                "job.stop_retrying", operation=operation, code=error.code, message=error.aws_message
            )
            self._stop_later(job, reason)
        except AwsCallFailed as error:
            # Already ended (a race with completion) is fine: the poll loop reports it.
            job.log.info(
                "job.stop_refused", operation=operation, code=error.code, message=error.aws_message
            )
            stopping.settled(job)
        else:
            stopping.accepted(job, operation=operation, reason=reason)
        if job.done:
            return
        if operation == kind.delete_operation:
            job.finish(
                Outcome(
                    kind=kind.key,
                    name=job.name,
                    status="Deleted",
                    succeeded=False,
                    arn=job.arn,
                    failure_reason=f"deleted by the runner ({reason})",
                    stopped_by_runner=True,
                    stop_reason=reason,
                    submitted_at=job.submitted_at,
                    ended_at=time.time(),
                    stop_accepted_at=job.stop_accepted_at,
                )
            )
        elif job.follow in (Follow.POLLED, Follow.RULES):
            self._poll_soon(job, first=True)

    def _stop_later(self, job: TrackedJob, reason: str) -> None:
        """Send ``job``'s Stop again after its poll delay (a failure that is not AWS's ends
        the job with an outcome, as any scheduled action's does)."""

        async def again() -> None:
            if not job.done and not self._stops_closed:
                await self._send_stop(job, reason)

        self.scheduler.call_later(
            self.config.poll.delays().sample(self._random),
            ("stop", job.kind.key, job.name),
            again,
            on_error=self._on_error(job),
        )

    async def shutdown(
        self,
        grace: float | None = None,
        reason: str = "shutdown",
        *,
        until_stops_accepted: bool = False,
    ) -> list[Outcome]:
        """Shut down in ``ShutdownPhase``'s order (``runner.stopping``): abandon the Creates
        not yet sent, Stop every job in flight at the Stop budget's pace, then settle each
        until ``grace`` seconds from now run out. With ``until_stops_accepted``, wait for every
        Stop to be accepted first, however long that takes (cancel the call to give up).

        Idempotent: a second call waits for the first. Returns the outcomes known by then: of
        every job in flight at the shutdown, and of ended jobs whose handles are still held.
        """
        if self._closing:
            await self._closed.wait()
            return self._known_outcomes()
        self._closing = True
        try:
            self.stop_admitting()
            return await self._shut_down_in_phases(grace, reason, until_stops_accepted)
        finally:
            self._shut_down.set()

    def stop_admitting(self) -> None:
        """Shutdown's first phase at once, before its task runs: no Create goes out from now
        (one waiting for its budget or a retry is abandoned, ``runner.gate``)."""
        self.caller.gate.close()

    async def wait_shut_down(self) -> None:
        """Until a ``shutdown()`` has returned (its jobs ended, or its bound ran out)."""
        await self._shut_down.wait()

    def _shutdown_bound(self, grace: float | None, in_flight: int) -> float:
        """The caller's bound, else the config's, else one for the Stops and the place."""
        bound = grace if grace is not None else self.config.stop_grace
        if bound is not None:
            return bound
        return shutdown_timeout_for(in_flight, self.config.limits)

    async def _shut_down_in_phases(
        self, grace: float | None, reason: str, until_stops_accepted: bool
    ) -> list[Outcome]:
        in_flight = [job for job in list(self._jobs.values()) if not job.done]
        deadline = time.monotonic() + self._shutdown_bound(grace, len(in_flight))
        stopping.enter(
            ShutdownPhase.CANCEL_SUBMISSIONS,
            reason=reason,
            in_flight=len(in_flight),
            submitting=sum(1 for job in in_flight if job.follow is Follow.SUBMITTING),
        )
        # A few senders, not a task per job: the first Stop is on the wire after a handful of
        # steps of the loop, not after a thousand tasks have each taken one.
        queue = deque(job for job in in_flight if self._ask_stop(job, reason))
        for _ in range(
            stopping.senders(self.config.limits, len(queue), self.config.max_connections)
        ):
            task = asyncio.create_task(self._send_stops(queue, reason))
            self._stops.add(task)
            task.add_done_callback(self._stops.discard)
        await asyncio.sleep(0)  # the first Stops leave before the next line is written
        stopping.enter(ShutdownPhase.SEND_STOPS, stops=len(queue))
        bound = None if until_stops_accepted else max(deadline - time.monotonic(), 0.1)
        await stopping.wait_until_settled(in_flight, bound)
        pending = [job.outcome for job in in_flight if not job.done]
        stopping.enter(ShutdownPhase.SETTLE, waiting=len(pending))
        if pending:  # the Stop answers on the wire are waited for within the bound too
            closing = deadline - STOP_ANSWER_WAIT_S
            await asyncio.wait(pending, timeout=max(closing - time.monotonic(), 0.0))
        self._stops_closed = True  # what was not sent by now is left for `smrun stop`
        if self._stops:  # the answers of Stops on the wire, so that each is recorded
            await asyncio.wait(set(self._stops), timeout=STOP_ANSWER_WAIT_S)
            for task in list(self._stops):  # still waiting for a token: not sent
                task.cancel()
        left = stopping.left_over(in_flight)
        stopping.enter(
            ShutdownPhase.DONE,
            ended=sum(1 for job in in_flight if job.done),
            not_sent=self._not_sent,
            still_stopping=len(left["still_stopping"]),
            not_stopped=len(left["not_stopped"]),
        )
        if left["still_stopping"] or left["not_stopped"]:
            log.warning(
                "runner.shutdown_incomplete",
                still_stopping=left["still_stopping"][:20],
                not_stopped=left["not_stopped"][:20],
            )
        return self._known_outcomes()

    def _known_outcomes(self) -> list[Outcome]:
        """The outcomes of the jobs in flight at the shutdown, and of ended jobs whose handles
        are still held."""
        return [
            job.outcome.result()
            for job in list(self._jobs.values())
            if job.outcome.done() and not job.outcome.cancelled()
        ]


def _rules_failure(answer: Mapping[str, Any]) -> str | None:
    """Why a job that ended well still failed: a Debugger/Profiler rule ended in Error."""
    broken = [
        s
        for key in RULE_STATUS_KEYS
        for s in answer.get(key) or []
        if s.get("RuleEvaluationStatus") in RULE_FAILED
    ]
    if not broken:
        return None
    names = ", ".join(s.get("RuleConfigurationName", "?") for s in broken)
    return f"rule evaluation ended in Error: {names}"


def _older(description: Mapping[str, Any], seen: dt.datetime | None) -> bool:
    """Whether ``description`` was last modified before what the runner has already seen."""
    modified = description.get("LastModifiedTime")
    return isinstance(modified, dt.datetime) and seen is not None and modified < seen


def followed_fields(kind: JobKind) -> frozenset[str]:
    """The request's fields the runner reads once its job exists: its tags (the run's tag, for
    sweeps by Search), what an end event must carry for the kind (``eventfirst``), an
    update's wanted config. The rest of the request (~1.3 KB a training job, 13 MB at 10,000
    jobs) is not kept after the Create."""
    update = {kind.update.wanted_field} if kind.update is not None else set()
    return frozenset({"Tags", *eventfirst.REQUEST_FIELDS, *update})
