"""``runner.ratelimit`` and ``RateLimits``: token buckets, Stops at their budget, longest prefix wins.

Rates are measured on a virtual clock: the module's ``time.monotonic`` and ``asyncio.sleep``
are replaced by a clock that advances only when the bucket sleeps, so the counts are exact and
nothing depends on how busy the machine is. One loose test uses the real clock.
"""

from __future__ import annotations

import asyncio
import time
import types

import pytest

from runner import ratelimit
from runner.config import DEFAULT_RATES, Rate, RateLimits
from runner.ratelimit import RateLimiter, TokenBucket


class VirtualClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        # A real sleep always lets some time pass; without the floor, a sleep of 1e-16 s
        # (float rounding in the bucket) would leave the virtual clock where it was.
        self.now += max(seconds, 1e-6)
        await asyncio.sleep(0)  # still yield to the loop, as a real sleep would


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> VirtualClock:
    clock = VirtualClock()
    # Replace the names the module looks up, not the global time/asyncio modules (the event
    # loop itself runs on time.monotonic).
    monkeypatch.setattr(ratelimit, "time", types.SimpleNamespace(monotonic=clock.monotonic))
    monkeypatch.setattr(
        ratelimit, "asyncio", types.SimpleNamespace(sleep=clock.sleep, Lock=asyncio.Lock)
    )
    return clock


async def admitted_within(bucket: TokenBucket, clock: VirtualClock, window: float) -> int:
    """How many acquisitions complete within ``window`` virtual seconds of the first."""
    start = clock.now
    count = 0
    while True:
        await bucket.acquire()
        if clock.now - start > window + 1e-9:
            return count
        count += 1


async def test_burst_is_admitted_at_once(clock: VirtualClock) -> None:
    bucket = TokenBucket(Rate(per_second=2, burst=5))
    for _ in range(5):
        await bucket.acquire()
    assert clock.sleeps == []
    assert clock.now == 1000.0


@pytest.mark.parametrize(
    ("rate", "window"), [(Rate(2, 5), 10.0), (Rate(10, 20), 3.0), (Rate(1.5, 3), 4.0)]
)
async def test_after_the_burst_the_rate_holds(
    clock: VirtualClock, rate: Rate, window: float
) -> None:
    bucket = TokenBucket(rate)
    count = await admitted_within(bucket, clock, window)
    # burst at once, then one token every 1/r seconds (allow one either way for float edges)
    expected = rate.burst + rate.per_second * window
    assert expected - 1 <= count <= expected + 1


async def test_a_bucket_refills_while_idle_but_never_beyond_its_burst(clock: VirtualClock) -> None:
    bucket = TokenBucket(Rate(per_second=1, burst=3))
    for _ in range(3):
        await bucket.acquire()
    clock.now += 1.0  # one token back
    await bucket.acquire()
    assert clock.sleeps == []
    await bucket.acquire()
    assert clock.sleeps == [pytest.approx(1.0)]
    clock.now += 3600  # idle for an hour: still only a burst of 3
    sleeps_before = len(clock.sleeps)
    for _ in range(3):
        await bucket.acquire()
    assert len(clock.sleeps) == sleeps_before
    await bucket.acquire()
    assert len(clock.sleeps) == sleeps_before + 1


async def test_the_bucket_never_sleeps_longer_than_the_next_token_needs(
    clock: VirtualClock,
) -> None:
    bucket = TokenBucket(Rate(per_second=4, burst=1))
    await bucket.acquire()
    clock.now += 0.1  # 0.4 of a token back
    await bucket.acquire()
    assert clock.sleeps == [pytest.approx(0.15)]


async def test_concurrent_waiters_are_served_in_order(clock: VirtualClock) -> None:
    bucket = TokenBucket(Rate(per_second=5, burst=2))
    served: list[int] = []

    async def take(index: int) -> None:
        await bucket.acquire()
        served.append(index)

    await asyncio.gather(*(take(i) for i in range(12)))
    assert served == list(range(12))
    assert clock.now - 1000.0 == pytest.approx(10 / 5)


async def test_the_rate_holds_on_the_real_clock() -> None:
    # Loose: 20 calls at 50/s with a burst of 5 need about 0.3 s; allow a wide margin.
    bucket = TokenBucket(Rate(per_second=50, burst=5))
    started = time.monotonic()
    for _ in range(20):
        await bucket.acquire()
    elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 5.0


# --- RateLimiter --------------------------------------------------------------------------------


