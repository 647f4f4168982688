"""What a running batch looks like: a tally of its entries, and two ways to show it.

``Tally`` is the launcher's in-memory count of entries by journal state (updated only after the
journal has the change), with the batch's pace, the jobs running now (secondary status,
instances, elapsed time), billable seconds so far, paused quotas and the latest failures.
``LiveView`` draws it with rich on a terminal (``render``): a progress bar, a table of running
jobs, paused quotas with how much of them the batch holds, the latest failures, and the output
and journal paths from the first frame. ``LineView`` is for logs and CI: a ``launch.progress``
event every few seconds. ``end_screen`` is the compact picture printed when the batch ends.

Every line is cut to the console's width rather than wrapped (``no_wrap``/ellipsis): the
picture keeps its shape at 80 columns as at 200.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from smrun.launcher.journal import SETTLED, STATES, Row

log = structlog.get_logger("smrun.launcher")

STATE_STYLES = {
    "pending": "dim",
    "submitted": "cyan",
    "running": "blue",
    "succeeded": "green",
    "failed": "red",
    "stopped": "yellow",
    "error": "magenta",
}
PACE_WINDOW = 120.0  # seconds of recent completions the throughput is measured over
RUNNING_ROWS = 8  # running jobs shown in the live view; the rest are counted
END_FAILURES = 10  # failures listed on the end screen; report.csv has every one


@dataclass(frozen=True)
class RunningJob:
    """One job in flight, as the live view shows it."""

    entry_id: str
    job_name: str
    kind: str
    instances: str  # "2 x ml.m5.xlarge"
    status: str | None
    secondary: str | None
    created_at: float  # epoch seconds


@dataclass(frozen=True)
class Pause:
    """A quota paused by ResourceLimitExceeded, and how much of it the batch holds."""

    key: str
    in_use: int
    limit: int | None


@dataclass(frozen=True)
class Failure:
    entry_id: str
    job_name: str
    status: str
    reason: str


@dataclass
class Tally:
    """Entries by state, as the journal has them; the pace of this run; the latest failures."""

    batch_id: str
    counts: dict[str, int]
    started: float = field(default_factory=time.monotonic)
    ended_times: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))
    failures: deque[Failure] = field(default_factory=lambda: deque(maxlen=5))
    refusals: int = 0  # ResourceLimitExceeded answers taken as backpressure
    waiting: int = 0  # entries waiting for room (concurrency, limits, paused quotas)
    blocked: int = 0  # entries waiting for those they come after
    paused: list[Pause] = field(default_factory=list)
    running: list[RunningJob] = field(default_factory=list)
    billable_s: int = 0  # BillableTimeInSeconds of the jobs this run saw end (from Describe)
    clock: Callable[[], float] = time.time  # wall clock, for the running jobs' elapsed time

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def finished(self) -> int:
        return sum(self.counts[s] for s in SETTLED)

    def move(self, before: str, after: str) -> None:
        if before != after:
            self.counts[before] -= 1
            self.counts[after] += 1
        if after in SETTLED and before != after:
            self.ended_times.append(time.monotonic())

    def failed(self, failure: Failure) -> None:
        self.failures.append(failure)

    def per_minute(self) -> float:
        """Entries finished per minute, over the last ``PACE_WINDOW`` seconds of this run."""
        now = time.monotonic()
        span = min(now - self.started, PACE_WINDOW)
        if span <= 0:
            return 0.0
        recent = sum(1 for t in self.ended_times if t >= now - span)
        return recent * 60.0 / span

    def eta(self) -> float | None:
        """Seconds until every entry has finished, at the current pace; None before any."""
        pace = self.per_minute()
        left = self.total - self.finished
        if left == 0:
            return 0.0
        return left * 60.0 / pace if pace > 0 else None

    def snapshot(self) -> dict[str, Any]:
        eta = self.eta()
        return {
            "batch": self.batch_id,
            "total": self.total,
            **{state: self.counts[state] for state in STATES},
            "waiting": self.waiting,
            **({"blocked": self.blocked} if self.blocked else {}),
            "per_minute": round(self.per_minute(), 1),
            "eta_s": None if eta is None else round(eta),
            "elapsed_s": round(time.monotonic() - self.started, 1),
            **({"paused_quotas": [p.key for p in self.paused]} if self.paused else {}),
            **({"refusals": self.refusals} if self.refusals else {}),
            **({"billable_s": self.billable_s} if self.billable_s else {}),
        }


class ProgressView(Protocol):
    """Shows a tally while the batch runs; ``run`` returns when cancelled."""

    async def run(self, tally: Tally) -> None: ...


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _cut(text: str | Text, style: str = "") -> Text:
    """One line, cut (never wrapped) to the width it gets."""
    line = text if isinstance(text, Text) else Text(text, style=style)
    line.no_wrap = True
    line.overflow = "ellipsis"
    return line


def _header(tally: Tally) -> RenderableType:
    eta = tally.eta()
    if tally.finished == tally.total:
        eta_text = "all ended, reading the last log lines"
    elif eta is None:
        eta_text = "ETA after the first job ends"
    else:
        eta_text = f"ETA {_duration(eta)}"
    head = Text.assemble(
        ("batch ", "bold"),
        (tally.batch_id, "bold cyan"),
        f"  {tally.finished}/{tally.total} done  {tally.per_minute():.1f}/min  {eta_text}"
        f"  elapsed {_duration(time.monotonic() - tally.started)}",
    )
    bar = Table.grid(padding=(0, 1))
    bar.add_column(ratio=1)
    bar.add_column(no_wrap=True)
    share = tally.finished / tally.total if tally.total else 0.0
    bar.add_row(
        ProgressBar(total=max(tally.total, 1), completed=tally.finished),
        f"{share:4.0%}",
    )
    counts = Text()
    for state in STATES:
        if tally.counts.get(state):
            counts.append(f"{tally.counts[state]} {state}", style=STATE_STYLES[state])
            counts.append("  ")
    return Group(_cut(head), bar, _cut(counts))


# Widths of the running-jobs columns other than the entry's, which takes what is left.
_RUNNING_WIDTHS = {"kind": 10, "instances": 17, "status": 11, "elapsed": 7}


class _RunningJobs:
    """The running jobs as a table whose entry column gives way first, at any width."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        tally = self.tally
        now = tally.clock()
        table = Table(
            title=f"running ({len(tally.running)})",
            title_justify="left",
            box=None,
            padding=(0, 1),
        )
        others = sum(_RUNNING_WIDTHS.values()) + 2 * (len(_RUNNING_WIDTHS) + 1)
        table.add_column(
            "entry", no_wrap=True, overflow="ellipsis", max_width=max(options.max_width - others, 8)
        )
        for name, width in _RUNNING_WIDTHS.items():
            table.add_column(
                name,
                no_wrap=True,
                overflow="ellipsis",
                max_width=width,
                justify="right" if name == "elapsed" else "left",
            )
        oldest_first = sorted(tally.running, key=lambda job: job.created_at)
        for job in oldest_first[:RUNNING_ROWS]:
            table.add_row(
                job.entry_id,
                job.kind,
                job.instances,
                job.secondary or job.status or "submitting",
                _duration(max(now - job.created_at, 0.0)),
            )
        if len(oldest_first) > RUNNING_ROWS:
            table.caption = f"... and {len(oldest_first) - RUNNING_ROWS} more"
            table.caption_justify = "left"
        yield table


