"""SageMaker - Processing Job, as the v1 component had it, run through the runner core.

v1 behaviours kept: every v1 input and output; the job name is generated when not given
(``ProcessingJob-<ts>-<rand>``); ``input_config`` and ``output_config`` are SageMaker's
``ProcessingInputs`` and ``ProcessingOutputConfig.Outputs`` as they are; a VPC needs both
security groups and subnets; the ``output_artifacts`` output is ``{OutputName: S3Uri}``.
``Completed`` succeeds; ``Failed`` and ``Stopped`` fail.
Changed: a job without outputs is allowed, as SageMaker allows it (v1 refused an empty
``output_config``; ``output_artifacts`` is then ``{}``).
v1 defects fixed: logs stream live, a restarted pod re-attaches, SIGTERM stops the job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from components.common.app import ComponentInputs, ComponentRun, main
from components.common.inputs import InputError, vpc_config
from components.common.spec import (
    ComponentSpec,
    Input,
    Output,
    common_inputs,
    role_input,
    vpc_fields,
    vpc_inputs,
)

KIND = "processing"  # the job kind whose request ``build_request`` builds

SPEC = ComponentSpec(
    module="process",
    display_name="SageMaker - Processing Job",
    description="Perform data pre-processing, post-processing, feature engineering, data validation, and model evaluation, and interpretation on using SageMaker",
    inputs=[
        *common_inputs(),
        Input("job_name", "String", "", "The name of the processing job. Generated when empty."),
        role_input(),
        Input(
            "image",
            "String",
            "",
            "The registry path of the Docker image that contains the processing container (needed).",
        ),
        Input("instance_type", "String", "ml.m4.xlarge", "The ML compute instance type."),
        Input(
            "instance_count",
            "Integer",
            "1",
            "The number of ML compute instances to use in each processing job.",
        ),
        Input(
            "volume_size",
            "Integer",
            "30",
            "The size of the ML storage volume that you want to provision.",
        ),
        Input(
            "resource_encryption_key",
            "String",
            "",
            "The AWS KMS key that Amazon SageMaker uses to encrypt data on the storage volume attached to the ML compute instance(s).",
        ),
        Input(
            "output_encryption_key",
            "String",
            "",
            "The AWS KMS key that Amazon SageMaker uses to encrypt the processing artifacts.",
        ),
        Input(
            "max_run_time",
            "Integer",
            "86400",
            "The maximum run time in seconds for the processing job.",
        ),
        Input(
            "environment",
            "JsonObject",
            "{}",
            "The dictionary of the environment variables to set in the Docker container. Up to 100 key-value entries in the map.",
        ),
        Input(
            "container_entrypoint",
            "JsonArray",
            "[]",
            "The entrypoint for the processing job. This is in the form of a list of strings that make a command.",
        ),
        Input(
            "container_arguments",
            "JsonArray",
            "[]",
            "A list of string arguments to be passed to a processing job.",
        ),
        Input(
            "output_config",
            "JsonArray",
            "[]",
            "Parameters that specify Amazon S3 outputs for a processing job.",
        ),
        Input(
            "input_config",
            "JsonArray",
            "[]",
            "Parameters that specify Amazon S3 inputs for a processing job.",
        ),
        *vpc_inputs(),
        Input("network_isolation", "Bool", "True", "Isolates the processing container."),
        Input(
            "traffic_encryption",
            "Bool",
            "False",
            "Encrypts all communications between ML compute instances in distributed training.",
        ),
    ],
    fields={
        "ProcessingJobName": "job_name",
        "RoleArn": "role",
        "AppSpecification.ImageUri": "image",
        "AppSpecification.ContainerEntrypoint": "container_entrypoint",
        "AppSpecification.ContainerArguments": "container_arguments",
        "ProcessingResources.ClusterConfig.InstanceType": "instance_type",
        "ProcessingResources.ClusterConfig.InstanceCount": "instance_count",
        "ProcessingResources.ClusterConfig.VolumeSizeInGB": "volume_size",
        "ProcessingResources.ClusterConfig.VolumeKmsKeyId": "resource_encryption_key",
        "StoppingCondition.MaxRuntimeInSeconds": "max_run_time",
        "Environment": "environment",
        "ProcessingInputs": "input_config",
        "ProcessingOutputConfig.Outputs": "output_config",
        "ProcessingOutputConfig.KmsKeyId": "output_encryption_key",
        "NetworkConfig.EnableNetworkIsolation": "network_isolation",
        "NetworkConfig.EnableInterContainerTrafficEncryption": "traffic_encryption",
        **vpc_fields("NetworkConfig."),
        "Tags": "tags",
    },
    outputs=[
        Output("job_name", "Processing job name."),
        Output(
            "output_artifacts",
            "A dictionary containing the output S3 artifacts: {OutputName: S3Uri}.",
            type="JsonObject",
        ),
    ],
)


def string_values(name: str, mapping: Mapping[str, Any]) -> dict[str, str]:
    """SageMaker's rule: every environment value is a string."""
    wrong = sorted(str(key) for key, value in mapping.items() if not isinstance(value, str))
    if wrong:
        raise InputError(
            name,
            f"every value must be a string (SageMaker's rule); not strings: {', '.join(wrong)}",
        )
    return {str(key): value for key, value in mapping.items()}


