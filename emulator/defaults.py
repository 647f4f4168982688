"""What SageMaker fills into a Describe answer when the Create request left a field out.

A Describe answer echoes the request (``jobs.describe``, ``hosting``), and AWS's echo is not
the request verbatim: it carries server defaults. Clients read them unconditionally: the
SageMaker Python SDK v2's ``Estimator.attach`` (``_prepare_init_params_from_job_description``)
indexes ``OutputDataConfig["KmsKeyId"]`` and ``StoppingCondition["MaxRuntimeInSeconds"]``;
``HyperparameterTuner.attach`` indexes ``TrainingJobEarlyStoppingType``, all three lists of
``ParameterRanges``, ``AlgorithmSpecification["MetricDefinitions"]`` and deletes
``StaticHyperParameters["_tuning_objective_metric"]``. An echo without them is a ``KeyError``.

Every entry names its source. The sources, and what each shows:

``ack``       the ACK SageMaker controller (aws-controllers-k8s/sagemaker-controller), AWS's
              own Kubernetes controller: ``generator.yaml`` marks ``late_initialize`` the
              fields SageMaker sets when the spec left them out, and the
              ``pkg/resource/<kind>/custom_delta.go`` ``customSetDefaults`` hooks copy the
              server's value for the ones late initialization cannot express. Both show
              *that* the server fills a field; the value comes from the next sources.
``sdk``       the SageMaker Python SDK v2 (aws/sagemaker-python-sdk, ``estimator.py``,
              ``tuner.py``) indexes the field of a real Describe answer without a default.
``api``       the documented default of the field in AWS's API reference, as carried in
              botocore's service model (``sagemaker/2017-07-24/service-2.json``), or the
              output shape marks the field required.
``cfn``       AWS CloudFormation's resource reference, where the API reference is silent.

Where the sources are silent or disagree, the entry says so and the safer answer is taken,
which for an emulator that tests a client is to leave a field out: a field AWS may omit
must stay optional here, or a client that only works when it is present passes here and
fails on AWS. So a documented default with no sign that Describe echoes it (TransformJob's
``MaxConcurrentTransforms`` 1, ``MaxPayloadInMB`` 6, ``ModelClientConfig`` 600 s/3 retries,
``BatchStrategy``; a training job's ``ResourceConfig.VolumeSizeInGB``, which the SDK always
sends; ``ProfilerConfig.ProfilingIntervalInMilliseconds`` 500 and ``DebugHookConfig``, of
which ACK shows only that a job created without profiling answers ``ProfilingStatus``) is
not filled. Field reports agree where they exist: a DescribeTrainingJob without
``HyperParameters`` when none were given (aws/sagemaker-python-sdk#657), a tuning job's
training definition with the three ``Enable*`` flags false (aws/sagemaker-python-sdk#1817).
The SDK's own tuner code shows one omission on AWS: it adds ``OutputDataConfig.KmsKeyId``
itself when a tuning job's training definition lacks it, so that field is filled for
training jobs but not inside tuning definitions.

ACK's hooks also show what the server does *not* fill: they copy exactly the fields whose
server value differed from the spec, so a field next to them that they leave alone (a training
channel's ``CompressionType``, a processing input's ``S3CompressionType``) is taken to come
back as sent, even where the API reference documents a default. Two things ACK shows filled
are left out for want of a value: a labeling job's ``StoppingConditions`` and a serverless
production variant's ``VolumeSizeInGB``; and ACK's empty ``RepositoryAuthConfig`` inside a
model container's ``ImageConfig`` is not copied either (an empty structure whose member is
required in the request).

A field the request set keeps the request's value: defaults only fill what is missing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from emulator.state import Params

# A default computed from the containers above the field: (root, ..., parent) -> value;
# None leaves the field out.
Computed = Callable[[Sequence[Params]], Any]
ONE_DAY = 86_400
PRIVATE_TASK_LIFETIME = 30 * ONE_DAY  # private and vendor work teams
PUBLIC_TASK_LIFETIME = 6 * 3600  # Amazon Mechanical Turk


@dataclass(frozen=True)
class Filled:
    """One server default: ``path`` (``A.B``, ``A[].B`` for every element of list ``A``) is
    set to ``value`` when missing, inside containers that exist; ``create`` also creates the
    field's own parent structure when the request left it out."""

    path: str
    value: Any  # a constant (each answer gets its own copy), or a ``Computed``
    source: str
    create: bool = False

    def apply(self, response: Params) -> None:
        *parents, leaf = self.path.split(".")
        for chain in _containers(response, parents, [response], create=self.create):
            parent = chain[-1]
            if leaf in parent:
                continue
            value = self.value(chain) if callable(self.value) else copy.deepcopy(self.value)
            if value is not None:
                parent[leaf] = value


