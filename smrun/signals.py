"""SIGTERM/SIGINT for entry points: stop every job first, then exit 128 + signal.

The core installs no signal handler (a library must not take the process's signals); entry
points wrap their work in ``StopOnSignal``:

    with StopOnSignal(runner) as signals:
        outcome = await handle.wait()
    return signals.exit_code if signals.received else 0

On the first signal the runner's ``shutdown()`` starts at once, sending Stop for every job in
flight; the jobs' outcomes resolve as they reach Stopped, so the entry point's own waits end
normally. A second signal cancels the task that installed the handlers: the impatient path.

``TwoStageSignals`` is that two-stage policy alone (first signal: a callback; second: another,
then the cancellation of the task that entered it), which the launcher uses with its own
callbacks. Every handler acts before it logs or prints: a failing output stream never keeps a
signal from stopping the jobs (``runner.streams`` keeps the writes from raising, too).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from types import TracebackType

import structlog

from runner.core import Runner

log = structlog.get_logger("smrun.signals")


OnSignal = Callable[[signal.Signals], None]


class TwoStageSignals:
    """While entered, the first of ``signals`` calls ``first``; any later one calls ``again``
    and then cancels the task that entered (its waits end with ``CancelledError``)."""

    def __init__(
        self,
        first: OnSignal,
        again: OnSignal | None = None,
        signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT),
    ) -> None:
        self.first, self.again, self.signals = first, again, signals
        self.received: signal.Signals | None = None
        self._owner: asyncio.Task[object] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _on_signal(self, received: signal.Signals) -> None:
        if self.received is None:
            self.received = received
            self.first(received)
            return
        try:
            if self.again is not None:
                self.again(received)
        finally:  # the impatient path holds even when the callback failed
            if self._owner is not None:
                self._owner.cancel()

    def __enter__(self) -> TwoStageSignals:
        self._loop = asyncio.get_running_loop()
        self._owner = asyncio.current_task()
        for sig in self.signals:
            self._loop.add_signal_handler(sig, self._on_signal, sig)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._loop is not None:
            for sig in self.signals:
                self._loop.remove_signal_handler(sig)


class StopOnSignal:
    def __init__(
        self,
        runner: Runner,
        *,
        grace: float | None = None,
        signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT),
    ) -> None:
        self.runner = runner
        self.grace = grace
        self.shutdown_task: asyncio.Task[object] | None = None
        self._stages = TwoStageSignals(self._shut_down, self._again, signals)

    @property
    def received(self) -> signal.Signals | None:
        return self._stages.received

    @property
    def exit_code(self) -> int:
        """128 + the signal number (143 for SIGTERM, 130 for SIGINT), 0 without a signal."""
        return 128 + int(self.received) if self.received else 0

    def _shut_down(self, received: signal.Signals) -> None:
        # Act, then log: the shutdown is under way whatever the log stream does.
        in_flight = len(self.runner.in_flight)
        self.shutdown_task = asyncio.ensure_future(
            self.runner.shutdown(grace=self.grace, reason=received.name)
        )
        log.warning("runner.signal", signal=received.name, in_flight=in_flight)

    def _again(self, received: signal.Signals) -> None:
        log.warning("runner.signal_again", signal=received.name)

    async def wait_for_shutdown(self) -> None:
        """After a signal: until the runner has stopped what it could within the grace period."""
        if self.shutdown_task is not None:
            await asyncio.shield(self.shutdown_task)

    def __enter__(self) -> StopOnSignal:
        self._stages.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stages.__exit__(exc_type, exc, tb)
