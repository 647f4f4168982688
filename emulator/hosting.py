"""Real-time hosting: models, endpoint configurations and endpoints.

Models and endpoint configurations are plain records: created, described, listed, deleted,
never changed. An endpoint has a life, planned like a job's on the emulator's clock
(``lifecycle``): ``Creating`` then ``InService`` (or ``Failed``), ``Updating`` then
``InService`` again after an UpdateEndpoint, ``Deleting`` then gone after a DeleteEndpoint.

Each create or update is a ``Deployment`` of one endpoint configuration. It is captured when
it starts (the configuration and the images of its models), because SageMaker lets a
configuration or model be deleted while an endpoint still runs it. Which configuration the
endpoint serves at a moment follows from its deployments: the latest one that reached
``InService`` successfully. A failed update is reported as AWS reports it: the endpoint is back
``InService`` on its *old* configuration, with the update's ``FailureReason``.

Errors follow SageMaker, not the service model: a missing or duplicate model, configuration or
endpoint is a ``ValidationException`` ("Could not find model ...", "Cannot create already
existing endpoint ...").

Per-resource behaviour is set with tags (read when a deployment starts):

``emulator:duration-seconds``  on the endpoint, or else its configuration: how long a create or
                               update takes (default ``endpoint_duration``, else ``job_duration``)
``emulator:fail-reason``       on the endpoint or its configuration: the create ends ``Failed``;
                               on the configuration an update moves to: the update rolls back
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from emulator import errors
from emulator.defaults import with_defaults
from emulator.jobs import DURATION_TAG, FAIL_TAG, tag_float
from emulator.lifecycle import Phase, Schedule, Transition, plan, tag_dict
from emulator.listing import Listed, list_page
from emulator.state import Emulator, Params, Response, operation
from runner.validation import operation_model

CREATING = (Phase(0.0, "Creating"), Phase(1.0, "InService"))
UPDATING = (Phase(0.0, "Updating"), Phase(1.0, "InService"))
DELETING = (Phase(0.0, "Deleting"), Phase(1.0, "Deleted"))
CREATE_FAILED = Transition(0, "Failed")
# "Deleted" is the emulator's own word for an endpoint that no longer exists: no API answers
# it (the endpoint is simply not found), only the stats rows show it.
GONE = "Deleted"
IN_PROGRESS = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})

# Endpoint-config fields that DescribeEndpoint repeats as they are.
_ECHOED_CONFIG_FIELDS = ("AsyncInferenceConfig", "ExplainerConfig", "MetricsConfig")


@dataclass(eq=False)
class Model:
    """A model, as created: models never change."""

    name: str
    arn: str
    request: Params
    created_at: float
    tags: dict[str, str]


@dataclass(eq=False)
class EndpointConfig:
    """An endpoint configuration, as created: configurations never change."""

    name: str
    arn: str
    request: Params
    created_at: float
    tags: dict[str, str]

    def variants(self, key: str = "ProductionVariants") -> list[dict[str, Any]]:
        variants: list[dict[str, Any]] = self.request.get(key) or []
        return variants


@dataclass(eq=False)
class Deployment:
    """One create or update of an endpoint: the configuration it deploys and how it ends."""

    config: EndpointConfig
    images: dict[str, list[str]]  # model name -> its container images, when the deployment began
    started_at: float
    settles_at: float  # when the endpoint reaches InService (or Failed)
    failure_reason: str | None  # planned: a create fails, an update rolls back
    is_update: bool
    # UpdateEndpoint(RetainAllVariantProperties): variant name -> the summary fields it keeps.
    retained: dict[str, dict[str, Any]] = field(default_factory=dict)

    def settled(self, now: float) -> bool:
        return now >= self.settles_at

    def succeeded(self, now: float) -> bool:
        return self.settled(now) and self.failure_reason is None

    def desired_summaries(self, key: str) -> list[dict[str, Any]]:
        """What the variants under ``key`` of the config ask for: the Desired* fields."""
        summaries = []
        for variant in self.config.variants(key):
            summary = _desired(variant, self.images, self.started_at)
            summary.update(self.retained.get(variant["VariantName"], {}))
            summaries.append(summary)
        return summaries

    def variant_summaries(self, key: str) -> list[dict[str, Any]]:
        """ProductionVariantSummary entries once deployed: what is current is what was desired."""
        summaries = self.desired_summaries(key)
        for summary in summaries:
            for desired, current in (
                ("DesiredWeight", "CurrentWeight"),
                ("DesiredInstanceCount", "CurrentInstanceCount"),
                ("DesiredServerlessConfig", "CurrentServerlessConfig"),
            ):
                if desired in summary:
                    summary[current] = summary[desired]
        return summaries


@dataclass(eq=False)
class Endpoint:
    """An endpoint: its schedule of statuses and the deployments that made it."""

    name: str
    arn: str
    created_at: float
    tags: dict[str, str]
    schedule: Schedule
    deployments: list[Deployment]
    delete_requested_at: float | None = None

    def state(self, now: float) -> Transition:
        return self.schedule.at(now)

    def status(self, now: float) -> str:
        return self.schedule.at(now).status

    def gone(self, now: float) -> bool:
        return self.status(now) == GONE

    def serving(self, now: float) -> Deployment | None:
        """The latest deployment that reached InService successfully by ``now``."""
        return next((d for d in reversed(self.deployments) if d.succeeded(now)), None)

    def shown(self, now: float) -> Deployment:
        """The deployment whose configuration DescribeEndpoint names: the one served, or, while
        the first one is still being created (or failed), that one."""
        return self.serving(now) or self.deployments[0]

    def last_settled(self, now: float) -> Deployment | None:
        return next((d for d in reversed(self.deployments) if d.settled(now)), None)

    def ended_at(self, now: float) -> float | None:
        latest = self.deployments[-1]
        return latest.settles_at if latest.settled(now) else None

    def stats_row(self, now: float) -> dict[str, Any]:
        return {
            "kind": "endpoint",
            "name": self.name,
            "status": self.status(now),
            "created_at": self.created_at,
            "ended_at": self.ended_at(now),
            "stop_requested_at": self.delete_requested_at,
            "tags": self.tags,
        }


# --- helpers --------------------------------------------------------------------------------


def _resolved_image(image: str) -> str:
    """``repo:tag`` as SageMaker resolves it: ``repo@sha256:<digest>`` (stable per image)."""
    if "@" in image:
        return image
    repository, colon, tag = image.rpartition(":")
    if not colon or "/" in tag:  # no tag, or the colon was a registry port
        repository = image
    return f"{repository}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def _container_images(model: Model) -> list[str]:
    containers = model.request.get("Containers") or [model.request.get("PrimaryContainer") or {}]
    return [container["Image"] for container in containers if container.get("Image")]


def _desired(variant: dict[str, Any], images: dict[str, list[str]], at: float) -> dict[str, Any]:
    """What a variant of a configuration asks for, as the Desired* fields of a summary."""
    summary: dict[str, Any] = {"VariantName": variant["VariantName"]}
    model_images = images.get(variant.get("ModelName") or "", [])
    if model_images:
        summary["DeployedImages"] = [
            {"SpecifiedImage": image, "ResolvedImage": _resolved_image(image), "ResolutionTime": at}
            for image in model_images
        ]
    summary["DesiredWeight"] = float(variant.get("InitialVariantWeight", 1.0))
    if "InitialInstanceCount" in variant:
        summary["DesiredInstanceCount"] = variant["InitialInstanceCount"]
    if "ServerlessConfig" in variant:
        summary["DesiredServerlessConfig"] = variant["ServerlessConfig"]
    for key in ("ManagedInstanceScaling", "RoutingConfig"):
        if key in variant:
            summary[key] = variant[key]
    return summary


def _echo(request: Params, operation_name: str) -> Response:
    """The request's fields that the Describe output shape has (Tags never), with the
    defaults SageMaker fills in (``defaults``)."""
    output = operation_model("sagemaker", operation_name).output_shape
    members = output.members if output is not None else {}
    return with_defaults(
        operation_name,
        {key: value for key, value in request.items() if key in members and key != "Tags"},
    )


def _register(em: Emulator, arn: str, params: Params) -> dict[str, str]:
    tags = tag_dict(params.get("Tags"))
    em.tags[arn] = tags
    return tags


def _page(em: Emulator, params: Params, list_key: str, items: list[Listed]) -> Response:
    page, token = list_page(params, items, paging=em.config.paging)
    response: Response = {list_key: page}
    if token:
        response["NextToken"] = token
    return response


def find_model(em: Emulator, name: str) -> Model:
    model = em.models.get(name)
    if model is None:
        raise errors.validation_error(f'Could not find model "{em.arn("model", name)}".')
    return model


def find_config(em: Emulator, name: str) -> EndpointConfig:
    config = em.endpoint_configs.get(name)
    if config is None:
        raise errors.validation_error(
            f'Could not find endpoint configuration "{em.arn("endpoint-config", name)}".'
        )
    return config


def find_endpoint(em: Emulator, name: str, now: float) -> Endpoint:
    endpoint = em.endpoints.get(name)
    if endpoint is None or endpoint.gone(now):
        raise errors.validation_error(f'Could not find endpoint "{em.arn("endpoint", name)}".')
    return endpoint


# --- models ---------------------------------------------------------------------------------


@operation("sagemaker", "CreateModel")
def create_model(em: Emulator, params: Params) -> Response:
    name = params["ModelName"]
    arn = em.arn("model", name)
    if name in em.models:
        raise errors.validation_error(f'Cannot create already existing model "{arn}".')
    has_primary, has_containers = "PrimaryContainer" in params, bool(params.get("Containers"))
    if has_primary and has_containers:
        raise errors.validation_error("Specify either PrimaryContainer or Containers, not both.")
    if not has_primary and not has_containers:
        raise errors.validation_error("Either PrimaryContainer or Containers must be specified.")
    model = Model(name, arn, params, em.now(), _register(em, arn, params))
    em.models[name] = model
    return {"ModelArn": arn}


@operation("sagemaker", "DescribeModel")
def describe_model(em: Emulator, params: Params) -> Response:
    model = find_model(em, params["ModelName"])
    response = _echo(model.request, "DescribeModel")
    response["ModelArn"] = model.arn
    response["CreationTime"] = model.created_at
    return response


@operation("sagemaker", "ListModels")
def list_models(em: Emulator, params: Params) -> Response:
    def summary(model: Model) -> dict[str, Any]:
        return {"ModelName": model.name, "ModelArn": model.arn, "CreationTime": model.created_at}

    items = [
        Listed(m.name, m.created_at, None, None, partial(summary, m)) for m in em.models.values()
    ]
    return _page(em, params, "Models", items)


@operation("sagemaker", "DeleteModel")
def delete_model(em: Emulator, params: Params) -> Response:
    model = find_model(em, params["ModelName"])
    del em.models[model.name]
    em.tags.pop(model.arn, None)
    return {}


# --- endpoint configurations ----------------------------------------------------------------


@operation("sagemaker", "CreateEndpointConfig")
def create_endpoint_config(em: Emulator, params: Params) -> Response:
    name = params["EndpointConfigName"]
    arn = em.arn("endpoint-config", name)
    if name in em.endpoint_configs:
        raise errors.validation_error(
            f'Cannot create already existing endpoint configuration "{arn}".'
        )
    variants = [*params["ProductionVariants"], *(params.get("ShadowProductionVariants") or [])]
    names = [variant["VariantName"] for variant in variants]
    if len(set(names)) != len(names):
        raise errors.validation_error(
            "Variant names must be unique within an endpoint configuration."
        )
    for variant in variants:
        if variant.get("ModelName"):
            find_model(em, variant["ModelName"])
    config = EndpointConfig(name, arn, params, em.now(), _register(em, arn, params))
    em.endpoint_configs[name] = config
    return {"EndpointConfigArn": arn}


@operation("sagemaker", "DescribeEndpointConfig")
def describe_endpoint_config(em: Emulator, params: Params) -> Response:
    config = find_config(em, params["EndpointConfigName"])
    response = _echo(config.request, "DescribeEndpointConfig")
    response["EndpointConfigArn"] = config.arn
    response["CreationTime"] = config.created_at
    return response


@operation("sagemaker", "ListEndpointConfigs")
def list_endpoint_configs(em: Emulator, params: Params) -> Response:
    def summary(config: EndpointConfig) -> dict[str, Any]:
        return {
            "EndpointConfigName": config.name,
            "EndpointConfigArn": config.arn,
            "CreationTime": config.created_at,
        }

    items = [
        Listed(c.name, c.created_at, None, None, partial(summary, c))
        for c in em.endpoint_configs.values()
    ]
    return _page(em, params, "EndpointConfigs", items)


@operation("sagemaker", "DeleteEndpointConfig")
def delete_endpoint_config(em: Emulator, params: Params) -> Response:
    # SageMaker lets a configuration go while endpoints still run it; they keep their copy.
    config = find_config(em, params["EndpointConfigName"])
    del em.endpoint_configs[config.name]
    em.tags.pop(config.arn, None)
    return {}


# --- endpoints ------------------------------------------------------------------------------


def _deployment_time(em: Emulator, endpoint_tags: dict[str, str], config: EndpointConfig) -> float:
    default = em.config.endpoint_duration
    if default is None:
        default = em.config.job_duration
    return tag_float(endpoint_tags, DURATION_TAG, tag_float(config.tags, DURATION_TAG, default))


def _deployment(
    em: Emulator,
    config: EndpointConfig,
    now: float,
    duration: float,
    failure_reason: str | None,
    *,
    is_update: bool,
) -> Deployment:
    """A deployment of ``config`` starting ``now``; its models must still exist."""
    images = {}
    for variant in [*config.variants(), *config.variants("ShadowProductionVariants")]:
        if variant.get("ModelName"):
            images[variant["ModelName"]] = _container_images(find_model(em, variant["ModelName"]))
    return Deployment(config, images, now, now + duration, failure_reason, is_update)


@operation("sagemaker", "CreateEndpoint")
def create_endpoint(em: Emulator, params: Params) -> Response:
    name = params["EndpointName"]
    arn = em.arn("endpoint", name)
    now = em.now()
    existing = em.endpoints.get(name)
    if existing is not None and not existing.gone(now):
        raise errors.validation_error(f'Cannot create already existing endpoint "{arn}".')
    config = find_config(em, params["EndpointConfigName"])
    tags = tag_dict(params.get("Tags"))
    duration = _deployment_time(em, tags, config)
    failure_reason = tags.get(FAIL_TAG) or config.tags.get(FAIL_TAG) or None
    deployment = _deployment(em, config, now, duration, failure_reason, is_update=False)
    transitions = plan(
        now,
        duration,
        CREATING,
        fail_at=1.0 if failure_reason else None,
        failed=CREATE_FAILED,
    )
    endpoint = Endpoint(
        name, arn, now, tags, Schedule(transitions, frozenset({GONE})), [deployment]
    )
    em.endpoints[name] = endpoint
    em.tags[arn] = tags
    return {"EndpointArn": arn}


def _data_capture_summary(config: EndpointConfig) -> dict[str, Any] | None:
    capture = config.request.get("DataCaptureConfig")
    if not capture:
        return None
    enabled = bool(capture.get("EnableCapture", True))
    summary: dict[str, Any] = {
        "EnableCapture": enabled,
        "CaptureStatus": "Started" if enabled else "Stopped",
        "CurrentSamplingPercentage": capture["InitialSamplingPercentage"],
        "DestinationS3Uri": capture["DestinationS3Uri"],
    }
    kms_key = capture.get("KmsKeyId") or config.request.get("KmsKeyId")
    if kms_key:
        summary["KmsKeyId"] = kms_key
    return summary


def describe(endpoint: Endpoint, now: float) -> Response:
    """The DescribeEndpoint response of ``endpoint`` at ``now``."""
    state = endpoint.state(now)
    shown = endpoint.shown(now)
    response: Response = {
        "EndpointName": endpoint.name,
        "EndpointArn": endpoint.arn,
        "EndpointConfigName": shown.config.name,
        "EndpointStatus": state.status,
        "CreationTime": endpoint.created_at,
        "LastModifiedTime": state.at,
    }
    serving = endpoint.serving(now)
    if serving is not None:
        response["ProductionVariants"] = serving.variant_summaries("ProductionVariants")
        shadows = serving.variant_summaries("ShadowProductionVariants")
        if shadows:
            response["ShadowProductionVariants"] = shadows
    capture = _data_capture_summary(shown.config)
    if capture is not None:
        response["DataCaptureConfig"] = capture
    for key in _ECHOED_CONFIG_FIELDS:
        if key in shown.config.request:
            response[key] = shown.config.request[key]
    settled = endpoint.last_settled(now)
    if settled is not None and settled.failure_reason:
        response["FailureReason"] = settled.failure_reason
    latest = endpoint.deployments[-1]
    if latest.is_update and not latest.settled(now):
        pending: dict[str, Any] = {
            "EndpointConfigName": latest.config.name,
            "ProductionVariants": [
                {**summary, "VariantStatus": [{"Status": "Creating"}]}
                for summary in latest.desired_summaries("ProductionVariants")
            ],
            "StartTime": latest.started_at,
        }
        response["PendingDeploymentSummary"] = pending
    return response


@operation("sagemaker", "DescribeEndpoint")
def describe_endpoint(em: Emulator, params: Params) -> Response:
    now = em.now()
    return describe(find_endpoint(em, params["EndpointName"], now), now)


def _retained(
    serving: Deployment, config: EndpointConfig, params: Params
) -> dict[str, dict[str, Any]]:
    """What RetainAllVariantProperties keeps of the variants that stay (by name)."""
    if not params.get("RetainAllVariantProperties"):
        if params.get("ExcludeRetainedVariantProperties"):
            raise errors.validation_error(
                "ExcludeRetainedVariantProperties can only be specified when "
                "RetainAllVariantProperties is true."
            )
        return {}
    excluded = {
        p["VariantPropertyType"] for p in params.get("ExcludeRetainedVariantProperties") or []
    }
    current = {s["VariantName"]: s for s in serving.variant_summaries("ProductionVariants")}
    kept: dict[str, dict[str, Any]] = {}
    for variant in config.variants():
        old = current.get(variant["VariantName"])
        if old is None:
            continue
        kept[variant["VariantName"]] = {
            key: old[key]
            for key in ("DesiredWeight", "DesiredInstanceCount")
            if key in old and key not in excluded
        }
    return kept


@operation("sagemaker", "UpdateEndpoint")
def update_endpoint(em: Emulator, params: Params) -> Response:
    now = em.now()
    endpoint = find_endpoint(em, params["EndpointName"], now)
    status = endpoint.status(now)
    if status in IN_PROGRESS:
        raise errors.validation_error(f'Cannot update in-progress endpoint "{endpoint.arn}".')
    if status != "InService":
        raise errors.validation_error(
            f'Cannot update endpoint "{endpoint.arn}" in status {status}.'
        )
    config = find_config(em, params["EndpointConfigName"])
    serving = endpoint.serving(now)
    if serving is None:  # cannot happen: an InService endpoint serves a deployment
        raise errors.internal_failure()
    retained = _retained(serving, config, params)
    duration = _deployment_time(em, endpoint.tags, config)
    failure_reason = config.tags.get(FAIL_TAG) or None
    deployment = _deployment(em, config, now, duration, failure_reason, is_update=True)
    deployment.retained = retained
    endpoint.deployments.append(deployment)
    # A failed update rolls back: the endpoint is InService again either way.
    endpoint.schedule.cut(now, plan(now, duration, UPDATING))
    return {"EndpointArn": endpoint.arn}


@operation("sagemaker", "DeleteEndpoint")
def delete_endpoint(em: Emulator, params: Params) -> Response:
    now = em.now()
    endpoint = find_endpoint(em, params["EndpointName"], now)
    if endpoint.status(now) in IN_PROGRESS:
        raise errors.validation_error(f'Cannot delete in-progress endpoint "{endpoint.arn}".')
    endpoint.delete_requested_at = now
    endpoint.schedule.cut(now, plan(now, em.config.stop_duration, DELETING))
    em.tags.pop(endpoint.arn, None)
    return {}


@operation("sagemaker", "ListEndpoints")
def list_endpoints(em: Emulator, params: Params) -> Response:
    now = em.now()

    def summary(endpoint: Endpoint) -> dict[str, Any]:
        state = endpoint.state(now)
        return {
            "EndpointName": endpoint.name,
            "EndpointArn": endpoint.arn,
            "CreationTime": endpoint.created_at,
            "LastModifiedTime": state.at,
            "EndpointStatus": state.status,
        }

    items = [
        Listed(e.name, e.created_at, e.state(now).at, e.status(now), partial(summary, e))
        for e in em.endpoints.values()
        if not e.gone(now)
    ]
    return _page(em, params, "Endpoints", items)
