"""``smrun launch``, ``smrun status`` and ``smrun stop``, behind the CLI's argument parsing.

The CLI parses flags, and for ``--local`` starts the emulator; everything else is here:

- ``prepare_launch`` loads and validates the manifest and opens the journal, before anything
  starts (a bad manifest: exit 2, every problem listed, nothing created);
- ``run_launch`` runs the batch with a live view on a terminal (events then go to
  ``<output>/events.jsonl``) or progress lines otherwise, stops every job on the first
  SIGINT/SIGTERM (or leaves them, with ``--leave-running``), writes the reports and prints the
  summary;
- ``show_status`` and ``stop_batch`` work from a journal alone.

Exit codes: 0 every job succeeded, 1 some did not, 2 bad input, 128 + signal when interrupted.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import structlog
from botocore.exceptions import BotoCoreError
from rich.console import Console
from rich.table import Table

from runner.config import AwsTarget, PollPolicy, RateLimits, RunnerConfig
from runner.core import Runner
from runner.errors import AwsCallFailed, RunnerError
from runner.events import configure_logging
from runner.kinds import KINDS
from runner.launcher.journal import RUNNING, SUBMITTED, Journal, JournalError
from runner.launcher.launch import (
    STOP_REQUESTED,
    Launch,
    LaunchOptions,
    LaunchResult,
    followed_entry,
)
from runner.launcher.manifest import Manifest, ManifestInvalid, load_manifest
from runner.launcher.progress import LineView, LiveView, ProgressView
from runner.launcher.report import all_succeeded, status_table, summary
from runner.session import AwsCaller

log = structlog.get_logger("runner.launcher")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
TARGET_META = "target"  # journal meta: where the batch runs, for `smrun status`/`stop`
SUMMARY_ROWS = 60  # rows of the final table on the console; the reports have every job
# The local emulator answers at once and has no quotas: follow its short jobs briskly, and
# call it without client-side rate limits.
LOCAL_POLL = PollPolicy(initial=0.5, maximum=2.0, sweep_interval=1.0, sweep_overlap=3.0)


class UsageError(Exception):
    """Bad input to a command (exit 2): a manifest, a journal or a flag."""


@dataclass
class Prepared:
    """A validated manifest and its open journal, ready to launch."""

    manifest: Manifest
    journal: Journal
    output: Path
    options: LaunchOptions


def _console() -> Console:
    # Wide enough for the tables when the output is a log rather than a terminal.
    return Console() if sys.stdout.isatty() else Console(width=160)


def default_output(manifest: Manifest) -> Path:
    return Path("smrun-runs") / manifest.batch_id


def read_manifest(path: str | Path, batch_id: str | None = None) -> Manifest:
    try:
        return load_manifest(path, batch_id=batch_id)
    except ManifestInvalid as invalid:
        raise UsageError(str(invalid)) from None


def show_plan(
    manifest_path: str | Path,
    *,
    journal_path: str | Path | None,
    output: str | Path | None,
    batch_id: str | None = None,
    console: Console | None = None,
) -> int:
    """``--dry-run``: validate, then show what a launch would do with each entry (submit,
    re-attach, leave finished), creating nothing (not even the journal)."""
    console = console or _console()
    manifest = read_manifest(manifest_path, batch_id)
    out = Path(output) if output else default_output(manifest)
    path = Path(journal_path) if journal_path else out / "journal.sqlite"
    known: dict[str, str] = {}
    if path.exists():  # else nothing is created: the launch would start the journal
        try:
            with Journal(path, manifest.batch_id) as journal:
                known = {row.id: row.state for row in journal.rows()}
        except (JournalError, OSError) as error:
            raise UsageError(f"journal {path}: {error}") from None
    actions = {
        "pending": "submit",
        "error": "submit again",
        "submitted": "re-attach",
        "running": "re-attach",
    }
    table = Table(title=f"batch {manifest.batch_id}: {len(manifest.entries)} entries (dry run)")
    for column in ("entry", "kind", "job name", "after", "journal", "a launch would"):
        table.add_column(column, overflow="fold")
    plan: dict[str, int] = {}
    for entry in manifest.entries:
        state = known.get(entry.id, "new")
        action = "submit" if state == "new" else actions.get(state, "leave (finished)")
        plan[action] = plan.get(action, 0) + 1
        table.add_row(entry.id, entry.kind, entry.job_name, ", ".join(entry.after), state, action)
    console.print(table)
    console.print("; ".join(f"{count} to {action}" for action, count in plan.items()))
    return EXIT_OK


def prepare_launch(
    manifest_path: str | Path,
    *,
    journal_path: str | Path | None,
    output: str | Path | None,
    options: LaunchOptions,
    batch_id: str | None = None,
) -> Prepared:
    """Load and validate the manifest, open (or resume) its journal. Raises UsageError."""
    manifest = read_manifest(manifest_path, batch_id)
    out = Path(output) if output else default_output(manifest)
    out.mkdir(parents=True, exist_ok=True)
    path = Path(journal_path) if journal_path else out / "journal.sqlite"
    try:
        journal = Journal(path, manifest.batch_id)
    except (JournalError, OSError) as error:
        raise UsageError(f"journal {path}: {error}") from None
    try:
        followed_entry(manifest, options.follow)
    except ValueError as error:
        journal.close()
        raise UsageError(str(error)) from None
    return Prepared(manifest, journal, out, replace(options, output=out))


def launch_config(target: AwsTarget, *, local: bool, concurrency: int) -> RunnerConfig:
    config = RunnerConfig(aws=target, max_connections=max(50, min(concurrency, 200)))
    if local:
        config = replace(config, poll=LOCAL_POLL, limits=RateLimits.none())
    return config.tuned_from_env()


def run_launch(
    prepared: Prepared, target: AwsTarget, *, local: bool = False, console: Console | None = None
) -> int:
    """Run the batch to its end (or an interrupt); print the summary; the exit code."""
    console = console or _console()
    live = console.is_terminal
    events = None
    if live:
        events = (prepared.output / "events.jsonl").open("a", encoding="utf-8")
        configure_logging(json=True, file=events)
    else:
        configure_logging()
    prepared.journal.set_meta(
        TARGET_META,
        {
            "region": target.region,
            "endpoint_url": target.endpoint_url,
            "assume_role_arn": target.assume_role_arn,
            "local": local,
        },
    )
    view: ProgressView = LiveView(console) if live else LineView()
    config = launch_config(target, local=local, concurrency=prepared.options.concurrency)
    try:
        result = asyncio.run(_launch(prepared, config, view))
    finally:
        if events is not None:
            events.close()
    _print_summary(console, result, prepared)
    if result.interrupted in (signal.SIGINT.name, signal.SIGTERM.name):
        return 128 + int(signal.Signals[result.interrupted])
    return EXIT_OK if result.all_succeeded else EXIT_FAILED


async def _launch(prepared: Prepared, config: RunnerConfig, view: ProgressView) -> LaunchResult:
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    async with Runner(config) as runner:
        launch = Launch(prepared.manifest, prepared.journal, runner, prepared.options, view=view)

        def on_signal(received: signal.Signals) -> None:
            if launch.interrupted is None:
                launch.interrupt(received.name)
            elif main is not None:  # a second signal: stop waiting for Stopped
                log.warning("launch.signal_again", signal=received.name)
                main.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, sig)
        try:
            return await launch.run()
        except asyncio.CancelledError:
            # A second signal: stop waiting for jobs to stop. The journal has what happened;
            # a resume re-attaches to whatever is still in flight.
            rows = await launch.journal.call(Journal.rows)
            return LaunchResult(
                batch_id=prepared.manifest.batch_id,
                counts=await launch.journal.call(Journal.counts),
                rows=rows,
                interrupted=launch.interrupted,
                left_running=True,
                reports=None,
            )
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            launch.close()


def _print_summary(console: Console, result: LaunchResult, prepared: Prepared) -> None:
    rows = result.rows
    if len(rows) > SUMMARY_ROWS:  # what did not succeed first: the table is cut
        rows = [r for r in rows if r.state != "succeeded"] + [
            r for r in rows if r.state == "succeeded"
        ]
    console.print(status_table(result.batch_id, rows, limit=SUMMARY_ROWS))
    if result.interrupted:
        what = "left running" if result.left_running else "stopped"
        console.print(
            f"[yellow]interrupted ({result.interrupted}): jobs in flight were {what}; "
            f"run the same command again to resume[/]"
        )
    if result.reports is not None:
        console.print(
            f"reports: {result.reports.jsonl}, {result.reports.csv}, {result.reports.summary}"
        )
    console.print(f"journal: {prepared.journal.path}")


# --- status and stop -------------------------------------------------------------------------


def open_journal(path: str | Path) -> Journal:
    try:
        return Journal.existing(path)
    except JournalError as error:
        raise UsageError(str(error)) from None


def show_status(path: str | Path, *, as_json: bool = False, console: Console | None = None) -> int:
    """Print the batch as a table (or its summary as JSON); exit 0 when every job succeeded."""
    console = console or _console()
    with open_journal(path) as journal:
        rows = journal.rows()
        if as_json:
            sys.stdout.write(json.dumps(summary(journal.batch_id, rows), indent=2) + "\n")
        else:
            console.print(status_table(journal.batch_id, rows))
    return EXIT_OK if all_succeeded(rows) else EXIT_FAILED


def stop_batch(
    path: str | Path, target: AwsTarget | None = None, *, console: Console | None = None
) -> int:
    """Ask a launch running on this journal to stop, and send Stop for every job in flight
    (a launch that is not running records how they ended when it is resumed)."""
    console = console or _console()
    with open_journal(path) as journal:
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
