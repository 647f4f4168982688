"""``smrun launch``, ``status``, ``stop`` and ``logs``, behind the CLI's argument parsing.

The CLI parses flags, and for ``--local`` starts the emulator; everything else is here:

- ``check_launch`` runs every check a launch makes, writing nothing: the flags, the manifest,
  the region and credentials (``preflight``), ``--follow``, and the journal's resume rules
  (``resume``: an edited entry is refused, naming the field). ``--dry-run`` is exactly this,
  then ``show_plan``; every problem at once, exit 2;
- ``prepare_launch`` then takes the journal's lock (``attached``) and opens the journal;
- ``run_launch`` runs the batch with a live view on a terminal (events then go to
  ``<output>/events.jsonl``) or progress lines otherwise, stops every job on the first
  SIGINT/SIGTERM (or leaves them, with ``--leave-running``) after saying so, writes the
  reports and prints the summary;
- ``show_status``, ``stop_batch`` and ``show_logs`` work from a journal alone, found from a
  directory, a journal file or a batch id (``find_journal``).

Exit codes: 0 every job succeeded, 1 some did not, 2 bad input, 128 + signal when interrupted.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import structlog
from botocore.exceptions import BotoCoreError
from rich.console import Console
from rich.table import Table

from runner.config import (
    AwsTarget,
    PollPolicy,
    Rate,
    RateLimits,
    RunnerConfig,
    parse_budget,
)
from runner.core import Runner
from runner.errors import AwsCallFailed, RunnerError
from runner.feed import setup_feed
from runner.joblogs import FileSink
from runner.kinds import KINDS
from runner.session import AwsCaller
from runner.streams import guarded
from runner.telemetry import configure_logging
from runner.validation import (
    endpoint_url_problem,
    queue_url_problem,
    region_problem,
    role_arn_problem,
)
from smrun.launcher.admission import parse_limit
from smrun.launcher.attached import LaunchLock, LockHeld, attached_pid
from smrun.launcher.journal import RUNNING, STOPPED, SUBMITTED, Journal, JournalError, Row
from smrun.launcher.launch import (
    JOURNAL_WRITE_ERRORS,
    OUTPUT_LOST,
    STOP_REQUESTED,
    Launch,
    LaunchOptions,
    LaunchResult,
    followed_entry,
    one_line,
)
from smrun.launcher.manifest import Manifest, ManifestInvalid, load_manifest
from smrun.launcher.preflight import chain_region, credentials_problem
from smrun.launcher.progress import LineView, LiveView, ProgressView, end_screen
from smrun.launcher.report import all_succeeded, job_record, status_table, summary
from smrun.launcher.resume import RETRY_CHOICES, ResumePlan, plan_resume
from smrun.signals import TwoStageSignals

log = structlog.get_logger("smrun.launcher")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
TARGET_META = "target"  # journal meta: where the batch runs, for `smrun status`/`stop`
RUNS_DIR = Path("smrun-runs")  # where a batch's directory goes by default: RUNS_DIR/<batch id>
LOCAL_REGION = "us-east-1"  # the emulator's region when nothing else names one
# The local emulator answers at once and has no quotas: follow its short jobs briskly, and
# call it without client-side rate limits.
LOCAL_POLL = PollPolicy(initial=0.5, maximum=2.0, sweep_interval=1.0, sweep_overlap=3.0)


class UsageError(Exception):
    """Bad input to a command (exit 2): a manifest, a journal or a flag."""


@dataclass(frozen=True)
class LaunchRequest:
    """What ``smrun launch`` was asked, before any check."""

    manifest: Path
    journal: Path | None = None
    output: Path | None = None
    batch_id: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    assume_role_arn: str | None = None
    local: bool = False
    concurrency: int = 50
    limits: Sequence[str] = ()
    rates: Sequence[str] = ()  # --rate BUDGET=PER_SECOND[/BURST]
    retry: Sequence[str] = ()
    follow: str | None = None
    job_logs: bool = True
    leave_running: bool = False
    shutdown_timeout: float | None = None  # None: LaunchOptions' default
    events: str | None = None  # --events QUEUE_URL


@dataclass(frozen=True)
class Checked:
    """A launch that passed every check: what it would run, where, and with which journal."""

    request: LaunchRequest
    manifest: Manifest
    region: str
    output: Path
    journal_path: Path
    options: LaunchOptions
    resume: ResumePlan
    # The API call budgets this launch changes: the manifest's ``rates``, then --rate's.
    rates: Mapping[str, Rate] = field(default_factory=dict)

    @property
    def events(self) -> str | None:
        """The change feed's queue: --events, else the manifest's ``events`` (not --local's:
        that is the embedded emulator's own, set up when it starts)."""
        return None if self.request.local else self.request.events or self.manifest.events

    def target(self, local_url: str | None = None) -> AwsTarget:
        """Where the jobs go: the one region, and the emulator at ``local_url`` (--local)."""
        if local_url is not None:
            # With --assume-role, the placeholder credentials assume it on the emulator's STS.
            return replace(
                AwsTarget.local(local_url, region=self.region),
                assume_role_arn=self.request.assume_role_arn,
            )
        return AwsTarget(
            region=self.region,
            endpoint_url=self.request.endpoint_url,
            assume_role_arn=self.request.assume_role_arn,
        )


@dataclass
class Prepared:
    """A checked launch holding its journal (and the journal's lock), ready to run."""

    manifest: Manifest
    journal: Journal
    output: Path
    options: LaunchOptions
    lock: LaunchLock | None = field(default=None, repr=False)
    rates: Mapping[str, Rate] = field(default_factory=dict)  # budgets changed (Checked.rates)

    def release(self) -> None:
        self.journal.close()
        if self.lock is not None:
            self.lock.release()


def _console() -> Console:
    # Wide enough for the tables when the output is a log rather than a terminal.
    return Console() if sys.stdout.isatty() else Console(width=160)


def default_output(manifest: Manifest) -> Path:
    return RUNS_DIR / manifest.batch_id


def _options(request: LaunchRequest, problems: list[str]) -> LaunchOptions:
    if request.concurrency < 1:
        problems.append(f"--concurrency: must be at least 1, got {request.concurrency}")
    limits: dict[str, int] = {}
    for text in request.limits:
        try:
            key, limit = parse_limit(text)
        except ValueError as error:
            problems.append(f"--limit: {error}")
        else:
            limits[key] = limit
    if request.shutdown_timeout is not None and not (
        math.isfinite(request.shutdown_timeout) and request.shutdown_timeout > 0
    ):
        problems.append(
            f"--shutdown-timeout: must be a finite number of seconds above 0, got "
            f"{request.shutdown_timeout:g}"
        )
    retry = {part.strip() for text in request.retry for part in text.split(",") if part.strip()}
    for wrong in sorted(retry - set(RETRY_CHOICES)):
        problems.append(f"--retry: {wrong!r} is not one of {', '.join(RETRY_CHOICES)}")
    return LaunchOptions(
        concurrency=max(request.concurrency, 1),
        limits=limits,
        job_logs=request.job_logs,
        follow=request.follow,
        leave_running=request.leave_running,
        shutdown_timeout=request.shutdown_timeout,
        retry=frozenset(retry & set(RETRY_CHOICES)),
    )


def _flag_rates(request: LaunchRequest, problems: list[str]) -> dict[str, Rate]:
    """--rate's budgets (``Create=5``, ``Describe=20/40``); a budget named twice takes the last."""
    rates: dict[str, Rate] = {}
    for text in request.rates:
        try:
            name, rate = parse_budget(text)
        except ValueError as error:
            problems.append(f"--rate {error}")
        else:
            rates[name] = rate
    return rates


def _journaled(path: Path, batch_id: str) -> tuple[list[Row], str | None]:
    """The journal's rows and the region the batch ran in, read without writing (the dry
    run creates nothing)."""
    if not path.exists():
        return [], None
    try:
        with Journal.existing(path, read_only=True) as journal:
            if journal.batch_id != batch_id:
                raise UsageError(
                    f"journal {path}: journal of batch {journal.batch_id!r}, not {batch_id!r}"
                )
            ran_in = (journal.meta(TARGET_META) or {}).get("region")
            return journal.rows(), ran_in
    except (JournalError, OSError) as error:
        raise UsageError(f"journal {path}: {error}") from None


def _flag_problems(request: LaunchRequest) -> list[str]:
    """The flags that are wrong whatever the manifest says."""
    problems: list[str] = []
    # The checks the components make of their region and endpoint_url inputs.
    for flag, value, check in (
        ("--region", request.region, region_problem),
        ("--endpoint-url", request.endpoint_url, endpoint_url_problem),
    ):
        problem = check(value) if value is not None else None
        if problem:
            problems.append(f"{flag}: {problem}")
    if request.assume_role_arn is not None:
        problem = role_arn_problem(request.assume_role_arn)
        if problem:
            problems.append(f"--assume-role: {problem}")
    if request.events is not None:
        problem = queue_url_problem(request.events)
        if problem:
            problems.append(f"--events: {problem}")
        elif request.local:
            problems.append(
                "--events: not with --local: the embedded emulator sets up its own queue"
            )
    if request.endpoint_url is not None and request.local:
        problems.append(
            "--endpoint-url: not with --local: the launch runs against its own embedded "
            "emulator (for another endpoint, leave --local out)"
        )
    if request.leave_running and request.local:
        problems.append(
            "--leave-running: not with --local: the embedded emulator ends with the launch, "
            "and the jobs with it, so there would be nothing to re-attach to"
        )
    return problems


def _directory_problem(flag: str, path: Path) -> str | None:
    """Why directory ``path`` cannot be used or made, found without leaving anything behind:
    a missing one is tried where it would be made (a directory made and removed at once), as
    only the filesystem knows (``/proc`` takes no new directories, even from root)."""
    if path.exists():
        if not path.is_dir():
            return f"{flag} {path}: is a file, not a directory"
        return None if os.access(path, os.W_OK | os.X_OK) else f"{flag} {path}: not writable"
    ancestor = next(p for p in path.absolute().parents if p.exists())
    if not ancestor.is_dir():
        return f"{flag} {path}: cannot be made: {ancestor} is a file, not a directory"
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".smrun-check-", dir=ancestor))
    except OSError as error:
        return f"{flag} {path}: cannot be made in {ancestor} ({error.strerror or error})"
    return None