def _notes(tally: Tally) -> list[RenderableType]:
    notes: list[RenderableType] = []
    if tally.billable_s:
        notes.append(_cut(f"billable so far: {tally.billable_s:,} s (jobs ended in this run)"))
    waits = []
    if tally.waiting:
        waits.append(f"{tally.waiting} for room")
    if tally.blocked:
        waits.append(f"{tally.blocked} for the entries they come after")
    if waits:
        notes.append(_cut("waiting: " + ", ".join(waits)))
    for pause in tally.paused:
        of = f" of {pause.limit}" if pause.limit is not None else ""
        notes.append(
            _cut(
                f"paused (ResourceLimitExceeded): {pause.key}, {pause.in_use}{of} in use",
                style="yellow",
            )
        )
    return notes


def _failures(tally: Tally) -> RenderableType:
    """The latest failures, a line each: entry, status, reason (cut to the width)."""
    lines: list[RenderableType] = [Text("latest failures", style="bold")]
    for failure in reversed(tally.failures):
        lines.append(
            _cut(
                Text.assemble(
                    " ", (failure.entry_id, "bold"), f"  {failure.status}: ", failure.reason
                )
            )
        )
    return Group(*lines)


def render(tally: Tally, paths: str = "") -> RenderableType:
    """The live view's picture of ``tally``."""
    parts: list[RenderableType] = [_header(tally)]
    if tally.running:
        parts.append(_RunningJobs(tally))
    parts.extend(_notes(tally))
    if tally.failures:
        parts.append(_failures(tally))
    parts.extend(_cut(line, style="dim") for line in paths.splitlines())
    return Group(*parts)


