"""Strategy 1, ours: the runner core as the batch launcher uses it.

One ``Runner`` with the default ``RunnerConfig`` (delta sweeps every 5 s from 4 jobs of a kind
in flight, the default retry policy and per-operation budgets), every job submitted with an
``Identity`` and ``known_new`` as the launcher submits an entry its journal shows never sent
(no lookup before Create; a name conflict would still be re-attached to), and every job's logs
followed by one ``LogTailer`` in batched mode into a ``FileSink``. SIGTERM goes through
``smrun.signals.StopOnSignal``, as in every entry point. ``ours-events`` is the same with the
change feed (``events``). In the paced phase the jobs are left running at the deadline, as a
process that stops following them leaves them.

Two budgets differ from the defaults, for the reason the emulator's quotas do (``emulator``):
Create* and Describe* are raised to 90% of the benchmark emulator's quota, because time
compression makes each job's fixed calls (its lookup, its Create, its final Describe) arrive
30x faster than on AWS. In the paced phase, at AWS's pace, Describe* keeps its default (the
Create budget stays raised for the submission ramp, which ends before the window). Everything that follows running jobs (List sweeps, Logs calls) runs
on the default budgets.

Figures taken here: the wall time each job's ``Outcome`` resolved (detection), and the time a
sweep or poll first saw its end status (``job.status_changed`` to an end status), which tells
the sweep's share of the latency from the final Describe's.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections import Counter
from collections.abc import MutableMapping, Sequence
from pathlib import Path
from typing import Any

import structlog

from benchmarks.load import events
from benchmarks.load.probes import CpuSampler, LoopLag, cpu_seconds, peak_rss_mb
from benchmarks.load.spec import READY, RunResult, RunSpec
from benchmarks.load.workload import TERMINAL, JobSpec, request
from runner.config import (
    DEFAULT_RATES,
    AwsTarget,
    LogPolicy,
    PollPolicy,
    Rate,
    RateLimits,
    RunnerConfig,
)
from runner.core import Runner
from runner.errors import AwsCallFailed
from runner.joblogs import LogTailer
from runner.joblogs.merge import LogLine
from runner.joblogs.sinks import FileSink
from runner.naming import Identity
from runner.retry import is_throttling
from runner.telemetry import configure_logging
from runner.tracker import JobHandle
from smrun.signals import StopOnSignal

BATCH = "load-benchmark"
DEFAULT_SWEEP = PollPolicy().sweep_interval
SUBMITTING = 200  # submissions in flight at once (each waits for its budgets' tokens)
CHANGES = frozenset({"job.status_changed", "job.secondary_status"})  # the runner's own events


def runner_config(spec: RunSpec) -> RunnerConfig:
    """The defaults, with the two compressed budgets; at another interval than the default
    sweep (the test suite's smoke run), every pace scaled with it."""
    rates = dict(DEFAULT_RATES)
    rates["Create*"] = Rate(0.9 * spec.create_rate, max(int(0.9 * spec.create_rate), 1))
    if spec.phase != "paced":  # at AWS's pace nothing is compressed: the default budget
        rates["Describe*"] = Rate(0.9 * spec.describe_rate, max(int(0.9 * spec.describe_rate), 1))
    config = RunnerConfig(
        aws=AwsTarget.local(spec.url),
        limits=RateLimits(rates=rates),
        logs=LogPolicy(batched=True, drain_limit=spec.drain_limit),
    )
    if spec.interval == DEFAULT_SWEEP:
        return config
    scale = spec.interval / DEFAULT_SWEEP
    poll, logs = config.poll, config.logs
    return dataclasses.replace(
        config,
        poll=dataclasses.replace(
            poll,
            initial=poll.initial * scale,
            maximum=poll.maximum * scale,
            sweep_interval=spec.interval,
            sweep_overlap=poll.sweep_overlap * scale,
        ),
        logs=dataclasses.replace(
            logs,
            min_interval=logs.min_interval * scale,
            max_interval=logs.max_interval * scale,
            merge_hold=logs.merge_hold * scale,
            drain_wait=logs.drain_wait * scale,
        ),
    )


class CountingSink(FileSink):
    """The launcher's sink (a file per job), counting what it is given."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.lines = 0

    def write(self, lines: Sequence[LogLine]) -> None:
        self.lines += len(lines)
        super().write(lines)


def capture_events(result: RunResult) -> None:
    """Note when the runner first saw each job's end status, and when it took the signal,
    from its own structlog events, ahead of the launcher-like JSON rendering."""

    def capture(
        logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        event = event_dict.get("event")
        if event in CHANGES:
            result.changes_at.append(time.time())
        if event == "job.status_changed" and event_dict.get("status") in TERMINAL:
            result.noticed.setdefault(str(event_dict.get("job")), time.time())
        elif event == "runner.signal" and result.signal_at is None:
            result.signal_at = time.time()
        return event_dict

    configure_logging(json=True)  # stderr, which the harness sends to a file
    processors = list(structlog.get_config()["processors"])
    structlog.configure(processors=[capture, *processors])


class Batch:
    """The jobs one ``Runner`` follows: submitted at the spec's pace, each with its outcome
    watched and its logs tailed."""

    def __init__(self, spec: RunSpec, runner: Runner, result: RunResult) -> None:
        self.spec = spec
        self.runner = runner
        self.result = result
        self.tailer = LogTailer(runner.caller)
        self.sink = CountingSink(Path(spec.workdir) / "logs")
        self.handles: list[asyncio.Task[None]] = []
        self.tails: list[asyncio.Task[Any]] = []
        self.statuses: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self._gate = asyncio.Semaphore(SUBMITTING)

    async def submit_all(self) -> None:
        """Every job, each at its offset from t0."""
        self.result.t0 = time.time()
        submissions = []
        for job in self.spec.jobs:
            await asyncio.sleep(max(0.0, self.result.t0 + job.submit_offset - time.time()))
            submissions.append(asyncio.create_task(self._submit(job)))
        await asyncio.gather(*submissions)
        self.result.submit_done_at = time.time()

    async def _submit(self, job: JobSpec) -> None:
        body = request(job, job.duration_at(time.time() - self.result.t0))
        try:
            async with self._gate:
                handle = await self.runner.submit(
                    job.kind, body, identity=Identity(BATCH, job.name), known_new=True
                )
        except Exception as error:  # counted, as the launcher would report it
            code = error.code if isinstance(error, AwsCallFailed) else type(error).__name__
            self.errors[code] += 1
            if is_throttling(error):
                self.result.throttling_surfaced += 1
            return
        self.result.submitted += 1
        self.handles.append(asyncio.create_task(self._watch(handle)))
        self.tails.append(asyncio.create_task(self.tailer.follow(handle, self.sink, request=body)))

    async def _watch(self, handle: JobHandle) -> None:
        outcome = await handle.wait()
        self.result.detected[handle.name] = time.time()
        self.statuses[outcome.status] += 1
        if outcome.status == "Error" and "throttl" in (outcome.failure_reason or "").lower():
            self.result.throttling_surfaced += 1

    async def _paced_window(self) -> None:
        """The paced phase's window: from its planned start (or one interval after the last
        submission, if later) for the deadline's length; its log lines counted."""
        result = self.result
        start = max(
            result.t0 + self.spec.window_from, (result.submit_done_at or 0.0) + self.spec.interval
        )
        await asyncio.sleep(max(start - time.time(), 0.0))
        lines, start = self.sink.lines, time.time()
        await asyncio.sleep(self.spec.deadline)
        result.window = (start, time.time())
        result.window_lines = self.sink.lines - lines
        result.window_peak_rss_mb = peak_rss_mb()

    async def follow(self, signals: StopOnSignal) -> None:
        """Until every job has ended (or the deadline, or the signal's shutdown), then the
        logs' drain; whatever is left is cancelled."""
        paced = self.spec.phase == "paced"  # its window ends before any job does
        if paced:
            await self._paced_window()
        elif self.handles:
            remaining = self.result.t0 + self.spec.deadline - time.time()
            _, pending = await asyncio.wait(self.handles, timeout=max(remaining, 0.1))
            self.result.timed_out = bool(pending) and not signals.received
        if signals.received:
            await signals.wait_for_shutdown()
        if self.tails and not paced:
            await asyncio.wait(self.tails, timeout=self.spec.drain_limit + self.spec.interval)
        for task in [*self.handles, *self.tails]:
            task.cancel()
        await asyncio.gather(*self.handles, *self.tails, return_exceptions=True)
        await self.tailer.close()


async def run(spec: RunSpec) -> RunResult:
    result = RunResult(strategy=spec.strategy, phase=spec.phase)
    capture_events(result)
    sampler, lag = CpuSampler(), LoopLag()
    sampler.start()
    lag.start()
    config = runner_config(spec)
    if spec.strategy == events.STRATEGY:  # the feed's setup runs on a loop of its own
        config = await asyncio.to_thread(events.with_feed, config, spec.url)
    async with Runner(config) as runner:
        batch = Batch(spec, runner, result)
        with StopOnSignal(runner) as signals:
            await batch.submit_all()
            if spec.phase == "sigterm":
                print(READY, flush=True)
            await batch.follow(signals)
    result.finished_at = time.time()
    await lag.stop()
    sampler.stop()
    result.statuses = dict(batch.statuses)
    result.errors = dict(batch.errors)
    result.log_lines = batch.sink.lines
    result.cpu_s = cpu_seconds()
    result.peak_rss_mb = peak_rss_mb()
    result.cpu_samples = sampler.samples
    result.lag_samples = lag.samples
    with contextlib.suppress(Exception):
        structlog.reset_defaults()
    return result
