"""SageMaker - Create Model, as the v1 component had it, run through the runner core.

v1 behaviours kept: every v1 input and output; the primary container is a model package
(``model_package``) or an image with its model artifact (``image``, ``model_artifact_url``),
plus host name and environment; ``secondary_containers``, when given, is sent as the model's
``Containers`` instead of a primary container (as v1 did); VPC, network isolation and tags.
Where v1 silently dropped an input (``model_package`` wins over ``image``; the primary
container inputs are unused with ``secondary_containers``) the drop is logged.
Differences: an ``image`` alone (a model baked into its image) is allowed; a model that
already exists is re-attached to when it was made from the same request (a restarted pod),
and is a clear conflict otherwise (v1 failed on any existing model).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog

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

log = structlog.get_logger("components")

KIND = "model"  # the job kind whose request ``build_request`` builds

SPEC = ComponentSpec(
    module="model",
    display_name="SageMaker - Create Model",
    description="Create Models in SageMaker",
    inputs=[
        *common_inputs(),
        Input("model_name", "String", None, "The name of the new model."),
        role_input(),
        Input(
            "container_host_name",
            "String",
            "",
            "When a ContainerDefinition is part of an inference pipeline, this value uniquely identifies the container for the purposes of logging and metrics.",
        ),
        Input(
            "image",
            "String",
            "",
            "The Amazon EC2 Container Registry (Amazon ECR) path where inference code is stored.",
        ),
        Input(
            "model_artifact_url",
            "String",
            "",
            "S3 path where Amazon SageMaker to store the model artifacts.",
        ),
        Input(
            "environment",
            "JsonObject",
            "{}",
            "The dictionary of the environment variables to set in the Docker container. Up to 16 key-value entries in the map.",
        ),
        Input(
            "model_package",
            "String",
            "",
            "The name or Amazon Resource Name (ARN) of the model package to use to create the model.",
        ),
        Input(
            "secondary_containers",
            "JsonArray",
            "[]",
            "A list of dicts that specifies the additional containers in the inference pipeline.",
        ),
        *vpc_inputs(),
        Input("network_isolation", "Bool", "True", "Isolates the model container."),
    ],
    fields={
        "ModelName": "model_name",
        "ExecutionRoleArn": "role",
        "PrimaryContainer.ContainerHostname": "container_host_name",
        "PrimaryContainer.Image": "image",
        "PrimaryContainer.ModelDataUrl": "model_artifact_url",
        "PrimaryContainer.Environment": "environment",
        "PrimaryContainer.ModelPackageName": "model_package",
        "Containers": "secondary_containers",
        "EnableNetworkIsolation": "network_isolation",
        "Tags": "tags",
        **vpc_fields(),
    },
    outputs=[Output("model_name", "The model name SageMaker created.")],
)

PRIMARY_INPUTS = (
    "container_host_name",
    "image",
    "model_artifact_url",
    "environment",
    "model_package",
)


def primary_container(inputs: dict[str, Any]) -> dict[str, Any]:
    """v1's rule: a model package, or an image (with its model artifact)."""
    container: dict[str, Any] = {}
    if inputs["model_package"]:
        ignored = [name for name in ("image", "model_artifact_url") if inputs[name]]
        if ignored:
            log.warning(
                "component.input_ignored",
                inputs=ignored,
                reason="model_package is given: the model package's own image and artifact are used",
            )
        container["ModelPackageName"] = inputs["model_package"]
    elif inputs["image"]:
        container["Image"] = inputs["image"]
        if inputs["model_artifact_url"]:
            container["ModelDataUrl"] = inputs["model_artifact_url"]
    elif inputs["model_artifact_url"]:
        raise InputError("image", "model_artifact_url needs the image that serves it")
    else:
        raise InputError(
            "image",
            "give an image and model artifact url, or a model package name (model_package), "
            "or secondary_containers",
        )
    if inputs["container_host_name"]:
        container["ContainerHostname"] = inputs["container_host_name"]
    if inputs["environment"]:
        container["Environment"] = inputs["environment"]
    return container


def containers(inputs: dict[str, Any]) -> list[dict[str, Any]]:
    given = inputs["secondary_containers"]
    for index, entry in enumerate(given):
        if not isinstance(entry, dict):
            raise InputError(
                "secondary_containers", f"entry {index} must be a JSON object, got {entry!r}"
            )
    ignored = [name for name in PRIMARY_INPUTS if inputs[name]]
    if ignored:
        log.warning(
            "component.input_ignored",
            inputs=ignored,
            reason="secondary_containers is given: it is sent as the model's Containers, as v1 did",
        )
    return list(given)


def build_request(run: ComponentInputs) -> dict[str, Any]:
    """CreateModel from the inputs; ``InputError`` with every problem they have."""
    inputs, checks = run.inputs, run.checks
    request: dict[str, Any] = {
        "ModelName": inputs["model_name"],
        "ExecutionRoleArn": inputs["role"],
        "EnableNetworkIsolation": inputs["network_isolation"],
        "Tags": run.user_tags(),
    }
    if inputs["secondary_containers"]:
        request["Containers"] = checks.attempt(containers, inputs, default=[], field="Containers")
    else:
        request["PrimaryContainer"] = checks.attempt(
            primary_container, inputs, default={}, field="PrimaryContainer"
        )
    vpc = checks.attempt(vpc_config, inputs, default=None, field="VpcConfig")
    if vpc:
        request["VpcConfig"] = vpc
    return run.checked(KIND, request)


async def execute(run: ComponentRun) -> dict[str, Any]:
    outcome = await run.job(KIND, build_request(run))
    return {"model_name": outcome.outputs.get("model_name", outcome.name)}


def run(argv: Sequence[str] | None = None) -> int:
    return main(SPEC, execute, argv, check=build_request)
