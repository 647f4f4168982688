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

No error vanishes: an entry task that fails for any reason ends journaled ``error`` with a
one-line reason (``_entry_failed``); a journal that cannot be written (a full disk) keeps the
entry's changes in order, tries them again, and the launch's ``problems`` say what it could not
record; a job whose Create was answered is held in ``_handles`` before anything else is done
with it, so it is followed, and stopped on an interrupt, whatever fails next.

``ResourceLimitExceeded`` on Create is backpressure: the entry gives its room back, the quota
pauses, and the entry is submitted again after an exponential back-off (tenacity) or as soon
as one of our jobs under that quota ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import structlog
from botocore.exceptions import BotoCoreError
from tenacity import AsyncRetrying, retry_if_exception, wait_exponential_jitter

from runner.config import shutdown_timeout_for
from runner.core import Runner
from runner.errors import AwsCallFailed, RunnerClosed, RunnerError
from runner.joblogs import FileSink, LogSink, LogTailer, TeeSink, TextSink
from runner.kinds import KINDS, instance_usage
from runner.streams import lost_output
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
OUTPUT_LOST = "output_lost"  # journal meta: output streams that failed with no one to tell
OVER_QUOTA = "ResourceLimitExceeded"
STOPPING = "Stopping"  # SageMaker's status of a job whose Stop it accepted
FOLLOW_FAILED = "Error"  # the Outcome status of a job the runner could not follow to its end
BATCHED_LOGS_FROM = 10  # from this many jobs with logs, read them with FilterLogEvents
# Of the shutdown timeout, kept after the runner's shutdown for the journal, the log tails'
# last lines and the reports (at most this fraction of it).
SHUTDOWN_RESERVE_S = 3.0
SHUTDOWN_RESERVE_FRACTION = 0.2
# What a journal write raises when the file cannot take it (a full disk, an I/O error), as
# opposed to JournalError, a transition the journal refuses.
JOURNAL_WRITE_ERRORS = (sqlite3.Error, OSError)
REASON_CHARS = 300  # a reason is one line, cut to this


@dataclass(frozen=True)
class LaunchOptions:
    concurrency: int = 50  # jobs of the batch in flight at once
    limits: Mapping[str, int] = field(default_factory=dict)  # see smrun.launcher.admission
    output: Path | None = None  # per-job logs and the reports; None: neither
    job_logs: bool = True  # a log file per job under output/logs
    follow: str | None = None  # an entry id or job name whose logs go to the console too
    leave_running: bool = False  # on interrupt, detach instead of stopping jobs
    # From the interrupt to run()'s return: Stops, Stopped, journal, log tails and reports.
    # None: below a Kubernetes pod's 30 s grace in a pod, elsewhere what the Stops of the jobs
    # in flight need at the Stop budget (runner.config.shutdown_timeout_for).
    shutdown_timeout: float | None = None
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
    # One line each: what the launch could not do (reports not written, changes the journal
    # could not take, output lost); the command says them and does not exit 0.
    problems: tuple[str, ...] = ()

    @property
    def all_succeeded(self) -> bool:
        return all_succeeded(self.rows)


def _over_quota(error: BaseException) -> bool:
    return isinstance(error, AwsCallFailed) and error.code == OVER_QUOTA


def one_line(error: BaseException) -> str:
    """``error`` as one line of at most REASON_CHARS: its own words for the runner's errors
    (they are written for the user), with the exception's type for anything else."""
    known = isinstance(error, RunnerError | BotoCoreError)
    text = str(error) if known else f"{type(error).__name__}: {error}".rstrip(": ")
    line = " ".join(text.split())
    return line if len(line) <= REASON_CHARS else line[: REASON_CHARS - 3] + "..."


@dataclass(frozen=True)
class _Change:
    """A journal transition not yet written (the journal could not take it)."""

    state: str
    method: Any
    args: tuple[Any, ...]
    kw: dict[str, Any]


