"""The log tailer against the emulator over HTTP: exact lines, throttling, failures, many jobs.

Expected lines come from the emulator's own plan (``LogStore.events``), every event a job
will ever write, late ones included: the tailer must deliver exactly those, once each.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
import weakref
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from emulator.server import EmulatorServer
from emulator.state import Emulator, EmulatorConfig
from runner.config import DEFAULT_RATES, LogPolicy, RateLimits
from runner.core import Runner
from runner.joblogs import LogLine, LogSummary, LogTailer, MemorySink
from runner.joblogs.merge import natural_key
from support import requests as req
from support.runner_setup import at_rest, runner_config
from support.stats import fetch_stats, set_faults

TRAINING_GROUP = "/aws/sagemaker/TrainingJobs"
LOGS_OPERATIONS = ("GetLogEvents", "FilterLogEvents", "DescribeLogStreams")


class SteppedClock:
    """Emulator time that a test moves forward in steps, faster than the wall clock."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    async def run(self, step: float, pause: float) -> None:
        while True:
            self.now += step
            await asyncio.sleep(pause)


def planned(
    emulator: EmulatorServer, job: str, group: str = TRAINING_GROUP
) -> dict[str, list[str]]:
    """Every message each stream of ``job`` will ever hold, by stream name."""
    store = emulator.emulator.logs
    found = next(
        j for jobs in emulator.emulator.jobs.values() for j in jobs.values() if j.name == job
    )
    return {
        stream: [message for _, message in store.events(group, stream)]
        for stream in store.streams_of(found)
    }


def merged(emulator: EmulatorServer, job: str) -> list[tuple[str, str]]:
    """(host, message) of every planned event of ``job``, by timestamp then host."""
    store = emulator.emulator.logs
    found = next(
        j for jobs in emulator.emulator.jobs.values() for j in jobs.values() if j.name == job
    )
    rows = []
    for stream in store.streams_of(found):
        host = stream.split("/")[1].rsplit("-", 1)[0]
        for position, (timestamp, message) in enumerate(store.events(TRAINING_GROUP, stream)):
            rows.append((timestamp, natural_key(host), position, host, message))
    return [(host, message) for *_, host, message in sorted(rows)]


def by_stream(lines: Sequence[LogLine]) -> dict[str, list[str]]:
    streams: dict[str, list[str]] = {}
    for line in lines:
        streams.setdefault(line.stream, []).append(line.message)
    return streams


def logs_calls(stats: dict[str, Any]) -> dict[str, int]:
    return {op: stats["calls"].get(op, 0) for op in LOGS_OPERATIONS}


# --- one job, exactly, on a stepped clock -----------------------------------------------------

STEPPED = EmulatorConfig(
    job_duration=10.0,
    stop_duration=1.0,
    late_event_delay=2.0,
    log_lines=12,
    log_page_size=5,  # several pages per read
    check_responses=True,
)
QUICK = LogPolicy(
    min_interval=0.05, max_interval=0.2, merge_hold=3.0, drain_wait=0.5, drain_limit=15.0
)


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture
async def stepped(clock: SteppedClock) -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(emulator=Emulator(STEPPED, clock=clock)) as server:
        ticking = asyncio.create_task(clock.run(step=0.1, pause=0.01))  # 10x the wall clock
        try:
            yield server
        finally:
            ticking.cancel()
            await asyncio.gather(ticking, return_exceptions=True)


@pytest.mark.parametrize("throttle_rate", [0.0, 0.3], ids=["clean", "throttled-30pct"])
async def test_four_hosts_every_line_once_in_time_order(
    stepped: EmulatorServer, throttle_rate: float
) -> None:
    if throttle_rate:
        await set_faults(stepped.url, throttle_rate=throttle_rate, services=["logs"], seed=4)
    request = req.training("tail-four", instance_count=4)
    sink = MemorySink()
    async with Runner(runner_config(stepped.url, logs=QUICK)) as runner:
        tailer = LogTailer(runner.caller)
        handle = await runner.submit("training", request)
        outcome = await tailer.wait_with_logs(handle, sink, request=request)
    assert outcome.succeeded

    lines = sink.lines["tail-four"]
    assert [(line.host, line.message) for line in lines] == merged(stepped, "tail-four")
    assert by_stream(lines) == planned(stepped, "tail-four")
    assert sum("flushing buffered output" in line.message for line in lines) == 4 * 2
    assert all(line.text == f"[{line.host}] {line.message}" for line in lines)
    summary = sink.summaries["tail-four"]
    assert summary.drained and summary.streams == 4 and summary.lines == len(lines)
    stats = await fetch_stats(stepped.url)
    if throttle_rate:
        assert stats["throttled"].get("GetLogEvents", 0) > 0
    assert stats["calls"].get("FilterLogEvents", 0) == 0