def _containers(
    node: Params, parts: list[str], chain: list[Params], *, create: bool
) -> Sequence[list[Params]]:
    """Every chain of containers that ``parts`` leads to from ``node``."""
    if not parts:
        return [chain]
    part, rest = parts[0], parts[1:]
    key = part.removesuffix("[]")
    child = node.get(key)
    if part.endswith("[]"):
        items = child if isinstance(child, list) else []
        return [
            found
            for item in items
            if isinstance(item, dict)
            for found in _containers(item, rest, [*chain, item], create=create)
        ]
    if child is None and create and not rest:
        child = node[key] = {}
    if not isinstance(child, dict):
        return []
    return _containers(child, rest, [*chain, child], create=create)


# --- computed defaults ----------------------------------------------------------------------


def _profiling_status(chain: Sequence[Params]) -> str:
    """``Enabled`` when the request asked for profiling, else ``Disabled`` (ACK's
    training_job ``customPostCompare`` reads ``ProfilingStatus`` "Disabled" from jobs created
    without profiling)."""
    profiler = chain[0].get("ProfilerConfig")
    return "Enabled" if profiler and not profiler.get("DisableProfiler") else "Disabled"


def _instance_count(chain: Sequence[Params]) -> int | None:
    """1 (API reference: "The default value is 1") unless the job runs on InstanceGroups."""
    return None if chain[-1].get("InstanceGroups") else 1


def _task_lifetime(chain: Sequence[Params]) -> int:
    """The API reference: 6 hours for the public (Mechanical Turk) workforce, 30 days for a
    private or vendor one."""
    public = ":workteam/public-crowd/" in str(chain[-1].get("WorkteamArn", ""))
    return PUBLIC_TASK_LIFETIME if public else PRIVATE_TASK_LIFETIME


def _objective_metric(chain: Sequence[Params]) -> str | None:
    """The hyperparameter SageMaker adds to a tuning job's static ones: the objective metric's
    name (ACK's hyper_parameter_tuning_job ``customSetDefaults``: "SageMaker adds
    StaticHyperParameters prefixed with an underscore"; the SDK deletes
    ``_tuning_objective_metric`` from them unconditionally)."""
    from emulator.tuning import objective_of

    objective = objective_of(chain[0], chain[-2])
    return objective["MetricName"] if objective else None


def _metric_definitions(chain: Sequence[Params]) -> list[dict[str, str]] | None:
    """The metric definitions the children run with: the objective's, when the request gave
    none (ACK late-initializes ``AlgorithmSpecification.MetricDefinitions``; SageMaker fills
    a built-in algorithm's own, which the emulator does not know)."""
    from emulator.tuning import objective_metric_definition, objective_of

    objective = objective_of(chain[0], chain[-2])
    return [objective_metric_definition(objective["MetricName"])] if objective else None