async def test_stops_go_at_the_stop_budgets_pace_the_first_at_once(clock: VirtualClock) -> None:
    limiter = RateLimiter(RateLimits())
    rate = DEFAULT_RATES["Stop*"]
    granted: list[tuple[str, float]] = []

    async def stop(name: str) -> None:
        await limiter.acquire("StopTrainingJob")
        granted.append((name, clock.now - 1000.0))

    names = [f"job-{i:03d}" for i in range(40)]
    await asyncio.gather(*(stop(name) for name in names))
    assert [name for name, _ in granted] == names  # first asked, first sent
    times = [at for _, at in granted]
    assert times[: rate.burst] == [0.0] * rate.burst  # the first ones at once
    # then one per 1/rate seconds: 40 Stops take (40 - burst) / rate
    assert times[-1] == pytest.approx((40 - rate.burst) / rate.per_second)
    gaps = [b - a for a, b in zip(times[rate.burst :], times[rate.burst + 1 :], strict=False)]
    assert all(gap == pytest.approx(1 / rate.per_second, abs=1e-5) for gap in gaps)


async def test_each_operation_has_its_own_bucket(clock: VirtualClock) -> None:
    limiter = RateLimiter(RateLimits(rates={"Describe*": Rate(per_second=1, burst=1)}))
    await limiter.acquire("DescribeTrainingJob")
    await limiter.acquire("DescribeEndpoint")  # same budget shape, separate bucket
    assert clock.sleeps == []
    await limiter.acquire("DescribeTrainingJob")
    assert clock.sleeps == [pytest.approx(1.0)]


async def test_one_bucket_per_operation_is_shared_by_all_callers(clock: VirtualClock) -> None:
    limiter = RateLimiter(RateLimits(rates={"ListTrainingJobs": Rate(per_second=2, burst=2)}))
    await asyncio.gather(*(limiter.acquire("ListTrainingJobs") for _ in range(10)))
    assert clock.now - 1000.0 == pytest.approx(8 / 2)


async def test_unlimited_operations_pass_freely(clock: VirtualClock) -> None:
    limiter = RateLimiter(RateLimits(rates={"Describe*": Rate(per_second=0.001, burst=1)}))
    for _ in range(100):
        await limiter.acquire("AddTags")
    nothing = RateLimiter(RateLimits.none())
    for _ in range(100):
        await nothing.acquire("DescribeTrainingJob")
    assert clock.sleeps == []


# --- RateLimits.rate_for ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    ["StopTrainingJob", "StopHyperParameterTuningJob", "StopLabelingJob", "StopTransformJob"],
)
def test_stop_has_the_stop_budget(operation: str) -> None:
    assert RateLimits().rate_for(operation) == DEFAULT_RATES["Stop*"]
    assert RateLimits(rates={operation: Rate(1, 1)}).rate_for(operation) == Rate(1, 1)


@pytest.mark.parametrize(
    ("operation", "pattern"),
    [
        ("DescribeTrainingJob", "Describe*"),
        ("DescribeLogStreams", "DescribeLogStreams"),
        ("ListTrainingJobs", "List*"),
        ("ListTags", "ListTags"),
        ("CreateTrainingJob", "Create*"),
        ("UpdateEndpoint", "Update*"),
        ("DeleteEndpoint", "Delete*"),
        ("Search", "Search"),
        ("GetLogEvents", "GetLogEvents"),
        ("FilterLogEvents", "FilterLogEvents"),
    ],
)
def test_default_rates(operation: str, pattern: str) -> None:
    assert RateLimits().rate_for(operation) == DEFAULT_RATES[pattern]


def test_an_operation_no_rate_names_is_not_limited() -> None:
    assert RateLimits().rate_for("AddTags") is None
    assert RateLimits().rate_for("GetSomething") is None
    assert RateLimits.none().rate_for("DescribeTrainingJob") is None


@pytest.mark.parametrize("reverse", [False, True])
def test_the_longest_matching_prefix_wins(reverse: bool) -> None:
    short, longer, longest, exact = Rate(1, 1), Rate(2, 2), Rate(3, 3), Rate(4, 4)
    items = [
        ("Describe*", short),
        ("DescribeTraining*", longer),
        ("DescribeTrainingJ*", longest),
        ("DescribeTrainingJob", exact),
    ]
    limits = RateLimits(rates=dict(reversed(items) if reverse else items))
    assert limits.rate_for("DescribeTrainingJob") == exact
    assert limits.rate_for("DescribeTrainingJobs") == longest
    assert limits.rate_for("DescribeTrainingPlan") == longer
    assert limits.rate_for("DescribeEndpoint") == short
    assert limits.rate_for("Describe") == short
    assert limits.rate_for("ListTrainingJobs") is None


def test_an_exact_name_is_not_a_prefix() -> None:
    limits = RateLimits(rates={"ListTags": Rate(5, 10), "List*": Rate(1, 1)})
    assert limits.rate_for("ListTags") == Rate(5, 10)
    assert limits.rate_for("ListTagsForResource") == Rate(1, 1)
