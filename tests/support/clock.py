"""A clock moved by hand, for the emulator (``Emulator.clock``) and botocore's credentials."""

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
