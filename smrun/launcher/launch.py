"""One launch of a batch: submit every unfinished entry under the limits, follow each to its
end, journal every step, and stop (or leave) what runs when asked to.

    launch = Launch(manifest, journal, runner, LaunchOptions(concurrency=50, output=out))
    result = await launch.run()        # launch.interrupt("SIGTERM") from a signal handler

Each entry is one task: wait for room (``Admission``), submit through the runner (a job that
already exists with the same request is re-attached, never created twice), journal
``submitted``, follow the job, journal how it ended, give the room back. The journal always
hears of a change before anything else does (tally, view, events, report), so a launch killed
at any moment resumes from its journal: pending and error entries are submitted, submitted and
running ones re-attached, finished ones left alone, unless ``retry`` reruns them as new jobs
(the rules, and how an edited manifest is told apart: ``smrun.launcher.resume``).

``ResourceLimitExceeded`` on Create is backpressure: the entry gives its room back, the quota
pauses, and the entry is submitted again after an exponential back-off (tenacity) or as soon
as one of our jobs under that quota ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import structlog
from botocore.exceptions import BotoCoreError
from tenacity import AsyncRetrying, retry_if_exception, wait_exponential_jitter

from runner.config import DEFAULT_SHUTDOWN_TIMEOUT
from runner.core import Runner
from runner.errors import AwsCallFailed, RunnerClosed, RunnerError
from runner.joblogs import FileSink, LogSink, LogTailer, TeeSink, TextSink
from runner.kinds import KINDS, instance_usage
from runner.tracker import JobHandle, Outcome
from runner.validation import Problem
from smrun.launcher.admission import Admission, AdmissionClosed, Ticket
from smrun.launcher.journal import (
    ERROR,
    FAILED,
    PENDING,
    RUNNING,
    SETTLED,
    STATES,
    STOPPED,
    SUBMITTED,
    SUCCEEDED,
    AsyncJournal,
    Journal,
    JournalError,
    Row,
)
from smrun.launcher.manifest import Entry, Manifest, ManifestInvalid, fill_outputs
from smrun.launcher.progress import Failure, LineView, Pause, ProgressView, RunningJob, Tally
from smrun.launcher.report import ReportFiles, all_succeeded, write_reports
from smrun.launcher.resume import ResumePlan, plan_resume

log = structlog.get_logger("smrun.launcher")

STOP_REQUESTED = "stop_requested"  # journal meta: `smrun stop` asks a running launch to stop
OVER_QUOTA = "ResourceLimitExceeded"
STOPPING = "Stopping"  # SageMaker's status of a job whose Stop it accepted
FOLLOW_FAILED = "Error"  # the Outcome status of a job the runner could not follow to its end
BATCHED_LOGS_FROM = 10  # from this many jobs with logs, read them with FilterLogEvents
# Of the shutdown timeout, kept after the runner's shutdown for the journal, the log tails'
# last lines and the reports (at most this fraction of it).
SHUTDOWN_RESERVE_S = 3.0
SHUTDOWN_RESERVE_FRACTION = 0.2


@dataclass(frozen=True)
class LaunchOptions:
    concurrency: int = 50  # jobs of the batch in flight at once
    limits: Mapping[str, int] = field(default_factory=dict)  # see smrun.launcher.admission
    output: Path | None = None  # per-job logs and the reports; None: neither
    job_logs: bool = True  # a log file per job under output/logs
    follow: str | None = None  # an entry id or job name whose logs go to the console too
    leave_running: bool = False  # on interrupt, detach instead of stopping jobs
    # From the interrupt to run()'s return: Stops, Stopped, journal, log tails and reports.
    # Below a Kubernetes pod's 30 s grace, so that nothing is killed half-way.
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT
    backoff_initial: float = 5.0  # after ResourceLimitExceeded
    backoff_max: float = 120.0
    tick: float = 0.5  # how often running statuses and `smrun stop` requests are looked at
    retry: frozenset[str] = frozenset()  # rerun these as new jobs: failed, stopped, changed


@dataclass(frozen=True)
class LaunchResult:
    batch_id: str
    counts: dict[str, int]
    rows: list[Row]
    interrupted: str | None  # the signal or request that interrupted the launch
    left_running: bool
    reports: ReportFiles | None
    billable_s: int = 0  # BillableTimeInSeconds of the jobs this launch saw end
    # Entries whose Stop was sent and whose job had not stopped when the launch stopped
    # waiting (a second signal): journaled running, status Stopping.
    stopping: tuple[str, ...] = ()

    @property
    def all_succeeded(self) -> bool:
        return all_succeeded(self.rows)


def _over_quota(error: BaseException) -> bool:
    return isinstance(error, AwsCallFailed) and error.code == OVER_QUOTA


def _end_state(outcome: Outcome, stopped_statuses: frozenset[str]) -> str:
    if outcome.succeeded:
        return SUCCEEDED
    if outcome.status == FOLLOW_FAILED:
        # The runner lost track of the job (AWS unreachable for longer than the retry budget):
        # it may still run, so the entry stays open and a resume re-attaches to it.
        return ERROR
    return STOPPED if outcome.status in stopped_statuses or outcome.stopped_by_runner else FAILED


def followed_entry(manifest: Manifest, wanted: str | None) -> str | None:
    """The id of the entry ``--follow`` names (by entry id or job name). Raises ValueError."""
    if not wanted:
        return None
    for entry in manifest.entries:
        if wanted in (entry.id, entry.job_name):
            return entry.id
    known = ", ".join(e.id for e in manifest.entries[:10])
    more = ", ..." if len(manifest.entries) > 10 else ""
    raise ValueError(f"--follow {wanted!r}: no entry or job of that name (entries: {known}{more})")


class Launch:
    def __init__(
        self,
        manifest: Manifest,
        journal: Journal,
        runner: Runner,
        options: LaunchOptions | None = None,
        *,
        view: ProgressView | None = None,
        console_sink: LogSink | None = None,
    ) -> None:
        self.manifest = manifest
        self.journal = AsyncJournal(journal)
        self.runner = runner
        self.options = options or LaunchOptions()
        self.view = view or LineView()
        self.console_sink = console_sink or TextSink(show_job=True)
        # The manifest's limits, with the options' (the command line's) over them.
        limits = {**manifest.limits, **self.options.limits}
        self.admission = Admission(self.options.concurrency, limits)
        self.tally = Tally(manifest.batch_id, counts={})
        self._instances = {  # entry id -> "2 x ml.m5.xlarge", for the live view
            e.id: ", ".join(f"{n} x {t}" for t, n in instance_usage(e.kind, e.request).items())
            for e in manifest.entries
        }
        self._kinds = {e.id: e.kind for e in manifest.entries}
        self.interrupted: str | None = None
        self._states: dict[str, str] = {}  # entry id -> journal state, as last written
        self._outputs: dict[str, dict[str, Any]] = {}
        self._handles: dict[str, JobHandle] = {}  # entries submitted, not yet ended
        # Entry id -> its state once this launch is done with it (None: left unfinished).
        self._ended: dict[str, asyncio.Future[str | None]] = {}
        self._tails: set[asyncio.Task[Any]] = set()
        self._entry_tasks: dict[str, asyncio.Task[None]] = {}
        self._stopping = False
        self._shutdown: asyncio.Future[None] | None = None
        self._deadline: float | None = None  # monotonic: when an interrupted run() returns
        self._left_stopping: tuple[str, ...] = ()  # entries journaled Stopping at the bound
        logs_dir = self.options.output / "logs" if self.options.output else None
        self._files = FileSink(logs_dir) if logs_dir and self.options.job_logs else None
        self._followed = followed_entry(manifest, self.options.follow)
        logged = [e for e in manifest.entries if KINDS[e.kind].has_logs]
        policy = replace(runner.config.logs, batched=len(logged) >= BATCHED_LOGS_FROM)
        self._tailer = LogTailer(runner.caller, policy)
        # The followed job is read stream by stream: the lowest latency for one job.
        self._console_tailer = LogTailer(runner.caller, replace(policy, batched=False))

    # --- running -----------------------------------------------------------------------------

    async def _plan(self) -> tuple[list[Row], ResumePlan]:
        """The journal's rows once the manifest is planned into it. Raises ManifestInvalid,
        before anything is sent, when the journal moved since the command's checks (another
        launch) or cannot be read: a message and exit 2, not a traceback."""
        source = f"{self.manifest.source} (resume)"
        try:
            known = await self.journal.call(Journal.rows)
            resume = plan_resume(self.manifest, known, self.options.retry)
            if resume.problems:
                raise ManifestInvalid(resume.problems, source)
            rows = await self.journal.call(Journal.plan, [d.planned() for d in resume.decisions])
        except JournalError as refused:
            raise ManifestInvalid([Problem("journal", str(refused))], source) from None
        return rows, resume

    async def run(self) -> LaunchResult:
        """Submit and follow every unfinished entry; return once all have ended, or the
        launch was interrupted and has stopped (or left) its jobs."""
        rows, resume = await self._plan()
        if resume.dropped:
            log.warning(
                "launch.entries_dropped", count=len(resume.dropped), ids=resume.dropped[:20]
            )
        await self.journal.call(Journal.set_meta, STOP_REQUESTED, False)
        self._states = {row.id: row.state for row in rows}
        # Entry id -> its journaled outputs, for the {{ outputs.<entry>.<name> }} after it.
        self._outputs = {row.id: row.outputs for row in rows if row.outputs}
        self.tally.counts = dict.fromkeys(STATES, 0)
        for state in self._states.values():
            self.tally.counts[state] += 1
        unfinished = [row for row in rows if not row.finished]
        loop = asyncio.get_running_loop()
        for row in rows:
            self._ended[row.id] = loop.create_future()
            if row.finished:
                self._ended[row.id].set_result(row.state)
        log.info(
            "launch.started",
            batch=self.manifest.batch_id,
            entries=len(rows),
            to_submit=sum(1 for r in unfinished if r.state in (PENDING, ERROR)),
            to_reattach=sum(1 for r in unfinished if r.state in (SUBMITTED, RUNNING)),
            already_finished=len(rows) - len(unfinished),
        )
        view = asyncio.create_task(self.view.run(self.tally))
        watcher = asyncio.create_task(self._watch())
        try:
            entries = {entry.id: entry for entry in self.manifest.entries}
            self._entry_tasks = {
                row.id: asyncio.create_task(self._run_entry(entries[row.id], row))
                for row in unfinished
            }
            if self._entry_tasks:
                await asyncio.gather(*self._entry_tasks.values(), return_exceptions=True)
            if self._shutdown is not None:
                await self._shutdown
            # `smrun stop` may have stopped every job itself before the watcher saw its
            # request: the batch was still stopped from outside, and says so.
            if self.interrupted is None and await self.journal.call(
                Journal.meta, STOP_REQUESTED, False
            ):
                self.interrupted = "smrun stop"
            await self._wait_for_tails()
        finally:
            watcher.cancel()
            view.cancel()
            await asyncio.gather(watcher, view, return_exceptions=True)
            await self._tailer.close()
            await self._console_tailer.close()
        final = await self.journal.call(Journal.rows)
        reports = None
        if self.options.output is not None:
            reports = write_reports(self.manifest.batch_id, final, self.options.output)
        counts = await self.journal.call(Journal.counts)
        log.info(
            "launch.finished",
            batch=self.manifest.batch_id,
            interrupted=self.interrupted,
            **counts,
            elapsed_s=round(time.monotonic() - self.tally.started, 1),
        )
        return LaunchResult(
            batch_id=self.manifest.batch_id,
            counts=counts,
            rows=final,
            interrupted=self.interrupted,
            left_running=self.interrupted is not None and self.options.leave_running,
            reports=reports,
            billable_s=self.tally.billable_s,
            stopping=self._left_stopping,
        )

    def close(self) -> None:
        self.journal.close()

    @property
    def in_flight(self) -> int:
        """Jobs submitted by (or re-attached to) this launch that have not ended."""
        return sum(1 for handle in self._handles.values() if not handle.done)

    def stopping_now(self, *, accepted: bool = False) -> list[str]:
        """The entries whose job was asked to stop (``accepted``: whose Stop SageMaker took)
        and has not yet ended (a kind without a Stop operation is left running, not
        stopping)."""
        return [
            entry_id
            for entry_id, handle in self._handles.items()
            if not handle.done
            and handle.stop_requested
            and (handle.stop_accepted_at is not None or not accepted)
            and KINDS[self._kinds[entry_id]].stop_operation
        ]

    async def record_stopping(self, entry_ids: list[str]) -> None:
        """Journal jobs a launch stops waiting for as SageMaker has them once it took the
        Stop: running, status Stopping. ``smrun status`` then says so, and a resume
        re-attaches to them and records how they ended."""
        recorded = await self.journal.call(Journal.running_many, entry_ids, STOPPING)
        for entry_id in recorded:  # journaled first, then counted
            self.tally.move(self._states[entry_id], RUNNING)
            self._states[entry_id] = RUNNING

    def interrupt(self, reason: str) -> None:
        """Stop the batch: admit nothing more, then stop every job in flight, or (with
        ``leave_running``) stop following them and leave them to a later resume."""
        if self._stopping:
            return
        self._stopping = True
        self.interrupted = reason
        self._deadline = time.monotonic() + self.options.shutdown_timeout
        if not self.options.leave_running:
            self.runner.stop_admitting()  # not one more Create from here
        log.warning(
            "launch.interrupted",
            reason=reason,
            in_flight=len(self._handles),
            leave_running=self.options.leave_running,
        )
        self.admission.close()
        if self.options.leave_running:
            for task in self._entry_tasks.values():
                task.cancel()
        else:
            self._shutdown = asyncio.ensure_future(self._stop_all(reason))

    def _remaining(self) -> float:
        """Seconds left of the shutdown timeout (all of it before an interrupt)."""
        if self._deadline is None:
            return self.options.shutdown_timeout
        return max(self._deadline - time.monotonic(), 0.0)

    async def _stop_all(self, reason: str) -> None:
        """Shut the runner down within the shutdown timeout, less a reserve for what follows
        (``runner.stopping``'s phases: no Create sent after this, Stops at the Stop budget's
        pace, each Stopped recorded from what the Stop answers and sweeps say)."""
        timeout = self.options.shutdown_timeout
        reserve = min(SHUTDOWN_RESERVE_S, timeout * SHUTDOWN_RESERVE_FRACTION)
        await self.runner.shutdown(grace=max(self._remaining() - reserve, 0.0), reason=reason)
        # What is left at the bound stays journaled in flight, those whose Stop SageMaker took
        # as Stopping: `smrun status` says so, and a resume or `smrun stop` picks them up.
        # Entries whose job has ended record that themselves.
        left = self.stopping_now(accepted=True)
        await self.record_stopping(left)
        self._left_stopping = tuple(left)
        running = [
            entry_id
            for entry_id, handle in self._handles.items()
            if not handle.done and entry_id not in left
        ]
        if left or running:
            log.warning(
                "launch.shutdown_left",
                still_stopping=len(left),
                not_stopped=len(running),
                stopping_entries=left[:20],
                running_entries=running[:20],
            )
        for entry_id, task in self._entry_tasks.items():
            handle = self._handles.get(entry_id)
            if handle is None or not handle.done:
                task.cancel()

    async def _record(self, entry_id: str, state: str, method: Any, *args: Any, **kw: Any) -> Row:
        """Journal a transition first, then count it."""
        row: Row = await self.journal.call(method, entry_id, *args, **kw)
        self.tally.move(self._states[entry_id], state)
        self._states[entry_id] = state
        return row

    async def _run_entry(self, entry: Entry, row: Row) -> None:
        ticket = Ticket(entry.id, entry.kind, instance_usage(entry.kind, entry.request))
        try:
            if row.state in (PENDING, ERROR) and not await self._dependencies_met(entry):
                return
            request = await self._with_outputs(entry)
            if request is None:
                return
            handle = await self._submit(entry, row, ticket, request)
            if handle is not None:
                await self._follow(entry, handle)
        except asyncio.CancelledError:
            # Detached (--leave-running): the journal keeps the entry for a later resume.
            pass
        finally:
            self._handles.pop(entry.id, None)
            self.admission.release(ticket)
            state = self._states.get(entry.id)
            ended = self._ended[entry.id]
            if not ended.done():
                ended.set_result(state if state in SETTLED else None)

    async def _dependencies_met(self, entry: Entry) -> bool:
        """Wait for the entries ``entry`` comes after; False when one did not succeed (then
        the entry is journaled as an error, retried on resume) or the launch was interrupted
        first (then it stays pending)."""
        if not entry.after:
            return True
        self.tally.blocked += 1
        try:
            for before in entry.after:
                state = await asyncio.shield(self._ended[before])
                if state == SUCCEEDED:
                    continue
                if state is None or self._stopping:
                    return False
                reason = f"not submitted: {before}, which it comes after, ended {state}"
                if state in (FAILED, STOPPED):
                    reason += f" (--retry {state} reruns it, and this one after it)"
                await self._record(entry.id, ERROR, Journal.error, reason)
                self.tally.failed(Failure(entry.id, entry.job_name, "not submitted", reason))
                log.warning("launch.dependency_failed", entry=entry.id, after=before, state=state)
                return False
        finally:
            self.tally.blocked -= 1
        return not self._stopping

    async def _with_outputs(self, entry: Entry) -> dict[str, Any] | None:
        """The entry's request with the upstream outputs it names filled in (the journal has
        them: those entries succeeded first); None, journaled as an error, when one lacks it."""
        if not entry.uses_outputs:
            return entry.request
        try:
            request: dict[str, Any] = fill_outputs(entry.request, self._outputs)
        except KeyError as missing:
            reason = f"not submitted: {missing.args[0]}"
            await self._record(entry.id, ERROR, Journal.error, reason)
            self.tally.failed(Failure(entry.id, entry.job_name, "not submitted", reason))
            log.error("launch.output_missing", entry=entry.id, reason=reason)
            return None
        return request

    async def _submit(
        self, entry: Entry, row: Row, ticket: Ticket, request: Mapping[str, Any]
    ) -> JobHandle | None:
        reattach = row.state in (SUBMITTED, RUNNING)
        refusal = ""

        async def back_off(seconds: float) -> None:
            self.tally.refusals += 1
            log.info(
                "launch.backpressure", entry=entry.id, retry_in_s=round(seconds, 1), reason=refusal
            )
            await self.admission.refused(ticket, seconds, refusal)

        retrying = AsyncRetrying(
            retry=retry_if_exception(_over_quota),
            wait=wait_exponential_jitter(
                multiplier=self.options.backoff_initial,
                jitter=self.options.backoff_initial,
                max=self.options.backoff_max,
            ),
            sleep=back_off,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await self.admission.acquire(ticket, force=reattach)
                    try:
                        # Never sent: nothing to look up before Create (a name taken
                        # meanwhile is still re-attached to, its digest checked).
                        handle = await self.runner.submit(
                            entry.kind,
                            request,
                            identity=entry.identity_for(row.retries),
                            known_new=row.never_sent,
                        )
                    except AwsCallFailed as error:
                        refusal = error.aws_message
                        raise
        except (AdmissionClosed, RunnerClosed):
            return None  # interrupted before this one went out: it stays as it was
        except (RunnerError, BotoCoreError) as error:
            reason = str(error)
            await self._record(entry.id, ERROR, Journal.error, reason)
            self.tally.failed(Failure(entry.id, entry.job_name, "not submitted", reason))
            log.error("launch.submit_failed", entry=entry.id, job=entry.job_name, error=reason)
            return None
        await self._record(entry.id, SUBMITTED, Journal.submitted, handle.name)
        self._handles[entry.id] = handle
        log.info(
            "launch.job_submitted",
            entry=entry.id,
            job=handle.name,
            kind=entry.kind,
            attached=handle.attached,
        )
        return handle

    async def _follow(self, entry: Entry, handle: JobHandle) -> None:
        self._tail_logs(entry, handle)
        outcome = await handle.wait()
        billable = outcome.description.get("BillableTimeInSeconds")
        if isinstance(billable, int):
            self.tally.billable_s += billable
        state = _end_state(outcome, KINDS[entry.kind].states.stopped)
        if state == ERROR:
            reason = f"lost track of the job: {outcome.failure_reason}"
            await self._record(entry.id, ERROR, Journal.error, reason)
        else:
            await self._record(
                entry.id,
                state,
                Journal.ended,
                state,
                status=outcome.status,
                failure_reason=outcome.failure_reason,
                outputs=dict(outcome.outputs),
            )
            self._outputs[entry.id] = dict(outcome.outputs)
        if state != SUCCEEDED:
            self.tally.failed(
                Failure(entry.id, handle.name, outcome.status, outcome.failure_reason or "")
            )
        log.info(
            "launch.job_ended",
            entry=entry.id,
            job=handle.name,
            state=state,
            status=outcome.status,
            **({"failure_reason": outcome.failure_reason} if outcome.failure_reason else {}),
        )

    def _running(self, entry_id: str, handle: JobHandle) -> RunningJob:
        return RunningJob(
            entry_id=entry_id,
            job_name=handle.name,
            kind=self._kinds[entry_id],
            instances=self._instances[entry_id],
            status=handle.status,
            secondary=handle.secondary_status,
            created_at=handle.created_at,
        )

    # --- logs --------------------------------------------------------------------------------

    def _tail_logs(self, entry: Entry, handle: JobHandle) -> None:
        if not KINDS[entry.kind].has_logs:
            return  # no file: there will never be a line to put in it
        followed = entry.id == self._followed
        sinks: list[LogSink] = []
        if self._files is not None:
            # A resumed launch reads the job's logs from the start again.
            self._files.path_for(handle.name).unlink(missing_ok=True)
            sinks.append(self._files)
        if followed:
            sinks.append(self.console_sink)
        if not sinks:
            return
        sink = sinks[0] if len(sinks) == 1 else TeeSink(*sinks)
        tailer = self._console_tailer if followed else self._tailer
        task = asyncio.create_task(tailer.follow(handle, sink, request=entry.request))
        self._tails.add(task)
        task.add_done_callback(self._tails.discard)

    async def _wait_for_tails(self) -> None:
        """Let the last jobs' logs drain (bounded by the log policy's drain limit)."""
        if not self._tails:
            return
        if self.interrupted and self.options.leave_running:
            for task in self._tails:
                task.cancel()
        limit = self._tailer.policy.drain_limit + 5.0
        if self._deadline is not None:  # interrupted: the tails end within the timeout
            limit = min(limit, max(self._remaining() - SHUTDOWN_RESERVE_S / 2, 0.0))
        _, late = await asyncio.wait(set(self._tails), timeout=limit)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    # --- watching ----------------------------------------------------------------------------

    async def _watch(self) -> None:
        """Journal jobs SageMaker reports as started, keep the tally's queue figures, and pick
        up a ``smrun stop`` from another process."""
        beats = 0
        while True:
            await asyncio.sleep(self.options.tick)
            self.tally.waiting = self.admission.waiting
            self.tally.paused = [
                Pause(key, self.admission.in_use(key), self.admission.limits.get(key))
                for key in self.admission.paused
            ]
            self.tally.running = [
                self._running(entry_id, handle)
                for entry_id, handle in self._handles.items()
                if not handle.done
            ]
            for entry_id, handle in list(self._handles.items()):
                status = handle.status
                if (
                    self._states.get(entry_id) == SUBMITTED
                    and status is not None
                    and not handle.done
                ):
                    with contextlib.suppress(JournalError):  # it ended meanwhile
                        await self._record(entry_id, RUNNING, Journal.running, status)
            beats += 1
            if (
                beats % 4 == 0
                and not self._stopping
                and await self.journal.call(Journal.meta, STOP_REQUESTED, False)
            ):
                self.interrupt("smrun stop")