def _journal_problem(path: Path | None) -> str | None:
    """A ``--journal`` must be a file in a directory that exists: a mistyped path is refused
    rather than made (a batch's journal is where its status lives)."""
    if path is None:
        return None
    if path.is_dir():
        return f"--journal {path}: is a directory; name the journal file"
    parent = path.absolute().parent
    if not parent.is_dir():
        return f"--journal {path}: no such directory {parent} (create it first)"
    if not path.exists() and not os.access(parent, os.W_OK | os.X_OK):
        return f"--journal {path}: {parent} is not writable"
    return None


def _region_moved(manifest: Manifest, ran_in: str | None, request: LaunchRequest) -> str | None:
    """A resumed batch stays in the region it ran in: its jobs are there."""
    if ran_in is None or manifest.region is None or ran_in == manifest.region:
        return None
    source = " (--region)" if request.region else ""
    return (
        f"region: the batch ran in {ran_in!r} (its journal says), this launch would run it in "
        f"{manifest.region!r}{source}: a batch runs in one region; launch in {ran_in!r}, or "
        "start another batch with --batch-id"
    )


def check_launch(request: LaunchRequest) -> Checked:
    """Every check a launch makes before it writes anything; UsageError lists every problem
    (the manifest's with the flags' and the paths': none waits for another to be fixed)."""
    problems: list[str] = []
    options = _options(request, problems)
    rates = _flag_rates(request, problems)
    problems.extend(_flag_problems(request))
    if request.output is not None:
        problems.extend(filter(None, [_directory_problem("--output", request.output)]))
    journal_problem = _journal_problem(request.journal)
    problems.extend(filter(None, [journal_problem]))
    if not request.local:
        problems.extend(filter(None, [credentials_problem()]))
    fallback = chain_region() or (LOCAL_REGION if request.local else None)
    try:
        manifest = load_manifest(
            request.manifest,
            batch_id=request.batch_id,
            region=request.region,
            fallback_region=fallback,
            region_required=True,
        )
    except ManifestInvalid as invalid:
        raise UsageError("\n".join([*problems, str(invalid)])) from None
    region_wrong = region_problem(manifest.region) if manifest.region else None
    if region_wrong and request.region is None:  # a wrong --region is said once, above
        problems.append(f"region (the manifest's, else AWS_REGION's): {region_wrong}")
    try:
        followed_entry(manifest, options.follow)
    except ValueError as error:
        problems.append(str(error))
    output = request.output or default_output(manifest)
    if request.output is None:
        problems.extend(filter(None, [_directory_problem("output", output)]))
    journal_path = request.journal or output / "journal.sqlite"
    holder = attached_pid(journal_path)
    if holder is not None:
        problems.append(
            f"another launch (pid {holder if holder > 0 else 'unknown'}) is running on "
            f"{journal_path}; wait for it, or smrun stop it"
        )
    resume = _resume_plan(
        request, manifest, options, journal_path, problems, journal_ok=not journal_problem
    )
    if resume.problems:
        problems.append(str(ManifestInvalid(resume.problems, f"{manifest.source} (resume)")))
    if problems:
        raise UsageError("\n".join(problems))
    return Checked(
        request,
        manifest,
        manifest.region or LOCAL_REGION,
        output,
        journal_path,
        replace(options, output=output),
        resume,
        rates={**manifest.rates, **rates},
    )


