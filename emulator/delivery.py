"""How EventBridge delivers the emulator's events: late, twice, out of order, as configured.

AWS promises no more than at-least-once, near-real-time delivery: "SageMaker AI may send
multiple events to EventBridge for each state change" (the SageMaker Developer Guide, "Events
that Amazon SageMaker AI sends to Amazon EventBridge"), EventBridge retries a target for up to 24
hours, and a standard SQS queue neither orders nor de-duplicates. A consumer must therefore
tolerate late, repeated and reordered events; these settings make the emulator produce them, from
a seeded random source so that a run can be repeated.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field, fields
from typing import Any

# What ``EventDelivery.from_json`` accepts: key -> what its value must be.
DELIVERY_SETTINGS = {
    "delay_s": "seconds from an event to its delivery, 0 or more",
    "duplicate_rate": "a fraction 0..1 of deliveries sent twice",
    "reorder_s": "up to this many seconds more at random per delivery, 0 or more",
    "seed": "an integer seeding the draws, or null",
}


@dataclass
class EventDelivery:
    """Each delivery arrives ``delay_s`` plus up to ``reorder_s`` after its event (so events
    less than ``reorder_s`` apart may swap), and ``duplicate_rate`` of them arrive twice."""

    delay_s: float = 0.0
    duplicate_rate: float = 0.0
    reorder_s: float = 0.0
    seed: int | None = None
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        problems = []
        for name in ("delay_s", "reorder_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                problems.append(f"{name} must be a number of seconds, got {value!r}")
            elif not (math.isfinite(value) and value >= 0):
                problems.append(f"{name} must be 0 or more seconds, got {value}")
        rate = self.duplicate_rate
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0.0 <= rate <= 1.0:
            problems.append(f"duplicate_rate must be between 0 and 1, got {rate!r}")
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int)
        ):
            problems.append(f"seed must be an integer or null, got {self.seed!r}")
        if problems:
            raise ValueError("; ".join(problems))
        self._random = random.Random(self.seed)

    @classmethod
    def from_json(cls, body: bytes) -> EventDelivery:
        """Settings from ``POST /_emulator/events``'s JSON body (keys left out take their
        defaults); a ``ValueError`` naming every problem, then every key accepted."""
        accepted = "; ".join(f"{key} ({what})" for key, what in DELIVERY_SETTINGS.items())
        try:
            settings: Any = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ValueError(f"the body is not a JSON object. Accepted keys: {accepted}") from None
        if not isinstance(settings, dict):
            raise ValueError(f"the body must be a JSON object. Accepted keys: {accepted}")
        unknown = sorted(set(settings) - set(DELIVERY_SETTINGS))
        problems = [f"unknown key {key!r}" for key in unknown]
        if not problems:
            try:
                return cls(**settings)
            except ValueError as error:
                problems.append(str(error))
        raise ValueError(f"{'; '.join(problems)}. Accepted keys: {accepted}")

    def describe(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}

    def arrivals(self, at: float) -> list[float]:
        """When the deliveries of an event put at ``at`` arrive: one, or two (a duplicate)."""
        copies = 2 if self.duplicate_rate and self._random.random() < self.duplicate_rate else 1
        return [at + self.delay_s + self._jitter() for _ in range(copies)]

    def _jitter(self) -> float:
        return self._random.uniform(0, self.reorder_s) if self.reorder_s else 0.0
