"""The gate every Create goes through, so that shutdown stops the ones not yet sent at once.

Phase one of a shutdown (``runner.stopping.ShutdownPhase``) is "admit nothing more": a Create
waiting for a token of its budget (``runner.ratelimit``) or between two retries would
otherwise still go out seconds later, a paid job started after the user asked to stop (issue
16 measured 45 of 60 Creates sent after SIGTERM with every call 0.5 s slow). Once ``close()``
is called, such a Create is abandoned: ``NotSent`` when no attempt reached SageMaker but to be
throttled (a throttled request made nothing, by ``ThrottlingException``'s meaning), else
``AnswerUnknown`` (a dropped connection or a 5xx may have made the job: the caller looks it
up). A Create on the wire when the gate closes is let finish: its answer names the job, which
the runner then stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

from runner.errors import AnswerUnknown, NotSent, RunnerClosed
from runner.retry import is_throttling

T = TypeVar("T")


class Wire:
    """One gated call: whether an attempt is on the wire now, and whether one may have made
    something (reached SageMaker and was not throttled)."""

    def __init__(self, gate: CreateGate, operation: str) -> None:
        self._gate, self.operation = gate, operation
        self.on_wire = False
        self.maybe_made = False

    def refusal(self) -> RunnerClosed:
        if self.maybe_made:
            return AnswerUnknown(f"{self.operation}: shutting down, and the answer is unknown")
        return NotSent(f"{self.operation} not sent: shutting down")

    @contextlib.contextmanager
    def sending(self) -> Iterator[None]:
        """Around one attempt's request: refused once the gate is closed."""
        if self._gate.closed:
            raise self.refusal()
        self.on_wire = True
        try:
            yield
        except BaseException as error:
            if not is_throttling(error):
                self.maybe_made = True
            raise
        finally:
            self.on_wire = False


# The gated call's Wire, in the task ``CreateGate.send`` runs it in; None for any other call.
WIRE: contextvars.ContextVar[Wire | None] = contextvars.ContextVar("smrun_wire", default=None)


class CreateGate:
    def __init__(self) -> None:
        self._closed = asyncio.Event()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def close(self) -> None:
        self._closed.set()

    async def send(self, operation: str, request: Callable[[Wire], Awaitable[T]]) -> T:
        """``request(wire)``'s answer, or ``NotSent``/``AnswerUnknown`` as soon as the gate
        closes while the request is not on the wire."""
        wire = Wire(self, operation)
        if self.closed:
            raise wire.refusal()
        task = asyncio.ensure_future(request(wire))
        closing = asyncio.ensure_future(self._closed.wait())
        try:
            while not task.done():
                await asyncio.wait({task, closing}, return_when=asyncio.FIRST_COMPLETED)
                if task.done() or not wire.on_wire:
                    break
                await asyncio.wait({task})  # on the wire: its answer names what it made
            if not task.done():
                task.cancel()
                # gather, not a suppressed CancelledError: the caller's own cancellation,
                # arriving while the request winds down, must reach the caller.
                await asyncio.gather(task, return_exceptions=True)
                raise wire.refusal()
            return task.result()
        finally:
            closing.cancel()
            if not task.done():  # the caller itself was cancelled
                task.cancel()