def _resume_plan(
    request: LaunchRequest,
    manifest: Manifest,
    options: LaunchOptions,
    journal_path: Path,
    problems: list[str],
    *,
    journal_ok: bool,
) -> ResumePlan:
    """What the journal says is done, as a plan; its problems are added to ``problems``."""
    if not journal_ok:
        return plan_resume(manifest, [], options.retry)
    journaled: list[Row] = []
    try:
        journaled, ran_in = _journaled(journal_path, manifest.batch_id)
    except UsageError as error:
        problems.append(str(error))
        ran_in = None
    moved = _region_moved(manifest, ran_in, request)
    problems.extend(filter(None, [moved]))
    return plan_resume(manifest, journaled, options.retry, region_moved=moved is not None)


def show_plan(
    checked: Checked, *, show_requests: bool = False, console: Console | None = None
) -> int:
    """``--dry-run``: what a launch would do with each entry (submit, re-attach, rerun, leave),
    after the same checks, creating nothing (not even the journal)."""
    console = console or _console()
    manifest = checked.manifest
    table = Table(
        title=f"batch {manifest.batch_id}: {len(manifest.entries)} entries in "
        f"{checked.region} (dry run)"
    )
    for column in ("entry", "kind", "job name", "after", "journal", "a launch would"):
        table.add_column(column, overflow="fold")
    for decision in checked.resume.decisions:
        entry = decision.entry
        table.add_row(
            entry.id,
            entry.kind,
            decision.job_name,
            ", ".join(entry.after),
            decision.state,
            decision.action,
        )
    console.print(table)
    console.print("; ".join(f"{n} to {action}" for action, n in checked.resume.count().items()))
    if checked.resume.dropped:
        console.print(
            f"{len(checked.resume.dropped)} journaled entries are no longer in the manifest "
            f"and are left as they are: {', '.join(checked.resume.dropped[:10])}"
        )
    console.print(
        f"output: {checked.output}   journal: {checked.journal_path}",
        highlight=False,
        soft_wrap=True,
    )
    if checked.rates:
        console.print(budgets_line(checked.rates), highlight=False, soft_wrap=True)
    if show_requests:
        runner = Runner(RunnerConfig(aws=checked.target()))
        for decision in checked.resume.decisions:
            entry = decision.entry
            body = runner.prepare(
                entry.kind, entry.request, identity=entry.identity_for(decision.retries)
            ).body
            operation = KINDS[entry.kind].create
            console.print(f"[bold]{entry.id}[/]: {operation}", highlight=False)
            console.print_json(json.dumps(body, sort_keys=True, default=str))
    return EXIT_OK


