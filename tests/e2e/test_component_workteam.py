"""The workteam component as KFP runs it: a subprocess with v1-style arguments, against the emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.common.app import ComponentInputs
from components.common.inputs import InputError, parse_args
from components.workteam.component import SPEC, build_request
from support.components import run_component as run_named
from support.stats import fetch_stats

USER_POOL = "us-east-1_AbCdEf123"
CLIENT_ID = "4a5b6c7d8e9f0g1h2i3j4k5l6m"
TOPIC = "arn:aws:sns:us-east-1:123456789012:labeling-tasks"


def workteam_args(url: str, out: Path, **overrides: str) -> list[str]:
    values = {
        "region": "us-east-1",
        "endpoint_url": url,
        "team_name": "mnist-labelers",
        "description": "Labels MNIST digits",
        "user_pool": USER_POOL,
        "user_groups": "labelers, reviewers",
        "client_id": CLIENT_ID,
        "sns_topic": TOPIC,
        "tags": json.dumps({"team": "ml"}),
    }
    values.update(overrides)
    args = [item for name, value in values.items() for item in (f"--{name}", value)]
    return [*args, "--workteam_arn_output_path", str(out / "workteam_arn")]


async def run_component(args: list[str]) -> tuple[int, str]:
    code, _, stderr = await run_named("workteam", args)
    return code, stderr


async def test_creates_the_team_and_a_rerun_finds_it(
    emulator: Any, sagemaker: Any, tmp_path: Path
) -> None:
    args = workteam_args(emulator.url, tmp_path)
    code, stderr = await run_component([*args, "--kfp_run_id", "run-1", "--kfp_task", "team"])
    assert code == 0, stderr
    arn = (tmp_path / "workteam_arn").read_text()
    assert arn == "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/mnist-labelers"
    assert "workteam.portal" in stderr  # the labeling portal is logged, as v1 did

    team = (await sagemaker.describe_workteam(WorkteamName="mnist-labelers"))["Workteam"]
    assert team["Description"] == "Labels MNIST digits"
    assert [m["CognitoMemberDefinition"] for m in team["MemberDefinitions"]] == [
        {"UserPool": USER_POOL, "UserGroup": group, "ClientId": CLIENT_ID}
        for group in ("labelers", "reviewers")
    ]
    assert team["NotificationConfiguration"] == {"NotificationTopicArn": TOPIC}
    tags = {t["Key"]: t["Value"] for t in (await sagemaker.list_tags(ResourceArn=arn))["Tags"]}
    assert tags["team"] == "ml" and tags["smrun:run-id"] == "run-1"

    # A restarted pod (the same request) finds its team instead of failing on the name.
    (tmp_path / "workteam_arn").unlink()
    code, stderr = await run_component([*args, "--kfp_run_id", "run-1", "--kfp_task", "team"])
    assert code == 0, stderr
    assert (tmp_path / "workteam_arn").read_text() == arn
    assert (await fetch_stats(emulator.url))["calls"]["CreateWorkteam"] == 1

    # Another team under the same name is a conflict, not a silent re-use.
    code, stderr = await run_component(
        workteam_args(emulator.url, tmp_path, description="Someone else's team")
    )
    assert code == 1 and "already exists" in stderr


def test_input_rules_are_checked_before_anything_is_sent() -> None:
    cases = {
        "client_id": ("", "app client"),
        "user_groups": (" , ", "at least one user group"),
        "team_name": (" ", "must not be empty"),
    }
    for name, (value, rule) in cases.items():
        parsed = parse_args(SPEC, workteam_args("http://unused", Path("unused"), **{name: value}))
        run = ComponentInputs(SPEC, parsed.values, checks=parsed.checks)
        with pytest.raises(InputError) as caught:
            build_request(run)
        assert caught.value.name == name and rule in caught.value.rule


async def test_bad_input_exits_2_and_creates_nothing(emulator: Any, tmp_path: Path) -> None:
    code, stderr = await run_component(workteam_args(emulator.url, tmp_path, user_pool=""))
    assert code == 2, stderr
    assert "user_pool" in stderr and "user pool" in stderr
    assert "CreateWorkteam" not in (await fetch_stats(emulator.url))["calls"]