async def test_the_same_in_batched_mode(stepped: EmulatorServer) -> None:
    request = req.training("tail-batch", instance_count=4)
    sink = MemorySink()
    config = runner_config(stepped.url, logs=dataclasses.replace(QUICK, batched=True))
    async with Runner(config) as runner:
        tailer = LogTailer(runner.caller)
        handle = await runner.submit("training", request)
        await tailer.wait_with_logs(handle, sink, request=request)
    lines = sink.lines["tail-batch"]
    assert [(line.host, line.message) for line in lines] == merged(stepped, "tail-batch")
    stats = await fetch_stats(stepped.url)
    assert stats["calls"].get("GetLogEvents", 0) == 0


# --- every kind's streams: labeling (no "/") and transform (data-log) -------------------------

LABELING_GROUP = "/aws/sagemaker/LabelingJobs"
TRANSFORM_GROUP = "/aws/sagemaker/TransformJobs"
WORKTEAM = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/team"


@pytest.mark.parametrize("batched", [False, True], ids=["stream-reader", "batch-reader"])
async def test_labeling_processing_and_transform_logs_found_and_every_line_once(
    stepped: EmulatorServer, batched: bool
) -> None:
    """A labeling job's stream is named as the job, so its listing also finds its namesake's
    ("gt-1" lists "gt-10"); a transform's data-log streams appear after its instances'."""
    requests = {
        "pp": ("processing", req.processing("pp", instance_count=2)),
        "gt-1": ("labeling", req.labeling("gt-1", WORKTEAM)),
        "gt-10": ("labeling", req.labeling("gt-10", WORKTEAM)),
        "bt": ("transform", req.transform("bt", "bt-model", instance_count=2)),
    }
    sink = MemorySink()
    config = runner_config(stepped.url, logs=dataclasses.replace(QUICK, batched=batched))
    async with Runner(config) as runner:
        await runner.caller.sagemaker("CreateModel", **req.model("bt-model"))
        tailer = LogTailer(runner.caller)
        handles = [await runner.submit(kind, request) for kind, request in requests.values()]
        outcomes = await asyncio.gather(
            *(
                tailer.wait_with_logs(handle, sink, request=request)
                for handle, (_, request) in zip(handles, requests.values(), strict=True)
            )
        )
    assert all(outcome.succeeded for outcome in outcomes)

    for job in ("gt-1", "gt-10"):
        assert by_stream(sink.lines[job]) == planned(stepped, job, LABELING_GROUP)
        assert list(by_stream(sink.lines[job])) == [job]
        assert not any(line.labelled for line in sink.lines[job])  # one stream: no host label
        summary = sink.summaries[job]
        assert summary.drained and summary.streams == 1 and summary.lines == len(sink.lines[job])

    processing = sink.lines["pp"]
    assert by_stream(processing) == planned(stepped, "pp", "/aws/sagemaker/ProcessingJobs")
    assert {line.host for line in processing} == {"algo-1", "algo-2"}
    assert sink.summaries["pp"].drained and sink.summaries["pp"].streams == 2

    lines = sink.lines["bt"]
    streams = planned(stepped, "bt", TRANSFORM_GROUP)
    assert by_stream(lines) == streams
    data_logs = [name for name in streams if name.endswith("/data-log")]
    assert len(streams) == 4 and len(data_logs) == 2
    hosts = {line.stream: line.host for line in lines}
    for data_log in data_logs:
        instance = data_log.removesuffix("/data-log")
        assert hosts[instance] == instance.removeprefix("bt/").rsplit("-", 1)[0]
        assert hosts[data_log] == f"{hosts[instance]}/data-log"
    assert all(line.text == f"[{line.host}] {line.message}" for line in lines)
    summary = sink.summaries["bt"]
    assert summary.drained and summary.streams == 4 and summary.lines == len(lines)

    stats = await fetch_stats(stepped.url)
    unused = "GetLogEvents" if batched else "FilterLogEvents"
    assert stats["calls"].get(unused, 0) == 0


