"""Strategy 3, "one coroutine per job, deferrable-trigger style": Airflow's SageMaker triggers.

One asyncio task per job, each with clients of its own (as each trigger's hook makes them):
create the job, then every ``interval`` seconds exactly (no jitter) Describe it and read its
logs as the print-log trigger does (DescribeLogStreams until its streams exist, then one
GetLogEvents page per stream from its forward token), and once it has ended, one more read.
botocore's default retries (legacy mode, 5 attempts) are all there is: an error that outlasts
them fails the task, and the job runs on unwatched. On SIGTERM each task sends its job's Stop
(an operator's ``on_kill``) and ends.

One aiobotocore session serves every task (its service models loaded once); Airflow's hooks
make a session per hook, which costs more: this strategy's CPU and memory are a lower bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections import Counter
from typing import Any

from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from benchmarks.load.probes import CpuSampler, LoopLag, cpu_seconds, peak_rss_mb
from benchmarks.load.spec import READY, RunResult, RunSpec
from benchmarks.load.workload import (
    LOG_GROUPS,
    METHOD_NOUNS,
    NAME_FIELDS,
    STATUS_FIELDS,
    TERMINAL,
    JobSpec,
    request,
)
from runner.retry import THROTTLING_CODES


class Triggers:
    def __init__(self, spec: RunSpec, result: RunResult) -> None:
        self.spec = spec
        self.result = result
        self.session: Any = get_session()  # Any: the stubs overload create_client per literal
        self.sigterm = asyncio.Event()
        self.launched: set[str] = set()  # jobs whose Create has answered or failed
        self.expected: int | None = None  # set once every task is started
        self.all_launched = asyncio.Event()
        self.statuses: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()

    def client(self, service: str) -> Any:
        return self.session.create_client(
            service,
            region_name="us-east-1",
            endpoint_url=self.spec.url,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def count_launched(self, job: JobSpec | None = None) -> None:
        if job is not None:
            self.launched.add(job.name)
        if self.expected is not None and len(self.launched) >= self.expected:
            self.all_launched.set()

    def failed(self, error: Exception) -> None:
        code = (
            error.response.get("Error", {}).get("Code", "ClientError")
            if isinstance(error, ClientError)
            else type(error).__name__
        )
        self.errors[code] += 1
        if code in THROTTLING_CODES:
            self.result.throttling_surfaced += 1

    async def trigger(self, job: JobSpec) -> None:
        try:
            async with self.client("sagemaker") as sagemaker, self.client("logs") as logs:
                await self._trigger(job, sagemaker, logs)
        except (ClientError, BotoCoreError) as error:
            self.failed(error)
        finally:
            self.count_launched(job)  # whatever failed, even before its Create

    async def _trigger(self, job: JobSpec, sagemaker: Any, logs: Any) -> None:
        noun, name = METHOD_NOUNS[job.kind], {NAME_FIELDS[job.kind]: job.name}
        body = request(job, job.duration_at(time.time() - self.result.t0))
        try:
            await getattr(sagemaker, f"create_{noun}")(**body)
        finally:
            self.count_launched(job)
        self.result.submitted += 1
        tokens: dict[str, str | None] = {}
        describe = getattr(sagemaker, f"describe_{noun}")
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.spec.interval):
                    await self.sigterm.wait()
            if self.sigterm.is_set():
                await getattr(sagemaker, f"stop_{noun}")(**name)
                return
            status = (await describe(**name))[STATUS_FIELDS[job.kind]]
            await self._read_logs(job, logs, tokens)
            if status in TERMINAL:
                self.result.detected[job.name] = time.time()
                self.statuses[status] += 1
                await self._read_logs(job, logs, tokens)  # the one read after the end
                return

    async def _read_logs(self, job: JobSpec, logs: Any, tokens: dict[str, str | None]) -> None:
        group = LOG_GROUPS[job.kind]
        if len(tokens) < job.instances:
            try:
                listing = await logs.describe_log_streams(
                    logGroupName=group, logStreamNamePrefix=f"{job.name}/"
                )
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                    raise
                return
            for stream in listing.get("logStreams", []):
                tokens.setdefault(stream["logStreamName"], None)
        for stream, token in list(tokens.items()):
            params: dict[str, Any] = {
                "logGroupName": group,
                "logStreamName": stream,
                "startFromHead": True,
            }
            if token:
                params["nextToken"] = token
            page = await logs.get_log_events(**params)
            self.result.log_lines += len(page.get("events", []))
            tokens[stream] = page.get("nextForwardToken") or token


async def run(spec: RunSpec) -> RunResult:
    result = RunResult(strategy="trigger", phase=spec.phase)
    triggers = Triggers(spec, result)

    def on_sigterm() -> None:
        if result.signal_at is None:
            result.signal_at = time.time()
        triggers.sigterm.set()

    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, on_sigterm)
    sampler, lag = CpuSampler(), LoopLag()
    sampler.start()
    lag.start()
    tasks = []
    result.t0 = time.time()
    for job in spec.jobs:
        if triggers.sigterm.is_set():
            break
        await asyncio.sleep(max(0.0, result.t0 + job.submit_offset - time.time()))
        tasks.append(asyncio.create_task(triggers.trigger(job)))
    triggers.expected = len(tasks)
    triggers.count_launched()
    waiters = [
        asyncio.ensure_future(triggers.all_launched.wait()),
        asyncio.ensure_future(triggers.sigterm.wait()),
    ]
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()
    result.submit_done_at = time.time()
    if spec.phase == "sigterm":
        print(READY, flush=True)
    if tasks:
        remaining = result.t0 + spec.deadline - time.time()
        _, pending = await asyncio.wait(tasks, timeout=max(remaining, 0.1))
        result.timed_out = bool(pending)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    result.finished_at = time.time()
    await lag.stop()
    sampler.stop()
    result.statuses = dict(triggers.statuses)
    result.errors = dict(triggers.errors)
    result.cpu_s = cpu_seconds()
    result.peak_rss_mb = peak_rss_mb()
    result.cpu_samples = sampler.samples
    result.lag_samples = lag.samples
    return result