def budgets_line(rates: Mapping[str, Rate]) -> str:
    """The budgets a launch changes, as the dry run and the start of a launch say them."""
    shown = ", ".join(
        f"{name} {rate.per_second:g}/s (burst {rate.burst})" for name, rate in sorted(rates.items())
    )
    return f"API call budgets set: {shown}; the others at their defaults"


def prepare_launch(checked: Checked) -> Prepared:
    """Take the journal's lock and open (or resume) the journal. Raises UsageError."""
    try:  # the checks found it usable; the filesystem may still say otherwise
        checked.output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"output {checked.output}: {error.strerror or error}") from None
    try:
        lock = LaunchLock(checked.journal_path)
    except LockHeld as held:
        raise UsageError(str(held)) from None
    try:
        journal = Journal(checked.journal_path, checked.manifest.batch_id)
    except (JournalError, OSError) as error:
        lock.release()
        raise UsageError(f"journal {checked.journal_path}: {error}") from None
    return Prepared(
        checked.manifest, journal, checked.output, checked.options, lock, rates=checked.rates
    )


def launch_config(
    target: AwsTarget,
    *,
    local: bool,
    concurrency: int,
    events: str | None = None,
    rates: Mapping[str, Rate] | None = None,
) -> RunnerConfig:
    """The runner's config for a launch: ``rates`` (budget name -> rate) replace those
    budgets; --local has no other budget (the emulator has no quotas unless told)."""
    config = RunnerConfig(
        aws=target, max_connections=max(50, min(concurrency, 200)), events_queue=events
    )
    if local:
        config = replace(config, poll=LOCAL_POLL, limits=RateLimits.none())
    config = replace(config, limits=config.limits.with_rates(rates or {}))
    return config.tuned_from_env()


