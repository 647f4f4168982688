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


def build_request(run: ComponentInputs) -> dict[str, Any]:
    """CreateProcessingJob from the inputs; ``InputError`` with every problem they have."""
    inputs, checks = run.inputs, run.checks
    if not inputs["image"].strip():
        checks.add("image", "must name the processing container image")
    app: dict[str, Any] = {"ImageUri": inputs["image"]}
    entrypoint = checks.attempt(
        string_items, "container_entrypoint", inputs["container_entrypoint"], default=[]
    )
    if entrypoint:
        app["ContainerEntrypoint"] = entrypoint
    arguments = checks.attempt(
        string_items, "container_arguments", inputs["container_arguments"], default=[]
    )
    if arguments:
        app["ContainerArguments"] = arguments

    cluster: dict[str, Any] = {
        "InstanceType": inputs["instance_type"],
        "InstanceCount": inputs["instance_count"],
        "VolumeSizeInGB": inputs["volume_size"],
    }
    if inputs["resource_encryption_key"]:
        cluster["VolumeKmsKeyId"] = inputs["resource_encryption_key"]

    network: dict[str, Any] = {
        "EnableNetworkIsolation": inputs["network_isolation"],
        "EnableInterContainerTrafficEncryption": inputs["traffic_encryption"],
    }
    vpc = checks.attempt(vpc_config, inputs, default=None, field="NetworkConfig.VpcConfig")
    if vpc:
        network["VpcConfig"] = vpc

    request: dict[str, Any] = {
        "RoleArn": inputs["role"],
        "AppSpecification": app,
        "ProcessingResources": {"ClusterConfig": cluster},
        "StoppingCondition": {"MaxRuntimeInSeconds": inputs["max_run_time"]},
        "NetworkConfig": network,
        "Tags": run.user_tags(),
    }
    if inputs["job_name"]:
        request["ProcessingJobName"] = inputs["job_name"]
    if inputs["input_config"]:
        request["ProcessingInputs"] = inputs["input_config"]
    outputs, output_key = inputs["output_config"], inputs["output_encryption_key"]
    if outputs or output_key:
        if not outputs:
            checks.add("output_encryption_key", "needs at least one output in output_config")
        request["ProcessingOutputConfig"] = {"Outputs": outputs}
        if output_key:
            request["ProcessingOutputConfig"]["KmsKeyId"] = output_key
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
