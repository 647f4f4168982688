"""SageMaker - Deploy Model, as the v1 component had it, run through the runner core.

An endpoint configuration with up to three production variants (slots ``_1``/``_2``/``_3``; a
slot is used when its ``model_name_N`` is given, and slot 1 must be), then the endpoint: it is
created and must reach ``InService``; or, with ``update_endpoint`` True and an endpoint of that
name already there, it is updated to the new configuration.

v1 behaviours kept: every v1 input and output; names are generated when not given
(``Endpoint-<ts>-<rand>``, ``EndpointConfig-<ts>-<rand>``); ``endpoint_config_tags`` tag the
configuration and ``tags`` the endpoint; when updating, a given ``endpoint_config_name`` that is
already taken by another configuration gives way to a generated one (v1 never used the given
name when updating).
v1 defects fixed: an update is followed until it ends, and a rollback (the endpoint back
``InService`` on its old configuration) fails the step; the old configuration is left alone
(v1 deleted it at once, before knowing whether the update would hold); a variant weight of 0
stays 0; a restarted pod re-attaches to its configuration and endpoint (deterministic names
from the pipeline run and task: steps ``config`` and ``endpoint``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import structlog

from components.common.app import ComponentInputs, ComponentRun, main
from components.common.inputs import InputError
from components.common.spec import ComponentSpec, Input, Output, common_inputs
from runner.errors import JobConflict, ResourceMissing
from runner.requests import prepare_request

log = structlog.get_logger("components.deploy")

SLOTS = (1, 2, 3)
DEFAULT_INSTANCE_TYPE = "ml.m4.xlarge"
# A production variant's fields, and the inputs of slot N that fill them.
VARIANT_FIELDS = {
    "VariantName": "variant_name_{slot}",
    "ModelName": "model_name_{slot}",
    "InitialInstanceCount": "initial_instance_count_{slot}",
    "InstanceType": "instance_type_{slot}",
    "InitialVariantWeight": "initial_variant_weight_{slot}",
    "AcceleratorType": "accelerator_type_{slot}",
}
ENDPOINT_FIELDS = {
    "EndpointName": "endpoint_name",
    "EndpointConfigName": "endpoint_config_name",
    "Tags": "tags",
}


def _variant_inputs(slot: int) -> list[Input]:
    model_default = None if slot == 1 else ""
    return [
        Input(
            f"variant_name_{slot}",
            "String",
            f"variant-name-{slot}",
            "The name of the production variant.",
        ),
        Input(
            f"model_name_{slot}",
            "String",
            model_default,
            "The model name used for endpoint deployment."
            + ("" if slot == 1 else " Leave empty to not use this variant."),
        ),
        Input(
            f"initial_instance_count_{slot}",
            "Integer",
            "1",
            "Number of instances to launch initially.",
        ),
        Input(
            f"instance_type_{slot}",
            "String",
            DEFAULT_INSTANCE_TYPE,
            "The ML compute instance type.",
        ),
        Input(
            f"initial_variant_weight_{slot}",
            "String",
            "1.0",
            "Determines initial traffic distribution among all of the models that you specify in the endpoint configuration.",
        ),
        Input(
            f"accelerator_type_{slot}",
            "String",
            "",
            "The size of the Elastic Inference (EI) instance to use for the production variant.",
        ),
    ]


SPEC = ComponentSpec(
    module="deploy",
    display_name="SageMaker - Deploy Model",
    description="Deploy Machine Learning Model Endpoint in SageMaker",
    inputs=[
        *common_inputs(),
        Input(
            "endpoint_name",
            "String",
            "",
            "The name of the endpoint. Generated when empty.",
        ),
        Input(
            "endpoint_config_name",
            "String",
            "",
            "The name of the endpoint configuration. Generated when empty.",
        ),
        Input(
            "endpoint_config_tags",
            "JsonObject",
            "{}",
            "Key-value pairs to tag the endpoint configuration with.",
        ),
        Input(
            "resource_encryption_key",
            "String",
            "",
            "The AWS KMS key that Amazon SageMaker uses to encrypt data on the storage volume attached to the ML compute instance(s).",
        ),
        Input(
            "update_endpoint",
            "Bool",
            "False",
            "Update the endpoint if it exists (and wait until the update ends); create it otherwise.",
        ),
        *(item for slot in SLOTS for item in _variant_inputs(slot)),
    ],
    fields=ENDPOINT_FIELDS,
    outputs=[Output("endpoint_name", "The created endpoint name.")],
)


def variant_weight(inputs: Mapping[str, Any], slot: int) -> float:
    name = f"initial_variant_weight_{slot}"
    text = inputs[name].strip()
    if not text:
        return 1.0
    try:
        weight = float(text)
    except ValueError:
        raise InputError(name, f"must be a number, got {inputs[name]!r}") from None
    if not math.isfinite(weight) or weight < 0:
        raise InputError(name, f"must be a finite number >= 0, got {inputs[name]!r}")
    return weight


def used_slots(inputs: Mapping[str, Any]) -> list[int]:
    """The slots with a model, in order: the production variants, one each."""
    return [slot for slot in SLOTS if inputs[f"model_name_{slot}"].strip()]


def config_fields(inputs: Mapping[str, Any]) -> dict[str, str]:
    """CreateEndpointConfig's fields and the inputs that fill them (variant i is the i-th
    used slot)."""
    fields = {
        "EndpointConfigName": "endpoint_config_name",
        "KmsKeyId": "resource_encryption_key",
        "Tags": "endpoint_config_tags",
    }
    for index, slot in enumerate(used_slots(inputs)):
        for field, name in VARIANT_FIELDS.items():
            fields[f"ProductionVariants[{index}].{field}"] = name.format(slot=slot)
    return fields


def production_variant(run: ComponentInputs, slot: int) -> dict[str, Any] | None:
    """The variant of slot ``slot``, or None when its model name is empty."""
    inputs = run.inputs
    model = inputs[f"model_name_{slot}"].strip()
    if not model:
        return None
    variant: dict[str, Any] = {
        "VariantName": inputs[f"variant_name_{slot}"] or f"variant-name-{slot}",
        "ModelName": model,
        "InitialInstanceCount": inputs[f"initial_instance_count_{slot}"],
        "InstanceType": inputs[f"instance_type_{slot}"] or DEFAULT_INSTANCE_TYPE,
        "InitialVariantWeight": run.checks.attempt(variant_weight, inputs, slot, default=1.0),
    }
    if inputs[f"accelerator_type_{slot}"]:
        variant["AcceleratorType"] = inputs[f"accelerator_type_{slot}"]
    return variant


def endpoint_config_request(run: ComponentInputs) -> dict[str, Any]:
    """CreateEndpointConfig without its name (given or derived later)."""
    inputs = run.inputs
    if not inputs["model_name_1"].strip():
        run.checks.add("model_name_1", "must name the model to host (at least one is needed)")
    variants: list[dict[str, Any]] = []
    for slot in SLOTS:
        variant = production_variant(run, slot)
        if variant is None:
            continue
        if any(earlier["VariantName"] == variant["VariantName"] for earlier in variants):
            run.checks.add(
                f"variant_name_{slot}",
                f"variant names must differ; {variant['VariantName']!r} is used twice",
            )
        variants.append(variant)
    request: dict[str, Any] = {
        "ProductionVariants": variants,
        "Tags": [
            {"Key": str(key), "Value": str(value)}
            for key, value in inputs["endpoint_config_tags"].items()
        ],
    }
    if inputs["resource_encryption_key"]:
        request["KmsKeyId"] = inputs["resource_encryption_key"]
    return request


def prepared_name(run: ComponentInputs, kind: str, request: Mapping[str, Any], step: str) -> str:
    """The name ``kind``'s request will be sent with (given, deterministic or generated).

    Preparing also checks the request against the service model: bad input is refused here,
    before anything is created.
    """
    identity = run.identity(kind, request, step)
    name = prepare_request(kind, request, identity=identity).checked().name
    assert name is not None  # a create always gets one
    return name


async def existing_endpoint(run: ComponentRun, name: str) -> dict[str, Any] | None:
    try:
        return await run.runner.caller.sagemaker("DescribeEndpoint", EndpointName=name)
    except ResourceMissing:
        return None


async def create_config(
    run: ComponentRun, request: Mapping[str, Any], name: str, *, updating: bool
) -> str:
    """Create (or re-attach to) the configuration; returns the name it got.

    When updating, a given name that another configuration already holds gives way to a
    generated one, as v1 did (it never used the given name when updating).
    """
    try:
        await run.job("endpoint_config", {**request, "EndpointConfigName": name}, step="config")
        return name
    except JobConflict:
        if not (updating and run.inputs["endpoint_config_name"]):
            raise
    fallback = prepared_name(run, "endpoint_config", request, "config")
    log.warning(
        "deploy.config_name_taken",
        endpoint_config_name=name,
        using=fallback,
        reason="an endpoint configuration of that name exists, made from another request",
    )
    await run.job("endpoint_config", {**request, "EndpointConfigName": fallback}, step="config")
    return fallback


def build_requests(run: ComponentInputs) -> tuple[dict[str, Any], dict[str, Any]]:
    """CreateEndpointConfig and CreateEndpoint as far as the inputs give them (names may be
    generated later); ``InputError`` with every problem of both."""
    inputs = run.inputs
    config_request = endpoint_config_request(run)
    endpoint_request: dict[str, Any] = {"Tags": run.user_tags()}
    for request, name in (
        (config_request, "EndpointConfigName"),
        (endpoint_request, "EndpointConfigName"),
    ):
        if inputs["endpoint_config_name"]:
            request[name] = inputs["endpoint_config_name"]
    if inputs["endpoint_name"]:
        endpoint_request["EndpointName"] = inputs["endpoint_name"]
    run.checks.raise_if_any(
        [
            *run.model_problems("endpoint_config", config_request, fields=config_fields(inputs)),
            *run.model_problems("endpoint", endpoint_request, filled_later=("EndpointConfigName",)),
        ]
    )
    return config_request, endpoint_request


async def execute(run: ComponentRun) -> dict[str, Any]:
    inputs = run.inputs
    config_request, endpoint_request = build_requests(run)
    config_name = prepared_name(run, "endpoint_config", config_request, "config")
    config_request.pop("EndpointConfigName", None)
    endpoint_request["EndpointConfigName"] = config_name
    endpoint_name = prepared_name(run, "endpoint", endpoint_request, "endpoint")
    endpoint_request["EndpointName"] = endpoint_name

    existing = await existing_endpoint(run, endpoint_name) if inputs["update_endpoint"] else None
    if existing is None:
        await create_config(run, config_request, config_name, updating=False)
        await run.job("endpoint", endpoint_request, step="endpoint")
    else:
        log.info(
            "deploy.updating",
            endpoint=endpoint_name,
            current_config=existing.get("EndpointConfigName"),
            status=existing.get("EndpointStatus"),
        )
        config_name = await create_config(run, config_request, config_name, updating=True)
        update = {"EndpointName": endpoint_name, "EndpointConfigName": config_name}
        await run.job("endpoint_update", update, step="endpoint")
    return {"endpoint_name": endpoint_name}


def run(argv: Sequence[str] | None = None) -> int:
    return main(SPEC, execute, argv, check=build_requests)