def end_screen(
    batch_id: str,
    rows: Sequence[Row],
    *,
    wall_s: float,
    billable_s: int = 0,
    log_path: Callable[[str], str] | None = None,
    report: str | None = None,
) -> RenderableType:
    """The compact picture of a batch that ended: counts, wall time, what did not succeed
    (with reasons and log files), and where the full table is."""
    counts = dict.fromkeys(STATES, 0)
    for row in rows:
        counts[row.state] += 1
    line = Text.assemble(("batch ", "bold"), (batch_id, "bold cyan"), f"  {len(rows)} jobs:  ")
    for state in STATES:
        if counts[state]:
            line.append(f"{counts[state]} {state}", style=STATE_STYLES[state])
            line.append("  ")
    parts: list[RenderableType] = [_cut(line)]
    took = f"wall time {_duration(wall_s)}"
    if billable_s:
        took += f"; billable {billable_s:,} s (jobs ended in this run)"
    parts.append(_cut(took))
    failed = [row for row in rows if row.state not in ("succeeded", "pending")]
    for row in failed[:END_FAILURES]:
        reason = row.failure_reason or row.status or row.state
        parts.append(
            _cut(
                Text.assemble(
                    (f"{row.state:<9} ", STATE_STYLES[row.state]), (row.id, "bold"), f"  {reason}"
                )
            )
        )
        if log_path is not None and row.attempts:
            parts.append(_cut(f"          log: {log_path(row.job_name)}", style="dim"))
    if len(failed) > END_FAILURES:
        parts.append(_cut(f"... and {len(failed) - END_FAILURES} more that did not succeed"))
    if report:
        parts.append(_cut(f"full table: {report}"))
    return Group(*parts)


class LiveView:
    """A rich live display on a terminal, redrawn a few times a second."""

    def __init__(
        self, console: Console, refresh_per_second: float = 4.0, *, paths: str = ""
    ) -> None:
        self.console = console
        self.refresh_per_second = refresh_per_second
        self.paths = paths  # where the output and the journal are, shown from the start

    async def run(self, tally: Tally) -> None:
        with Live(
            render(tally, self.paths),
            console=self.console,
            refresh_per_second=self.refresh_per_second,
            transient=False,
            redirect_stdout=True,
        ) as live:
            try:
                while True:
                    await asyncio.sleep(1.0 / self.refresh_per_second)
                    live.update(render(tally, self.paths))
            finally:
                live.update(render(tally, self.paths))


class LineView:
    """A ``launch.progress`` event every ``interval`` seconds, and when the batch ends."""

    def __init__(self, interval: float = 10.0) -> None:
        self.interval = interval

    async def run(self, tally: Tally) -> None:
        try:
            while True:
                await asyncio.sleep(self.interval)
                log.info("launch.progress", **tally.snapshot())
        finally:
            log.info("launch.progress", **tally.snapshot())
