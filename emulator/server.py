"""The emulator's HTTP face: AWS's wire protocols over aiohttp.

Every request is a ``POST /``: an AWS JSON one (SageMaker, CloudWatch Logs, SQS, EventBridge) names its operation
in the ``X-Amz-Target`` header (``SageMaker.CreateTrainingJob``), an AWS query one (STS) in its
form's ``Action`` with the service in its signature's credential scope (see
``emulator.protocols``), so an unmodified boto3 or aiobotocore client of any served
service reaches it with ``endpoint_url``. Signatures are not checked; credentials issued by the
emulator's AssumeRole are (their session token and expiry, ``emulator.sts``).

One request goes through, whatever its service: count it -> injected latency and faults -> its
credentials -> the operation's quota -> validation against botocore's input shape -> the handler
-> (in tests) a check of the answer against the output shape.

Control endpoints, for tests and benchmarks:

``GET  /_emulator/stats``   calls and throttles per operation, and every job (see ``Emulator.stats``)
``POST /_emulator/faults``  replace the fault settings: ``{"throttle_rate": 0.3, ...}`` (keys left
                            out take their defaults; ``Faults.from_json``); 400 with the
                            problems and the accepted keys
``POST /_emulator/events``  replace how EventBridge delivers events: ``{"delay_s": 2,
                            "duplicate_rate": 0.1, "reorder_s": 1, "seed": 7}``
                            (``EventDelivery.from_json``); 400 with the problems
``GET  /_emulator/health``  200 once the server is up
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import threading
from types import TracebackType
from typing import Any

from aiohttp import web

from emulator import errors, protocols, sqs, sts
from emulator.delivery import EventDelivery
from emulator.quotas import Faults
from emulator.shapes import response_problems
from emulator.state import AWAITING, SERVICES, Emulator, EmulatorConfig, Response
from runner.validation import Problem, validate_request

log = logging.getLogger("emulator")

EMULATOR_KEY = web.AppKey("emulator", Emulator)


def _load_handlers() -> None:
    # Importing a module registers its operations.
    from emulator import eventbridge, hosting, jobs, logs, sqs, tagging, tuning, workteams

    del eventbridge, hosting, jobs, logs, sqs, tagging, tuning, workteams


# Bodies of requests already found valid, per operation: a Describe of the same job, sent
# again and again by a poller, is not validated again. Validation depends on the body alone.
_VALID_BODIES_MAX = 65_536
_VALID_BODY_BYTES = 1024
_valid_bodies: set[tuple[str, str, bytes]] = set()


def _problems(service: str, name: str, raw: bytes, params: Any) -> list[Problem]:
    """``validate_request``, skipped for a body found valid before."""
    key = (service, name, raw)
    if key in _valid_bodies:
        return []
    problems = validate_request(service, name, params)
    if not problems and len(raw) <= _VALID_BODY_BYTES:
        if len(_valid_bodies) >= _VALID_BODIES_MAX:
            _valid_bodies.clear()
        _valid_bodies.add(key)
    return problems


async def _injected_fault(
    emulator: Emulator, request: web.Request, route: protocols.Route
) -> web.StreamResponse | None:
    """The answer of the fault this request draws before it is served, if any (a dropped
    connection's, ``_drop``); a lost answer is marked on the request for ``_dispatch`` to
    drop after serving it."""
    service, name, wire = route.service.name, route.operation, route.service.wire
    faults = emulator.config.faults
    if not faults.applies_to(service, name):
        return None
    delay = faults.delay()
    if delay:
        await asyncio.sleep(delay)
    fault = faults.draw()
    if fault == "drop":
        return _drop(request, f"emulator: injected dropped connection ({service} {name})")
    if fault == "lose_answer":
        request[_LOSE_ANSWER] = True
    if fault == "error":
        return wire.error(errors.internal_failure())
    if fault == "throttle":
        emulator.throttled[name] += 1
        return wire.error(errors.throttled())
    return None


_LOSE_ANSWER = web.RequestKey("lose_answer", bool)


def _drop(request: web.Request, why: str) -> web.StreamResponse:
    """Abort the connection, said in one log line rather than aiohttp's traceback of a
    handler's exception (at 2% of a 1,000-job run those tracebacks were most of the
    emulator's output). The answer returned is never sent: aiohttp takes the failed write as
    a client gone."""
    if request.transport is not None:
        request.transport.abort()
    log.info(why)
    return web.Response(status=500)


async def _dispatch(request: web.Request) -> web.StreamResponse:
    emulator = request.app[EMULATOR_KEY]
    raw = await request.read()
    try:
        route = protocols.route(request.headers, raw)
    except protocols.Unroutable as refused:
        return refused.wire.error(refused.error)
    service, name, wire = route.service.name, route.operation, route.service.wire
    emulator.calls[name] += 1
    try:
        faulted = await _injected_fault(emulator, request, route)
        if faulted is not None:
            return faulted
        sts.CALLER.set(sts.authenticate(emulator, request.headers))
        if not emulator.quotas.admit(name):
            emulator.throttled[name] += 1
            return wire.error(errors.throttled())
        operation = route.service.operation_model(name)
        params = wire.params(operation, raw)
        problems = _problems(service, name, raw, params)
        if problems:
            return wire.error(errors.invalid_request(problems))
        response = await _answer(emulator, request, route, params)
        if service == "sagemaker" and name.startswith("List"):
            emulator.record_listing(name, response)
        _check_response(emulator, service, name, response)
    except errors.AwsError as error:
        return wire.error(error)
    answer: web.StreamResponse = wire.answer(operation, response)
    if request.get(_LOSE_ANSWER):
        emulator.lost_answers[name] += 1
        answer = _drop(request, f"emulator: injected lost answer ({service} {name})")
    return answer


def _check_response(emulator: Emulator, service: str, name: str, response: Response) -> None:
    """With ``check_responses``, an answer that breaks botocore's output shape is the emulator's
    own bug: refused as an InternalFailure, never sent as if it were AWS's."""
    if not emulator.config.check_responses:
        return
    wrong = response_problems(service, name, response)
    if wrong:
        log.error("emulator response breaks the output shape: %s", wrong)
        raise errors.AwsError("InternalFailure", f"emulator bug: {'; '.join(wrong)}", 500)


async def _answer(
    emulator: Emulator, request: web.Request, route: protocols.Route, params: Any
) -> Response:
    """The handler's answer; an operation that may wait (a long poll) is awaited."""
    sqs.HOST.set(request.host)
    waiting = AWAITING.get((route.service.name, route.operation))
    if waiting is not None:
        return await waiting(emulator, params)
    return route.handler(emulator, params)


async def _stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[EMULATOR_KEY].stats())


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _set_faults(request: web.Request) -> web.Response:
    """Replace the faults with the body's (``Faults.from_json``); 400 with what is wrong."""
    emulator = request.app[EMULATOR_KEY]
    try:
        emulator.config.faults = Faults.from_json(await request.read(), SERVICES)
    except ValueError as error:
        return web.json_response({"error": str(error)}, status=400)
    return web.json_response({"ok": True})


