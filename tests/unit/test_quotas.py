"""``emulator.quotas``: token buckets on an injected clock, profiles, seeded faults."""

from __future__ import annotations

from collections import Counter

import pytest

from emulator.quotas import AWS_LIKE_RATES, Faults, Quotas, Rate, TokenBucket, _rate_for


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def take_all(bucket: TokenBucket, limit: int = 1000) -> int:
    taken = 0
    while taken < limit and bucket.try_take():
        taken += 1
    return taken


def test_bucket_starts_full_and_empties_after_its_burst() -> None:
    bucket = TokenBucket(Rate(per_second=2, burst=5), clock=FakeClock())
    assert take_all(bucket) == 5
    assert not bucket.try_take()


def test_bucket_refills_at_its_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(Rate(per_second=2, burst=5), clock=clock)
    take_all(bucket)
    clock.advance(0.49)  # 0.98 of a token
    assert not bucket.try_take()
    clock.advance(0.01)
    assert bucket.try_take()
    assert not bucket.try_take()
    clock.advance(1.5)  # three tokens
    assert take_all(bucket) == 3


def test_bucket_never_holds_more_than_its_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(Rate(per_second=10, burst=3), clock=clock)
    clock.advance(3600)
    assert take_all(bucket) == 3


def test_refused_attempts_do_not_cost_tokens() -> None:
    clock = FakeClock()
    bucket = TokenBucket(Rate(per_second=1, burst=1), clock=clock)
    assert bucket.try_take()
    for _ in range(10):
        clock.advance(0.05)
        assert not bucket.try_take()
    clock.advance(0.51)  # with the 10 * 0.05 s before: just over one token since the last success
    assert bucket.try_take()


def test_sustained_rate_over_a_long_run() -> None:
    clock = FakeClock()
    bucket = TokenBucket(Rate(per_second=20, burst=40), clock=clock)
    admitted = 0
    for _ in range(10_000):  # 100 attempts/s for 100 s
        clock.advance(0.01)
        admitted += bucket.try_take()
    assert admitted == pytest.approx(40 + 20 * 100, abs=2)


def test_fractional_rates() -> None:
    clock = FakeClock()
    bucket = TokenBucket(Rate(per_second=0.5, burst=1), clock=clock)
    assert bucket.try_take()
    clock.advance(1.9)
    assert not bucket.try_take()
    clock.advance(0.1)
    assert bucket.try_take()


def test_exact_names_win_over_prefixes() -> None:
    assert _rate_for(AWS_LIKE_RATES, "ListTrainingJobs") == Rate(2, 4)
    assert _rate_for(AWS_LIKE_RATES, "ListModels") == AWS_LIKE_RATES["List*"]
    assert _rate_for(AWS_LIKE_RATES, "ListTags") == AWS_LIKE_RATES["ListTags"]
    assert _rate_for(AWS_LIKE_RATES, "DescribeTrainingJob") == AWS_LIKE_RATES["Describe*"]
    assert _rate_for(AWS_LIKE_RATES, "GetLogEvents") == Rate(25, 25)
    assert _rate_for(AWS_LIKE_RATES, "StartPipelineExecution") is None


def test_the_longest_prefix_wins() -> None:
    rates = {"List*": Rate(1, 1), "ListTraining*": Rate(5, 5)}
    assert _rate_for(rates, "ListTrainingJobs") == Rate(5, 5)
    assert _rate_for(rates, "ListModels") == Rate(1, 1)


def test_fast_profile_admits_everything() -> None:
    quotas = Quotas.profile("fast")
    assert all(quotas.admit("ListTrainingJobs") for _ in range(1000))


def test_aws_like_profile_throttles_past_the_burst() -> None:
    quotas = Quotas.profile("aws-like")
    # Refill during this loop is a few microseconds' worth: far below one token.
    admitted = sum(quotas.admit("ListTrainingJobs") for _ in range(20))
    assert admitted == 4
    # Buckets are per operation: another List* operation has its own.
    assert sum(quotas.admit("ListModels") for _ in range(20)) == 8
    # Unlimited operations are never throttled.
    assert all(quotas.admit("StartPipelineExecution") for _ in range(100))