@pytest.mark.parametrize("batched", [False, True], ids=["stream-reader", "batch-reader"])
async def test_a_transform_data_log_is_followed_while_the_job_runs(batched: bool) -> None:
    """The data-log stream appears after its instance's: the tail finds it live, not only in
    the final drain. The emulator's clock moves only by hand: the job cannot end meanwhile."""
    clock = SteppedClock()
    policy = dataclasses.replace(QUICK, merge_hold=0.2, batched=batched)
    async with EmulatorServer(emulator=Emulator(STEPPED, clock=clock)) as server:
        seen: dict[str, asyncio.Event] = {"instance": asyncio.Event(), "data-log": asyncio.Event()}

        class Signalling(MemorySink):
            def write(self, lines: Sequence[LogLine]) -> None:
                super().write(lines)
                for line in lines:
                    seen["data-log" if line.stream.endswith("/data-log") else "instance"].set()

        sink = Signalling()
        request = req.transform("bt-live", "bt-model")
        async with Runner(runner_config(server.url, logs=policy)) as runner:
            await runner.caller.sagemaker("CreateModel", **req.model("bt-model"))
            handle = await runner.submit("transform", request)
            instance, data_log = list(planned(server, "bt-live", TRANSFORM_GROUP))
            instance_start = server.emulator.logs.events(TRANSFORM_GROUP, instance)[0][0]
            data_start = server.emulator.logs.events(TRANSFORM_GROUP, data_log)[0][0]
            clock.now = (instance_start + 100) / 1000  # readable, and no data-log yet
            assert clock.now < data_start / 1000
            tail = asyncio.create_task(
                LogTailer(runner.caller).follow(handle, sink, request=request)
            )
            await asyncio.wait_for(seen["instance"].wait(), 20)
            clock.now = (data_start + 100) / 1000
            await asyncio.wait_for(seen["data-log"].wait(), 20)
            assert not handle.done  # found while the job runs
            clock.now += STEPPED.job_duration + STEPPED.late_event_delay + 1
            summary = await asyncio.wait_for(tail, 30)
        assert summary.drained and summary.streams == 2
        assert by_stream(sink.lines["bt-live"]) == planned(server, "bt-live", TRANSFORM_GROUP)


# --- failures and the end of the tail ---------------------------------------------------------

REAL_TIME = dict(min_interval=0.05, max_interval=0.3, merge_hold=0.5, drain_wait=0.6)


async def test_a_failed_jobs_last_lines_come_before_its_failure(emulator: EmulatorServer) -> None:
    reason = "AlgorithmError: ExecuteUserScriptError: exit code 1"
    request = req.training(
        "tail-fails",
        instance_count=2,
        Tags=req.tags(**{"emulator:duration-seconds": 1.0, "emulator:fail-reason": reason}),
    )
    seen: list[str] = []

    class Recording(MemorySink):
        def write(self, lines: Sequence[LogLine]) -> None:
            super().write(lines)
            seen.extend(line.text for line in lines)

    sink = Recording()
    async with Runner(runner_config(emulator.url, logs=LogPolicy(**REAL_TIME))) as runner:
        tailer = LogTailer(runner.caller)
        handle = await runner.submit("training", request)
        outcome = await tailer.wait_with_logs(handle, sink)  # instance count from a Describe
        seen.append(f"outcome: {outcome.failure_reason}")

    assert outcome.status == "Failed" and outcome.failure_reason == reason
    errors = [f"[algo-{i}] [host algo-{i}] ERROR: {reason}" for i in (1, 2)]
    assert set(errors) <= set(seen[:-1])
    assert seen[-1] == f"outcome: {reason}"
    for stream, messages in by_stream(sink.lines["tail-fails"]).items():
        assert messages == planned(emulator, "tail-fails")[stream]
        assert messages[-1].endswith(f"ERROR: {reason}")


