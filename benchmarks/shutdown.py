"""SIGTERM figures for the launcher (issue 16, points 1 and 2), against the emulator in process.

    python -m benchmarks.shutdown slow-calls     # 60 jobs, every call 0.5 s slow
    python -m benchmarks.shutdown many           # 1,000 jobs in flight, default budgets

``slow-calls``: 60 entries admitted at once, the default Create budget (2/s), every SageMaker
call 0.5 s slow; the interrupt comes 5 s in. Reported: Creates that reached SageMaker after the
interrupt (a job's arrival is its CreationTime less the injected latency), and the time to the
launch's return.

``many``: 1,000 jobs in flight (created with an open Create budget: creating them is not what
is measured), then the interrupt, under the default Describe (10/s) and Stop (10/s) budgets
and the default 25 s shutdown timeout (``--stop-rate`` raises the Stop budget). Reported: the
first and last Stop SageMaker received, the time to the launch's return, and the journal
against SageMaker per job, read with the emulator's clock held at the return (a job journaled
Stopping may become Stopped a moment later: that is SageMaker moving on, not the report lying).

The interrupt is ``Launch.interrupt("SIGTERM")``, what the command's signal handler calls.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.sagemaker_requests import training_request
from emulator.server import EmulatorServer
from emulator.state import Emulator, EmulatorConfig
from runner.config import DEFAULT_SHUTDOWN_TIMEOUT, AwsTarget, Rate, RateLimits, RunnerConfig
from runner.core import Runner
from runner.telemetry import configure_logging
from smrun.launcher.journal import Journal, Row
from smrun.launcher.launch import Launch, LaunchOptions
from smrun.launcher.manifest import parse_manifest
from smrun.launcher.progress import LineView


class HoldableClock:
    """The emulator's clock: the wall clock until ``hold()``, then still."""

    def __init__(self) -> None:
        self.held: float | None = None

    def __call__(self) -> float:
        return time.time() if self.held is None else self.held

    def hold(self) -> None:
        self.held = time.time()


def batch(jobs: int, seconds: float) -> dict[str, Any]:
    tags = [{"Key": "emulator:duration-seconds", "Value": str(seconds)}]
    job = {"name": "fit", "kind": "training", "request": training_request(tags=tags)}
    return {"batch": f"sigterm-{jobs}", "jobs": [{**job, "count": jobs}]}


def reported(row: Row) -> str:
    """What the journal (and so the report) says of a job, in SageMaker's words."""
    if row.state == "stopped":
        return "Stopped"
    if row.state in ("submitted", "running"):
        return "Stopping" if row.status == "Stopping" else "InProgress"
    return row.state


async def set_latency(url: str, seconds: float) -> None:
    settings = {"latency_s": seconds, "services": ["sagemaker"]}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/_emulator/faults", json=settings) as response,
    ):
        response.raise_for_status()


