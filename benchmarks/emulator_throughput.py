"""How many calls a second the emulator serves on one core.

``python -m benchmarks.emulator_throughput [--seconds 5] [--clients N] [--jobs 1000]
[--http-client aiohttp|raw]``

The emulator runs as its own process (``smrun emulator``), pinned to one core. The load comes
from ``--clients`` separate processes, pinned to the other cores where there are any, each
keeping ``--connections`` requests in flight with raw aiohttp POSTs (AWS JSON 1.1, unsigned:
the emulator does not check signatures), so the client side is not what is measured. On a
machine with two cores, one core of aiohttp clients cannot keep the server busy: the ``per
cpu-s`` column (calls per CPU-second of the server) is then its capacity on one whole core,
and ``--http-client raw`` (keep-alive HTTP/1.1 written by hand, several times cheaper per call)
saturates it.

Three workloads, after creating ``--jobs`` training jobs:

``describe``  DescribeTrainingJob of a random job
``list``      ListTrainingJobs with MaxResults 100 (a full page of 100 summaries)
``poll``      what the runner's delta polling sends: ListTrainingJobs with LastModifiedTimeAfter
              two seconds ago, NameContains, MaxResults 100, CreationTime descending (the jobs
              outlast the benchmark and were all created before it, so pages are empty: the
              cost of asking)

For each: calls/s the server answered (client count, checked against the server's own
``/_emulator/stats``), p50/p99 latency as the clients saw it, and the server's CPU use over
the window (close to 100% of its core means the server, not the load, was the limit).

The table goes to stdout, everything to ``benchmarks/results/emulator-throughput.json``.
``--cprofile FILE`` runs the server under cProfile and writes its profile to FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import random
import shutil
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.sagemaker_requests import training_request
from benchmarks.server_process import ServerProcess

RESULTS = Path(__file__).parent / "results" / "emulator-throughput.json"
CONTENT_TYPE = "application/x-amz-json-1.1"
WARMUP_S = 0.5
TARGET_DESCRIBE_PER_S = 2000


def job_name(index: int) -> str:
    return f"bench-{index:05d}"


def headers(operation: str) -> dict[str, str]:
    return {"X-Amz-Target": f"SageMaker.{operation}", "Content-Type": CONTENT_TYPE}


# --- the server -------------------------------------------------------------------------------


class Server(ServerProcess):
    """``smrun emulator`` in its own process, pinned to ``core``."""

    def __init__(self, core: int, cprofile: Path | None) -> None:
        self.core = core
        command = [sys.executable]
        if cprofile is not None:
            command += ["-m", "cProfile", "-o", str(cprofile)]
        # Jobs that outlast the benchmark: Describe answers are those of a running job throughout.
        command += ["-m", "smrun.cli", "emulator", "--port", "0", "--job-duration", "86400"]
        if shutil.which("taskset"):
            command = ["taskset", "-c", str(core), *command]
        # Without taskset, it is pinned from here.
        super().__init__(command, pin_to=core)
        self.affinity = sorted(os.sched_getaffinity(self.process.pid))


# --- the load ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadSpec:
    """What one load process does (picklable: it crosses into a spawned process)."""

    url: str
    workload: str
    operation: str
    jobs: int
    connections: int
    start_at: float  # epoch seconds: every process starts at once
    window: float  # measured seconds, after WARMUP_S
    seed: int
    core: int | None
    client: str  # "aiohttp" or "raw"


@dataclass
class LoadResult:
    completed: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds, completed in the window


async def create_jobs(url: str, count: int, concurrency: int = 32) -> None:
    names = iter(range(count))

    async def worker(session: aiohttp.ClientSession) -> None:
        for index in names:
            body = json.dumps(training_request(job_name(index)))
            async with session.post(
                url, data=body, headers=headers("CreateTrainingJob")
            ) as response:
                if response.status != 200:
                    raise RuntimeError(
                        f"CreateTrainingJob failed: {response.status} {await response.text()}"
                    )
                await response.read()

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))


class RawConnection:
    """One keep-alive HTTP/1.1 connection, spoken by hand: a far cheaper client than aiohttp's,
    for when the load generators, not the server, would otherwise be the limit."""

    def __init__(self, url: str, operation: str) -> None:
        parsed = urllib.parse.urlsplit(url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 80
        self.prefix = (
            f"POST / HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"X-Amz-Target: SageMaker.{operation}\r\nContent-Type: {CONTENT_TYPE}\r\n"
        ).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> bool:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.reader, self.writer
        try:
            writer.write(self.prefix + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self.close()
            return False
        parts = status_line.split(b" ", 2)
        return len(parts) > 1 and parts[1] == b"200"

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def body_maker(spec: LoadSpec) -> Callable[[], bytes]:
    """The request body of each call of ``spec.workload``."""
    rng = random.Random(spec.seed)
    list_body = json.dumps({"MaxResults": 100}).encode()

    def next_body() -> bytes:
        if spec.workload == "describe":
            return json.dumps({"TrainingJobName": job_name(rng.randrange(spec.jobs))}).encode()
        if spec.workload == "poll":
            poll = {
                "LastModifiedTimeAfter": round(time.time() - 2.0, 3),
                "NameContains": "bench-",
                "MaxResults": 100,
                "SortBy": "CreationTime",
                "SortOrder": "Descending",
            }
            return json.dumps(poll).encode()
        return list_body

    return next_body


Call = Callable[[bytes], Awaitable[bool]]


async def drive(spec: LoadSpec) -> LoadResult:
    """Keep ``spec.connections`` requests in flight from ``spec.start_at`` until the window closes."""
    result = LoadResult()
    window_start = spec.start_at + WARMUP_S
    window_end = window_start + spec.window
    next_body = body_maker(spec)

    async def worker(call: Call) -> None:
        while True:
            body = next_body()
            sent = time.perf_counter()
            ok = await call(body)
            done = time.perf_counter()
            wall = time.time()
            if wall >= window_end:
                return
            if wall >= window_start:
                if ok:
                    result.completed += 1
                    result.latencies.append(done - sent)
                else:
                    result.errors += 1

    if spec.client == "raw":
        await _drive_raw(spec, worker)
    else:
        await _drive_aiohttp(spec, worker)
    return result


async def _drive_raw(spec: LoadSpec, worker: Callable[[Call], Awaitable[None]]) -> None:
    connections = [RawConnection(spec.url, spec.operation) for _ in range(spec.connections)]
    await asyncio.sleep(max(0.0, spec.start_at - time.time()))
    try:
        await asyncio.gather(*(worker(connection.post) for connection in connections))
    finally:
        for connection in connections:
            connection.close()


async def _drive_aiohttp(spec: LoadSpec, worker: Callable[[Call], Awaitable[None]]) -> None:
    request_headers = headers(spec.operation)
    connector = aiohttp.TCPConnector(limit=spec.connections)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def call(body: bytes) -> bool:
            try:
                async with session.post(spec.url, data=body, headers=request_headers) as response:
                    await response.read()
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        await asyncio.sleep(max(0.0, spec.start_at - time.time()))
        await asyncio.gather(*(worker(call) for _ in range(spec.connections)))


def load_process(spec: LoadSpec, results: Any) -> None:
    if spec.core is not None:
        os.sched_setaffinity(0, {spec.core})
    results.put(asdict(asyncio.run(drive(spec))))


@dataclass
class Measurement:
    workload: str
    operation: str
    client: str
    seconds: float
    clients: int
    connections_per_client: int
    calls: int
    errors: int
    calls_per_s: float
    server_counted_per_s: float
    p50_ms: float
    p99_ms: float
    server_cpu_percent: float
    # Calls per CPU-second the server used: its capacity on one whole core, whether the load
    # or something else sharing the machine kept it from using all of it.
    calls_per_server_cpu_s: float


def measure(
    server: Server,
    workload: str,
    operation: str,
    *,
    jobs: int,
    seconds: float,
    clients: int,
    connections: int,
    load_cores: list[int],
    client: str,
) -> Measurement:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    start_at = time.time() + 1.5  # time for the load processes to start up
    processes = [
        context.Process(
            target=load_process,
            args=(
                LoadSpec(
                    url=server.url,
                    workload=workload,
                    operation=operation,
                    jobs=jobs,
                    connections=connections,
                    start_at=start_at,
                    window=seconds,
                    seed=i,
                    core=load_cores[i % len(load_cores)] if load_cores else None,
                    client=client,
                ),
                queue,
            ),
        )
        for i in range(clients)
    ]
    for process in processes:
        process.start()
    # Server-side counters and CPU time over the same window as the clients'.
    time.sleep(max(0.0, start_at + WARMUP_S - time.time()))
    cpu_before, wall_before = server.cpu_seconds(), time.time()
    calls_before = server.stats()["calls"].get(operation, 0)
    time.sleep(max(0.0, start_at + WARMUP_S + seconds - time.time()))
    calls_after = server.stats()["calls"].get(operation, 0)
    cpu_after, wall_after = server.cpu_seconds(), time.time()
    results = [queue.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)

    latencies: list[float] = sorted(
        latency for result in results for latency in result["latencies"]
    )
    completed = sum(result["completed"] for result in results)
    errors = sum(result["errors"] for result in results)

    def percentile(fraction: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(fraction * len(latencies)))] * 1000

    server_rate = (calls_after - calls_before) / (wall_after - wall_before)
    cpu_used = cpu_after - cpu_before
    return Measurement(
        workload=workload,
        operation=operation,
        client=client,
        seconds=seconds,
        clients=clients,
        connections_per_client=connections,
        calls=completed,
        errors=errors,
        calls_per_s=round(completed / seconds, 1),
        server_counted_per_s=round(server_rate, 1),
        p50_ms=round(percentile(0.50), 2),
        p99_ms=round(percentile(0.99), 2),
        server_cpu_percent=round(100 * cpu_used / (wall_after - wall_before), 1),
        calls_per_server_cpu_s=round((calls_after - calls_before) / cpu_used, 1)
        if cpu_used
        else 0.0,
    )


# --- the command ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    cores = sorted(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.emulator_throughput", description=__doc__
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="measured window per workload")
    parser.add_argument(
        "--clients", type=int, default=max(2, len(cores) - 1), help="load-generating processes"
    )
    parser.add_argument("--connections", type=int, default=16, help="requests in flight per client")
    parser.add_argument(
        "--jobs", type=int, default=1000, help="training jobs created before measuring"
    )
    parser.add_argument(
        "--server-core", type=int, default=cores[-1], help="the core the emulator is pinned to"
    )
    parser.add_argument(
        "--http-client",
        dest="client",
        choices=["aiohttp", "raw"],
        default="aiohttp",
        help="aiohttp's client, or a minimal hand-written HTTP/1.1 one that costs the load "
        "generators far less CPU per call (for machines with few cores)",
    )
    parser.add_argument(
        "--workloads",
        default="describe,list,poll",
        help="comma-separated: describe,list,poll",
    )
    parser.add_argument(
        "--cprofile", type=Path, default=None, help="profile the server into this file"
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    return parser.parse_args(argv)


COLUMNS = ["workload", "calls/s", "server/s", "p50 ms", "p99 ms", "errors", "cpu %", "per cpu-s"]
WIDTHS = [10, 9, 9, 8, 8, 7, 6, 10]


def cells(m: Measurement) -> list[str]:
    return [
        m.workload,
        f"{m.calls_per_s:.0f}",
        f"{m.server_counted_per_s:.0f}",
        f"{m.p50_ms:.2f}",
        f"{m.p99_ms:.2f}",
        str(m.errors),
        f"{m.server_cpu_percent:.0f}",
        f"{m.calls_per_server_cpu_s:.0f}",
    ]


def format_row(row: list[str]) -> str:
    first = f"{row[0]:<{WIDTHS[0]}}"
    return " ".join(
        [first, *(f"{cell:>{width}}" for cell, width in zip(row[1:], WIDTHS[1:], strict=True))]
    )


WORKLOADS = {
    "describe": "DescribeTrainingJob",
    "list": "ListTrainingJobs",
    "poll": "ListTrainingJobs",
}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cores = sorted(os.sched_getaffinity(0))
    load_cores = [core for core in cores if core != args.server_core] or cores
    server = Server(args.server_core, args.cprofile)
    measurements: list[Measurement] = []
    try:
        started = time.perf_counter()
        asyncio.run(create_jobs(server.url, args.jobs))
        create_rate = args.jobs / (time.perf_counter() - started)
        for workload in args.workloads.split(","):
            measurements.append(
                measure(
                    server,
                    workload,
                    WORKLOADS[workload],
                    jobs=args.jobs,
                    seconds=args.seconds,
                    clients=args.clients,
                    connections=args.connections,
                    load_cores=load_cores,
                    client=args.client,
                )
            )
    finally:
        server.stop()

    print(
        f"emulator pinned to core {server.affinity}, {args.clients} {args.client} load processes on cores "
        f"{load_cores} x {args.connections} connections, {args.jobs} jobs "
        f"(created at {create_rate:.0f}/s), {args.seconds:g} s per workload"
    )
    print(format_row(COLUMNS))
    print("-" * len(format_row(COLUMNS)))
    for m in measurements:
        print(format_row(cells(m)))
    describe = next((m for m in measurements if m.workload == "describe"), None)
    if describe is not None:
        verdict = "meets" if describe.calls_per_s >= TARGET_DESCRIBE_PER_S else "is BELOW"
        print(
            f"Describe: {describe.calls_per_s:.0f} calls/s {verdict} the target of {TARGET_DESCRIBE_PER_S}/s on one core"
        )
        if describe.server_cpu_percent < 85:
            print(
                f"  the server used only {describe.server_cpu_percent:.0f}% of its core: the load (or another "
                f"process on the machine) was the limit; a whole core serves ~{describe.calls_per_server_cpu_s:.0f}/s"
            )

    report = {
        "benchmark": "emulator_throughput",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "server_cores": server.affinity,
            "load_cores": load_cores,
        },
        "settings": {
            "seconds": args.seconds,
            "clients": args.clients,
            "client": args.client,
            "connections_per_client": args.connections,
            "jobs": args.jobs,
            "warmup_s": WARMUP_S,
            "cprofile": str(args.cprofile) if args.cprofile else None,
        },
        "create_jobs_per_s": round(create_rate, 1),
        "target_describe_per_s": TARGET_DESCRIBE_PER_S,
        "results": [asdict(m) for m in measurements],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
