"""Runs the phases: for each size and strategy, a fresh emulator process and a strategy process.

Strategies run one after another, never at once: on a small machine two runs would share the
cores, and each one's CPU, lag and latency would be the other's too. Every run of one
invocation uses the same quotas, the same jobs (seeded) and the same pace of submission.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.load.bystander import Bystander
from benchmarks.load.emulator import EmulatorProcess
from benchmarks.load.metrics import paced_figures, run_figures, sigterm_figures
from benchmarks.load.spec import READY, RunResult, RunSpec
from benchmarks.load.workload import STRATEGIES, Profile, paced_window_from, plan_jobs
from benchmarks.server_process import REPO

SLACK_S = 120.0  # beyond a strategy's own deadline before the harness kills it


class StrategyProcess:
    """``python -m benchmarks.load.strategy SPEC`` with its stderr in a file."""

    def __init__(self, spec_path: Path, log: Path) -> None:
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.load.strategy", str(spec_path)],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            cwd=REPO,
        )
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.strip() == READY:
                self.ready.set()

    def wait(self, timeout: float) -> tuple[int | None, bool]:
        """(exit code, killed)."""
        try:
            code = self.process.wait(timeout=max(timeout, 0.1))
            killed = False
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
            killed = True
        self._log.close()
        return code, killed


def run_one(
    profile: Profile,
    *,
    strategy: str,
    size: int,
    phase: str,
    workdir: Path,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """One strategy at one size, in one phase: its figures."""
    workdir.mkdir(parents=True, exist_ok=True)
    spec = _spec(profile, strategy=strategy, size=size, phase=phase, workdir=workdir)
    emulator = EmulatorProcess(
        create_rate=profile.create_rate,
        describe_rate=profile.describe_rate,
        stop_duration=profile.stop_duration,
        log=workdir / "emulator.log",
        account=account_flags(profile),
    )
    started = time.time()
    try:
        spec.url = emulator.url
        spec_path = workdir / "spec.json"
        spec.dump(spec_path)
        bystander = Bystander(emulator.url, profile.bystander_interval)
        if profile.bystander_interval:
            bystander.start()
        try:
            code, killed, signalled_at = _drive(profile, spec, spec_path, workdir)
        finally:
            bystander.stop()
        result_path = Path(spec.result_path)
        result = RunResult.load(result_path) if result_path.exists() else None
        stats = emulator.stats()
        stops = emulator.stops()
        lists = emulator.lists()
        emulator_cpu = emulator.cpu_seconds()
    finally:
        emulator.stop()
    if phase == "paced":
        figures = paced_figures(spec, result, stats=stats, lists=lists)
    elif phase == "sigterm":
        figures = sigterm_figures(
            spec,
            result,
            stats,
            stops,
            lists,
            signalled_at=signalled_at,
            exit_code=code,
            killed=killed,
        )
    else:
        figures = run_figures(
            profile, spec, result, stats=stats, lists=lists, emulator_cpu_s=emulator_cpu
        )
        if code != 0:
            figures["exit_code"] = code
    figures.update(strategy=strategy, size=size, phase=phase)
    say(
        f"  {phase:7} {strategy:8} N={size:<6} {time.time() - started:6.1f} s  "
        + _headline(figures)
    )
    return figures


def _spec(profile: Profile, *, strategy: str, size: int, phase: str, workdir: Path) -> RunSpec:
    """The run's spec (its URL is filled in once the emulator is up)."""
    ramp = profile.ramp(size)
    finals = size / (0.9 * profile.describe_rate)  # ours' final Describes, at its budget
    deadlines = {
        "run": ramp
        + profile.duration_max
        + max(finals, 30.0)
        + 12 * profile.interval
        + 3 * profile.history_sweep(size),
        "paced": profile.paced_window,  # from window_from, or the last submission if later
    }
    jobs = plan_jobs(profile, size, long_running=phase == "sigterm", paced=phase == "paced")
    return RunSpec(
        strategy=strategy,
        url="",
        phase=phase,
        interval=profile.interval,
        jobs=jobs,
        deadline=deadlines.get(phase, 24 * 3600.0),
        drain_limit=profile.drain_limit,
        create_rate=profile.create_rate,
        describe_rate=profile.describe_rate,
        workdir=str(workdir),
        result_path=str(workdir / "result.json"),
        window_from=paced_window_from(profile, jobs) if phase == "paced" else 0.0,
    )


def _drive(
    profile: Profile, spec: RunSpec, spec_path: Path, workdir: Path
) -> tuple[int | None, bool, float]:
    """The strategy's process, to its end: (exit code, killed, when it was signalled)."""
    process = StrategyProcess(spec_path, workdir / "strategy.log")
    if spec.phase != "sigterm":
        # A paced deadline counts from the last submission (plus one interval), not from t0;
        # on a loaded machine the submission takes longer than its planned ramp.
        ramp = profile.ramp(len(spec.jobs))
        before = max(2 * ramp, spec.window_from) + profile.interval if spec.phase == "paced" else 0
        limit = before + spec.deadline + profile.drain_limit + SLACK_S
        code, killed = process.wait(timeout=limit)
        return code, killed, 0.0
    # Generous: on a loaded machine, 2,000 clients (trigger) take minutes to build.
    if not process.ready.wait(timeout=profile.ramp(len(spec.jobs)) + 600):
        process.process.kill()
        raise RuntimeError(f"{spec.strategy} never finished submitting: see {workdir}")
    time.sleep(profile.sigterm_settle)
    signalled_at = time.time()
    process.process.send_signal(signal.SIGTERM)
    code, killed = process.wait(timeout=profile.grace)
    return code, killed, signalled_at


