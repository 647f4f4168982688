"""``benchmarks.load.targets``: the polling target is judged within the List quota's limit."""

from __future__ import annotations

import json
from typing import Any

from benchmarks.load import targets
from benchmarks.load.workload import FULL


def document(*runs: tuple[int, float | None, int]) -> dict[str, Any]:
    """Ours polling at each (N, p99 detection, bystander calls throttled)."""
    return {
        "profile": json.loads(json.dumps(FULL.as_dict())),
        "runs": [
            {
                "strategy": "ours",
                "size": size,
                "created": size,
                "latency_p99_s": p99,
                "noticed_p99_s": p99,
                "bystander_calls": 30,
                "bystander_throttled": throttled,
            }
            for size, p99, throttled in runs
        ],
    }


def test_the_limit_is_a_sweep_of_one_kind_within_one_interval() -> None:
    full = document()
    assert targets.list_limit(full) == 750  # 1.5 pages/s x 100 jobs x 5 s
    assert targets.largest_kind(full, 100) < 750 < targets.largest_kind(full, 1000)


def test_met_within_the_limit_while_past_it_is_shown_with_its_reason() -> None:
    _, figure, verdict, why = targets.polling(document((100, 6.0, 0), (10_000, 114.0, 0)))
    assert verdict == "met within the limit"
    assert "N = 100: p99 6 s" in figure
    assert "N = 10,000 (past the limit): p99 114 s" in figure
    assert why.startswith("past the limit, not judged, at N = 10,000: the end status was first")


def test_a_late_end_within_the_limit_is_a_miss_and_the_first_reason() -> None:
    _, _, verdict, why = targets.polling(document((100, 10.5, 0), (10_000, 114.0, 0)))
    assert verdict == "**missed**"
    assert why.startswith("at N = 100: the end status was first seen at p99 10.5 s")
    assert "past the limit, not judged, at N = 10,000" in why


def test_a_run_without_a_p99_within_the_limit_is_a_miss() -> None:
    assert targets.polling(document((100, None, 0)))[2] == "**missed**"


def test_a_throttled_bystander_is_a_miss_at_any_n_and_says_so() -> None:
    for runs in [((100, 6.0, 0), (10_000, 114.0, 2)), ((10_000, 9.0, 2),)]:
        _, _, verdict, why = targets.polling(document(*runs))
        assert verdict == "**missed**"
        assert "the bystander was throttled 2 times at N = 10,000" in why


def test_no_run_within_the_limit_is_not_judged() -> None:
    _, _, verdict, why = targets.polling(document((10_000, 114.0, 0)))
    assert verdict == "n/a"
    assert why.startswith("no run within the limit (750 jobs of a kind); past the limit")
