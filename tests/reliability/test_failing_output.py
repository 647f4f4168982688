"""No error vanishes, and failing output never takes the launcher down (issue 16, points 3-5).

Each case is one a user meets: stdout on a full disk (``> /dev/full``), a pipe whose reader
left (``| head``), a log stream or a job's log file failing right after a Create, a journal
or an output directory on a full disk, a role that cannot be assumed, any other error while
submitting, and a bad ``--region``/``--endpoint-url``. In each, every entry ends in a recorded
state with a one-line reason, no job is forgotten or created twice, a SIGTERM still stops the
jobs, and the exit code is not 0 when something could not be done.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import io
import json
import os
import shutil
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml

from emulator.server import BackgroundEmulator
from emulator.state import EmulatorConfig
from runner import streams
from runner.config import AwsTarget, LogPolicy
from runner.core import Runner
from runner.telemetry import configure_logging
from smrun.cli import main
from smrun.launcher import launch as launch_module
from smrun.launcher.journal import Journal
from smrun.launcher.launch import OUTPUT_LOST, Launch, LaunchOptions, LaunchResult
from smrun.launcher.manifest import parse_manifest
from smrun.launcher.progress import LineView
from smrun.signals import StopOnSignal, TwoStageSignals
from support.manifests import entry, manifest, raw_job
from support.runner_setup import runner_config
from support.smrun_cli import launch_args, start_smrun
from support.stats import fetch_stats

pytestmark = pytest.mark.timeout(60)

QUICK_LOGS = LogPolicy(min_interval=0.2, max_interval=1.0, drain_wait=0.3, merge_hold=0.3)
DENIED_ROLE = "arn:aws:iam::123456789012:role/Denied"
DISK_FULL = OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(
        job_duration=1.0,
        stop_duration=0.2,
        late_event_delay=0.2,
        check_responses=True,
        denied_roles=(DENIED_ROLE,),
    )


@pytest.fixture(autouse=True)
def own_streams(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test's guarded streams alone, and structlog as it was afterwards."""
    monkeypatch.setattr(streams, "_streams", [])
    yield
    structlog.reset_defaults()


def batch(count: int = 3, seconds: float = 0.3) -> dict[str, Any]:
    return manifest(entry("fit", "training", raw_job("training", seconds), count=count))


def states(journal_path: Path) -> dict[str, str]:
    with sqlite3.connect(journal_path) as db:
        return dict(db.execute("SELECT id, state FROM entries"))


def meta(journal_path: Path, key: str) -> Any:
    with sqlite3.connect(journal_path) as db:
        found = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return json.loads(found[0]) if found else None


async def run_launch(
    url: str,
    data: dict[str, Any],
    tmp_path: Path,
    *,
    target: AwsTarget | None = None,
    before: Any = None,
) -> LaunchResult:
    """One in-process launch; ``before(launch)`` runs once it is built, before it runs."""
    parsed = parse_manifest(data)
    journal = Journal(tmp_path / "journal.sqlite", parsed.batch_id)
    options = LaunchOptions(output=tmp_path / "out", tick=0.1, backoff_initial=0.2)
    config = runner_config(url, logs=QUICK_LOGS)
    if target is not None:
        config = runner_config(url, logs=QUICK_LOGS, aws=target)
    async with Runner(config) as runner:
        launch = Launch(parsed, journal, runner, options, view=LineView(interval=1.0))
        if before is not None:
            before(launch)
        try:
            return await launch.run()
        finally:
            launch.close()


# --- in process: a failure right after a Create, the journal, the reports ---------------------


class FailsFrom(io.StringIO):
    """A log stream that fails (a full disk) from the first line naming ``event`` on."""

    def __init__(self, event: str) -> None:
        super().__init__()
        self.event, self.failing = event, False

    def write(self, text: str) -> int:
        self.failing = self.failing or self.event in text
        if self.failing:
            raise DISK_FULL
        return super().write(text)


async def test_a_log_stream_failing_right_after_create_loses_no_job(
    emulator: Any, tmp_path: Path
) -> None:
    stream = FailsFrom('"job.submitted"')  # the runner's event right after Create's answer
    configure_logging(json=True, file=stream)
    result = await run_launch(emulator.url, batch(), tmp_path)
    assert stream.failing
    assert set(states(tmp_path / "journal.sqlite").values()) == {"succeeded"}
    assert result.all_succeeded and result.problems == ()
    stats = await fetch_stats(emulator.url)
    assert len(stats["jobs"]) == 3 and all(job["status"] == "Completed" for job in stats["jobs"])
    # Nobody else to tell: kept for the journal (the command's streams are std ones).
    assert [line.split(" (")[0] for line in streams.lost_output()] == ["output to output failed"]


