"""A delay that grows while nothing happens and resets when something does.

Every "look again later" in the project is one of these: a job's Describe polls (reset when
its status changes), a log reader's rounds and each stream's reads (reset when new lines come),
the search for a job's log streams (reset when one appears), cleanup's wait for a job to end.
Jitter spreads the calls of many followers that started together (AWS's "Exponential Backoff
And Jitter", the Architecture Blog, 2015), so that they do not all come due at once.

Retries of a failed call are not this: they are tenacity's, in ``runner.retry``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

__all__ = ["Backoff", "jittered"]

_RANDOM = random.Random()


def jittered(seconds: float, spread: float, rng: random.Random | None = None) -> float:
    """``seconds`` moved by a uniform +-``spread`` fraction of itself."""
    if not spread:
        return seconds
    return seconds * (1 + (rng or _RANDOM).uniform(-spread, spread))


@dataclass(frozen=True, slots=True)
class Backoff:
    """``delay`` starts at ``initial``, is multiplied by ``factor`` up to ``maximum`` each time
    nothing new came (``after(progress=False)``), and is back at ``initial`` when something
    did. Immutable: each step is a new value."""

    initial: float
    maximum: float
    factor: float = 1.5
    jitter: float = 0.0  # a fraction: the delay used is delay * (1 +- jitter)
    delay: float = field(default=-1.0)

    def __post_init__(self) -> None:
        if not 0 <= self.initial <= self.maximum:
            raise ValueError("Backoff needs 0 <= initial <= maximum")
        if self.factor < 1 or not 0 <= self.jitter < 1:
            raise ValueError("Backoff needs factor >= 1 and 0 <= jitter < 1")
        if self.delay < 0:
            object.__setattr__(self, "delay", self.initial)

    def reset(self) -> Backoff:
        return replace(self, delay=self.initial)

    def grown(self) -> Backoff:
        return replace(self, delay=min(self.delay * self.factor, self.maximum))

    def after(self, *, progress: bool) -> Backoff:
        """The next step: reset after progress, grown after none."""
        return self.reset() if progress else self.grown()

    def sample(self, rng: random.Random | None = None) -> float:
        """The delay to wait this time, with its jitter."""
        return jittered(self.delay, self.jitter, rng)
