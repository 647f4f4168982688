"""The model component as KFP runs it: a subprocess with v1-style arguments, against the emulator."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from components.common.app import ComponentInputs
from components.common.inputs import InputError, parse_args
from components.model.component import SPEC, build_request
from runner.validation import validate_request
from support import requests as req
from support.components import run_component as run_named
from support.stats import fetch_stats

ARTIFACT = "s3://bucket/mnist/output/mnist-train/output/model.tar.gz"


def model_args(url: str, out: Path, **overrides: str) -> list[str]:
    values = {
        "region": "us-east-1",
        "endpoint_url": url,
        "model_name": "mnist-model",
        "role": req.ROLE,
        "image": req.IMAGE,
        "model_artifact_url": ARTIFACT,
        "network_isolation": "True",
        "tags": json.dumps({"team": "ml"}),
    }
    values.update(overrides)
    args = [item for name, value in values.items() for item in (f"--{name}", value)]
    return [*args, "--model_name_output_path", str(out / "model_name")]


async def run_component(args: list[str]) -> tuple[int, str, str]:
    return await run_named("model", args)


def request_of(out: Path, **overrides: str) -> dict[str, Any]:
    """The request the component builds from these arguments, in-process."""
    parsed = parse_args(SPEC, model_args("http://unused", out, **overrides))
    run = ComponentInputs(SPEC, parsed.values, checks=parsed.checks)
    return build_request(run)


async def test_model_is_created_and_a_rerun_reattaches(emulator: Any, tmp_path: Path) -> None:
    args = model_args(
        emulator.url,
        tmp_path,
        environment=json.dumps({"SAGEMAKER_PROGRAM": "serve.py"}),
        container_host_name="mnist",
        vpc_security_group_ids="sg-1",
        vpc_subnets="subnet-1,subnet-2",
    )
    code, _, stderr = await run_component(args)
    assert code == 0, stderr
    assert (tmp_path / "model_name").read_text() == "mnist-model"
    model = emulator.emulator.models["mnist-model"]
    assert model.request["ExecutionRoleArn"] == req.ROLE
    assert model.request["PrimaryContainer"] == {
        "Image": req.IMAGE,
        "ModelDataUrl": ARTIFACT,
        "ContainerHostname": "mnist",
        "Environment": {"SAGEMAKER_PROGRAM": "serve.py"},
    }
    assert model.request["EnableNetworkIsolation"] is True
    assert model.request["VpcConfig"] == {
        "SecurityGroupIds": ["sg-1"],
        "Subnets": ["subnet-1", "subnet-2"],
    }
    assert model.tags["team"] == "ml"

    # The same step again (a restarted pod): the model made from this request is re-attached.
    (tmp_path / "model_name").unlink()
    code, _, stderr = await run_component(args)
    assert code == 0, stderr
    assert "job.attached" in stderr
    assert (tmp_path / "model_name").read_text() == "mnist-model"
    assert (await fetch_stats(emulator.url))["calls"]["CreateModel"] == 1


async def test_a_model_made_from_another_request_is_a_conflict(
    emulator: Any, tmp_path: Path
) -> None:
    code, _, stderr = await run_component(model_args(emulator.url, tmp_path))
    assert code == 0, stderr
    (tmp_path / "model_name").unlink()
    other = model_args(emulator.url, tmp_path, model_artifact_url="s3://bucket/other/model.tar.gz")
    code, _, stderr = await run_component(other)
    assert code == 1, stderr
    assert "already exists" in stderr and "different request" in stderr
    assert not (tmp_path / "model_name").exists()
    model = emulator.emulator.models["mnist-model"]
    assert model.request["PrimaryContainer"]["ModelDataUrl"] == ARTIFACT  # untouched


def test_model_package_and_secondary_containers(tmp_path: Path) -> None:
    package = "arn:aws:sagemaker:us-east-1:123456789012:model-package/mnist/1"
    request = request_of(tmp_path, image="", model_artifact_url="", model_package=package)
    assert request["PrimaryContainer"] == {"ModelPackageName": package}
    # v1: the model package wins over an image and artifact given with it.
    request = request_of(tmp_path, model_package=package)
    assert request["PrimaryContainer"] == {"ModelPackageName": package}
    # v1: secondary_containers is sent as the model's Containers, instead of a primary one.
    pipeline = [
        {"Image": req.IMAGE, "ModelDataUrl": ARTIFACT, "ContainerHostname": "first"},
        {"Image": req.IMAGE, "ContainerHostname": "second"},
    ]
    request = request_of(tmp_path, secondary_containers=json.dumps(pipeline))
    assert request["Containers"] == pipeline and "PrimaryContainer" not in request
    # An image alone: a model baked into its image.
    request = request_of(tmp_path, model_artifact_url="", network_isolation="False")
    assert request["PrimaryContainer"] == {"Image": req.IMAGE}
    assert request["EnableNetworkIsolation"] is False
    assert "VpcConfig" not in request
    assert validate_request("sagemaker", "CreateModel", request) == []


@pytest.mark.parametrize(
    ("overrides", "name", "rule"),
    [
        ({"image": "", "model_artifact_url": ""}, "image", "model package"),
        ({"image": ""}, "image", "needs the image"),
        ({"secondary_containers": json.dumps(["img"])}, "secondary_containers", "JSON object"),
        ({"vpc_security_group_ids": "sg-1"}, "vpc_subnets", "both"),
        ({"environment": "[1]"}, "environment", "JSON object"),
        ({"network_isolation": "yes"}, "network_isolation", "True or False"),
    ],
)
def test_input_rules(tmp_path: Path, overrides: dict[str, str], name: str, rule: str) -> None:
    with pytest.raises(InputError) as caught:
        request_of(tmp_path, **overrides)
    assert caught.value.name == name and rule in caught.value.rule


async def test_bad_input_exits_2_and_creates_nothing(emulator: Any, tmp_path: Path) -> None:
    cases = {
        "no container": ({"image": "", "model_artifact_url": ""}, "image"),
        "environment": ({"environment": "{"}, "environment"),
        "botocore": ({"role": "not-an-arn"}, "ExecutionRoleArn"),
    }
    results = await asyncio.gather(
        *(
            run_component(model_args(emulator.url, tmp_path, **overrides))
            for overrides, _ in cases.values()
        )
    )
    for (case, (_, name)), (code, _, stderr) in zip(cases.items(), results, strict=True):
        assert code == 2, (case, stderr)
        assert name in stderr, (case, stderr)
    stats = await fetch_stats(emulator.url)
    assert "CreateModel" not in stats["calls"] and not emulator.emulator.models
    assert not (tmp_path / "model_name").exists()