def _tuning_resource_config(chain: Sequence[Params]) -> Params | None:
    """A training job definition's ResourceConfig, when it gave a single-type
    HyperParameterTuningResourceConfig instead. The SDK's tuner sends only the latter and its
    ``HyperparameterTuner.attach`` indexes ``ResourceConfig["InstanceCount"]``, which its
    integration tests (``tests/integ/test_tuner.py``, run against SageMaker) exercise; with
    ``InstanceConfigs`` (several instance types) nothing shows what AWS answers: left out."""
    from emulator.tuning import resource_config

    tuning_resources = chain[-1].get("HyperParameterTuningResourceConfig")
    if not tuning_resources or tuning_resources.get("InstanceConfigs"):
        return None
    return resource_config(tuning_resources)


# --- the defaults, per Describe operation ---------------------------------------------------

_TRAINING_FLAGS = tuple(
    Filled(flag, False, "ack late_initialize; sdk reads it; api: false unless set")
    for flag in (
        "EnableNetworkIsolation",
        "EnableInterContainerTrafficEncryption",
        "EnableManagedSpotTraining",
    )
)

TRAINING: tuple[Filled, ...] = (
    *_TRAINING_FLAGS,
    Filled("OutputDataConfig.KmsKeyId", "", "ack late_initialize; sdk indexes it"),
    Filled(
        "OutputDataConfig.CompressionType", "GZIP", "ack late_initialize; api: defaults to gzip"
    ),
    Filled(
        "AlgorithmSpecification.EnableSageMakerMetricsTimeSeries",
        False,
        "ack late_initialize; api: the default is false (true for built-in algorithms and "
        "some prebuilt images, which the emulator does not tell apart: false is taken)",
    ),
    Filled("ResourceConfig.InstanceCount", _instance_count, "ack late_initialize; api"),
    Filled(
        "StoppingCondition.MaxRuntimeInSeconds",
        ONE_DAY,
        "api: the output shape requires StoppingCondition, the default value is 1 day; "
        "sdk indexes it",
        create=True,
    ),
    Filled("InputDataConfig", [], "ack customSetDefaults: an empty list"),
    Filled("InputDataConfig[].RecordWrapperType", "None", "ack customSetDefaults: None"),
    *(
        Filled(f"{rules}[].VolumeSizeInGB", 0, "ack customSetDefaults: 0")
        for rules in ("DebugRuleConfigurations", "ProfilerRuleConfigurations")
    ),
    Filled("ProfilingStatus", _profiling_status, "ack customPostCompare"),
)


def _definition(prefix: str) -> tuple[Filled, ...]:
    """A tuning job's training job definition(s): ACK's late-initialized and custom-defaulted
    ``TrainingJobDefinition(s)`` fields."""
    return (
        *(Filled(f"{prefix}.{f.path}", f.value, f.source) for f in _TRAINING_FLAGS),
        Filled(f"{prefix}.ResourceConfig", _tuning_resource_config, "sdk (its integration tests)"),
        Filled(f"{prefix}.ResourceConfig.InstanceCount", _instance_count, "ack late_initialize"),
        Filled(
            f"{prefix}.AlgorithmSpecification.MetricDefinitions",
            _metric_definitions,
            "ack late_initialize; sdk indexes it",
        ),
        Filled(
            f"{prefix}.StaticHyperParameters._tuning_objective_metric",
            _objective_metric,
            "ack customSetDefaults; sdk deletes it",
            create=True,
        ),
        Filled(
            f"{prefix}.StoppingCondition.MaxRuntimeInSeconds",
            ONE_DAY,
            "api: the default value is 1 day; sdk indexes it",
        ),
        *_ranges(f"{prefix}.HyperParameterRanges"),
    )


def _ranges(prefix: str) -> tuple[Filled, ...]:
    """Every kind of range, empty when the request had none of it (the SDK indexes all three
    in ``_prepare_parameter_ranges_from_job_description``)."""
    return tuple(
        Filled(f"{prefix}.{kind}ParameterRanges", [], "sdk indexes it")
        for kind in ("Categorical", "Continuous", "Integer")
    )