def string_items(name: str, items: Sequence[Any]) -> list[str]:
    wrong = [repr(item) for item in items if not isinstance(item, str)]
    if wrong:
        raise InputError(name, f"every item must be a string; not strings: {', '.join(wrong)}")
    return list(items)


def app_specification(run: ComponentInputs) -> dict[str, Any]:
    """The container: its image, entrypoint and arguments."""
    inputs, checks = run.inputs, run.checks
    if not inputs["image"].strip():
        checks.add("image", "must name the processing container image")
    app: dict[str, Any] = {"ImageUri": inputs["image"]}
    for field, name in (
        ("ContainerEntrypoint", "container_entrypoint"),
        ("ContainerArguments", "container_arguments"),
    ):
        items = checks.attempt(string_items, name, inputs[name], default=[])
        if items:
            app[field] = items
    return app


def cluster_config(inputs: Mapping[str, Any]) -> dict[str, Any]:
    cluster: dict[str, Any] = {
        "InstanceType": inputs["instance_type"],
        "InstanceCount": inputs["instance_count"],
        "VolumeSizeInGB": inputs["volume_size"],
    }
    if inputs["resource_encryption_key"]:
        cluster["VolumeKmsKeyId"] = inputs["resource_encryption_key"]
    return cluster


def network_config(run: ComponentInputs) -> dict[str, Any]:
    inputs = run.inputs
    network: dict[str, Any] = {
        "EnableNetworkIsolation": inputs["network_isolation"],
        "EnableInterContainerTrafficEncryption": inputs["traffic_encryption"],
    }
    vpc = run.checks.attempt(vpc_config, inputs, default=None, field="NetworkConfig.VpcConfig")
    if vpc:
        network["VpcConfig"] = vpc
    return network


def output_config(run: ComponentInputs) -> dict[str, Any] | None:
    """ProcessingOutputConfig, or None when there are no outputs (SageMaker allows none)."""
    outputs, output_key = run.inputs["output_config"], run.inputs["output_encryption_key"]
    if not (outputs or output_key):
        return None
    if not outputs:
        run.checks.add("output_encryption_key", "needs at least one output in output_config")
    config: dict[str, Any] = {"Outputs": outputs}
    if output_key:
        config["KmsKeyId"] = output_key
    return config


def build_request(run: ComponentInputs) -> dict[str, Any]:
    """CreateProcessingJob from the inputs; ``InputError`` with every problem they have."""
    inputs, checks = run.inputs, run.checks
    request: dict[str, Any] = {
        "RoleArn": inputs["role"],
        "AppSpecification": app_specification(run),
        "ProcessingResources": {"ClusterConfig": cluster_config(inputs)},
        "StoppingCondition": {"MaxRuntimeInSeconds": inputs["max_run_time"]},
        "NetworkConfig": network_config(run),
        "Tags": run.user_tags(),
    }
    if inputs["job_name"]:
        request["ProcessingJobName"] = inputs["job_name"]
    if inputs["input_config"]:
        request["ProcessingInputs"] = inputs["input_config"]
    outputs = output_config(run)
    if outputs is not None:
        request["ProcessingOutputConfig"] = outputs
    environment = checks.attempt(string_values, "environment", inputs["environment"], default={})
    if environment:
        request["Environment"] = environment
    return run.checked(KIND, request)


async def execute(run: ComponentRun) -> dict[str, Any]:
    outcome = await run.job(KIND, build_request(run))
    return {
        "job_name": outcome.name,
        "output_artifacts": outcome.outputs.get("output_artifacts", {}),
    }


def run(argv: Sequence[str] | None = None) -> int:
    return main(SPEC, execute, argv, check=build_request)
