"""Strategy 2, "one poller per job, v1 style": a thread per job, each standing in for a pod.

Each thread does what a v1 SageMaker component did in its pod: create a boto3 client (botocore
standard retries, 10 attempts, as v1 configured), create the job, then Describe it every
``interval`` seconds until it ends, then print its CloudWatch logs once (DescribeLogStreams,
then the first page of GetLogEvents per stream). An error that outlasts botocore's retries
ends the thread, as it crashed the pod: the job runs on unwatched. On SIGTERM (each pod gets
its own) every thread sends its job's Stop at once and keeps polling until the job has
stopped, as v1 did.

Threads in one process are cheaper than pods: this strategy's CPU and memory are a lower
bound for N pods. One boto3 session (its service models loaded once) serves every thread,
each with its own client, created one at a time (boto3 sessions are not thread-safe).
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from typing import Any

import boto3  # type: ignore[import-untyped]
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from benchmarks.load.probes import CpuSampler, ThreadLag, cpu_seconds, peak_rss_mb
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


class Pods:
    """The shared state of every job's thread."""

    def __init__(self, spec: RunSpec, result: RunResult) -> None:
        self.spec = spec
        self.result = result
        self.session = boto3.session.Session(
            region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local"
        )
        self.config = Config(retries={"mode": "standard", "max_attempts": 10})
        self.creating = threading.Lock()
        self.counting = threading.Lock()
        self.sigterm = threading.Event()
        self.launched: set[str] = set()  # jobs whose Create has answered or failed
        self.statuses: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()

    def client(self, service: str) -> Any:
        with self.creating:
            return self.session.client(service, endpoint_url=self.spec.url, config=self.config)

    def failed(self, error: Exception) -> None:
        code = (
            error.response.get("Error", {}).get("Code", "ClientError")
            if isinstance(error, ClientError)
            else type(error).__name__
        )
        with self.counting:
            self.errors[code] += 1
            if code in THROTTLING_CODES:
                self.result.throttling_surfaced += 1

    def launch_done(self, job: JobSpec) -> None:
        with self.counting:
            self.launched.add(job.name)

    def pod(self, job: JobSpec) -> None:
        try:
            self._pod(job)
        except (ClientError, BotoCoreError) as error:
            self.failed(error)
        finally:
            self.launch_done(job)  # whatever failed, even before its Create

    def _pod(self, job: JobSpec) -> None:
        sagemaker = self.client("sagemaker")
        noun, name = METHOD_NOUNS[job.kind], {NAME_FIELDS[job.kind]: job.name}
        body = request(job, job.duration_at(time.time() - self.result.t0))
        try:
            getattr(sagemaker, f"create_{noun}")(**body)
        finally:
            self.launch_done(job)
        with self.counting:
            self.result.submitted += 1
        describe = getattr(sagemaker, f"describe_{noun}")
        stopping = False
        while True:
            if stopping:
                time.sleep(self.spec.interval)
            elif self.sigterm.wait(self.spec.interval):
                stopping = True
                try:
                    getattr(sagemaker, f"stop_{noun}")(**name)
                except ClientError as error:
                    self.failed(error)
            status = describe(**name)[STATUS_FIELDS[job.kind]]
            if status in TERMINAL:
                self.result.detected[job.name] = time.time()
                with self.counting:
                    self.statuses[status] += 1
                break
        self._print_logs(job)

    def _print_logs(self, job: JobSpec) -> None:
        """v1: once the job has ended, the first page of each of its streams."""
        logs = self.client("logs")
        group = LOG_GROUPS[job.kind]
        streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=f"{job.name}/")
        lines = 0
        for stream in streams.get("logStreams", []):
            page = logs.get_log_events(
                logGroupName=group, logStreamName=stream["logStreamName"], startFromHead=True
            )
            lines += len(page.get("events", []))
        with self.counting:
            self.result.log_lines += lines


def run(spec: RunSpec) -> RunResult:
    result = RunResult(strategy="v1", phase=spec.phase, lag_kind="thread")
    pods = Pods(spec, result)

    def on_sigterm(signum: int, frame: Any) -> None:
        if result.signal_at is None:
            result.signal_at = time.time()
        pods.sigterm.set()

    signal.signal(signal.SIGTERM, on_sigterm)
    sampler, lag = CpuSampler(), ThreadLag()
    sampler.start()
    lag.start()
    threads = []
    result.t0 = time.time()
    for job in spec.jobs:
        if pods.sigterm.is_set():
            break
        time.sleep(max(0.0, result.t0 + job.submit_offset - time.time()))
        thread = threading.Thread(target=pods.pod, args=(job,), name=job.name, daemon=True)
        thread.start()
        threads.append(thread)
    while len(pods.launched) < len(threads) and not pods.sigterm.is_set():
        time.sleep(0.05)
    result.submit_done_at = time.time()
    if spec.phase == "sigterm":
        print(READY, flush=True)
    deadline = result.t0 + spec.deadline
    for thread in threads:
        thread.join(timeout=max(deadline - time.time(), 0.0))
    result.timed_out = any(thread.is_alive() for thread in threads)
    result.finished_at = time.time()
    lag.stop()
    sampler.stop()
    with pods.counting:
        result.statuses = dict(pods.statuses)
        result.errors = dict(pods.errors)
    result.cpu_s = cpu_seconds()
    result.peak_rss_mb = peak_rss_mb()
    result.cpu_samples = sampler.samples
    result.lag_samples = lag.samples
    return result