TUNING: tuple[Filled, ...] = (
    Filled(
        "HyperParameterTuningJobConfig.TrainingJobEarlyStoppingType",
        "Off",
        "api: the default value is OFF; sdk indexes it",
    ),
    *_ranges("HyperParameterTuningJobConfig.ParameterRanges"),
    *_definition("TrainingJobDefinition"),
    *_definition("TrainingJobDefinitions[]"),
)

PROCESSING: tuple[Filled, ...] = (
    Filled(
        "StoppingCondition.MaxRuntimeInSeconds",
        ONE_DAY,
        "ack customSetDefaults creates it; cfn AWS::SageMaker::ProcessingJob StoppingCondition: "
        "the default value is 1 day (the API reference gives none)",
        create=True,
    ),
    Filled("ProcessingInputs[].AppManaged", False, "ack customSetDefaults; api: false (default)"),
    Filled(
        "ProcessingInputs[].S3Input.S3DataDistributionType",
        "FullyReplicated",
        "ack customSetDefaults",
    ),
    Filled(
        "ProcessingOutputConfig.Outputs[].AppManaged",
        False,
        "ack customSetDefaults; api: false (default)",
    ),
)

TRANSFORM: tuple[Filled, ...] = (
    Filled("DataProcessing.InputFilter", "$", "ack customSetDefaults; api: default $", create=True),
    Filled(
        "DataProcessing.OutputFilter", "$", "ack customSetDefaults; api: default $", create=True
    ),
    Filled(
        "DataProcessing.JoinSource", "None", "ack customSetDefaults; api: default None", create=True
    ),
    Filled("TransformInput.SplitType", "None", "ack late_initialize; api: default None"),
    Filled("TransformInput.CompressionType", "None", "ack late_initialize; api: default None"),
    Filled(
        "TransformOutput.AssembleWith",
        "None",
        "ack customSetDefaults; the API reference gives no default: None, the enum's "
        "no-op value, is taken",
    ),
    Filled(
        "TransformOutput.KmsKeyId",
        "",
        "ack customSetDefaults; no documented value: the empty string, as training jobs' "
        "OutputDataConfig.KmsKeyId",
    ),
)

LABELING: tuple[Filled, ...] = (
    Filled(
        "OutputConfig.KmsKeyId",
        "",
        "ack late_initialize; no documented value: the empty string, as training jobs'",
    ),
    Filled(
        "HumanTaskConfig.MaxConcurrentTaskCount",
        1000,
        "ack late_initialize; api: the default value is 1000 objects",
    ),
    Filled("HumanTaskConfig.TaskAvailabilityLifetimeInSeconds", _task_lifetime, "ack; api"),
)

MODEL: tuple[Filled, ...] = (
    Filled("EnableNetworkIsolation", False, "ack late_initialize"),
    Filled("PrimaryContainer.Mode", "SingleModel", "ack customSetDefaults"),
    Filled("Containers[].Mode", "SingleModel", "ack customSetDefaults: SingleModel"),
)

ENDPOINT_CONFIG: tuple[Filled, ...] = (
    Filled("EnableNetworkIsolation", False, "ack late_initialize"),
)

# DescribeEndpoint is built by the emulator, not echoed; DescribeWorkteam echoes nothing
# optional that AWS is known to fill.
BY_OPERATION: dict[str, tuple[Filled, ...]] = {
    "DescribeTrainingJob": TRAINING,
    "DescribeHyperParameterTuningJob": TUNING,
    "DescribeProcessingJob": PROCESSING,
    "DescribeTransformJob": TRANSFORM,
    "DescribeLabelingJob": LABELING,
    "DescribeModel": MODEL,
    "DescribeEndpointConfig": ENDPOINT_CONFIG,
}


def with_defaults(operation: str, echo: Params) -> Params:
    """``echo`` (the request's fields the Describe answer has) with the server's defaults,
    as a new structure: the request itself is left as it was."""
    filled = BY_OPERATION.get(operation, ())
    if not filled:
        return echo
    response = copy.deepcopy(echo)
    for default in filled:
        default.apply(response)
    return response
