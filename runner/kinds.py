"""Every SageMaker resource kind the runner drives, described once, as data.

A ``JobKind`` says which operations create, describe, stop and list the resource, which fields
hold its name, ARN and status, which statuses end it, where its logs go, and how its outputs
are read. The runner has one polling loop for all of them; there are no per-kind copies.

``Stopped`` counts as a failure unless the runner stopped the job itself (the tracker records
why it asked). Kinds without a status field (models, endpoint configs, workteams) are done as
soon as Create answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

Description = Mapping[str, Any]


class Caller(Protocol):
    """Make one (rate-limited, retried) SageMaker call: ``await call("DescribeX", Name=...)``."""

    def __call__(self, operation: str, **params: Any) -> Awaitable[dict[str, Any]]: ...


OutputReader = Callable[[Description, Caller], Awaitable[dict[str, Any]]]
# The keys a keyed output will have, from the job's request (None: not known in advance).
OutputKeys = Callable[[Mapping[str, Any]], frozenset[str]]


async def _no_outputs(description: Description, call: Caller) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class States:
    """Which statuses end a resource, and how."""

    succeeded: frozenset[str] = frozenset()
    failed: frozenset[str] = frozenset()
    stopped: frozenset[str] = frozenset()  # a failure unless the runner stopped it

    @property
    def terminal(self) -> frozenset[str]:
        return self.succeeded | self.failed | self.stopped


@dataclass(frozen=True)
class Update:
    """An action on an existing resource of kind ``of`` (UpdateEndpoint), not a resource of its
    own: it names the resource (never a derived name), takes no tags, may be asked for again
    once done, and succeeds only when the resource is back in a succeeded state *holding the
    wanted value* of ``wanted_field``; the same state with the old value is a rollback.

    UpdateEndpoint's input is ``EndpointName`` (required, an existing endpoint) and
    ``EndpointConfigName``, with no ``Tags`` member (botocore's SageMaker service model)."""

    of: JobKind
    wanted_field: str  # "EndpointConfigName": what the update changes
    in_progress: str  # "Updating": the resource's status while the update runs

    def failure(self, request: Mapping[str, Any], answer: Description) -> str | None:
        """Why the update did not take effect, from the resource's final Describe; None when
        it did."""
        wanted = request[self.wanted_field]
        succeeded = self.of.status_of(answer) in self.of.states.succeeded
        if succeeded and answer.get(self.wanted_field) == wanted:
            return None
        reason = answer.get("FailureReason") or "the update did not take effect"
        return f"update to {wanted} rolled back: {reason}" if succeeded else str(reason)


@dataclass(frozen=True)
class Children:
    """The jobs a job launches itself (a tuning job's training jobs): how to list them. They
    carry its tags, and its Stop stops them."""

    kind: JobKind
    list_operation: str
    list_key: str
    parent_field: str


@dataclass(frozen=True)
class JobKind:
    key: str  # "training": what manifests, tags and events call it
    noun: str  # "TrainingJob": Create<noun>, Describe<noun>, ...
    name_field: str
    arn_field: str
    status_field: str | None
    # The SageMaker console's page for one resource: ``#/<console_path>/<name>``.
    console_path: str
    # Where a request (or a Describe answer) holds the instances a job runs on; None: the
    # kind runs on no instances of its own that a quota counts or a log stream is named by.
    instance_path: tuple[str, ...] | None
    states: States = States()
    stop_operation: str | None = None
    # The statuses in which ``stop_operation`` is accepted (what ``cleanup`` lists).
    stoppable_states: frozenset[str] = frozenset()
    # Stopping a half-created resource of this kind means deleting it (only if this run
    # created it): DeleteEndpoint.
    delete_operation: str | None = None
    takes_tags: bool = True  # the Create operation has a ``Tags`` member
    update: Update | None = None  # an update of another kind's resource, not a resource
    children: Children | None = None
    list_operation: str | None = None  # supports LastModifiedTimeAfter: usable for delta sweeps
    list_key: str | None = None
    create_operation: str | None = None
    describe_operation: str | None = None
    describe_wrapper: str | None = None  # DescribeWorkteam nests its answer under "Workteam"
    log_group: str | None = None
    # How SageMaker names the kind's streams in its log group (the developer guide's table,
    # https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html): one stream
    # named as the job (labeling), or "<job>/<host>-<epoch>" per instance, each with
    # ``log_streams_per_instance - 1`` streams below it (a transform's "<...>/data-log").
    log_stream_per_job: bool = False
    log_streams_per_instance: int = 1
    name_prefix: str = "job"
    max_name_length: int = 63  # SageMaker's limit for the name field (tuning jobs: 32)
    waits_for_rules: bool = False  # training: Debugger/Profiler rules run after Completed
    logs_from_training: bool = False  # tuning: its logs are its (best) training job's
    read_outputs: OutputReader = _no_outputs
    # The names ``read_outputs`` answers (v1's output names), known before any job runs: a
    # manifest's ``{{ outputs.<entry>.<name> }}`` is checked against them. ``keyed_outputs``
    # are the mappings among them, named by key (``metrics.validation:auc``).
    outputs: frozenset[str] = frozenset()
    keyed_outputs: frozenset[str] = frozenset()
    # Keyed outputs whose keys the request already names (a processing job's outputs).
    output_keys: Mapping[str, OutputKeys] = field(default_factory=dict, hash=False)

    @property
    def create(self) -> str:
        return self.create_operation or f"Create{self.noun}"

    @property
    def describe(self) -> str:
        return self.describe_operation or f"Describe{self.noun}"

    @property
    def has_logs(self) -> bool:
        """Whether a job of the kind writes CloudWatch logs (models, endpoints... do not)."""
        return self.log_group is not None or self.logs_from_training

    @property
    def derives_name(self) -> bool:
        """Whether a request without a name gets one (an update names an existing resource)."""
        return self.update is None

    @property
    def is_synchronous(self) -> bool:
        """Done when Create answers: nothing to poll."""
        return self.status_field is None

    def status_of(self, description: Description) -> str | None:
        return description.get(self.status_field) if self.status_field else None

    def log_stream_prefix(self, name: str) -> str:
        """The prefix of job ``name``'s streams. Without the "/" (labeling), other jobs whose
        names start with ``name`` share it: ``log_stream_owner`` tells them apart."""
        return name if self.log_stream_per_job else f"{name}/"


def log_stream_of_instance(stream: str) -> bool:
    """Whether a SageMaker log stream is an instance's own (``<job>/<host>-<epoch>``, or a
    labeling job's ``<job>``), not one below it (``<...>/data-log``, an inference pipeline's
    ``<...>/<container>``)."""
    return stream.count("/") <= 1


def log_stream_owner(stream: str) -> str:
    """The job a SageMaker log stream belongs to: its name up to the first "/" (job names
    have none), the whole name for a labeling job's."""
    return stream.partition("/")[0]


# --- output readers ---------------------------------------------------------------------------


def _metrics(description: Description) -> dict[str, float]:
    return {m["MetricName"]: m["Value"] for m in description.get("FinalMetricDataList") or []}


async def _training_outputs(description: Description, call: Caller) -> dict[str, Any]:
    algorithm = description.get("AlgorithmSpecification") or {}
    return {
        "job_name": description["TrainingJobName"],
        "model_artifact_url": (description.get("ModelArtifacts") or {}).get("S3ModelArtifacts", ""),
        "training_image": algorithm.get("TrainingImage") or algorithm.get("AlgorithmName", ""),
        "metrics": _metrics(description),
    }


async def _tuning_outputs(description: Description, call: Caller) -> dict[str, Any]:
    outputs: dict[str, Any] = {"hpo_job_name": description["HyperParameterTuningJobName"]}
    best = description.get("BestTrainingJob")
    if not best:
        return outputs
    # The best job's own Describe has what the tuning job's summary lacks: its artifact,
    # image and full hyperparameters.
    best_job = await call("DescribeTrainingJob", TrainingJobName=best["TrainingJobName"])
    hyperparameters = {
        key: value
        for key, value in (best_job.get("HyperParameters") or {}).items()
        if key != "_tuning_objective_metric"
    }
    training = await _training_outputs(best_job, call)
    outputs.update(
        best_job_name=best["TrainingJobName"],
        best_hyperparameters=hyperparameters,
        model_artifact_url=training["model_artifact_url"],
        training_image=training["training_image"],
        best_objective=best.get("FinalHyperParameterTuningJobObjectiveMetric"),
    )
    return outputs


def _s3_processing_outputs(answer: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A processing request's (or Describe answer's) outputs that go to S3: the artifacts."""
    config = answer.get("ProcessingOutputConfig")
    outputs = config.get("Outputs") if isinstance(config, Mapping) else None
    return [o for o in outputs or [] if isinstance(o, Mapping) and "S3Output" in o]


def _processing_artifact_names(request: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(str(o.get("OutputName")) for o in _s3_processing_outputs(request))


async def _processing_outputs(description: Description, call: Caller) -> dict[str, Any]:
    outputs = _s3_processing_outputs(description)
    artifacts = {o["OutputName"]: o["S3Output"]["S3Uri"] for o in outputs}
    return {"job_name": description["ProcessingJobName"], "output_artifacts": artifacts}


async def _transform_outputs(description: Description, call: Caller) -> dict[str, Any]:
    return {
        "job_name": description["TransformJobName"],
        "output_location": (description.get("TransformOutput") or {}).get("S3OutputPath", ""),
    }


async def _labeling_outputs(description: Description, call: Caller) -> dict[str, Any]:
    output = description.get("LabelingJobOutput") or {}
    return {
        "job_name": description["LabelingJobName"],
        "output_manifest_location": output.get("OutputDatasetS3Uri", ""),
        "active_learning_model_arn": output.get("FinalActiveLearningModelArn", ""),
    }


def _name_output(field: str, output: str) -> OutputReader:
    async def read(description: Description, call: Caller) -> dict[str, Any]:
        return {output: description[field]}

    return read


async def _endpoint_outputs(description: Description, call: Caller) -> dict[str, Any]:
    return {
        "endpoint_name": description["EndpointName"],
        "endpoint_config_name": description.get("EndpointConfigName", ""),
    }


# --- the registry -----------------------------------------------------------------------------

_JOB_STATES = States(
    succeeded=frozenset({"Completed"}), failed=frozenset({"Failed"}), stopped=frozenset({"Stopped"})
)

TRAINING = JobKind(
    console_path="jobs",
    instance_path=("ResourceConfig",),
    stoppable_states=frozenset({"InProgress"}),
    outputs=frozenset({"job_name", "model_artifact_url", "training_image", "metrics"}),
    keyed_outputs=frozenset({"metrics"}),
    key="training",
    noun="TrainingJob",
    name_field="TrainingJobName",
    arn_field="TrainingJobArn",
    status_field="TrainingJobStatus",
    stop_operation="StopTrainingJob",
    list_operation="ListTrainingJobs",
    list_key="TrainingJobSummaries",
    log_group="/aws/sagemaker/TrainingJobs",
    name_prefix="TrainingJob",
    waits_for_rules=True,
    read_outputs=_training_outputs,
    states=_JOB_STATES,
)
TUNING = JobKind(
    console_path="hyper-tuning-jobs",
    instance_path=("TrainingJobDefinition", "ResourceConfig"),
    stoppable_states=frozenset({"InProgress"}),
    outputs=frozenset(
        {
            "hpo_job_name",
            "best_job_name",
            "best_hyperparameters",
            "model_artifact_url",
            "training_image",
            "best_objective",
        }
    ),
    keyed_outputs=frozenset({"best_hyperparameters", "best_objective"}),
    key="tuning",
    noun="HyperParameterTuningJob",
    name_field="HyperParameterTuningJobName",
    arn_field="HyperParameterTuningJobArn",
    status_field="HyperParameterTuningJobStatus",
    stop_operation="StopHyperParameterTuningJob",
    list_operation="ListHyperParameterTuningJobs",
    list_key="HyperParameterTuningJobSummaries",
    name_prefix="HPOJob",
    max_name_length=32,
    logs_from_training=True,
    children=Children(
        kind=TRAINING,
        list_operation="ListTrainingJobsForHyperParameterTuningJob",
        list_key="TrainingJobSummaries",
        parent_field="HyperParameterTuningJobName",
    ),
    read_outputs=_tuning_outputs,
    states=_JOB_STATES,
)
PROCESSING = JobKind(
    console_path="processing-jobs",
    instance_path=("ProcessingResources", "ClusterConfig"),
    stoppable_states=frozenset({"InProgress"}),
    outputs=frozenset({"job_name", "output_artifacts"}),
    keyed_outputs=frozenset({"output_artifacts"}),
    output_keys={"output_artifacts": _processing_artifact_names},
    key="processing",
    noun="ProcessingJob",
    name_field="ProcessingJobName",
    arn_field="ProcessingJobArn",
    status_field="ProcessingJobStatus",
    stop_operation="StopProcessingJob",
    list_operation="ListProcessingJobs",
    list_key="ProcessingJobSummaries",
    log_group="/aws/sagemaker/ProcessingJobs",
    name_prefix="ProcessingJob",
    read_outputs=_processing_outputs,
    states=_JOB_STATES,
)
TRANSFORM = JobKind(
    console_path="transform-jobs",
    instance_path=("TransformResources",),
    stoppable_states=frozenset({"InProgress"}),
    outputs=frozenset({"job_name", "output_location"}),
    key="transform",
    noun="TransformJob",
    name_field="TransformJobName",
    arn_field="TransformJobArn",
    status_field="TransformJobStatus",
    stop_operation="StopTransformJob",
    list_operation="ListTransformJobs",
    list_key="TransformJobSummaries",
    log_group="/aws/sagemaker/TransformJobs",
    log_streams_per_instance=2,  # "<job>/<instance-id>-<epoch>" and its "/data-log"
    name_prefix="BatchTransform",
    read_outputs=_transform_outputs,
    states=_JOB_STATES,
)
LABELING = JobKind(
    console_path="labeling-jobs",
    instance_path=None,
    stoppable_states=frozenset({"Initializing", "InProgress"}),
    outputs=frozenset({"job_name", "output_manifest_location", "active_learning_model_arn"}),
    key="labeling",
    noun="LabelingJob",
    name_field="LabelingJobName",
    arn_field="LabelingJobArn",
    status_field="LabelingJobStatus",
    stop_operation="StopLabelingJob",
    list_operation="ListLabelingJobs",
    list_key="LabelingJobSummaryList",
    log_group="/aws/sagemaker/LabelingJobs",
    log_stream_per_job=True,  # "<job>"
    name_prefix="GroundTruth",
    read_outputs=_labeling_outputs,
    states=_JOB_STATES,
)
MODEL = JobKind(
    console_path="models",
    instance_path=None,
    outputs=frozenset({"model_name"}),
    key="model",
    noun="Model",
    name_field="ModelName",
    arn_field="ModelArn",
    status_field=None,
    name_prefix="Model",
    read_outputs=_name_output("ModelName", "model_name"),
)
ENDPOINT_CONFIG = JobKind(
    console_path="endpointConfig",
    instance_path=None,
    outputs=frozenset({"endpoint_config_name"}),
    key="endpoint_config",
    noun="EndpointConfig",
    name_field="EndpointConfigName",
    arn_field="EndpointConfigArn",
    status_field=None,
    name_prefix="EndpointConfig",
    read_outputs=_name_output("EndpointConfigName", "endpoint_config_name"),
)
_ENDPOINT_STATES = States(
    succeeded=frozenset({"InService"}), failed=frozenset({"Failed", "UpdateRollbackFailed"})
)
ENDPOINT = JobKind(
    console_path="endpoints",
    instance_path=None,
    outputs=frozenset({"endpoint_name", "endpoint_config_name"}),
    key="endpoint",
    noun="Endpoint",
    name_field="EndpointName",
    arn_field="EndpointArn",
    status_field="EndpointStatus",
    list_operation="ListEndpoints",
    list_key="Endpoints",
    name_prefix="Endpoint",
    read_outputs=_endpoint_outputs,
    states=_ENDPOINT_STATES,
    delete_operation="DeleteEndpoint",
)
# Updating an endpoint is its own kind: same Describe, but success means InService *with the
# new config*; InService with the old config and a FailureReason is a rollback, a failure.
ENDPOINT_UPDATE = JobKind(
    console_path="endpoints",
    instance_path=None,
    outputs=frozenset({"endpoint_name", "endpoint_config_name"}),
    key="endpoint_update",
    noun="Endpoint",
    name_field="EndpointName",
    arn_field="EndpointArn",
    status_field="EndpointStatus",
    create_operation="UpdateEndpoint",
    takes_tags=False,
    update=Update(of=ENDPOINT, wanted_field="EndpointConfigName", in_progress="Updating"),
    list_operation="ListEndpoints",
    list_key="Endpoints",
    name_prefix="Endpoint",
    read_outputs=_endpoint_outputs,
    states=_ENDPOINT_STATES,
)
WORKTEAM = JobKind(
    console_path="labeling-workforces/private-details",
    instance_path=None,
    outputs=frozenset({"workteam_arn"}),
    key="workteam",
    noun="Workteam",
    name_field="WorkteamName",
    arn_field="WorkteamArn",
    status_field=None,
    describe_wrapper="Workteam",
    name_prefix="Workteam",
    read_outputs=_name_output("WorkteamArn", "workteam_arn"),
)

KINDS: Mapping[str, JobKind] = {
    kind.key: kind
    for kind in (
        TRAINING,
        TUNING,
        PROCESSING,
        TRANSFORM,
        LABELING,
        MODEL,
        ENDPOINT_CONFIG,
        ENDPOINT,
        ENDPOINT_UPDATE,
        WORKTEAM,
    )
}


def kind_named(key: str) -> JobKind:
    try:
        return KINDS[key]
    except KeyError:
        raise ValueError(f"unknown job kind {key!r}; choose from {', '.join(KINDS)}") from None


# --- resources ---------------------------------------------------------------------------------


def _instance_groups(
    kind: JobKind | str, description: Mapping[str, Any]
) -> list[tuple[str | None, int]]:
    path = (kind_named(kind) if isinstance(kind, str) else kind).instance_path
    config: Any = description
    for key in path or ():
        config = config.get(key) if isinstance(config, Mapping) else None
    if path is None or not isinstance(config, Mapping):
        return []
    # Heterogeneous training clusters list instance groups instead of one type.
    groups = config.get("InstanceGroups") or [config]
    return [
        (group.get("InstanceType"), int(group.get("InstanceCount") or 0))
        for group in groups
        if isinstance(group, Mapping)
    ]


def instance_usage(kind: JobKind | str, description: Mapping[str, Any]) -> dict[str, int]:
    """Instances per instance type that one job of ``kind`` holds while it runs (a tuning job:
    one training job's), from its request or Describe answer; empty when the kind does not say.
    Account quotas count these ("ml.p3.2xlarge for training job usage")."""
    usage: dict[str, int] = {}
    for instance_type, count in _instance_groups(kind, description):
        if instance_type and count:
            usage[str(instance_type)] = usage.get(str(instance_type), 0) + count
    return usage


def instance_count(kind: JobKind | str, description: Mapping[str, Any]) -> int | None:
    """How many instances (so log streams) a job runs on, from its request or Describe answer;
    None when the kind does not say (labeling) or the answer lacks it."""
    return sum(count for _, count in _instance_groups(kind, description)) or None
