"""What a strategy process measures about itself: CPU, peak memory, and scheduling lag.

CPU and memory come from ``getrusage`` (every thread of the process, so the thread-per-job
baseline is measured whole). CPU is also sampled twice a second on a thread of its own, so
that the harness can take the steady-state share (jobs running, nothing being submitted or
ending) out of the whole run. Lag is how late a 100 ms sleep wakes up: on the event loop for
the asyncio strategies (a loop blocked by work shows here first), on a thread for the
thread-per-job baseline (waiting for the GIL among its threads).
"""

from __future__ import annotations

import asyncio
import resource
import threading
import time
from pathlib import Path

LAG_PERIOD = 0.1
CPU_PERIOD = 0.5


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """This process's peak resident set (``VmHWM``). Not ``getrusage``'s ``ru_maxrss``: Linux
    keeps that across ``execve``, so a strategy started by a larger harness would report the
    harness's size (proc(5): VmHWM is the address space's own, new at exec)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024  # kB


class CpuSampler:
    """(wall time, process CPU seconds) every ``CPU_PERIOD``, until stopped."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), cpu_seconds()))
            self._stop.wait(CPU_PERIOD)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.samples.append((time.time(), cpu_seconds()))


class LoopLag:
    """Oversleep of a 100 ms ``asyncio.sleep``, in milliseconds, as (wall time, lag) pairs."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="loop-lag")

    async def _run(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(LAG_PERIOD)
            late = time.monotonic() - before - LAG_PERIOD
            self.samples.append((time.time(), max(late, 0.0) * 1000))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class ThreadLag:
    """Oversleep of a 100 ms ``time.sleep`` on a thread, in milliseconds."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="thread-lag", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            before = time.monotonic()
            time.sleep(LAG_PERIOD)
            late = time.monotonic() - before - LAG_PERIOD
            self.samples.append((time.time(), max(late, 0.0) * 1000))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