async def test_a_job_log_file_that_cannot_be_written_still_follows_the_job(
    emulator: Any, tmp_path: Path
) -> None:
    def break_logs_dir(launch: Launch) -> None:
        logs = tmp_path / "out" / "logs"
        shutil.rmtree(logs)
        logs.write_text("a file where the logs directory was")  # every open there fails

    result = await run_launch(emulator.url, batch(), tmp_path, before=break_logs_dir)
    assert result.all_succeeded
    assert set(states(tmp_path / "journal.sqlite").values()) == {"succeeded"}


async def test_a_journal_that_refuses_writes_for_a_while_ends_true(
    emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ended = Journal.ended
    refusals = iter(range(2))

    def full_twice(journal: Journal, *args: Any, **kw: Any) -> Any:
        if next(refusals, None) is not None:
            raise sqlite3.OperationalError("database or disk is full")
        return ended(journal, *args, **kw)

    monkeypatch.setattr(Journal, "ended", full_twice)
    result = await run_launch(emulator.url, batch(), tmp_path)
    assert result.problems == ()  # written when asked again
    assert set(states(tmp_path / "journal.sqlite").values()) == {"succeeded"}


async def test_a_journal_that_stays_full_is_said_and_a_resume_records_the_ends(
    emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ended = Journal.ended

    def full(journal: Journal, *args: Any, **kw: Any) -> Any:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Journal, "ended", full)
    result = await run_launch(emulator.url, batch(), tmp_path)
    assert len(result.problems) == 1 and "\n" not in result.problems[0]
    assert "3 entries' last changes could not be recorded" in result.problems[0]
    assert "database or disk is full" in result.problems[0]
    # The reports say what the launch knows; the journal what it was told: in flight, which a
    # resume re-attaches to.
    assert {row.state for row in result.rows} == {"succeeded"}
    assert set(states(tmp_path / "journal.sqlite").values()) <= {"submitted", "running"}

    monkeypatch.setattr(Journal, "ended", ended)
    again = await run_launch(emulator.url, batch(), tmp_path)
    assert again.all_succeeded and again.problems == ()
    assert set(states(tmp_path / "journal.sqlite").values()) == {"succeeded"}
    assert len((await fetch_stats(emulator.url))["jobs"]) == 3  # re-attached, none twice


async def test_reports_that_cannot_be_written_say_so_and_the_journal_is_true(
    emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(*args: Any, **kw: Any) -> Any:
        raise DISK_FULL

    monkeypatch.setattr(launch_module, "write_reports", disk_full)
    result = await run_launch(emulator.url, batch(), tmp_path)
    assert result.reports is None
    assert result.problems == (
        f"reports not written to {tmp_path / 'out'}: OSError: [Errno 28] No space left on device",
    )
    assert set(states(tmp_path / "journal.sqlite").values()) == {"succeeded"}


async def test_a_role_that_cannot_be_assumed_is_each_entry_s_one_line_reason(
    emulator: Any, tmp_path: Path
) -> None:
    target = AwsTarget(region="us-east-1", endpoint_url=emulator.url, assume_role_arn=DENIED_ROLE)
    result = await run_launch(emulator.url, batch(), tmp_path, target=target)
    assert {row.state for row in result.rows} == {"error"}
    for row in result.rows:
        assert row.failure_reason and "\n" not in row.failure_reason
        assert "AccessDenied" in row.failure_reason and DENIED_ROLE in row.failure_reason
    assert set(states(tmp_path / "journal.sqlite").values()) == {"error"}
    assert not (await fetch_stats(emulator.url))["jobs"]


async def test_any_error_while_submitting_is_journaled_not_left_pending(
    emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kw: Any) -> Any:
        raise ValueError("Invalid endpoint: htp://nowhere\nsecond line")

    monkeypatch.setattr(Runner, "submit", broken)
    result = await run_launch(emulator.url, batch(), tmp_path)
    reasons = {row.failure_reason for row in result.rows}
    assert reasons == {"ValueError: Invalid endpoint: htp://nowhere second line"}
    assert set(states(tmp_path / "journal.sqlite").values()) == {"error"}


async def test_an_entry_task_that_fails_after_create_is_journaled_with_its_reason(
    emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_follow(self: Launch, entry: Any, handle: Any) -> None:
        raise RuntimeError("the follower broke")

    monkeypatch.setattr(Launch, "_follow", broken_follow)
    result = await run_launch(emulator.url, batch(count=2), tmp_path)
    for row in result.rows:
        assert row.state == "error" and row.failure_reason is not None
        assert row.failure_reason.startswith("launcher error: RuntimeError: the follower broke")
        assert "a resume re-attaches to it" in row.failure_reason
    monkeypatch.undo()
    again = await run_launch(emulator.url, batch(count=2), tmp_path)  # resumed: re-attached
    assert again.all_succeeded, again.rows
    assert len((await fetch_stats(emulator.url))["jobs"]) == 2


def test_a_bad_region_or_endpoint_url_is_an_exit_2_refusal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "batch.yaml"
    path.write_text(yaml.safe_dump(batch()))
    args = ["launch", str(path), "--dry-run", "--output", str(tmp_path / "out")]
    code = main([*args, "--region", "useast1", "--endpoint-url", "htp:/sagemaker"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--region: must be an AWS region name like us-east-1, got 'useast1'" in err
    assert "--endpoint-url: must be an http:// or https:// URL with a host name" in err
    assert not (tmp_path / "out").exists()


def test_reports_on_a_full_disk_exit_1_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(*args: Any, **kw: Any) -> Any:
        raise DISK_FULL

    monkeypatch.setattr(launch_module, "write_reports", disk_full)
    path = tmp_path / "batch.yaml"
    path.write_text(yaml.safe_dump(batch(count=1)))
    with BackgroundEmulator(EmulatorConfig(stop_duration=0.2, late_event_delay=0.2)) as url:
        out = ["--output", str(tmp_path / "out"), "--no-job-logs"]
        code = main(["launch", str(path), "--endpoint-url", url, *out])
    err = capsys.readouterr().err
    assert code == 1
    lines = [line for line in err.splitlines() if line.startswith("smrun launch:")]
    assert lines == [
        f"smrun launch: reports not written to {tmp_path / 'out'}: "
        "OSError: [Errno 28] No space left on device"
    ]
    assert "Traceback" not in err
    assert set(states(tmp_path / "out" / "journal.sqlite").values()) == {"succeeded"}


def test_a_journal_that_cannot_be_written_at_the_start_sends_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(journal: Journal, *args: Any, **kw: Any) -> Any:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Journal, "set_meta", full)
    path = tmp_path / "batch.yaml"
    path.write_text(yaml.safe_dump(batch(count=1)))
    with BackgroundEmulator(EmulatorConfig()) as url:
        out = ["--output", str(tmp_path / "out"), "--no-job-logs"]
        code = main(["launch", str(path), "--endpoint-url", url, *out])
        stats = asyncio.run(fetch_stats(url))
    err = capsys.readouterr().err
    assert code == 2 and not stats["jobs"]
    assert err.splitlines() == [
        f"smrun launch: journal {tmp_path / 'out' / 'journal.sqlite'}: cannot be written "
        "(OperationalError: database or disk is full); nothing was submitted"
    ]


# --- the command as a user runs it: /dev/full, a closed pipe, SIGTERM -------------------------


def write_batch(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "batch.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


async def start(
    url: str, path: Path, out: Path, *, stdout: Any, stderr: Any
) -> asyncio.subprocess.Process:
    # --no-job-logs: the outputs under test are stdout and stderr
    args = launch_args(url, path, out, "--no-job-logs")
    return await start_smrun(*args, stdout=stdout, stderr=stderr)


@contextlib.contextmanager
def full_disk() -> Iterator[int]:
    """A file descriptor on ``/dev/full``: every write fails with ENOSPC."""
    descriptor = os.open("/dev/full", os.O_WRONLY)
    try:
        yield descriptor
    finally:
        os.close(descriptor)


async def until(condition: Any, within: float = 20.0) -> None:
    """Poll another process's journal (there is nothing to await)."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


def journaled(path: Path, *wanted: str) -> bool:
    try:
        found = states(path)
    except sqlite3.Error:
        return False  # not created yet
    return bool(found) and set(found.values()) <= set(wanted)


async def test_stdout_and_stderr_on_a_full_disk_run_the_batch_and_the_journal_says_so(
    emulator: Any, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with full_disk() as full:
        process = await start(
            emulator.url, write_batch(tmp_path, batch()), out, stdout=full, stderr=full
        )
        assert await asyncio.wait_for(process.wait(), 30) == 1  # not 0: the output was lost
    assert set(states(out / "journal.sqlite").values()) == {"succeeded"}
    lost = meta(out / "journal.sqlite", OUTPUT_LOST)
    assert sorted(line.split(" failed")[0] for line in lost) == [
        "output to stderr",
        "output to stdout",
    ]
    assert all("(No space left on device)" in line for line in lost)
    assert len((await fetch_stats(emulator.url))["jobs"]) == 3


async def test_a_sigterm_stops_the_jobs_with_stdout_on_a_full_disk(
    emulator: Any, tmp_path: Path
) -> None:
    out, err = tmp_path / "out", tmp_path / "stderr.txt"
    with full_disk() as full, err.open("w") as errors:
        process = await start(
            emulator.url, write_batch(tmp_path, batch(seconds=60)), out, stdout=full, stderr=errors
        )
        await until(lambda: journaled(out / "journal.sqlite", "running"))
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 143
    assert set(states(out / "journal.sqlite").values()) == {"stopped"}
    stats = await fetch_stats(emulator.url)
    assert {job["status"] for job in stats["jobs"]} == {"Stopped"}
    text = err.read_text()
    assert text.count("smrun: output to stdout failed (No space left on device)") == 1
    assert "Traceback" not in text


# The reader leaves mid-run: after the paths line alone (stdout holds nothing more until the
# end screen), or after the paths and the first event.
@pytest.mark.parametrize("stderr_too", [False, True], ids=["| head -1", "2>&1 | head -2"])
async def test_a_closed_pipe_drops_the_output_and_the_batch_runs_to_its_end(
    emulator: Any, tmp_path: Path, stderr_too: bool
) -> None:
    out, err = tmp_path / "out", tmp_path / "stderr.txt"
    with err.open("w") as errors:
        process = await start(
            emulator.url,
            write_batch(tmp_path, batch()),
            out,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT if stderr_too else errors,
        )
        assert process.stdout is not None
        for _ in range(2 if stderr_too else 1):  # `head -N` reads N lines, then leaves
            await asyncio.wait_for(process.stdout.readline(), 30)
        transport: Any = process._transport  # type: ignore[attr-defined]
        transport.get_pipe_transport(1).close()
        assert await asyncio.wait_for(process.wait(), 30) == 1
    assert set(states(out / "journal.sqlite").values()) == {"succeeded"}
    text = err.read_text()
    assert "Traceback" not in text and "Exception ignored" not in text
    if stderr_too:  # nobody left to tell: the journal says it
        lost = meta(out / "journal.sqlite", OUTPUT_LOST)
        assert len(lost) == 2 and all("(Broken pipe)" in line for line in lost)
    else:
        assert text.count("smrun: output to stdout failed (Broken pipe)") == 1
        assert meta(out / "journal.sqlite", OUTPUT_LOST) == []


# --- signals act before they log ---------------------------------------------------------------


class FakeRunner:
    """What StopOnSignal asks of a runner."""

    def __init__(self) -> None:
        self.in_flight: list[str] = []
        self.shutdowns: list[str] = []

    async def shutdown(self, *, grace: float | None = None, reason: str = "") -> None:
        self.shutdowns.append(reason)


async def test_a_signal_starts_the_shutdown_even_when_logging_raises() -> None:
    broken = FailsFrom("")  # unguarded, every log call raises: the worst a log can do
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=broken))
    runner = FakeRunner()
    with StopOnSignal(runner, signals=(signal.SIGUSR1,)) as signals:  # type: ignore[arg-type]
        os.kill(os.getpid(), signal.SIGUSR1)
        await until(lambda: signals.shutdown_task is not None, within=5)
        await signals.wait_for_shutdown()
    assert broken.failing and runner.shutdowns == ["SIGUSR1"]


async def test_a_second_signal_cancels_the_wait_even_when_its_callback_fails() -> None:
    def again(received: signal.Signals) -> None:
        raise DISK_FULL  # as a console.print on /dev/full did

    async def waiting() -> None:
        with TwoStageSignals(lambda received: None, again, (signal.SIGUSR1,)):
            os.kill(os.getpid(), signal.SIGUSR1)
            os.kill(os.getpid(), signal.SIGUSR1)
            await asyncio.sleep(30)

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(asyncio.create_task(waiting()), 10)
