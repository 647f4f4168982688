"""Clocks for the emulator (``Emulator.clock``) and botocore's credentials: moved by hand, or held
still until a test lets them run."""

from __future__ import annotations

import datetime as dt
import time


class HandClock:
    """Epoch seconds that change only when a test moves them: expiries and job phases are
    checked at exact moments, never by racing the wall clock."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def utc(self) -> dt.datetime:
        """The same moment as botocore's refreshable credentials read it (``_time_fetcher``)."""
        return dt.datetime.fromtimestamp(self.now, dt.UTC)


class HeldClock:
    """The emulator's clock, held still until ``release()``, then running from where it was held:
    an endpoint is surely still Creating when the cleanup first looks, however slowly the
    machine starts the cleanup's process."""

    def __init__(self) -> None:
        self.held_at = time.time()
        self.behind: float | None = None

    def __call__(self) -> float:
        return self.held_at if self.behind is None else time.time() - self.behind

    def release(self) -> None:
        self.behind = time.time() - self.held_at