async def test_cancelling_a_tail_ends_it_and_delivers_what_it_has(emulator: EmulatorServer) -> None:
    tags = req.tags(**{"emulator:duration-seconds": 30, "emulator:log-lines": 300})
    request = req.processing("tail-cancel", Tags=tags)  # writes from its start
    first_lines = asyncio.Event()

    class Signalling(MemorySink):
        def write(self, lines: Sequence[LogLine]) -> None:
            super().write(lines)
            first_lines.set()

    sink = Signalling()
    async with Runner(runner_config(emulator.url, logs=LogPolicy(**REAL_TIME))) as runner:
        tailer = LogTailer(runner.caller)
        handle = await runner.submit("processing", request)
        tail = asyncio.create_task(tailer.follow(handle, sink, request=request))
        await asyncio.wait_for(first_lines.wait(), 10)
        tail.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(tail, 2.0)
        await handle.stop("test over")
        await handle.wait()
    summary = sink.summaries["tail-cancel"]
    assert not summary.drained and summary.streams == 1
    lines = sink.lines["tail-cancel"]
    assert summary.lines == len(lines) > 0
    planned_lines = planned(emulator, "tail-cancel", "/aws/sagemaker/ProcessingJobs")
    assert [line.message for line in lines] == next(iter(planned_lines.values()))[: len(lines)]


async def test_a_draining_tail_holds_the_jobs_name_not_its_outcome(
    emulator: EmulatorServer,
) -> None:
    """After the job's end the tail drains for a while: meanwhile it must not keep the job (its
    outcome and final Describe), or thousands of draining tails keep thousands at once."""
    request = req.training("tail-drain", Tags=req.tags(**{"emulator:duration-seconds": 0.3}))
    draining = LogPolicy(**{**REAL_TIME, "drain_wait": 60.0, "drain_limit": 120.0})
    async with Runner(runner_config(emulator.url, logs=draining)) as runner:
        tailer = LogTailer(runner.caller)
        handle = await runner.submit("training", request)
        tail = asyncio.create_task(tailer.follow(handle, MemorySink(), request=request))
        outcome = weakref.ref(await handle.wait())
        job = weakref.ref(handle._job)
        del handle
        await at_rest(runner)
        assert not tail.done()  # still draining: 60 s without a new line
        assert job() is None and outcome() is None
        tail.cancel()
        await asyncio.gather(tail, return_exceptions=True)


async def test_a_tuning_jobs_best_training_job_is_followed(emulator: EmulatorServer) -> None:
    request: dict[str, Any] = {
        "HyperParameterTuningJobName": "tail-hpo",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 3, "MaxParallelTrainingJobs": 3},
            "ParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5"}]
            },
        },
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {"TrainingImage": req.IMAGE, "TrainingInputMode": "File"},
            "RoleArn": req.ROLE,
            "OutputDataConfig": {"S3OutputPath": "s3://bucket/hpo"},
            "ResourceConfig": {
                "InstanceType": "ml.m5.xlarge",
                "InstanceCount": 2,
                "VolumeSizeInGB": 30,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
        "Tags": req.tags(**{"emulator:duration-seconds": 0.6}),
    }
    best_sink, all_sink = MemorySink(), MemorySink()
    async with Runner(runner_config(emulator.url, logs=LogPolicy(**REAL_TIME))) as runner:
        tailer = LogTailer(runner.caller)
        handle = await runner.submit("tuning", request)
        best, children = await asyncio.gather(
            tailer.follow(handle, best_sink),
            tailer.follow_tuning(handle, all_sink, children="all"),
        )
        outcome = await handle.wait()
    assert best.job == outcome.outputs["best_job_name"] and best.drained
    assert by_stream(best_sink.lines[best.job]) == planned(emulator, best.job)
    assert len(children) == 3 and all(summary.drained for summary in children)
    for summary in children:
        assert by_stream(all_sink.lines[summary.job]) == planned(emulator, summary.job)