async def _set_events(request: web.Request) -> web.Response:
    """Replace how events are delivered (``EventDelivery.from_json``); 400 with what is wrong."""
    emulator = request.app[EMULATOR_KEY]
    try:
        delivery = EventDelivery.from_json(await request.read())
    except ValueError as error:
        return web.json_response({"error": str(error)}, status=400)
    emulator.bus.catch_up()  # what happened before is delivered as it was configured then
    emulator.config.events = delivery
    return web.json_response({"ok": True})


def create_app(emulator: Emulator) -> web.Application:
    _load_handlers()
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app[EMULATOR_KEY] = emulator
    app.router.add_post("/", _dispatch)
    app.router.add_get("/_emulator/stats", _stats)
    app.router.add_get("/_emulator/health", _health)
    app.router.add_post("/_emulator/faults", _set_faults)
    app.router.add_post("/_emulator/events", _set_events)
    app.on_startup.append(_open_long_polls)
    app.on_shutdown.append(_end_long_polls)
    return app


async def _open_long_polls(app: web.Application) -> None:
    app[EMULATOR_KEY].sqs.closing = False


async def _end_long_polls(app: web.Application) -> None:
    """A stopping server answers its waiting ReceiveMessage calls at once (empty) rather than
    wait out their WaitTimeSeconds for clients that are gone."""
    app[EMULATOR_KEY].sqs.close()


class EmulatorServer:
    """The emulator served on ``host``:``port`` (0 picks a free port) inside the running loop.

    ``async with EmulatorServer() as server:`` then point clients at ``server.url``.
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        emulator: Emulator | None = None,
    ) -> None:
        self.emulator = emulator or Emulator(config)
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self._runner = web.AppRunner(
            create_app(self.emulator), access_log=None, handle_signals=False
        )
        await self._runner.setup()
        # Bind first so that port 0 resolves to a real port before anyone asks for the URL.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock, backlog=1024).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> EmulatorServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


async def serve_forever(config: EmulatorConfig, host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT (the ``smrun emulator`` command), then close cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with EmulatorServer(config, host=host, port=port) as server:
        print(
            f"SageMaker emulator listening on {server.url} (profile {config.profile}; "
            f"List paging {config.paging.describe()}; history {config.history} jobs per kind)",
            flush=True,
        )
        await stop.wait()


class BackgroundEmulator:
    """The emulator on its own thread and event loop, for a command that runs against it
    (``smrun launch --local``): the command's loop never waits on the emulator's work.

        with BackgroundEmulator(config) as url:
            ...  # clients use endpoint_url=url
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config
        self.url = ""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, name="smrun-emulator", daemon=True)

    def _serve(self) -> None:
        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            async with EmulatorServer(self.config) as server:
                self.url = server.url
                self._ready.set()
                await self._stop.wait()

        try:
            asyncio.run(serve())
        except BaseException as error:  # reported to the thread that waits for readiness
            self._error = error
            self._ready.set()

    def __enter__(self) -> str:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise RuntimeError(f"the local emulator did not start: {self._error}")
        return self.url

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)