async def stats_of(url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/_emulator/stats") as r:
        r.raise_for_status()
        data: dict[str, Any] = await r.json()
        return data


async def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    slow = args.scenario == "slow-calls"
    jobs = 60 if slow else args.jobs
    latency = 0.5 if slow else 0.0
    clock = HoldableClock()
    config = EmulatorConfig(job_duration=600, stop_duration=args.stop_seconds)
    async with EmulatorServer(config, emulator=Emulator(config, clock=clock)) as emulator:
        await set_latency(emulator.url, latency)
        rates = dict(RateLimits().rates)
        if not slow:
            rates["Create*"] = Rate(1000, 1000)  # not what is measured
        rates["Stop*"] = Rate(args.stop_rate, int(args.stop_rate))
        runner_config = RunnerConfig(
            aws=AwsTarget.local(emulator.url),
            limits=RateLimits(rates),
            max_connections=max(50, min(jobs, 200)),
        )
        manifest = parse_manifest(batch(jobs, 600))
        journal = Journal(work / "journal.sqlite", manifest.batch_id)
        options = LaunchOptions(
            concurrency=jobs,
            output=work / "out",
            job_logs=not slow,
            shutdown_timeout=args.shutdown_timeout,
        )
        async with Runner(runner_config) as runner:
            launch = Launch(manifest, journal, runner, options, view=LineView(interval=30))
            running = asyncio.ensure_future(launch.run())
            if slow:
                await asyncio.sleep(5.0)
            else:
                while launch.tally.counts.get("running", 0) < jobs:  # noqa: ASYNC110
                    await asyncio.sleep(0.2)
            calls_before = (await stats_of(emulator.url))["calls"]
            signalled = time.time()
            launch.interrupt("SIGTERM")
            result = await running
            returned = time.time()
            clock.hold()
            launch.close()
        stats = await stats_of(emulator.url)
    sagemaker = {job["name"]: job for job in stats["jobs"]}
    journaled = {row.job_name: reported(row) for row in result.rows if row.job_name in sagemaker}
    says = {name: job["status"] for name, job in sagemaker.items()}
    stops = sorted(
        job["stop_requested_at"] for job in sagemaker.values() if job["stop_requested_at"]
    )
    arrived_after = [job for job in sagemaker.values() if job["created_at"] - latency > signalled]
    counted = {status: list(says.values()).count(status) for status in sorted(set(says.values()))}
    reported_counts = {
        s: list(journaled.values()).count(s) for s in sorted(set(journaled.values()))
    }
    return {
        "scenario": args.scenario,
        "jobs": jobs,
        "latency_s": latency,
        "stop_rate": args.stop_rate,
        "created": len(sagemaker),
        "creates_arrived_after_sigterm": len(arrived_after),
        "created_after_sigterm_at_all": sum(
            1 for j in sagemaker.values() if j["created_at"] > signalled
        ),
        "first_stop_s": round(stops[0] - latency - signalled, 3) if stops else None,
        "last_stop_s": round(stops[-1] - latency - signalled, 3) if stops else None,
        "exit_s": round(returned - signalled, 2),
        "sagemaker": counted,
        "report": reported_counts,
        "report_differs_for": sum(1 for name in says if journaled.get(name) != says[name]),
        # The report behind SageMaker by less than a sweep: Stopping there, Stopped here.
        "report_stopping_sagemaker_stopped": sum(
            1 for name in says if journaled.get(name) == "Stopping" and says[name] == "Stopped"
        ),
        # The lie of issue 16: running in the report, stopping or stopped in SageMaker.
        "report_running_sagemaker_not": sum(
            1 for name in says if journaled.get(name) == "InProgress" and says[name] != "InProgress"
        ),
        "journal_counts": result.counts,
        "still_stopping": len(result.stopping),
        "calls_after_sigterm": {
            operation: count - calls_before.get(operation, 0)
            for operation, count in sorted(stats["calls"].items())
            if count > calls_before.get(operation, 0)
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenario", choices=["slow-calls", "many"])
    parser.add_argument("--jobs", type=int, default=1000, help="many: jobs in flight")
    parser.add_argument("--stop-rate", type=float, default=10.0, help="the Stop budget, per s")
    parser.add_argument("--stop-seconds", type=float, default=1.0, help="Stopping -> Stopped")
    parser.add_argument("--events", type=Path, help="keep the launch's JSON log lines here")
    parser.add_argument(
        "--shutdown-timeout",
        type=lambda text: None if text == "auto" else float(text),
        default=DEFAULT_SHUTDOWN_TIMEOUT,
        help="the launch's bound in seconds, or 'auto' (smrun launch's default outside a pod: "
        "what the Stops need); default: a pod's",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="smrun-sigterm-") as tmp:
        work = Path(tmp)
        with (args.events or work / "events.jsonl").open("w") as events:
            configure_logging(json=True, file=events)  # as a launch that is not on a terminal
            figures = asyncio.run(measure(args, work))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
