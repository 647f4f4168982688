"""Per-operation token buckets shared by every job in the process.

AWS applies its rate limits per account and region, per operation; the runner spends one
budget per operation for all its jobs, so a thousand jobs cost the same call rate as ten.
Waiting callers queue in order; the bucket never sleeps longer than the next token needs.
"""

from __future__ import annotations

import asyncio
import time

from runner.config import Rate, RateLimits


class TokenBucket:
    def __init__(self, rate: Rate) -> None:
        self.rate = rate
        self._tokens = float(rate.burst)
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(
            float(self.rate.burst), self._tokens + (now - self._stamp) * self.rate.per_second
        )
        self._stamp = now

    async def acquire(self) -> None:
        # The lock makes waiters take tokens first come, first served.
        async with self._lock:
            self._refill()
            while self._tokens < 1.0:
                await asyncio.sleep((1.0 - self._tokens) / self.rate.per_second)
                self._refill()
            self._tokens -= 1.0


class RateLimiter:
    """One bucket per operation that ``limits`` names; other operations pass freely."""

    def __init__(self, limits: RateLimits) -> None:
        self._limits = limits
        self._buckets: dict[str, TokenBucket | None] = {}

    async def acquire(self, operation: str) -> None:
        if operation not in self._buckets:
            rate = self._limits.rate_for(operation)
            self._buckets[operation] = TokenBucket(rate) if rate else None
        bucket = self._buckets[operation]
        if bucket is not None:
            await bucket.acquire()