def test_unknown_profile() -> None:
    with pytest.raises(ValueError, match="unknown quota profile 'slow'"):
        Quotas.profile("slow")


@pytest.mark.parametrize("name", ["throttle_rate", "error_rate", "drop_rate"])
@pytest.mark.parametrize("value", [-0.1, 1.01, 2])
def test_fault_rates_must_be_fractions(name: str, value: float) -> None:
    with pytest.raises(ValueError, match=name):
        Faults(**{name: value})


@pytest.mark.parametrize("name", ["throttle_rate", "error_rate", "drop_rate"])
@pytest.mark.parametrize("value", [0.0, 0.5, 1.0])
def test_fault_rates_at_the_bounds_are_accepted(name: str, value: float) -> None:
    Faults(**{name: value})


def test_fault_rates_must_not_add_up_to_more_than_one() -> None:
    Faults(throttle_rate=0.5, error_rate=0.3, drop_rate=0.2)
    with pytest.raises(ValueError, match=r"add up to 1\.1"):
        Faults(throttle_rate=0.5, error_rate=0.4, drop_rate=0.2)


def test_no_faults_by_default() -> None:
    faults = Faults(seed=1)
    assert {faults.draw() for _ in range(1000)} == {None}
    assert faults.delay() == 0.0


def test_draw_distribution_with_a_seed() -> None:
    faults = Faults(throttle_rate=0.3, error_rate=0.1, drop_rate=0.05, seed=42)
    n = 20_000
    counts = Counter(faults.draw() for _ in range(n))
    # Binomial standard deviation at n=20k is at most ~0.0035: 0.015 is over four of them.
    assert counts["throttle"] / n == pytest.approx(0.3, abs=0.015)
    assert counts["error"] / n == pytest.approx(0.1, abs=0.015)
    assert counts["drop"] / n == pytest.approx(0.05, abs=0.015)
    assert counts[None] / n == pytest.approx(0.55, abs=0.015)


def test_rate_one_always_hits() -> None:
    assert {Faults(throttle_rate=1.0).draw() for _ in range(100)} == {"throttle"}
    assert {Faults(error_rate=1.0).draw() for _ in range(100)} == {"error"}
    assert {Faults(drop_rate=1.0).draw() for _ in range(100)} == {"drop"}


def test_same_seed_same_faults() -> None:
    first = Faults(throttle_rate=0.2, error_rate=0.2, drop_rate=0.2, seed=7)
    second = Faults(throttle_rate=0.2, error_rate=0.2, drop_rate=0.2, seed=7)
    assert [first.draw() for _ in range(500)] == [second.draw() for _ in range(500)]
    other = Faults(throttle_rate=0.2, error_rate=0.2, drop_rate=0.2, seed=8)
    assert [first.draw() for _ in range(500)] != [other.draw() for _ in range(500)]


def test_delay_with_jitter_stays_in_range() -> None:
    faults = Faults(latency_s=0.1, latency_jitter_s=0.05, seed=3)
    delays = [faults.delay() for _ in range(2000)]
    assert all(0.1 <= d <= 0.15 for d in delays)
    assert max(delays) - min(delays) > 0.04  # actually spread, not constant
    assert Faults(latency_s=0.2).delay() == 0.2


def test_faults_apply_to_chosen_services_and_operations() -> None:
    everywhere = Faults()
    assert everywhere.applies_to("sagemaker", "ListTrainingJobs")
    assert everywhere.applies_to("logs", "GetLogEvents")
    sagemaker_only = Faults(services=frozenset({"sagemaker"}))
    assert sagemaker_only.applies_to("sagemaker", "ListTrainingJobs")
    assert not sagemaker_only.applies_to("logs", "GetLogEvents")
    creates = Faults(operations=frozenset({"CreateTrainingJob"}))
    assert creates.applies_to("sagemaker", "CreateTrainingJob")
    assert not creates.applies_to("sagemaker", "DescribeTrainingJob")