def local_events(target: AwsTarget) -> str:
    """Set up the change feed on the embedded emulator (``runner.feed.setup``); its queue URL."""

    async def setup() -> str:
        caller = AwsCaller(RunnerConfig(aws=target))
        try:
            return (await setup_feed(caller)).queue_url
        finally:
            await caller.close()

    return asyncio.run(setup())


def run_launch(
    prepared: Prepared,
    target: AwsTarget,
    *,
    local: bool = False,
    events_queue: str | None = None,
    console: Console | None = None,
) -> int:
    """Run the batch to its end (or an interrupt); print the summary; the exit code."""
    console = console or _console()
    live = console.is_terminal
    events = None
    try:
        if live:
            events = guarded((prepared.output / "events.jsonl").open("a", encoding="utf-8"))
            configure_logging(json=True, file=events)
        else:
            configure_logging()
        gone = _gone_with_an_embedded_emulator(prepared) if local else []
        if gone:
            console.print(
                f"{len(gone)} job(s) in flight when the last --local launch ended ran on its "
                "embedded emulator, which ended with it: recorded as stopped "
                f"({', '.join(gone[:5])}{', ...' if len(gone) > 5 else ''}); "
                "--retry stopped runs them again",
                highlight=False,
                soft_wrap=True,
            )
        unwritable = _record_target(prepared, target, local=local, events_queue=events_queue)
        if unwritable:
            print(f"smrun launch: {unwritable}", file=sys.stderr)
            return EXIT_USAGE
        paths = f"output: {prepared.output}   journal: {prepared.journal.path}"
        stop_hint = "Ctrl-C stops every job in flight" + (
            " (--leave-running: leaves them running)" if prepared.options.leave_running else ""
        )
        view: ProgressView = (
            LiveView(console, paths=f"{paths}\n{stop_hint}") if live else LineView()
        )
        if not live:
            console.print(paths, highlight=False, soft_wrap=True)
            if prepared.rates:
                console.print(budgets_line(prepared.rates), highlight=False, soft_wrap=True)
        config = launch_config(
            target,
            local=local,
            concurrency=prepared.options.concurrency,
            events=events_queue,
            rates=prepared.rates,
        )
        started = time.monotonic()
        try:
            result = asyncio.run(_launch(prepared, config, view, console))
        except ManifestInvalid as moved:  # the journal changed after the checks: nothing sent
            print(f"smrun launch: {moved}", file=sys.stderr)
            return EXIT_USAGE
    finally:
        if events is not None:
            events.close()
        prepared.release()
    _print_summary(console, result, prepared, time.monotonic() - started)
    for problem in result.problems:  # one line each, where a log reader looks for errors
        print(f"smrun launch: {problem}", file=sys.stderr)
    if result.interrupted in (signal.SIGINT.name, signal.SIGTERM.name):
        return 128 + int(signal.Signals[result.interrupted])
    succeeded = all_succeeded(of_manifest(result.rows, prepared.manifest))
    return EXIT_OK if succeeded and not result.problems else EXIT_FAILED


def _gone_with_an_embedded_emulator(prepared: Prepared) -> list[str]:
    """Entries journaled in flight by an earlier ``--local`` launch: their jobs lived in its
    embedded emulator, gone with it, so there is nothing to re-attach to and a new Create would
    report as done what was stopped. They are journaled stopped, with why; their ids."""
    try:
        if not (prepared.journal.meta(TARGET_META) or {}).get("local"):
            return []
        rows = prepared.journal.rows(SUBMITTED, RUNNING)
        for row in rows:
            prepared.journal.ended(row.id, STOPPED, status="Stopped", failure_reason=EMULATOR_GONE)
    except (*JOURNAL_WRITE_ERRORS, JournalError):
        return []  # the journal's own refusal comes next, in the user's words
    return [row.id for row in rows]


EMULATOR_GONE = "its job ran on the embedded emulator of an earlier --local launch, gone with it"


def _record_target(
    prepared: Prepared, target: AwsTarget, *, local: bool, events_queue: str | None
) -> str | None:
    """Journal where the batch runs (for ``smrun status``/``stop``); why the journal cannot
    take it (a full disk), before anything is sent, or None."""
    try:
        prepared.journal.set_meta(
            TARGET_META,
            {
                "region": target.region,
                "endpoint_url": target.endpoint_url,
                "assume_role_arn": target.assume_role_arn,
                "local": local,
                "events": events_queue,
                "output": str(prepared.output.resolve()),
            },
        )
    except JOURNAL_WRITE_ERRORS as error:
        return f"journal {prepared.journal.path}: cannot be written ({one_line(error)}); nothing was submitted"
    return None


