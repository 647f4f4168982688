"""The emulator a strategy runs against: a process of its own, ``aws-like`` quotas.

``python -m benchmarks.load.emulator --port 0 [--create-rate 100] [--describe-rate 100]``

Every quota is the ``aws-like`` profile's (``emulator/quotas.py``: ListTrainingJobs
2/s, Stop* 10/s, GetLogEvents 25/s, FilterLogEvents 5/s, ...) except two that the time
compression (``workload``) would otherwise turn into the whole measurement: Create* and
Describe* are raised to ``--create-rate`` and ``--describe-rate`` per second. With jobs that
end 30x sooner than on AWS, the calls every job costs once (its Create; the runner's lookup
before Create and its final Describe for outputs) arrive 30x faster too: at aws-like rates
(Create 2/s, Describe 20/s) 10,000 jobs would take 83 minutes to submit. The baselines poll
with Describe, so they get the same raised quota: the comparison is conservative.

Besides the emulator's own ``GET /_emulator/stats``, this process records when each Stop*
request arrived, for which job, and how it was answered (``GET /_bench/stops``): the SIGTERM
figures are the time from the signal until every job's Stop had been *received* once
(throttled or not), and until the last one was *accepted*. It also records every List* and
Search page
(``GET /_bench/lists``: when, which operation, whether it carried a token and whether its
answer did), from which the harness tells sweeps apart: a sweep is a first page and the pages
that follow its tokens (``metrics.sweep_figures``). Each List row says whether the bystander
sent it (``bystander.MARK`` in its User-Agent), so that its pages are not counted as the
strategy's and its throttled answers are counted as its own.

``--history N``, ``--list-paging`` and ``--creation-time-bounds-scan`` set the account as
``smrun emulator`` does, and ``--event-delay S`` how late EventBridge delivers SageMaker's
events to a rule's SQS queue (``smrun emulator --event-delay``; the ``ours-events`` strategy
sets up the queue and rule, ``events``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NamedTuple

from aiohttp import web

from benchmarks.load.bystander import MARK
from benchmarks.server_process import ServerProcess
from emulator.delivery import EventDelivery
from emulator.listing import Paging
from emulator.quotas import AWS_LIKE_RATES, Quotas, Rate
from emulator.server import create_app
from emulator.state import Emulator, EmulatorConfig


class ListRow(NamedTuple):
    """One List* request as the benchmark emulator saw it."""

    at: float  # received, time.time()
    operation: str
    had_token: bool
    gave_token: bool  # its answer carried a NextToken
    status: int  # HTTP status: 200 answered, 400 throttled (or refused)
    bystander: bool  # sent by the bystander, not the strategy


STOPS_KEY: web.AppKey[list[Any]] = web.AppKey("stops", list)
LISTS_KEY: web.AppKey[list[Any]] = web.AppKey("lists", list)


def bench_rates(create_rate: float, describe_rate: float) -> dict[str, Rate]:
    rates = dict(AWS_LIKE_RATES)
    rates["sagemaker:Create*"] = Rate(create_rate, create_rate)
    rates["sagemaker:Describe*"] = Rate(describe_rate, describe_rate)
    return rates


Row = Callable[[float, str, dict[str, Any], web.StreamResponse, bool], list[Any]]


def _recorder(prefix: str, key: web.AppKey[list[Any]], row: Row) -> Any:
    """A middleware that appends ``row(received, operation, request body, response, from the
    bystander)`` to ``app[key]`` for every SageMaker request whose operation starts with
    ``prefix``."""

    @web.middleware
    async def record(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        target = request.headers.get("X-Amz-Target", "")
        if not target.startswith(f"SageMaker.{prefix}"):
            return await handler(request)
        received = time.time()
        try:
            body = json.loads(await request.read() or b"{}")  # aiohttp keeps it for the handler
        except ValueError:
            body = {}
        response = await handler(request)
        params = body if isinstance(body, dict) else {}
        bystander = MARK in request.headers.get("User-Agent", "")
        operation = target.partition(".")[2]
        request.app[key].append(row(received, operation, params, response, bystander))
        return response

    return record


def _stop_row(
    received: float,
    operation: str,
    body: dict[str, Any],
    response: web.StreamResponse,
    bystander: bool,
) -> list[Any]:
    name = next((str(v) for k, v in body.items() if k.endswith("Name")), "")
    return [received, response.status, name]


def _list_row(
    received: float,
    operation: str,
    body: dict[str, Any],
    response: web.StreamResponse,
    bystander: bool,
) -> list[Any]:
    answer = getattr(response, "body", None)
    answered_token = isinstance(answer, bytes) and b'"NextToken"' in answer
    had_token = bool(body.get("NextToken"))
    return [received, operation, had_token, answered_token, response.status, bystander]


async def _lists(request: web.Request) -> web.Response:
    return web.json_response({"lists": request.app[LISTS_KEY]})


async def _stops(request: web.Request) -> web.Response:
    return web.json_response({"stops": request.app[STOPS_KEY]})


async def serve(args: argparse.Namespace) -> None:
    config = EmulatorConfig(
        profile="aws-like",
        stop_duration=args.stop_duration,
        log_lines=args.log_lines,
        history=args.history,
        paging=Paging(args.list_paging, creation_time_bounds_scan=args.creation_time_bounds_scan),
        events=EventDelivery(delay_s=args.event_delay),
    )
    emulator = Emulator(config)
    emulator.quotas = Quotas(bench_rates(args.create_rate, args.describe_rate))
    app = create_app(emulator)
    app[STOPS_KEY] = []
    app[LISTS_KEY] = []
    app.middlewares.extend(
        [
            _recorder("Stop", STOPS_KEY, _stop_row),
            _recorder("List", LISTS_KEY, _list_row),
            _recorder("Search", LISTS_KEY, _list_row),
        ]
    )
    app.router.add_get("/_bench/stops", _stops)
    app.router.add_get("/_bench/lists", _lists)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    await web.SockSite(runner, sock, backlog=4096).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"benchmark emulator listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load.emulator")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--create-rate", type=float, default=100.0)
    parser.add_argument("--describe-rate", type=float, default=100.0)
    parser.add_argument("--stop-duration", type=float, default=1.0)
    parser.add_argument("--log-lines", type=int, default=20)
    parser.add_argument("--history", type=int, default=0)
    parser.add_argument("--list-paging", choices=["aws", "exact"], default="aws")
    parser.add_argument("--creation-time-bounds-scan", action="store_true")
    parser.add_argument("--event-delay", type=float, default=0.0)
    asyncio.run(serve(parser.parse_args(argv)))
    return 0


class EmulatorProcess(ServerProcess):
    """The harness's handle on one emulator process: start, read its figures, stop."""

    def __init__(
        self,
        *,
        create_rate: float,
        describe_rate: float,
        stop_duration: float,
        log: Path,
        account: tuple[str, ...] = (),
    ) -> None:
        """``account``: ``--history``/paging flags of ``main``."""
        self._log = log.open("w")
        command = [
            sys.executable,
            "-m",
            "benchmarks.load.emulator",
            "--create-rate",
            str(create_rate),
            "--describe-rate",
            str(describe_rate),
            "--stop-duration",
            str(stop_duration),
            *account,
        ]
        # A long history takes a while to build before the banner.
        super().__init__(command, stderr=self._log, start_timeout=180)

    def stops(self) -> list[tuple[float, int, str]]:
        """(received at, HTTP status, job name) of every Stop* request."""
        return [
            (float(at), int(status), str(name))
            for at, status, name in self.get("/_bench/stops")["stops"]
        ]

    def lists(self) -> list[ListRow]:
        """Every List* request the emulator received, in order."""
        return [
            ListRow(float(at), str(operation), bool(had), bool(gave), int(status), bool(by))
            for at, operation, had, gave, status, by in self.get("/_bench/lists")["lists"]
        ]

    def stop(self) -> None:
        super().stop()
        self._log.close()


if __name__ == "__main__":
    sys.exit(main())
