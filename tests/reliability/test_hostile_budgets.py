"""Any API call budget a user writes (``--rate``, a manifest's ``rates``) is taken or refused
with a problem naming what they wrote; never a traceback, never a budget that is not positive
and bounded."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.config import (
    BUDGETS,
    MAX_BUDGET_BURST,
    MAX_BUDGET_RATE,
    MIN_BUDGET_RATE,
    parse_budget,
)
from smrun.launcher.manifest import ManifestInvalid, parse_manifest
from support.cli_runs import dry_run, good_manifest, write

names = st.sampled_from(sorted(BUDGETS)) | st.text(max_size=12)
numbers = (
    st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0, 1, 1000, 1000.5, 10_000, 10_001])
)
values = (
    numbers
    | st.text(max_size=12)
    | st.tuples(numbers, numbers).map(lambda pair: f"{pair[0]}/{pair[1]}")
    | st.booleans()
    | st.none()
    | st.lists(st.integers(), max_size=2)
)


@settings(max_examples=80, deadline=None)
@given(name=names, value=values)
def test_any_rate_flag_is_a_bounded_budget_or_one_line_naming_it(name: str, value: Any) -> None:
    text = f"{name}={value}"
    try:
        parsed, rate = parse_budget(text)
    except ValueError as error:
        assert str(error).startswith(repr(text)) and "\n" not in str(error)
    else:
        assert parsed in BUDGETS
        assert MIN_BUDGET_RATE <= rate.per_second <= MAX_BUDGET_RATE and not math.isnan(
            rate.per_second
        )
        assert 1 <= rate.burst <= MAX_BUDGET_BURST


@settings(max_examples=100, deadline=None)
@given(rates=st.dictionaries(names, values, max_size=4) | values)
def test_any_manifest_rates_are_taken_or_each_wrong_one_named(rates: Any) -> None:
    try:
        parsed = parse_manifest({**good_manifest(), "rates": rates})
    except ManifestInvalid as invalid:
        assert invalid.problems
        assert all(p.path == "rates" or p.path.startswith("rates.") for p in invalid.problems)
    else:
        assert set(parsed.rates) <= set(BUDGETS)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(flags=st.lists(st.tuples(names, values), min_size=1, max_size=3))
def test_the_cli_takes_or_refuses_any_rate_with_exit_2(
    smrun: Any, tmp_path: Path, flags: list[tuple[str, Any]]
) -> None:
    path = write(tmp_path / "batch.json", good_manifest())
    rates = [arg for name, value in flags for arg in ("--rate", f"{name}={value}")]
    ran = smrun(*dry_run(path, "--output", tmp_path / "out", *rates))
    assert "Traceback" not in ran.err
    assert ran.code in (0, 2)
    if ran.code == 2:
        assert ran.err.startswith("smrun launch: --rate ") or "--rate " in ran.err