def of_manifest(rows: Sequence[Row], manifest: Manifest) -> list[Row]:
    """The rows of the manifest's entries: what this launch was asked to run, as --dry-run
    counts it (entries since removed from the manifest stay in the journal and the reports)."""
    ids = {entry.id for entry in manifest.entries}
    return [row for row in rows if row.id in ids]


def interrupt_notice(launch: Launch, received: str) -> str:
    """What the first SIGINT/SIGTERM is about to do, said before it does it."""
    in_flight = launch.in_flight
    if launch.options.leave_running:
        return (
            f"{received}: leaving {in_flight} job(s) running in SageMaker and submitting no "
            "more; run the same command again to re-attach to them"
        )
    return (
        f"{received}: stopping {in_flight} job(s) in flight and submitting no more; "
        "press Ctrl-C again to stop waiting (jobs still stopping stay journaled in flight). "
        "Run the same command to resume; add --retry stopped to rerun the stopped ones"
    )


def interrupted_line(result: LaunchResult) -> str:
    """What an interrupt did to the jobs in flight, as the journal has it."""
    head = f"interrupted ({result.interrupted}): "
    rerun = " (--retry stopped reruns the stopped ones)"
    if result.left_running and not result.stopping:
        return f"{head}jobs in flight were left running; run the same command again to resume"
    in_flight = sum(1 for row in result.rows if row.state in (SUBMITTED, RUNNING))
    not_stopped = in_flight - len(result.stopping)
    if not in_flight:
        return f"{head}jobs in flight were stopped; run the same command again to resume{rerun}"
    parts = []
    if result.stopping:
        parts.append(
            f"{len(result.stopping)} job(s) still stopping (Stop sent; journaled Stopping)"
        )
    if not_stopped > 0:
        parts.append(
            f"{not_stopped} not stopped (no Stop accepted in time; `smrun stop` on this batch "
            "stops them)"
        )
    return f"{head}{', '.join(parts)}; run the same command again to record how they end{rerun}"


async def _launch(
    prepared: Prepared, config: RunnerConfig, view: ProgressView, console: Console
) -> LaunchResult:
    stopping: list[str] = []  # entries whose Stop was sent, when a second signal came
    async with Runner(config) as runner:
        launch = Launch(prepared.manifest, prepared.journal, runner, prepared.options, view=view)

        def first(received: signal.Signals) -> None:
            notice = interrupt_notice(launch, received.name)
            launch.interrupt(received.name)  # act first, then say so
            # One line however wide: a log reader greps it whole (the terminal wraps it).
            console.print(f"[yellow]{notice}[/]", highlight=False, soft_wrap=True)

        def again(received: signal.Signals) -> None:  # then the helper stops our waiting
            # Before the cancelled tasks let go of their jobs: which were asked to stop.
            stopping[:] = launch.stopping_now()
            console.print(
                f"[yellow]{received.name} again: no longer waiting for jobs to stop[/]",
                soft_wrap=True,
            )
            log.warning("launch.signal_again", signal=received.name, stopping=len(stopping))

        # Held until the journal has what a second signal left (a third is handled the same).
        with TwoStageSignals(first, again, (signal.SIGINT, signal.SIGTERM)):
            try:
                return await launch.run()
            except asyncio.CancelledError:
                # A second signal: stop waiting for jobs to stop. The journal has what happened
                # (those asked to stop: Stopping); a resume re-attaches to whatever is in flight.
                await launch.record_stopping(stopping)
                rows = await launch.journal.call(Journal.rows)
                in_flight = [row.id for row in rows if row.state in (SUBMITTED, RUNNING)]
                problems: list[str] = []
                reports = launch.write_reports(rows, problems)  # as the journal has them
                return LaunchResult(
                    batch_id=prepared.manifest.batch_id,
                    counts=await launch.journal.call(Journal.counts),
                    rows=rows,
                    interrupted=launch.interrupted,
                    left_running=any(entry_id not in stopping for entry_id in in_flight),
                    reports=reports,
                    billable_s=launch.tally.billable_s,
                    stopping=tuple(stopping),
                    problems=tuple(problems),
                )
            finally:
                launch.close()