def _said(results: Sequence[object], what: str) -> None:
    """Log the failures among ``results`` (from ``gather(..., return_exceptions=True)``)."""
    for result in results:
        if isinstance(result, Exception):
            log.error(f"launch.{what}_failed", error=one_line(result), exc_info=result)


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
        # Entry id -> its changes the journal could not take yet, in order, and why.
        self._unjournaled: dict[str, list[_Change]] = {}
        # One writer per entry at a time, so its changes reach the journal in their order.
        self._journal_turns: dict[str, asyncio.Lock] = {}
        self._journal_failure: str | None = None
        self._entry_tasks: dict[str, asyncio.Task[None]] = {}
        self._stopping = False
        self._shutdown: asyncio.Future[None] | None = None
        self._deadline: float | None = None  # monotonic: when an interrupted run() returns
        self._bound_s = 0.0  # the shutdown timeout, fixed at the interrupt
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
        except JOURNAL_WRITE_ERRORS as error:  # a full disk: before anything is sent
            problem = f"cannot be written ({one_line(error)}); nothing was submitted"
            raise ManifestInvalid([Problem("journal", problem)], source) from None
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
            await self._gather_entries(entries)
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
            _said(await asyncio.gather(watcher, view, return_exceptions=True), "background")
            await self._tailer.close()
            await self._console_tailer.close()
        return await self._finish()

    async def _gather_entries(self, entries: Mapping[str, Entry]) -> None:
        """Until every entry task is done; one that failed anyway is journaled as an error."""
        if not self._entry_tasks:
            return
        results = await asyncio.gather(*self._entry_tasks.values(), return_exceptions=True)
        for entry_id, result in zip(self._entry_tasks, results, strict=True):
            if isinstance(result, Exception):  # _run_entry records its own; never lost
                await self._entry_failed(entries[entry_id], result)

    async def _finish(self) -> LaunchResult:
        """What the launch ends with: the journal's rows (with what it could not take), the
        reports, and every problem met on the way, one line each."""
        problems = await self._flush_journal()
        final = self._as_known(await self.journal.call(Journal.rows))
        reports = self.write_reports(final, problems)
        await self._record_lost_output()
        counts = dict.fromkeys(STATES, 0)
        for row in final:
            counts[row.state] += 1
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
            problems=tuple(problems),
        )

    def write_reports(self, rows: list[Row], problems: list[str]) -> ReportFiles | None:
        """The reports of ``rows`` under the output directory (None without one); a failure
        is one line added to ``problems``."""
        if self.options.output is None:
            return None
        try:
            return write_reports(self.manifest.batch_id, rows, self.options.output)
        except OSError as error:
            problem = f"reports not written to {self.options.output}: {one_line(error)}"
            log.error("launch.reports_failed", error=problem)
            problems.append(problem)
            return None

    async def _record_lost_output(self) -> None:
        """Output that failed with no stream left to say so (stdout and stderr both on a full
        disk): the journal says it instead (``smrun status`` shows it)."""
        with contextlib.suppress(*JOURNAL_WRITE_ERRORS):
            await self.journal.call(Journal.set_meta, OUTPUT_LOST, lost_output())

    async def _flush_journal(self) -> list[str]:
        """Write the changes the journal could not take before (a full disk may have room
        again); what is still unwritten, as one line for the user."""
        for entry_id in list(self._unjournaled):
            with contextlib.suppress(JournalError):
                async with self._journal_turns[entry_id]:
                    await self._write_changes(entry_id)
        if not self._unjournaled:
            return []
        return [
            f"journal {self.journal.journal.path}: {len(self._unjournaled)} entries' last "
            f"changes could not be recorded ({self._journal_failure}); it shows them as they were before: "
            "run the same command again to re-attach to their jobs and record how they ended"
        ]

    def _as_known(self, rows: list[Row]) -> list[Row]:
        """The journal's rows with the changes it could not take laid over them, so that the
        reports and the summary say what this launch knows (the journal, what it was told)."""
        known = []
        for row in rows:
            changes = self._unjournaled.get(row.id)
            if not changes:
                known.append(row)
                continue
            last = changes[-1]
            reason = last.args[0] if last.state == ERROR and last.args else None
            known.append(
                replace(
                    row,
                    state=last.state,
                    status=last.kw.get("status", row.status),
                    failure_reason=last.kw.get("failure_reason", reason or row.failure_reason),
                )
            )
        return known

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
        # In one transaction, but for an entry with changes still waiting for the journal
        # (they go first, in order) or a journal that cannot take it: those one by one.
        waiting = [entry_id for entry_id in entry_ids if self._unjournaled.get(entry_id)]
        batch = [entry_id for entry_id in entry_ids if entry_id not in waiting]
        try:
            recorded = await self.journal.call(Journal.running_many, batch, STOPPING)
        except JOURNAL_WRITE_ERRORS:
            recorded, waiting = [], entry_ids
        for entry_id in recorded:  # journaled first, then counted
            self.tally.move(self._states[entry_id], RUNNING)
            self._states[entry_id] = RUNNING
        for entry_id in waiting:
            with contextlib.suppress(JournalError):  # it ended meanwhile
                await self._record(entry_id, RUNNING, Journal.running, STOPPING)

    def interrupt(self, reason: str) -> None:
        """Stop the batch: admit nothing more, then stop every job in flight, or (with
        ``leave_running``) stop following them and leave them to a later resume."""
        if self._stopping:
            return
        self._stopping = True
        self.interrupted = reason
        self._bound_s = self._shutdown_bound()
        self._deadline = time.monotonic() + self._bound_s
        if not self.options.leave_running:
            self.runner.stop_admitting()  # not one more Create from here
        self.admission.close()
        if self.options.leave_running:
            for task in self._entry_tasks.values():
                task.cancel()
        else:
            self._shutdown = asyncio.ensure_future(self._stop_all(reason))
        log.warning(  # after acting: a failing log stream never keeps the batch running
            "launch.interrupted",
            reason=reason,
            in_flight=len(self._handles),
            leave_running=self.options.leave_running,
        )

    def _shutdown_bound(self) -> float:
        """The shutdown timeout: the user's, else one for where the launch runs."""
        if self.options.shutdown_timeout is not None:
            return self.options.shutdown_timeout
        return shutdown_timeout_for(len(self._handles), self.runner.config.limits)

    def _remaining(self) -> float:
        """Seconds left of the shutdown timeout (all of it before an interrupt)."""
        if self._deadline is None:
            return self._shutdown_bound()
        return max(self._deadline - time.monotonic(), 0.0)

    async def _stop_all(self, reason: str) -> None:
        """Shut the runner down within the shutdown timeout, less a reserve for what follows
        (``runner.stopping``'s phases: no Create sent after this, Stops at the Stop budget's
        pace, each Stopped recorded from what the Stop answers and sweeps say)."""
        reserve = min(SHUTDOWN_RESERVE_S, self._bound_s * SHUTDOWN_RESERVE_FRACTION)
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

    async def _record(self, entry_id: str, state: str, method: Any, *args: Any, **kw: Any) -> None:
        """Journal a transition first, then count it. A journal that cannot take it (a full
        disk) does not end the entry: the change waits, in order with the entry's later ones,
        for the next write (and the end of the launch) to try again. Raises JournalError for
        a transition the journal refuses."""
        async with self._journal_turns.setdefault(entry_id, asyncio.Lock()):
            self._unjournaled.setdefault(entry_id, []).append(_Change(state, method, args, kw))
            await self._write_changes(entry_id)
        self.tally.move(self._states[entry_id], state)
        self._states[entry_id] = state

    async def _write_changes(self, entry_id: str) -> None:
        """The entry's waiting changes, written in order (the caller holds the entry's turn)."""
        changes = self._unjournaled[entry_id]
        while changes:
            change = changes[0]
            try:
                await self.journal.call(change.method, entry_id, *change.args, **change.kw)
            except JOURNAL_WRITE_ERRORS as error:
                first = self._journal_failure is None
                self._journal_failure = one_line(error)
                # Every entry's failure is an event; the first is an error a person sees.
                (log.error if first else log.warning)(
                    "launch.journal_failed",
                    entry=entry_id,
                    state=change.state,
                    error=self._journal_failure,
                )
                return
            except (JournalError, asyncio.CancelledError):
                # Refused; or asked for and shielded (AsyncJournal): made even if we are not
                # there to see it, so never asked again.
                changes.pop(0)
                if not changes:
                    del self._unjournaled[entry_id]
                raise
            changes.pop(0)
        del self._unjournaled[entry_id]

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
        except Exception as error:  # anything else: said, and journaled, never dropped
            await self._entry_failed(entry, error)
        finally:
            self._handles.pop(entry.id, None)
            self.admission.release(ticket)
            state = self._states.get(entry.id)
            ended = self._ended[entry.id]
            if not ended.done():
                ended.set_result(state if state in SETTLED else None)

    async def _entry_failed(self, entry: Entry, error: Exception) -> None:
        """An entry task failed on something the launcher did not expect: journal it as an
        error with the reason in one line (a resume retries it, or re-attaches to its job: a
        job whose Create was answered is still the runner's, stopped on an interrupt)."""
        handle = self._handles.get(entry.id)
        reason = f"launcher error: {one_line(error)}"
        if handle is not None and not handle.done:
            reason += f" (job {handle.name} may still run: a resume re-attaches to it)"
        self.tally.failed(Failure(entry.id, entry.job_name, "error", reason))
        log.error("launch.entry_failed", entry=entry.id, error=reason, exc_info=error)
        if self._states.get(entry.id) not in SETTLED:
            with contextlib.suppress(JournalError):  # it ended meanwhile
                await self._record(entry.id, ERROR, Journal.error, reason)

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
        except AdmissionClosed:
            return None  # interrupted before this one was admitted: it stays as it was
        except RunnerClosed as closed:  # admitted, its Create abandoned: pending, and why
            with contextlib.suppress(*JOURNAL_WRITE_ERRORS):
                await self.journal.call(Journal.not_sent, entry.id, one_line(closed))
            return None
        except Exception as error:  # an AWS refusal, a bad endpoint, a failing assume-role...
            reason = one_line(error)
            await self._record(entry.id, ERROR, Journal.error, reason)
            self.tally.failed(Failure(entry.id, entry.job_name, "not submitted", reason))
            log.error("launch.submit_failed", entry=entry.id, job=entry.job_name, error=reason)
            return None
        # Held first: the job exists now, whatever fails next (the journal, a log).
        self._handles[entry.id] = handle
        await self._record(entry.id, SUBMITTED, Journal.submitted, handle.name)
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
            try:  # a resumed launch reads the job's logs from the start again
                self._files.path_for(handle.name).unlink(missing_ok=True)
            except OSError as error:  # the job is followed all the same, without its file
                log.error(
                    "launch.job_log_failed", entry=entry.id, job=handle.name, error=one_line(error)
                )
            else:
                sinks.append(self._files)
        if followed:
            sinks.append(self.console_sink)
        if not sinks:
            return
        sink = sinks[0] if len(sinks) == 1 else TeeSink(*sinks)
        tailer = self._console_tailer if followed else self._tailer
        task = asyncio.create_task(tailer.follow(handle, sink, request=entry.request))
        self._tails.add(task)
        task.add_done_callback(lambda done: self._tail_ended(entry.id, done))

    def _tail_ended(self, entry_id: str, task: asyncio.Task[Any]) -> None:
        self._tails.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None:
            log.error("launch.logs_failed", entry=entry_id, error=one_line(error), exc_info=error)

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
        up a ``smrun stop`` from another process. A beat that fails is said, and the next
        one tried: the watch never ends before the launch does."""
        beats, failing = 0, False
        while True:
            await asyncio.sleep(self.options.tick)
            beats += 1
            try:
                await self._watch_beat(beats)
            except Exception as error:
                if not failing:  # once per run of failures, not once per tick
                    log.error("launch.watch_failed", error=one_line(error), exc_info=error)
                failing = True
            else:
                failing = False

    async def _watch_beat(self, beats: int) -> None:
        """One look at the batch: the tally's figures, jobs started, a ``smrun stop``."""
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
            if self._states.get(entry_id) == SUBMITTED and status is not None and not handle.done:
                with contextlib.suppress(JournalError):  # it ended meanwhile
                    await self._record(entry_id, RUNNING, Journal.running, status)
        if (
            beats % 4 == 0
            and not self._stopping
            and await self.journal.call(Journal.meta, STOP_REQUESTED, False)
        ):
            self.interrupt("smrun stop")
