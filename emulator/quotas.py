"""Request-rate quotas and injected faults.

A quota is a token bucket per API operation, shared by every caller, as AWS applies its
per-account, per-region rate limits. Two profiles:

``fast``
    No quotas at all: tests of behaviour, not of limits.
``aws-like``
    Rates modelled on AWS's limits. CloudWatch Logs publishes its quotas (GetLogEvents 25/s,
    DescribeLogStreams 25/s, FilterLogEvents 5/s, none adjustable). SageMaker publishes few:
    ListTrainingJobs is 2/s per account (Service Quotas, not adjustable); the Describe* and
    Create* figures below are estimates from throttling reports, not published numbers, and
    are the same order of magnitude as what users report being throttled at.

Faults are independent of quotas: a fraction of requests is throttled, fails with a 5xx,
has its connection dropped, or is delayed, chosen by a seeded random generator so that a
run can be repeated.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Rate:
    """``per_second`` tokens refill continuously up to ``burst``."""

    per_second: float
    burst: float


class TokenBucket:
    """A token bucket on the monotonic clock; ``try_take`` never blocks."""

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._clock = clock
        self._tokens = rate.burst
        self._stamp = clock()

    def try_take(self) -> bool:
        now = self._clock()
        elapsed = now - self._stamp
        self._stamp = now
        self._tokens = min(self.rate.burst, self._tokens + elapsed * self.rate.per_second)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


# Operation name (exact) or prefix ending in "*" -> rate. Exact names win over prefixes.
AWS_LIKE_RATES: Mapping[str, Rate] = {
    # SageMaker (estimates, see module docstring; ListTrainingJobs is published).
    "ListTrainingJobs": Rate(2, 4),
    "List*": Rate(4, 8),
    "Describe*": Rate(20, 40),
    "Create*": Rate(2, 10),
    "Stop*": Rate(10, 20),
    "Update*": Rate(2, 5),
    "Delete*": Rate(5, 10),
    "Search": Rate(2, 4),
    "AddTags": Rate(5, 10),
    "ListTags": Rate(10, 20),
    "DeleteTags": Rate(5, 10),
    # CloudWatch Logs (published, per account and region, not adjustable).
    "GetLogEvents": Rate(25, 25),
    "DescribeLogStreams": Rate(25, 25),
    "FilterLogEvents": Rate(5, 5),
}

PROFILES: Mapping[str, Mapping[str, Rate]] = {"fast": {}, "aws-like": AWS_LIKE_RATES}


def _rate_for(rates: Mapping[str, Rate], operation: str) -> Rate | None:
    if operation in rates:
        return rates[operation]
    prefixes = [key for key in rates if key.endswith("*") and operation.startswith(key[:-1])]
    if not prefixes:
        return None
    return rates[max(prefixes, key=len)]


class Quotas:
    """One token bucket per operation that the profile limits."""

    def __init__(self, rates: Mapping[str, Rate]) -> None:
        self._rates = dict(rates)
        self._buckets: dict[str, TokenBucket | None] = {}

    @classmethod
    def profile(cls, name: str) -> Quotas:
        if name not in PROFILES:
            raise ValueError(f"unknown quota profile {name!r}; choose from {sorted(PROFILES)}")
        return cls(PROFILES[name])

    def admit(self, operation: str) -> bool:
        """False when ``operation`` is over its rate and must be throttled."""
        if operation not in self._buckets:
            rate = _rate_for(self._rates, operation)
            self._buckets[operation] = TokenBucket(rate) if rate else None
        bucket = self._buckets[operation]
        return bucket is None or bucket.try_take()


@dataclass
class Faults:
    """Fractions (0..1) of requests that are throttled, fail with 500, lose their connection
    before they are served, or are served and lose their answer (the client cannot tell whether
    a Create happened), and a delay added to every request (``latency_s`` plus up to
    ``latency_jitter_s``)."""

    throttle_rate: float = 0.0
    error_rate: float = 0.0
    drop_rate: float = 0.0
    lose_answer_rate: float = 0.0
    latency_s: float = 0.0
    latency_jitter_s: float = 0.0
    # Only these services get faults ("sagemaker", "logs"); empty means all.
    services: frozenset[str] = frozenset()
    # Only these operations ("CreateTrainingJob"); empty means all.
    operations: frozenset[str] = frozenset()
    seed: int | None = None
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("throttle_rate", "error_rate", "drop_rate", "lose_answer_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        for name in ("latency_s", "latency_jitter_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be 0 or more seconds, got {value}")
        total = self.throttle_rate + self.error_rate + self.drop_rate + self.lose_answer_rate
        if total > 1.0:
            raise ValueError(
                f"throttle, error, drop and lose-answer rates add up to {total:g}; at most 1"
            )
        self._random = random.Random(self.seed)

    @classmethod
    def from_json(cls, body: bytes, services: Collection[str]) -> Faults:
        """Faults from ``POST /_emulator/faults``'s JSON body (any key left out takes its
        default); a ``ValueError`` naming every problem, then every key accepted."""
        settings, problems = _settings_in(body, services)
        if not problems:
            try:
                return cls(
                    **{
                        **settings,
                        "services": frozenset(settings.get("services", ())),
                        "operations": frozenset(settings.get("operations", ())),
                    }
                )
            except ValueError as error:
                problems.append(str(error))
        accepted = "; ".join(
            f"{key} ({what.format(services=', '.join(sorted(services)))})"
            for key, what in FAULT_SETTINGS.items()
        )
        raise ValueError(f"{'; '.join(problems)}. Accepted keys: {accepted}")

    def applies_to(self, service: str, operation: str) -> bool:
        return (not self.services or service in self.services) and (
            not self.operations or operation in self.operations
        )

    def delay(self) -> float:
        if self.latency_jitter_s:
            return self.latency_s + self._random.uniform(0, self.latency_jitter_s)
        return self.latency_s

    def draw(self) -> str | None:
        """Which fault hits this request: "drop", "lose_answer", "error", "throttle" or None."""
        roll = self._random.random()
        for name, rate in (
            ("drop", self.drop_rate),
            ("lose_answer", self.lose_answer_rate),
            ("error", self.error_rate),
            ("throttle", self.throttle_rate),
        ):
            if roll < rate:
                return name
            roll -= rate
        return None


# What ``Faults.from_settings`` accepts: key -> what its value must be.
FAULT_SETTINGS = {
    "throttle_rate": "a fraction 0..1 of requests answered ThrottlingException",
    "error_rate": "a fraction 0..1 answered 500 InternalFailure",
    "drop_rate": "a fraction 0..1 whose connection is dropped before it is served",
    "lose_answer_rate": "a fraction 0..1 served, then dropped before the answer is sent",
    "latency_s": "seconds added to every request, 0 or more",
    "latency_jitter_s": "up to this many seconds more at random, 0 or more",
    "services": "a list of {services}, the only ones faulted; empty: all",
    "operations": "a list of operation names, the only ones faulted; empty: all",
    "seed": "an integer seeding the draws, or null",
}


def _settings_in(body: bytes, services: Collection[str]) -> tuple[dict[str, Any], list[str]]:
    """The body's settings, and what is wrong with them."""
    try:
        settings = json.loads(body)
    except json.JSONDecodeError as error:
        return {}, [f"the body is not JSON (line {error.lineno}, column {error.colno})"]
    except UnicodeDecodeError:
        return {}, ["the body is not JSON (not UTF-8 text)"]
    if not isinstance(settings, dict):
        return {}, [f"the body must be a JSON object, got {_json_text(settings)}"]
    problems = [
        problem
        for key, value in settings.items()
        if (problem := _setting_problem(key, value, services))
    ]
    return settings, problems


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _setting_problem(key: object, value: object, services: Collection[str]) -> str | None:
    if key not in FAULT_SETTINGS:
        return f"unknown key {key!r}"
    if key in ("services", "operations"):
        return _names_problem(str(key), value, services if key == "services" else None)
    if key == "seed":
        ok = value is None or (isinstance(value, int) and not isinstance(value, bool))
        return None if ok else f"seed must be an integer or null, got {_json_text(value)}"
    if not _is_number(value):
        return f"{key} must be a number, got {_json_text(value)}"
    return None


def _names_problem(key: str, value: object, known: Collection[str] | None) -> str | None:
    """What is wrong with a list of names (``known``: the only names allowed, if any)."""
    names = value if isinstance(value, list) else None
    if names is None or not all(isinstance(name, str) for name in names):
        what = "service names" if key == "services" else "names"
        return f"{key} must be a list of {what}, got {_json_text(value)}"
    unknown = sorted(set(names) - set(known)) if known is not None else []
    return f"{key}: unknown {', '.join(map(repr, unknown))}" if unknown else None


def _json_text(value: object) -> str:
    """``value`` as the JSON the client sent (its start, when long)."""
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."