def account_flags(profile: Profile) -> tuple[str, ...]:
    """The emulator's ``--history``/paging/event delivery flags for ``profile``'s account."""
    flags = ["--history", str(profile.history), "--list-paging", profile.list_paging]
    flags += ["--event-delay", str(profile.event_delay)]
    if profile.creation_time_bounds_scan:
        flags.append("--creation-time-bounds-scan")
    return tuple(flags)


def _headline(figures: dict[str, Any]) -> str:
    if figures["phase"] == "paced":
        return (
            f"cpu {figures.get('cpu_percent_paced')}% of a core over "
            f"{figures.get('paced_window_s')} s, rss {figures.get('peak_rss_mb')} MB, "
            f"{figures.get('changes_per_s')} status changes/s, "
            f"{figures.get('log_lines_per_s')} log lines/s; bystander throttled "
            f"{figures['bystander_throttled']}/{figures['bystander_calls']}"
        )
    if figures["phase"] == "sigterm":
        return (
            f"every Stop received {figures['to_every_stop_request_s']} s after SIGTERM "
            f"({figures['jobs_stop_requested']}/{figures['in_flight_at_signal']} jobs), "
            f"{figures['jobs_stop_accepted']} accepted, last at {figures['to_last_stop_accepted_s']} s; "
            f"bystander throttled {figures['bystander_throttled']}/{figures['bystander_calls']}"
        )
    sweeps = ", ".join(
        f"{operation} {entry['sweeps']} sweeps of {entry['pages_per_sweep_mean']} pages "
        f"(p50 {entry['sweep_s_p50']} s)"
        for operation, entry in figures.get("sweeps", {}).items()
    )
    return (
        (f"{sweeps}; " if sweeps else "")
        + f"detected {figures['detected']}/{figures['ended']}, p99 {figures['latency_p99_s']} s, "
        f"status/job-min {figures['status_calls_per_job_minute']}, "
        f"status/job {figures['status_calls_per_job']}, "
        f"throttled {figures['throttled']}, "
        f"bystander throttled {figures['bystander_throttled']}/{figures['bystander_calls']}, "
        f"cpu {figures.get('cpu_s')} s, rss {figures.get('peak_rss_mb')} MB"
    )


def run_all(
    profile: Profile,
    strategies: tuple[str, ...] = STRATEGIES,
    say: Callable[[str], None] = print,
    keep: Path | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Every phase of ``profile``; the results document (without its report-level fields).

    A run that fails is recorded under ``failed`` and the others go on; ``progress`` gets the
    document so far after every run (so a long invocation never loses what it measured).
    Runs go one after another, except with ``profile.concurrent`` (the smoke run, whose
    figures are checked for presence, not read as measurements).
    """
    phases, skipped = plan_phases(profile, strategies)
    figures: dict[str, list[dict[str, Any]]] = {"run": [], "sigterm": [], "paced": []}
    failed: list[dict[str, Any]] = []
    started = time.time()
    lock = threading.Lock()

    def document() -> dict[str, Any]:
        order = {(phase, strategy, size): i for i, (phase, strategy, size) in enumerate(phases)}

        def ordered(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return sorted(runs, key=lambda r: order[(r["phase"], r["strategy"], r["size"])])

        return {
            "profile": profile.as_dict(),
            "machine": _machine(),
            "wall_s": round(time.time() - started, 1),
            "runs": ordered(figures["run"]),
            "sigterm": ordered(figures["sigterm"]),
            "paced": ordered(figures["paced"]),
            "skipped": skipped,
            "failed": failed,
        }

    with tempfile.TemporaryDirectory(prefix="smrun-load-") as temporary:
        root = keep or Path(temporary)

        def attempt(phase: str, strategy: str, size: int) -> None:
            run = {"strategy": strategy, "size": size, "phase": phase}
            try:
                workdir = root / f"{phase}-{strategy}-{size}"
                outcome = run_one(profile, say=say, workdir=workdir, **run)  # type: ignore[arg-type]
            except Exception as error:  # one broken run must not lose the others
                say(f"  {phase:7} {strategy:8} N={size:<6} FAILED: {error}")
                with lock:
                    failed.append(run | {"error": str(error)})
            else:
                with lock:
                    figures[phase].append(outcome)
            if progress is not None:
                with lock:
                    progress(document())

        if profile.concurrent:
            with ThreadPoolExecutor(max_workers=max(len(phases), 1)) as pool:
                list(pool.map(lambda planned: attempt(*planned), phases))
        else:
            for planned in phases:
                attempt(*planned)
    return document()


def plan_phases(
    profile: Profile, strategies: tuple[str, ...]
) -> tuple[list[tuple[str, str, int]], list[dict[str, Any]]]:
    """The (phase, strategy, size) runs of ``profile``, in order, and those not run (why)."""
    planned = [("run", strategy, size) for size in profile.sizes for strategy in strategies]
    if profile.sigterm_size:
        planned += [
            ("sigterm", strategy, profile.sigterm_size)
            for strategy in strategies
            if strategy in profile.sigterm_strategies
        ]
    if profile.paced_size:
        planned += [
            ("paced", strategy, profile.paced_size)
            for strategy in strategies
            if strategy in profile.paced_strategies
        ]
    phases, skipped = [], []
    for phase, strategy, size in planned:
        reason = _not_run(profile, strategy, size)
        if reason is None:
            phases.append((phase, strategy, size))
        else:
            skipped.append({"strategy": strategy, "size": size, "phase": phase, "reason": reason})
    return phases, skipped


def _not_run(profile: Profile, strategy: str, size: int) -> str | None:
    """Why ``strategy`` is not run at ``size``, or None."""
    if not profile.cap(strategy, size):
        return f"capped at N={profile.caps[strategy]}"
    return None


def _machine() -> dict[str, Any]:
    import platform

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
