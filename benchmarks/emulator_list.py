"""How long the emulator's List and Describe handlers take, in process, over many jobs.

``python -m benchmarks.emulator_list [--jobs 10000] [--seconds 0.5] [--label after]``

No HTTP: the emulator runs on a fake clock in this process, ``--jobs`` training jobs are
created through the CreateTrainingJob handler (one every 0.1 s of emulator time, each
running 600 s, so at the end some have completed, most are running; 2% fail, 2% were
stopped, and one tuning job launched children with creation times in the future), and each
query below is answered repeatedly by its handler. The time per call is the handler's
alone: the HTTP benchmark (``emulator_throughput``) measures the rest.

``poll``            what the runner's delta polling sends: LastModifiedTimeAfter a moment
                    ago (a window that ~50 jobs changed in), NameContains its prefix,
                    MaxResults 100, CreationTime descending
``poll-empty``      the same with a window nothing changed in
``first-page``      no filters, MaxResults 100 (CreationTime descending)
``second-page``     the page after that, through its NextToken
``ascending``       no filters, MaxResults 100, CreationTime ascending
``name-contains``   NameContains matching half the jobs, MaxResults 100
``status-running``  StatusEquals InProgress (most jobs), MaxResults 100
``status-stopped``  StatusEquals Stopped (2% of the jobs), MaxResults 100
``by-name``         SortBy Name, MaxResults 100 (no index serves this order)
``describe``        DescribeTrainingJob of a random job (the handler only)

Results (median and best microseconds per call) go to stdout and, under ``--label``, into
``benchmarks/results/emulator-list.json`` next to the runs of other labels.
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.sagemaker_requests import training_request
from emulator.state import OPERATIONS, Emulator, EmulatorConfig

RESULTS = Path(__file__).parent / "results" / "emulator-list.json"
BASE = 1_700_000_000.0
SPACING = 0.1  # emulator seconds between two creations
DURATION = 600.0
WINDOW_MATCHES = 50


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def tuning_request(name: str) -> dict[str, Any]:
    training = training_request("unused")
    definition = {
        key: training[key]
        for key in (
            "RoleArn",
            "InputDataConfig",
            "OutputDataConfig",
            "ResourceConfig",
            "StoppingCondition",
        )
    }
    definition["AlgorithmSpecification"] = training["AlgorithmSpecification"]
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "acc"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 20, "MaxParallelTrainingJobs": 4},
            "ParameterRanges": {
                "IntegerParameterRanges": [{"Name": "layers", "MinValue": "1", "MaxValue": "64"}]
            },
        },
        "TrainingJobDefinition": definition,
    }


def build(jobs: int) -> tuple[Emulator, Clock]:
    from emulator.server import create_app

    clock = Clock(BASE)
    emulator = Emulator(EmulatorConfig(job_duration=DURATION, stop_duration=1.0), clock=clock)
    create_app(emulator)  # registers every operation
    sagemaker = OPERATIONS["sagemaker"]
    rng = random.Random(7)
    for index in range(jobs):
        clock.now = BASE + index * SPACING
        request = training_request(f"bench-{'ab'[index % 2]}-{index:05d}")
        if rng.random() < 0.02:
            request["Tags"] = [{"Key": "emulator:fail-reason", "Value": "boom"}]
        sagemaker["CreateTrainingJob"](emulator, request)
        if index == jobs // 2:
            sagemaker["CreateHyperParameterTuningJob"](emulator, tuning_request("bench-tuning"))
        if index >= 50 and rng.random() < 0.02:
            victim = f"bench-{'ab'[(index - 50) % 2]}-{index - 50:05d}"
            job = emulator.jobs_of("training")[victim]
            if job.status(clock.now) == "InProgress":
                sagemaker["StopTrainingJob"](emulator, {"TrainingJobName": victim})
    clock.now += 2 * SPACING
    return emulator, clock


def window_start(emulator: Emulator, now: float, matches: int) -> float:
    """A LastModifiedTimeAfter that about ``matches`` jobs have changed after."""
    modified = sorted(
        (
            job.last_modified(now)
            for job in emulator.jobs_of("training").values()
            if job.visible(now)
        ),
        reverse=True,
    )
    return modified[min(matches, len(modified) - 1)]


def time_call(call: Callable[[], Any], seconds: float) -> dict[str, float]:
    """Median and best microseconds per call, over batches for ``seconds``."""
    call()  # warm up
    per_call: list[float] = []
    deadline = time.perf_counter() + seconds
    batch = 1
    while time.perf_counter() < deadline or len(per_call) < 5:
        started = time.perf_counter()
        for _ in range(batch):
            call()
        elapsed = time.perf_counter() - started
        per_call.append(elapsed / batch * 1e6)
        if elapsed < 0.002:
            batch *= 2
    return {
        "median_us": round(statistics.median(per_call), 1),
        "best_us": round(min(per_call), 1),
        "samples": len(per_call),
    }


def queries(emulator: Emulator, now: float) -> dict[str, dict[str, Any]]:
    after = window_start(emulator, now, WINDOW_MATCHES)
    poll = {
        "LastModifiedTimeAfter": after,
        "MaxResults": 100,
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "NameContains": "bench-",
    }
    first = OPERATIONS["sagemaker"]["ListTrainingJobs"](emulator, {"MaxResults": 100})
    return {
        "poll": poll,
        "poll-empty": {**poll, "LastModifiedTimeAfter": now},
        "first-page": {"MaxResults": 100},
        "second-page": {"MaxResults": 100, "NextToken": first["NextToken"]},
        "ascending": {"MaxResults": 100, "SortOrder": "Ascending"},
        "name-contains": {"MaxResults": 100, "NameContains": "bench-a-"},
        "status-running": {"MaxResults": 100, "StatusEquals": "InProgress"},
        "status-stopped": {"MaxResults": 100, "StatusEquals": "Stopped"},
        "by-name": {"MaxResults": 100, "SortBy": "Name"},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.emulator_list", description=__doc__)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=0.5, help="timed per query")
    parser.add_argument("--label", default="current", help="the run's name in the results file")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    emulator, clock = build(args.jobs)
    build_s = time.perf_counter() - started
    now = clock.now
    list_jobs = OPERATIONS["sagemaker"]["ListTrainingJobs"]
    describe_job = OPERATIONS["sagemaker"]["DescribeTrainingJob"]
    rows: dict[str, Any] = {}
    for name, params in queries(emulator, now).items():
        response = list_jobs(emulator, dict(params))
        timing = time_call(functools.partial(list_jobs, emulator, params), args.seconds)
        rows[name] = {**timing, "returned": len(response["TrainingJobSummaries"])}
    names = [name for name, job in emulator.jobs_of("training").items() if job.visible(now)]
    rng = random.Random(1)
    rows["describe"] = {
        **time_call(
            lambda: describe_job(emulator, {"TrainingJobName": rng.choice(names)}), args.seconds
        ),
        "returned": 1,
    }

    total = len(emulator.jobs_of("training"))
    print(f"{total} training jobs (created in {build_s:.1f} s), label {args.label!r}")
    print(f"{'query':<16} {'median us':>10} {'best us':>10} {'returned':>9}")
    for name, row in rows.items():
        print(f"{name:<16} {row['median_us']:>10.1f} {row['best_us']:>10.1f} {row['returned']:>9}")

    report: dict[str, Any] = {"benchmark": "emulator_list", "runs": {}}
    if args.output.exists():
        report = json.loads(args.output.read_text())
    report["runs"][args.label] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "jobs": total,
        "build_seconds": round(build_s, 2),
        "results": rows,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