# --- many jobs: batched against one stream per call -------------------------------------------

MANY = EmulatorConfig(job_duration=2.0, late_event_delay=0.3, log_lines=10, check_responses=False)
MANY_POLICY = LogPolicy(
    min_interval=0.25, max_interval=1.0, merge_hold=0.5, drain_wait=0.6, late_window=5.0
)


async def follow_many(
    url: str, count: int, policy: LogPolicy, prefix: str, limits: RateLimits
) -> tuple[MemorySink, list[LogSummary], float]:
    sink = MemorySink()
    requests = [req.training(f"{prefix}-{i:03d}", instance_count=2) for i in range(count)]
    started = time.monotonic()
    async with Runner(runner_config(url, logs=policy, limits=limits)) as runner:
        tailer = LogTailer(runner.caller)
        handles = await asyncio.gather(*(runner.submit("training", r) for r in requests))
        summaries = await asyncio.gather(
            *(tailer.follow(h, sink, request=r) for h, r in zip(handles, requests, strict=True))
        )
    return sink, list(summaries), time.monotonic() - started


def per_job_minute(calls: int, jobs: int, job_seconds: float) -> float:
    return calls / (jobs * job_seconds / 60)


async def compare_modes(
    config: EmulatorConfig, policy: LogPolicy, jobs: int, single_jobs: int, limits: RateLimits
) -> tuple[float, float]:
    """Follow ``jobs`` jobs batched and ``single_jobs`` one call per stream, each on its own
    emulator; check every line and print the Logs API calls per job-minute of each."""

    async def run(count: int, mode: LogPolicy, prefix: str) -> tuple[dict[str, int], float]:
        async with EmulatorServer(config) as server:
            sink, summaries, elapsed = await follow_many(server.url, count, mode, prefix, limits)
            stats = await fetch_stats(server.url)
            for summary in summaries:
                assert summary.drained and summary.streams == 2, summary
                assert by_stream(sink.lines[summary.job]) == planned(server, summary.job)
            return logs_calls(stats), elapsed

    # One after the other: at once, the two would share one CPU and distort each other's pace.
    batched_calls, batched_s = await run(jobs, dataclasses.replace(policy, batched=True), "many")
    single_calls, single_s = await run(single_jobs, policy, "one")
    batched_rate = per_job_minute(sum(batched_calls.values()), jobs, config.job_duration)
    single_rate = per_job_minute(sum(single_calls.values()), single_jobs, config.job_duration)
    print(
        f"\nLogs API calls per job-minute (2-instance training jobs of {config.job_duration:g}s, "
        f"{config.log_lines} lines per host; {policy})"
        f"\n  batched, {jobs} jobs: {batched_rate:.1f} ({batched_calls}, {batched_s:.1f}s)"
        f"\n  one call per stream, {single_jobs} jobs: {single_rate:.1f} ({single_calls}, "
        f"{single_s:.1f}s)"
    )
    assert batched_calls["GetLogEvents"] == 0 and single_calls["FilterLogEvents"] == 0
    return batched_rate, single_rate


async def test_200_jobs_batched_every_line_once_and_fewer_calls() -> None:
    batched_rate, single_rate = await compare_modes(
        MANY, MANY_POLICY, jobs=200, single_jobs=10, limits=RateLimits.none()
    )
    assert batched_rate < single_rate


@pytest.mark.timeout(600)
@pytest.mark.skipif(
    not os.environ.get("SMRUN_MEASURE_LOGS"),
    reason="a two-minute measurement at the default policy: set SMRUN_MEASURE_LOGS=1",
)
async def test_calls_per_job_minute_at_the_default_policy() -> None:
    """Minute-long jobs, the default LogPolicy and the default Logs rate limits."""
    config = EmulatorConfig(job_duration=60.0, late_event_delay=2.0, log_lines=120)
    logs_rates = {op: rate for op, rate in DEFAULT_RATES.items() if op in LOGS_OPERATIONS}
    batched_rate, single_rate = await compare_modes(
        config, LogPolicy(), jobs=200, single_jobs=1, limits=RateLimits(rates=logs_rates)
    )
    assert batched_rate < single_rate
