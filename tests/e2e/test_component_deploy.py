"""The deploy component as KFP runs it: a subprocess with v1-style arguments, against the emulator."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from support import requests as req
from support.components import run_component as run_named
from support.stats import fetch_stats

QUICK = {"emulator:duration-seconds": "0.3"}


def deploy_args(url: str, out: Path, **overrides: str) -> list[str]:
    values = {
        "region": "us-east-1",
        "endpoint_url": url,
        "model_name_1": "model-a",
        "tags": json.dumps({**QUICK, "team": "ml"}),
    }
    values.update(overrides)
    args = [item for name, value in values.items() for item in (f"--{name}", value)]
    return [*args, "--endpoint_name_output_path", str(out / "endpoint_name")]


async def run_component(args: list[str]) -> tuple[int, str]:
    code, _, stderr = await run_named("deploy", args)
    return code, stderr


async def create_models(sagemaker: Any, *names: str) -> None:
    for name in names:
        await sagemaker.create_model(**req.model(name))


async def in_service_endpoint(sagemaker: Any, name: str, config: str, model: str) -> None:
    """An endpoint made outside the component, InService on ``config``."""
    await sagemaker.create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[
            {
                "VariantName": "old",
                "ModelName": model,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    await sagemaker.create_endpoint(
        EndpointName=name, EndpointConfigName=config, Tags=req.tags(**QUICK)
    )
    deadline = time.monotonic() + 10
    while (await sagemaker.describe_endpoint(EndpointName=name))["EndpointStatus"] != "InService":
        assert time.monotonic() < deadline, "the endpoint never came InService"
        await asyncio.sleep(0.05)


async def test_deploy_creates_the_config_and_the_endpoint(
    emulator: Any, sagemaker: Any, tmp_path: Path
) -> None:
    await create_models(sagemaker, "model-a", "model-b")
    code, stderr = await run_component(
        deploy_args(
            emulator.url,
            tmp_path,
            endpoint_name="ep-create",
            model_name_2="model-b",
            variant_name_2="canary",
            initial_variant_weight_1="0.75",
            initial_variant_weight_2="0",
            instance_type_2="ml.c5.large",
            initial_instance_count_2="2",
            accelerator_type_1="ml.eia2.medium",
            resource_encryption_key="alias/endpoint-key",
            endpoint_config_tags=json.dumps({"owner": "deploy"}),
        )
    )
    assert code == 0, stderr
    assert (tmp_path / "endpoint_name").read_text() == "ep-create"
    hosting = emulator.emulator
    endpoint = hosting.endpoints["ep-create"]
    assert endpoint.status(hosting.now()) == "InService" and endpoint.tags["team"] == "ml"
    (config,) = hosting.endpoint_configs.values()
    assert config.name.startswith("EndpointConfig-")  # v1's generated form
    assert endpoint.deployments[-1].config is config
    assert config.request["KmsKeyId"] == "alias/endpoint-key"
    assert config.tags["owner"] == "deploy" and "team" not in config.tags
    assert config.request["ProductionVariants"] == [
        {
            "VariantName": "variant-name-1",
            "ModelName": "model-a",
            "InitialInstanceCount": 1,
            "InstanceType": "ml.m4.xlarge",
            "InitialVariantWeight": 0.75,
            "AcceleratorType": "ml.eia2.medium",
        },
        {
            "VariantName": "canary",
            "ModelName": "model-b",
            "InitialInstanceCount": 2,
            "InstanceType": "ml.c5.large",
            "InitialVariantWeight": 0.0,  # v1 turned a weight of 0 into 1.0
        },
    ]


async def test_update_to_a_new_config_waits_for_it(
    emulator: Any, sagemaker: Any, tmp_path: Path
) -> None:
    await create_models(sagemaker, "model-a", "model-b")
    await in_service_endpoint(sagemaker, "ep-live", "cfg-old", "model-a")
    code, stderr = await run_component(
        deploy_args(
            emulator.url,
            tmp_path,
            endpoint_name="ep-live",
            endpoint_config_name="cfg-new",
            model_name_1="model-b",
            update_endpoint="True",
        )
    )
    assert code == 0, stderr
    assert (tmp_path / "endpoint_name").read_text() == "ep-live"
    described = await sagemaker.describe_endpoint(EndpointName="ep-live")
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == "cfg-new"
    assert "FailureReason" not in described
    # The old configuration is kept (v1 deleted it before knowing whether the update held).
    assert set(emulator.emulator.endpoint_configs) == {"cfg-old", "cfg-new"}
    calls = (await fetch_stats(emulator.url))["calls"]
    assert calls["UpdateEndpoint"] == 1 and calls["CreateEndpoint"] == 1  # ours only updated
    assert "DeleteEndpointConfig" not in calls

    # Updating with a configuration name another configuration holds: a generated name instead,
    # as v1 did (it never used the given name when updating).
    code, stderr = await run_component(
        deploy_args(
            emulator.url,
            tmp_path,
            endpoint_name="ep-live",
            endpoint_config_name="cfg-old",
            update_endpoint="True",
        )
    )
    assert code == 0, stderr
    (generated,) = set(emulator.emulator.endpoint_configs) - {"cfg-old", "cfg-new"}
    assert generated.startswith("EndpointConfig-")
    described = await sagemaker.describe_endpoint(EndpointName="ep-live")
    assert described["EndpointConfigName"] == generated
    assert described["ProductionVariants"][0]["VariantName"] == "variant-name-1"


async def test_a_rolled_back_update_fails_with_the_reason(
    emulator: Any, sagemaker: Any, tmp_path: Path
) -> None:
    await create_models(sagemaker, "model-a", "model-b")
    await in_service_endpoint(sagemaker, "ep-live", "cfg-old", "model-a")
    code, stderr = await run_component(
        deploy_args(
            emulator.url,
            tmp_path,
            endpoint_name="ep-live",
            model_name_1="model-b",
            update_endpoint="True",
            endpoint_config_tags=json.dumps(
                {"emulator:fail-reason": "ModelError: the container did not start"}
            ),
        )
    )
    assert code == 1, stderr
    assert "rolled back" in stderr and "ModelError: the container did not start" in stderr
    assert not (tmp_path / "endpoint_name").exists()
    described = await sagemaker.describe_endpoint(EndpointName="ep-live")
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == "cfg-old"


async def test_a_failed_endpoint_exits_1(emulator: Any, sagemaker: Any, tmp_path: Path) -> None:
    await create_models(sagemaker, "model-a")
    tags = json.dumps({**QUICK, "emulator:fail-reason": "CapacityError: no ml.m4.xlarge left"})
    code, stderr = await run_component(
        deploy_args(emulator.url, tmp_path, endpoint_name="ep-bad", tags=tags)
    )
    assert code == 1
    assert "CapacityError: no ml.m4.xlarge left" in stderr
    assert not (tmp_path / "endpoint_name").exists()


async def test_update_without_an_endpoint_creates_it_and_a_restart_reattaches(
    emulator: Any, sagemaker: Any, tmp_path: Path
) -> None:
    await create_models(sagemaker, "model-a")
    args = deploy_args(emulator.url, tmp_path, update_endpoint="True")
    args += ["--kfp_run_id", "run-42", "--kfp_task", "deploy"]
    code, stderr = await run_component(args)
    assert code == 0, stderr
    name = (tmp_path / "endpoint_name").read_text()
    assert name.startswith("Endpoint-deploy-endpoint-")  # deterministic: run, task, step
    (config,) = emulator.emulator.endpoint_configs
    assert config.startswith("EndpointConfig-deploy-config-")

    # A restarted pod asks for the same names: it finds its config and endpoint, makes nothing.
    (tmp_path / "endpoint_name").unlink()
    code, stderr = await run_component(args)
    assert code == 0, stderr
    assert (tmp_path / "endpoint_name").read_text() == name
    calls = (await fetch_stats(emulator.url))["calls"]
    assert calls["CreateEndpointConfig"] == 1 and calls["CreateEndpoint"] == 1
    assert "UpdateEndpoint" not in calls
    assert set(emulator.emulator.endpoint_configs) == {config}


async def test_bad_input_exits_2_and_creates_nothing(
    emulator: Any, sagemaker: Any, tmp_path: Path
) -> None:
    await create_models(sagemaker, "model-a")
    cases = {
        "initial_variant_weight_1": ("abc", "must be a number"),
        "model_name_1": ("", "must name the model"),
        "variant_name_2": ("variant-name-1", "variant names must differ"),
        "accelerator_type_1": ("ml.eia9.huge", "AcceleratorType"),
        "endpoint_name": ("not_a_valid_name", "EndpointName"),
    }
    extra = {"variant_name_2": {"model_name_2": "model-a"}}
    results = await asyncio.gather(
        *(
            run_component(
                deploy_args(
                    emulator.url,
                    tmp_path / name,
                    **{name: value},
                    **extra.get(name, {}),
                )
            )
            for name, (value, _) in cases.items()
        )
    )
    for (name, (_, rule)), (code, stderr) in zip(cases.items(), results, strict=True):
        assert code == 2, (name, stderr)
        assert rule in stderr, (name, stderr)
    stats = await fetch_stats(emulator.url)
    assert "CreateEndpointConfig" not in stats["calls"] and "CreateEndpoint" not in stats["calls"]
    assert stats["jobs"] == [] and emulator.emulator.endpoint_configs == {}


async def test_bad_variants_are_named_by_their_slot_inputs(emulator: Any, tmp_path: Path) -> None:
    """Slot 2 unused, slot 3 used: the config's second variant is slot 3's inputs."""
    code, stderr = await run_component(
        deploy_args(
            emulator.url,
            tmp_path,
            model_name_3="third",
            instance_type_3="ml.nope",
            initial_instance_count_3="0",
            endpoint_name="bad name!",
            initial_variant_weight_1="heavy",
        )
    )
    assert code == 2, stderr
    for expected in (
        "input 'instance_type_3' [ProductionVariants[1].InstanceType]: must be one of",
        "input 'initial_instance_count_3' [ProductionVariants[1].InitialInstanceCount]:",
        "input 'endpoint_name' [EndpointName]: must match the pattern",
        "input 'initial_variant_weight_1': must be a number, got 'heavy'",
    ):
        assert expected in stderr, stderr
    calls = (await fetch_stats(emulator.url))["calls"]
    assert not any(call.startswith(("Create", "Describe")) for call in calls), calls
