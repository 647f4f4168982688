"""Every kind through the runner against the emulator: success, failure and outputs."""

from __future__ import annotations

from typing import Any

import pytest

from runner.core import Runner
from runner.errors import AwsCallFailed
from runner.naming import Identity
from support import requests as req
from support.runner_setup import runner_config
from support.stats import fetch_stats


def quick(seconds: float = 0.4, **more: Any) -> list[dict[str, str]]:
    return req.tags(**{"emulator:duration-seconds": seconds}, **more)


tuning_request = req.tuning


async def test_tuning_reports_its_best_job(emulator: Any, sagemaker: Any) -> None:
    async with Runner(runner_config(emulator.url)) as runner:
        outcome = await (await runner.submit("tuning", tuning_request("hpo-1"))).wait()
    assert outcome.succeeded and outcome.status == "Completed"
    best = outcome.outputs["best_job_name"]
    children = await sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="hpo-1",
        SortBy="FinalObjectiveMetricValue",
        SortOrder="Ascending",
    )
    assert best == children["TrainingJobSummaries"][0]["TrainingJobName"]  # Minimize
    assert set(outcome.outputs["best_hyperparameters"]) == {"objective", "eta", "depth"}
    assert outcome.outputs["model_artifact_url"] == f"s3://bucket/hpo/{best}/output/model.tar.gz"
    assert outcome.outputs["training_image"] == req.IMAGE


async def test_tuning_failure_and_stop(emulator: Any) -> None:
    failing = tuning_request(
        "hpo-bad", Tags=quick(0.3, **{"emulator:fail-reason": "All training jobs failed"})
    )
    async with Runner(runner_config(emulator.url)) as runner:
        bad = await runner.submit("tuning", failing)
        long = await runner.submit("tuning", tuning_request("hpo-long", Tags=quick(60)))
        assert (await bad.wait()).failure_reason == "All training jobs failed"
        await long.stop("test")
        stopped = await long.wait()
    assert stopped.status == "Stopped" and stopped.stopped_by_runner


async def test_processing_outputs_name_their_artifacts(emulator: Any) -> None:
    async with Runner(runner_config(emulator.url)) as runner:
        outcome = await (
            await runner.submit("processing", req.processing("proc-k", Tags=quick()))
        ).wait()
    assert outcome.succeeded
    assert outcome.outputs["output_artifacts"] == {"out": "s3://bucket/processed"}


async def test_model_config_endpoint_transform_and_update(emulator: Any) -> None:
    async with Runner(runner_config(emulator.url)) as runner:
        model = await (await runner.submit("model", req.model("mdl-1"))).wait()
        assert (
            model.succeeded
            and model.status == "Created"
            and model.outputs == {"model_name": "mdl-1"}
        )

        def config(name: str, **more: Any) -> dict[str, Any]:
            return {
                "EndpointConfigName": name,
                "ProductionVariants": [
                    {
                        "VariantName": "v1",
                        "ModelName": "mdl-1",
                        "InitialInstanceCount": 1,
                        "InstanceType": "ml.m5.large",
                    }
                ],
                **more,
            }

        for name, more in (
            ("cfg-a", {}),
            ("cfg-b", {}),
            ("cfg-bad", {"Tags": quick(0.3, **{"emulator:fail-reason": "Image not found"})}),
        ):
            assert (
                await (await runner.submit("endpoint_config", config(name, **more))).wait()
            ).succeeded

        endpoint = await (
            await runner.submit(
                "endpoint", {"EndpointName": "ep-1", "EndpointConfigName": "cfg-a", "Tags": quick()}
            )
        ).wait()
        assert endpoint.succeeded and endpoint.status == "InService"
        assert endpoint.outputs == {"endpoint_name": "ep-1", "endpoint_config_name": "cfg-a"}

        update = await (
            await runner.submit(
                "endpoint_update", {"EndpointName": "ep-1", "EndpointConfigName": "cfg-b"}
            )
        ).wait()
        assert update.succeeded and update.outputs["endpoint_config_name"] == "cfg-b"

        rollback = await (
            await runner.submit(
                "endpoint_update", {"EndpointName": "ep-1", "EndpointConfigName": "cfg-bad"}
            )
        ).wait()
        assert not rollback.succeeded and rollback.status == "InService"
        assert "rolled back" in (rollback.failure_reason or "") and "Image not found" in (
            rollback.failure_reason or ""
        )

        transform = await (
            await runner.submit("transform", req.transform("tf-1", "mdl-1", Tags=quick()))
        ).wait()
        assert (
            transform.succeeded and transform.outputs["output_location"] == "s3://bucket/batch-out"
        )

        failed_endpoint = await (
            await runner.submit(
                "endpoint",
                {
                    "EndpointName": "ep-bad",
                    "EndpointConfigName": "cfg-a",
                    "Tags": quick(0.3, **{"emulator:fail-reason": "Capacity"}),
                },
            )
        ).wait()
        assert failed_endpoint.status == "Failed" and failed_endpoint.failure_reason == "Capacity"


async def test_updating_a_missing_endpoint_is_an_error(emulator: Any) -> None:
    async with Runner(runner_config(emulator.url)) as runner:
        with pytest.raises(AwsCallFailed):
            await runner.submit(
                "endpoint_update", {"EndpointName": "nope", "EndpointConfigName": "cfg"}
            )


async def test_labeling_and_workteam(emulator: Any) -> None:
    team = {
        "WorkteamName": "labelers",
        "Description": "our labelers",
        "MemberDefinitions": [
            {
                "CognitoMemberDefinition": {
                    "UserPool": "us-east-1_abc123",
                    "UserGroup": "labelers",
                    "ClientId": "client123",
                }
            }
        ],
    }
    async with Runner(runner_config(emulator.url)) as runner:
        workteam = await (await runner.submit("workteam", team)).wait()
        arn = workteam.outputs["workteam_arn"]
        assert workteam.succeeded and arn.endswith(":workteam/private-crowd/labelers")
        labeling = await (
            await runner.submit("labeling", req.labeling("gt-1", arn, Tags=quick()))
        ).wait()
    assert labeling.succeeded
    assert labeling.outputs["output_manifest_location"].endswith(
        "gt-1/manifests/output/output.manifest"
    )


async def test_synchronous_kinds_reattach_by_identity(emulator: Any) -> None:
    identity = Identity("run-7", "model-step")
    request = req.model("")
    del request["ModelName"]
    async with Runner(runner_config(emulator.url)) as runner:
        first = await (await runner.submit("model", request, identity=identity)).wait()
    async with Runner(runner_config(emulator.url)) as runner:
        second = await (await runner.submit("model", request, identity=identity)).wait()
    assert first.name == second.name and second.attached and not first.attached
    assert (await fetch_stats(emulator.url))["calls"]["CreateModel"] == 1
