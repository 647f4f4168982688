"""The API call budgets a user sets (``smrun launch --rate``, a manifest's ``rates``): parsed and
refused in the user's words, every problem at once, and handed to the runner's config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.config import (
    BUDGETS,
    DEFAULT_RATES,
    MAX_BUDGET_RATE,
    Rate,
    RateLimits,
    parse_budget,
)
from smrun.launcher.command import (
    LaunchRequest,
    UsageError,
    check_launch,
    launch_config,
    prepare_launch,
)
from smrun.launcher.manifest import ManifestInvalid, parse_manifest
from support.manifests import entry, manifest, raw_job


def batch(**top: Any) -> dict[str, Any]:
    return {**manifest(entry("fit", "training", raw_job("training", 1.0))), **top}


def written(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "batch.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_every_default_budget_has_a_name_to_set_it_by() -> None:
    assert {BUDGETS[name] for name in BUDGETS} == set(DEFAULT_RATES)
    assert BUDGETS["Create"] == "Create*" and BUDGETS["GetLogEvents"] == "GetLogEvents"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Create=5", ("Create", Rate(5, 12))),  # the default's burst (5 at 2/s) scaled: 12.5
        ("Describe=20/40", ("Describe", Rate(20, 40))),
        (" Stop = 0.5 ", ("Stop", Rate(0.5, 1))),  # a burst is at least one call
        ("ReceiveMessage=1000/1000", ("ReceiveMessage", Rate(1000, 1000))),
    ],
)
def test_a_budget_is_calls_per_second_and_an_optional_burst(
    text: str, expected: tuple[str, Rate]
) -> None:
    assert parse_budget(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Creat=5", "'Creat' is not a budget (budgets: ChangeMessageVisibilityBatch, Create,"),
        ("CreateTrainingJob=5", "'CreateTrainingJob' is not a budget"),
        ("Create", "expected BUDGET=PER_SECOND[/BURST]"),
        ("Create=fast", "expected calls per second, or calls per second/burst"),
        ("Create=5/x", "got '5/x'"),
        ("Create=0", "calls per second must be 0.01 to 1000, got 0"),
        ("Create=-2", "must be 0.01 to 1000, got -2"),
        ("Create=0.001", "must be 0.01 to 1000, got 0.001"),
        ("Create=nan", "got nan"),
        ("Create=inf", "got inf"),
        ("Create=1e6", "0.01 to 1000, got 1e+06"),
        ("Create=5/0", "burst must be 1 to 10000 calls, got 0"),
        ("Create=5/100000", "burst must be 1 to 10000 calls, got 100000"),
    ],
)
def test_a_wrong_budget_is_refused_naming_what_was_written(text: str, words: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_budget(text)
    assert str(caught.value).startswith(f"{text!r}: ")
    assert words in str(caught.value)


def test_set_budgets_replace_only_their_own() -> None:
    limits = RateLimits().with_rates({"Create": Rate(5, 10), "GetLogEvents": Rate(20, 20)})
    assert limits.rate_for("CreateTrainingJob") == Rate(5, 10)
    assert limits.rate_for("GetLogEvents") == Rate(20, 20)
    assert limits.rate_for("DescribeTrainingJob") == DEFAULT_RATES["Describe*"]
    assert RateLimits.none().with_rates({"Stop": Rate(3, 3)}).rates == {"Stop*": Rate(3, 3)}


def test_a_manifest_sets_budgets_and_each_wrong_one_is_a_problem() -> None:
    parsed = parse_manifest(batch(rates={"Create": 4, "Describe": "20/40", "List": 1.5}))
    assert parsed.rates == {
        "Create": Rate(4, 10),
        "Describe": Rate(20, 40),
        "List": Rate(1.5, 3),
    }
    with pytest.raises(ManifestInvalid) as caught:
        parse_manifest(
            batch(rates={"Creat": 4, "Describe": 0, "Stop": True, "List": [1], "Search": "x/y"})
        )
    text = str(caught.value)
    assert "rates.Creat: 'Creat' is not a budget" in text
    assert "rates.Describe: calls per second must be 0.01 to 1000" in text
    assert "rates.Stop: must be calls per second (like 5 or 5/10), got bool" in text
    assert "rates.List: must be calls per second (like 5 or 5/10), got list" in text
    assert "rates.Search: expected calls per second" in text
    with pytest.raises(ManifestInvalid, match="rates: must be a mapping"):
        parse_manifest(batch(rates=[5]))


def test_flags_override_the_manifest_and_reach_the_runners_config(tmp_path: Path) -> None:
    request = LaunchRequest(
        manifest=written(tmp_path, batch(rates={"Create": 4, "Describe": 30})),
        output=tmp_path / "out",
        local=True,
        rates=["Create=6/6", "Stop=20"],
    )
    checked = check_launch(request)
    assert checked.rates == {"Create": Rate(6, 6), "Describe": Rate(30, 60), "Stop": Rate(20, 20)}
    prepared = prepare_launch(checked)
    try:
        remote = launch_config(checked.target(), local=False, concurrency=50, rates=prepared.rates)
        assert remote.limits.rate_for("CreateTrainingJob") == Rate(6, 6)
        assert remote.limits.rate_for("DescribeEndpoint") == Rate(30, 60)
        assert remote.limits.rate_for("ListTrainingJobs") == DEFAULT_RATES["List*"]
        # --local has no budgets but those set.
        local = launch_config(checked.target(), local=True, concurrency=50, rates=prepared.rates)
        assert local.limits.rate_for("ListTrainingJobs") is None
        assert local.limits.rate_for("StopTrainingJob") == Rate(20, 20)
    finally:
        prepared.release()


def test_the_dry_run_says_which_budgets_are_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from smrun.cli import main

    path = written(tmp_path, batch(rates={"Describe": 30}))
    argv = ["launch", str(path), "--local", "--dry-run", "--output", str(tmp_path / "o")]
    assert main([*argv, "--rate", "Create=6/6"]) == 0
    out = capsys.readouterr().out
    assert (
        "API call budgets set: Create 6/s (burst 6), Describe 30/s (burst 60); the others at "
        "their defaults" in out
    )


def test_wrong_budgets_are_refused_with_every_other_problem_and_nothing_written(
    tmp_path: Path,
) -> None:
    request = LaunchRequest(
        manifest=written(tmp_path, batch(rates={"Describe": -1})),
        output=tmp_path / "out",
        local=True,
        concurrency=0,
        rates=["Creat=5", "Stop=0"],
    )
    with pytest.raises(UsageError) as caught:
        check_launch(request)
    text = str(caught.value)
    assert "--rate 'Creat=5': 'Creat' is not a budget" in text
    assert "--rate 'Stop=0': calls per second must be 0.01 to 1000" in text
    assert "--concurrency: must be at least 1" in text
    assert "rates.Describe: calls per second must be 0.01 to 1000" in text
    assert not (tmp_path / "out").exists()


def test_the_cli_refuses_a_wrong_rate_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from smrun.cli import main

    path = written(tmp_path, batch())
    code = main(["launch", str(path), "--local", "--output", str(tmp_path / "o"), "--rate", "x=1"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("smrun launch: --rate 'x=1': 'x' is not a budget")
    assert "Traceback" not in err and not (tmp_path / "o").exists()


def test_the_absurd_bound_is_above_every_default() -> None:
    assert all(rate.per_second < MAX_BUDGET_RATE for rate in DEFAULT_RATES.values())
