"""What a running batch looks like: a tally of its entries, and two ways to show it.

``Tally`` is the launcher's in-memory count of entries by journal state (updated only after the
journal has the change), with the batch's pace and its latest failures. ``LiveView`` draws it
with rich on a terminal: counts by state, throughput, ETA, quotas paused by backpressure, the
latest failures. ``LineView`` is for logs and CI: a ``launch.progress`` event every few seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from runner.launcher.journal import SETTLED, STATES

log = structlog.get_logger("runner.launcher")

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
    paused: list[str] = field(default_factory=list)

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
            **({"paused_quotas": self.paused} if self.paused else {}),
            **({"refusals": self.refusals} if self.refusals else {}),
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


def render(tally: Tally) -> RenderableType:
    """The live view's picture of ``tally``."""
    header = Text.assemble(
        ("batch ", "bold"),
        (tally.batch_id, "bold cyan"),
        f"   {tally.finished}/{tally.total} done"
        f"   {tally.per_minute():.1f}/min"
        f"   ETA {_duration(tally.eta())}"
        f"   elapsed {_duration(time.monotonic() - tally.started)}",
    )
    counts = Table.grid(padding=(0, 3))
    for _ in STATES:
        counts.add_column(justify="right")
    counts.add_row(*(Text(state, style=STATE_STYLES[state]) for state in STATES))
    counts.add_row(*(Text(str(tally.counts[state]), style="bold") for state in STATES))
    parts: list[RenderableType] = [header, counts]
    if tally.waiting or tally.paused or tally.blocked:
        note = f"{tally.waiting} waiting for room"
        if tally.blocked:
            note += f", {tally.blocked} waiting for the entries they come after"
        if tally.paused:
            note += f"; quota full (ResourceLimitExceeded), paused: {', '.join(tally.paused)}"
        parts.append(Text(note, style="yellow"))
    if tally.failures:
        failures = Table(title="latest failures", title_justify="left", expand=False)
        for column in ("entry", "status", "reason"):
            failures.add_column(column, overflow="fold")
        for failure in reversed(tally.failures):
            failures.add_row(failure.entry_id, failure.status, failure.reason[:100])
        parts.append(failures)
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
            render(tally),
            console=self.console,
            refresh_per_second=self.refresh_per_second,
            transient=False,
            redirect_stdout=True,
        ) as live:
            try:
                while True:
                    await asyncio.sleep(1.0 / self.refresh_per_second)
                    live.update(render(tally))
            finally:
                live.update(render(tally))


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
