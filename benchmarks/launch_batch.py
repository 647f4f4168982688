"""``smrun launch`` on a large batch, end to end, against an emulator in its own process.

    python -m benchmarks.launch_batch --jobs 1000 --profile aws-like

Writes a manifest of N training jobs (emulated durations drawn uniformly from
``--min-seconds`` to ``--max-seconds``, 5% planned failures), serves the emulator with the
chosen quota profile, runs ``smrun launch`` on it as a user would (non-TTY: progress lines),
and reports the launch's wall time, CPU and peak RSS, and the API calls the emulator saw, per
job. The launcher runs at its defaults (the 5 s sweep, the default rate limits) unless
``--rate BUDGET=N[/BURST]`` (repeatable) changes a budget, as ``smrun launch --rate`` does:

    python -m benchmarks.launch_batch --jobs 200 --profile fast --min-seconds 1 --max-seconds 1 \
        --rate Create=10
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from benchmarks.sagemaker_requests import training_request
from benchmarks.server_process import ServerProcess


def batch_manifest(jobs: int, low: float, high: float, seed: int) -> dict[str, Any]:
    chooser = random.Random(seed)
    entries = []
    for index in range(jobs):
        tags = [{"Key": "emulator:duration-seconds", "Value": f"{chooser.uniform(low, high):.1f}"}]
        if chooser.random() < 0.05:
            tags.append({"Key": "emulator:fail-reason", "Value": "AlgorithmError: planned"})
        entries.append(
            {
                "kind": "training",
                "name": f"fit-{index}",
                "request": training_request(tags=tags),
            }
        )
    return {"batch": f"bench-{jobs}", "jobs": entries}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="smrun-launch-bench-"))
    manifest = work / "batch.yaml"
    manifest.write_text(
        yaml.safe_dump(batch_manifest(args.jobs, args.min_seconds, args.max_seconds, args.seed))
    )
    emulator = ServerProcess(
        [sys.executable, "-m", "smrun.cli", "emulator", "--port", "0", "--profile", args.profile],
        stderr=None,
    )
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        launch = subprocess.run(
            [
                sys.executable,
                "-m",
                "smrun.cli",
                "launch",
                str(manifest),
                "--endpoint-url",
                emulator.url,
                "--region",
                "us-east-1",
                "--output",
                str(work / "out"),
                "--concurrency",
                str(args.concurrency),
                *(arg for rate in args.rate for arg in ("--rate", rate)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
            env={**os.environ, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"},
        )
        wall = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        seen = emulator.stats()
    finally:
        emulator.stop()
    calls: dict[str, int] = seen["calls"]
    status = sum(
        n for op, n in calls.items() if op.startswith(("Describe", "List")) and "Log" not in op
    )
    logs = sum(
        n
        for op, n in calls.items()
        if op in ("GetLogEvents", "FilterLogEvents", "DescribeLogStreams")
    )
    summary = json.loads((work / "out" / "summary.json").read_text())
    return {
        "jobs": args.jobs,
        "profile": args.profile,
        "concurrency": args.concurrency,
        "rates": args.rate,
        "exit_code": launch.returncode,
        "states": {k: v for k, v in summary["states"].items() if v},
        "wall_s": round(wall, 1),
        "launcher_cpu_s": round(
            (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1
        ),
        "launcher_peak_rss_mb": round(after.ru_maxrss / 1024, 1),
        "creates": calls.get("CreateTrainingJob", 0),
        "status_calls": status,
        "status_calls_per_job": round(status / args.jobs, 2),
        "log_calls": logs,
        "throttled": sum(seen["throttled"].values()),
        "calls": dict(sorted(calls.items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=1000)
    parser.add_argument("--profile", choices=["fast", "aws-like"], default="aws-like")
    parser.add_argument("--min-seconds", type=float, default=20.0)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rate", action="append", default=[], metavar="BUDGET=N[/BURST]")
    print(json.dumps(measure(parser.parse_args()), indent=2))


if __name__ == "__main__":
    main()