def _print_summary(
    console: Console, result: LaunchResult, prepared: Prepared, wall_s: float
) -> None:
    """The compact end screen; the full table is in report.csv (and ``smrun status``)."""
    sink = FileSink(prepared.output / "logs") if prepared.options.job_logs else None

    def log_path(job_name: str) -> str:
        return str(sink.path_for(job_name)) if sink is not None else "(--no-job-logs)"

    rows = of_manifest(result.rows, prepared.manifest)
    console.print(
        end_screen(
            result.batch_id,
            rows,
            wall_s=wall_s,
            billable_s=result.billable_s,
            log_path=log_path if sink is not None else None,
            report=str(result.reports.csv) if result.reports is not None else None,
        )
    )
    if len(rows) < len(result.rows):
        console.print(
            f"{len(result.rows) - len(rows)} journaled entries no longer in the manifest were "
            "left as they were (they stay in the journal and the reports)",
            highlight=False,
            soft_wrap=True,
        )
    if result.interrupted:
        console.print(f"[yellow]{interrupted_line(result)}[/]", highlight=False, soft_wrap=True)
    console.print(
        f"journal: {prepared.journal.path}   status: smrun status {status_argument(prepared)}",
        highlight=False,
        soft_wrap=True,
    )


def status_argument(prepared: Prepared) -> Path:
    """What ``smrun status`` is given to find this batch's journal: the output directory
    when the journal is in it, else the journal itself (``--journal`` elsewhere)."""
    default = prepared.output / "journal.sqlite"
    same = prepared.journal.path.absolute() == default.absolute()
    return prepared.output if same else prepared.journal.path


# --- status, stop and logs -------------------------------------------------------------------


def find_journal(where: str | Path) -> Path:
    """The journal ``where`` names: a journal file, a batch's output directory, or a batch id
    (``smrun-runs/<id>``). Raises UsageError naming what was tried."""
    path = Path(where)
    if path.is_file():
        return path
    candidates = [path / "journal.sqlite"] if path.is_dir() else []
    candidates.append(RUNS_DIR / str(where) / "journal.sqlite")
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(c) for c in [path, *candidates])
    raise UsageError(f"{where}: no such journal (looked for {tried})")


def open_journal(where: str | Path) -> Journal:
    try:
        return Journal.existing(find_journal(where))
    except JournalError as error:
        raise UsageError(str(error)) from None


def attachment(journal: Journal) -> str:
    """Whether a launch follows the batch now; in flight without one is said plainly."""
    pid = attached_pid(journal.path)
    if pid is not None:
        return f"a launch is attached (pid {pid})" if pid > 0 else "a launch is attached"
    in_flight = journal.counts()
    if in_flight[SUBMITTED] or in_flight[RUNNING]:
        return (
            "no launch is attached: jobs shown in flight are as last journaled; "
            "run the launch again to re-attach and follow them"
        )
    return "no launch is attached"


def show_status(where: str | Path, *, as_json: bool = False, console: Console | None = None) -> int:
    """Print the batch as a table (or as JSON, a record per job); exit 0 when every job
    succeeded."""
    console = console or _console()
    with open_journal(where) as journal:
        try:
            rows = journal.rows()
            state_of_launch = attachment(journal)
            lost = journal.meta(OUTPUT_LOST) or []
        except JournalError as error:
            raise UsageError(str(error)) from None
        pid = attached_pid(journal.path)
        if as_json:
            document = {
                **summary(journal.batch_id, rows),
                "journal": str(journal.path),
                "attached_pid": pid if pid and pid > 0 else None,
                "attached": pid is not None,
                "output_lost": lost,
                "jobs": [job_record(row) for row in rows],
            }
            sys.stdout.write(json.dumps(document, indent=2) + "\n")
        else:
            console.print(status_table(journal.batch_id, rows))
            console.print(state_of_launch, highlight=False)
            for line in lost:  # the launch had no stream left to say it on
                console.print(f"the last launch could not say: {line}", highlight=False)
    return EXIT_OK if all_succeeded(rows) else EXIT_FAILED


def stop_batch(
    where: str | Path, target: AwsTarget | None = None, *, console: Console | None = None
) -> int:
    """Ask a launch running on this journal to stop, and send Stop for every job in flight
    (a launch that is not running records how they ended when it is resumed)."""
    console = console or _console()
    with open_journal(where) as journal:
        journal.set_meta(STOP_REQUESTED, True)
        rows = journal.rows(SUBMITTED, RUNNING)
        recorded = journal.meta(TARGET_META) or {}
    if target is None:
        if recorded.get("local"):
            console.print(
                "the batch ran on an embedded emulator (--local): its launch, if still running, "
                "stops its jobs itself"
            )
            return EXIT_OK
        target = AwsTarget(
            region=recorded.get("region"),
            endpoint_url=recorded.get("endpoint_url"),
            assume_role_arn=recorded.get("assume_role_arn"),
        )
    results = asyncio.run(_send_stops(rows, RunnerConfig(aws=target).tuned_from_env()))
    refused = 0
    for name, answer in results:
        console.print(f"{name}: {answer}")
        refused += answer.startswith("refused")
    console.print(f"stop asked of {len(rows)} job(s) in flight")
    return EXIT_OK if not refused else EXIT_FAILED


async def _send_stops(rows: list[Any], config: RunnerConfig) -> list[tuple[str, str]]:
    caller = AwsCaller(config)

    async def stop(row: Any) -> tuple[str, str]:
        kind = KINDS[row.kind]
        if not kind.stop_operation:
            return row.job_name, f"left running ({kind.key} has no Stop operation)"
        try:
            await caller.sagemaker(kind.stop_operation, **{kind.name_field: row.job_name})
        except AwsCallFailed as error:
            if error.code == "ValidationException" and "status" in error.aws_message.lower():
                return row.job_name, f"already ended ({error.aws_message})"
            return row.job_name, f"refused: {error.code}: {error.aws_message}"
        except (RunnerError, BotoCoreError) as error:
            return row.job_name, f"refused: {error}"
        return row.job_name, "stop requested"

    try:
        return list(await asyncio.gather(*(stop(row) for row in rows)))
    finally:
        await caller.close()


LOGS_POLL_S = 0.5  # how often `smrun logs -f` looks at the file
LOGS_QUIET_S = 10.0  # after the job ended, with a launch still attached: its late lines' drain


def _latest_journal() -> Path:
    found = sorted(RUNS_DIR.glob("*/journal.sqlite"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise UsageError(f"no batch under {RUNS_DIR}/: name one with --batch")
    return found[-1]


def _log_file_of(journal: Journal, entry: str) -> tuple[Row, Path]:
    """The journal row of ``entry`` (an id or a job name) and its job's log file."""
    rows = journal.rows()
    row = next((r for r in rows if entry in (r.id, r.job_name)), None)
    if row is None:
        names = ", ".join(r.id for r in rows[:10]) + (", ..." if len(rows) > 10 else "")
        raise UsageError(f"{entry!r}: no entry or job of that name (entries: {names})")
    if not KINDS[row.kind].has_logs:
        with_logs = ", ".join(key for key, kind in KINDS.items() if kind.has_logs)
        raise UsageError(
            f"{row.id} is a {row.kind} entry: SageMaker writes no logs for that kind "
            f"(jobs that do: {with_logs})"
        )
    recorded = journal.meta(TARGET_META) or {}
    directory = Path(recorded.get("output") or journal.path.parent) / "logs"
    if not directory.is_dir():
        raise UsageError(f"{directory}: no job logs (was the batch run with --no-job-logs?)")
    return row, FileSink(directory).path_for(row.job_name)


def show_logs(
    entry: str, *, batch: str | Path | None = None, follow: bool = False, out: Any = None
) -> int:
    """Print the log file of ``entry`` (an entry id or job name); with ``follow``, keep
    printing until its job has ended and the launch has drained its last lines."""
    from smrun.launcher.journal import SETTLED

    out = out or sys.stdout
    with open_journal(batch if batch is not None else _latest_journal()) as journal:
        row, path = _log_file_of(journal, entry)
        position, quiet_since = 0, time.monotonic()
        while True:
            if path.exists():
                with path.open(encoding="utf-8", errors="replace") as logs:
                    logs.seek(position)
                    text = logs.read()
                    position = logs.tell()
                if text:
                    out.write(text)
                    out.flush()
                    quiet_since = time.monotonic()
            if not follow:
                break
            ended = journal.get(row.id).state in SETTLED
            attached = attached_pid(journal.path) is not None
            if ended and (not attached or time.monotonic() - quiet_since > LOGS_QUIET_S):
                break
            if not attached and not ended:
                out.write(f"-- no launch is attached: {row.id} is journaled {row.state}\n")
                break
            time.sleep(LOGS_POLL_S)
        if not path.exists():
            print(f"smrun logs: {row.id} ({row.job_name}) has no log lines yet", file=sys.stderr)
    return EXIT_OK
