"""Asynchronous SageMaker jobs: training, processing, transform and labeling.

Each kind is described once as data (``EmulatedKind``): its noun (``TrainingJob``), from which the
Create/Describe/Stop/List operation names follow, its fields, its phases, and a hook for the
few Describe fields that are its own. One set of handlers serves every kind.

Describe responses echo the request's fields that the Describe output shape has (as SageMaker
does), with the defaults SageMaker fills in where the request left a field out (``defaults``),
then add the computed ones: status, times, failure reason, outputs.

Per-job behaviour is set with tags:

``emulator:duration-seconds``  how long the job runs (default: ``--job-duration``)
``emulator:fail-reason``       the job fails part-way with this FailureReason
``emulator:rule-status``       Debugger/Profiler rules end with this status (default NoIssuesFound)
``emulator:log-lines``         log lines per host over the job's life
"""

from __future__ import annotations

import bisect
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulator import errors
from emulator.defaults import with_defaults
from emulator.lifecycle import Phase, Schedule, Transition, plan, tag_dict
from emulator.listing import list_indexed
from emulator.logs import log_lines
from emulator.state import Emulator, Params, Response, operation
from runner.validation import operation_model

DURATION_TAG = "emulator:duration-seconds"
FAIL_TAG = "emulator:fail-reason"
RULE_TAG = "emulator:rule-status"
FAIL_AT = 0.7  # a planned failure happens at this fraction of the job's duration
RULE_STATUSES = ("NoIssuesFound", "IssuesFound", "Error")


# The end statuses of kinds without secondary statuses (frozen: safe to share as defaults).
PLAIN_FAILED = Transition(0, "Failed")
PLAIN_STOPPING = Transition(0, "Stopping")
PLAIN_STOPPED = Transition(0, "Stopped")


@dataclass(frozen=True)
class EmulatedKind:
    """One SageMaker job kind as the emulator serves it: its own table, apart from the runner's
    ``runner.kinds.JobKind`` (the emulator never reads the facts of what it tests)."""

    key: str  # "training": the name tests, stats and tags use
    noun: str  # "TrainingJob": Create<noun>, Describe<noun>, Stop<noun>, List<noun>s
    arn_type: str  # "training-job"
    # Most kinds: InProgress, then Completed, with no secondary statuses (``at`` is unused in
    # failed/stopping/stopped: only their statuses and messages are copied into a schedule).
    phases: tuple[Phase, ...] = (Phase(0.0, "InProgress"), Phase(1.0, "Completed"))
    failed: Transition = PLAIN_FAILED  # what a planned failure ends in
    stopping: Transition = PLAIN_STOPPING
    stopped: Transition = PLAIN_STOPPED
    log_group: str | None = None
    instances: tuple[str, ...] = ()  # path to {InstanceCount, InstanceType} in the request
    start_field: str | None = None  # e.g. TrainingStartTime
    end_field: str | None = None  # e.g. TrainingEndTime
    # Kind-specific Describe fields (job, now) -> fields.
    describe_extra: Callable[[Job, float], dict[str, Any]] | None = None
    # Kind-specific Create rules: raise AwsError on a request SageMaker would refuse.
    check_request: Callable[[Emulator, Params], None] | None = None
    # Runs once a new job is stored (emulator, job); must not raise. A kind that launches
    # other jobs (tuning) creates them here and may replace the job's schedule.
    after_create: Callable[[Emulator, Job], None] | None = None
    # Runs once a Stop is accepted and the job is Stopping (emulator, job, now): a parent
    # stops its children here.
    after_stop: Callable[[Emulator, Job, float], None] | None = None
    # Runs when a child of one of this kind's jobs is stopped (emulator, parent, child, now),
    # e.g. StopTrainingJob on a training job a tuning job launched.
    child_stopped: Callable[[Emulator, Job, Job, float], None] | None = None
    # Extra fields for List summaries that Describe nests elsewhere (job, now) -> fields,
    # e.g. ListHyperParameterTuningJobs' Strategy, which Describe has inside the config.
    summary_extra: Callable[[Job, float], dict[str, Any]] | None = None
    # What a Describe or Stop of a missing job answers (emulator, name) -> error: per kind, as
    # SageMaker answers it (see ``errors``).
    not_found: Callable[[Emulator, str], errors.AwsError] = lambda em, name: (
        errors.resource_not_found()
    )

    @functools.cached_property
    def name_field(self) -> str:
        return f"{self.noun}Name"

    @functools.cached_property
    def arn_field(self) -> str:
        return f"{self.noun}Arn"

    @functools.cached_property
    def status_field(self) -> str:
        return f"{self.noun}Status"

    @functools.cached_property
    def words(self) -> str:
        """ "training job": how SageMaker's messages name the kind."""
        return "".join(f" {c.lower()}" if c.isupper() else c for c in self.noun).strip()

    @functools.cached_property
    def terminal(self) -> frozenset[str]:
        return frozenset({self.phases[-1].status, self.failed.status, self.stopped.status})


@dataclass(eq=False)
class Job:
    """One job: its request, its schedule, and what happened to it."""

    kind: EmulatedKind
    name: str
    arn: str
    request: Params
    created_at: float
    schedule: Schedule
    tags: dict[str, str]
    failure_reason: str | None = None
    stop_requested_at: float | None = None
    rule_delay: float = 0.0
    rule_result: str = "NoIssuesFound"
    parent_arn: str | None = None  # a tuning job's children carry its ARN
    preloaded: bool = False  # part of the account's history (``history``), not a client's
    extra: dict[str, Any] = field(default_factory=dict)  # kind-specific state
    # Told when the job's transitions change (the job store's indexes: ``watch``).
    listener: Callable[[], None] | None = field(default=None, repr=False)
    # The request's fields the Describe output has: they never change, so they are cut once.
    echo: dict[str, Any] | None = field(default=None, repr=False)

    def watch(self, listener: Callable[[], None] | None) -> None:
        """Call ``listener`` whenever the job's transitions change (None: stop): when its
        schedule is cut, or replaced (``schedule_replaced``)."""
        self.listener = listener
        self.schedule.on_change = listener

    def schedule_replaced(self) -> None:
        """The job has a new ``Schedule`` object: tell the listener. Only a kind's
        ``after_create`` replaces a schedule (a tuning job re-plans from its children), and
        ``new_job`` calls this after it; any later change goes through ``Schedule.cut``."""
        if self.listener is not None:
            self.watch(self.listener)
            self.listener()

    def event_times(self) -> list[float]:
        """Every moment the job's LastModifiedTime changes to, as planned now: its transitions
        and when its Debugger/Profiler rules finish. (Its first transition is at its creation,
        so ``last_modified(now)`` is always the latest of these not after ``now``.)"""
        times = list(self.schedule.times)
        if self.has_rules():
            rules_end = self.rules_end_at()
            if rules_end is not None:
                times.append(rules_end)
        return times

    def visible(self, now: float) -> bool:
        return now >= self.created_at

    def state(self, now: float) -> Transition:
        return self.schedule.at(now)

    def status(self, now: float) -> str:
        return self.schedule.at(now).status

    def rules_end_at(self) -> float | None:
        """When Debugger/Profiler rule evaluations finish: only after a Completed job."""
        completed = self.schedule.first(self.kind.phases[-1].status)
        return completed.at + self.rule_delay if completed and self.has_rules() else None

    def has_rules(self) -> bool:
        return bool(
            self.request.get("DebugRuleConfigurations")
            or self.request.get("ProfilerRuleConfigurations")
        )

    def last_modified(self, now: float) -> float:
        modified = self.state(now).at
        rules_end = self.rules_end_at()
        if rules_end is not None and rules_end <= now:
            modified = max(modified, rules_end)
        return modified

    def instance(self) -> tuple[str | None, int]:
        """(instance type, instance count) the job runs on."""
        config: Any = self.request
        for key in self.kind.instances:
            config = config.get(key) or {}
        if not self.kind.instances:
            return None, 0
        return config.get("InstanceType"), int(config.get("InstanceCount", 1))

    def log_window(self) -> tuple[float, float]:
        """(first, last) moment the job writes log lines, as planned now: from when its
        algorithm starts (training's ``Training`` phase, otherwise ``InProgress``) to its end."""
        transitions = self.schedule.transitions
        running = next((t for t in transitions if t.secondary == "Training"), None) or next(
            (t for t in transitions if t.status == "InProgress"), transitions[0]
        )
        return running.at, self.schedule.planned_end()

    def stats_row(self, now: float) -> dict[str, Any]:
        return {
            "kind": self.kind.key,
            "name": self.name,
            "status": self.status(now),
            "created_at": self.created_at,
            "ended_at": self.schedule.ended_at(now),
            "stop_requested_at": self.stop_requested_at,
            "tags": self.tags,
        }


KINDS: dict[str, EmulatedKind] = {}


def register_kind(kind: EmulatedKind) -> EmulatedKind:
    """Add ``kind`` and its Create/Describe/Stop/List handlers."""
    KINDS[kind.key] = kind
    operation("sagemaker", f"Create{kind.noun}")(lambda em, params: create_job(em, kind, params))
    operation("sagemaker", f"Describe{kind.noun}")(
        lambda em, params: describe_job(em, kind, params)
    )
    operation("sagemaker", f"Stop{kind.noun}")(lambda em, params: stop_job(em, kind, params))
    operation("sagemaker", f"List{kind.noun}s")(lambda em, params: list_jobs(em, kind, params))
    return kind


# --- the generic handlers -------------------------------------------------------------------


def tag_float(tags: dict[str, str], key: str, default: float) -> float:
    if key not in tags:
        return default
    try:
        value = float(tags[key])
    except ValueError:
        raise errors.validation_error(
            f"Tag {key} must be a number of seconds, got {tags[key]!r}"
        ) from None
    if value < 0:
        raise errors.validation_error(f"Tag {key} must not be negative, got {tags[key]!r}")
    return value


def check_capacity(em: Emulator, kind: EmulatedKind, request: Params) -> None:
    """ResourceLimitExceeded when the job would take more instances of its type than the cap."""
    cap = em.config.max_instances_per_type
    if cap is None or not kind.instances:
        return
    probe = Job(kind, "", "", request, 0.0, Schedule([Transition(0, "")], frozenset()), {})
    instance_type, count = probe.instance()
    now = em.now()
    used = sum(
        job.instance()[1]
        for job in em.jobs_of(kind.key).values()
        if job.instance()[0] == instance_type
        and job.visible(now)
        and job.status(now) not in kind.terminal
    )
    if used + count > cap:
        raise errors.resource_limit_exceeded(
            f"The account-level service limit '{instance_type} for {kind.words} usage' is {cap} "
            f"Instances, with current utilization of {used} Instances and a request delta of "
            f"{count} Instances. Please use AWS Service Quotas to request an increase for this quota."
        )


def new_job(
    em: Emulator,
    kind: EmulatedKind,
    params: Params,
    *,
    created_at: float | None = None,
    duration: float | None = None,
    tags: dict[str, str] | None = None,
    parent_arn: str | None = None,
) -> Job:
    """Build, plan and store a job; the caller has already checked the request."""
    name = params[kind.name_field]
    tags = tag_dict(params.get("Tags")) if tags is None else tags
    created = em.now() if created_at is None else created_at
    run_for = (
        tag_float(tags, DURATION_TAG, em.config.job_duration) if duration is None else duration
    )
    fail_reason = tags.get(FAIL_TAG) or None
    transitions = plan(
        created,
        run_for,
        kind.phases,
        fail_at=FAIL_AT if fail_reason else None,
        failed=kind.failed,
    )
    rule_result = tags.get(RULE_TAG, "NoIssuesFound")
    if rule_result not in RULE_STATUSES:
        raise errors.validation_error(f"Tag {RULE_TAG} must be one of {', '.join(RULE_STATUSES)}")
    rule_delay = em.config.rule_duration if em.config.rule_duration is not None else 0.1 * run_for
    log_lines(em, tags)  # refuses a bad emulator:log-lines tag before anything is stored
    job = Job(
        kind=kind,
        name=name,
        arn=em.arn(kind.arn_type, name),
        request=params,
        created_at=created,
        schedule=Schedule(transitions, kind.terminal),
        tags=tags,
        failure_reason=fail_reason,
        rule_delay=rule_delay,
        rule_result=rule_result,
        parent_arn=parent_arn,
    )
    em.jobs_of(kind.key)[name] = job
    em.tags[job.arn] = job.tags
    em.logs.job_created(job)
    if kind.after_create is not None:
        planned = job.schedule
        kind.after_create(em, job)
        if job.schedule is not planned:
            job.schedule_replaced()
    return job


def create_job(em: Emulator, kind: EmulatedKind, params: Params) -> Response:
    name = params[kind.name_field]
    existing = em.jobs_of(kind.key).get(name)
    if existing is not None:
        raise errors.resource_in_use(
            f"{kind.words.capitalize()} names must be unique within an AWS account and region, "
            f"and a {kind.words} with this name already exists ({existing.arn})"
        )
    if kind.check_request is not None:
        kind.check_request(em, params)
    check_capacity(em, kind, params)
    job = new_job(em, kind, params)
    return {kind.arn_field: job.arn}


def find_job(em: Emulator, kind: EmulatedKind, name: str, now: float) -> Job:
    job = em.jobs_of(kind.key).get(name)
    if job is None or not job.visible(now):
        raise kind.not_found(em, name)
    return job


@functools.cache
def output_members(operation_name: str) -> Any:
    """The members of a SageMaker operation's output shape (every job operation has one)."""
    shape = operation_model("sagemaker", operation_name).output_shape
    if shape is None:
        raise RuntimeError(f"sagemaker.{operation_name} has no output shape")
    return shape.members


def describe(job: Job, now: float) -> Response:
    """Everything known of ``job`` at ``now``: its Describe response plus the fields only its
    List summary carries (``describe_job`` cuts it to the Describe shape)."""
    kind = job.kind
    if job.echo is None:
        operation_name = f"Describe{kind.noun}"
        members = _member_names(operation_name)
        job.echo = with_defaults(
            operation_name,
            {key: value for key, value in job.request.items() if key in members and key != "Tags"},
        )
    response = dict(job.echo)
    schedule = job.schedule
    happened = max(bisect.bisect_right(schedule.times, now), 1)  # transitions so far
    state = schedule.transitions[happened - 1]  # == job.state(now)
    response[kind.arn_field] = job.arn
    response[kind.status_field] = state.status
    response["CreationTime"] = job.created_at
    response["LastModifiedTime"] = job.last_modified(now)
    if state.status == kind.failed.status and job.failure_reason:
        response["FailureReason"] = job.failure_reason
    if kind.start_field and happened > 1:
        response[kind.start_field] = schedule.transitions[1].at
    if kind.end_field and state.status in schedule.terminal:  # ended
        response[kind.end_field] = state.at
    if kind.describe_extra is not None:
        response.update(kind.describe_extra(job, now))
    return response


def describe_job(em: Emulator, kind: EmulatedKind, params: Params) -> Response:
    now = em.now()
    record = describe(find_job(em, kind, params[kind.name_field], now), now)
    # ``describe`` is the full record, which List summaries and Search cut to their own shapes;
    # some fields (DescribeTransformJob has no LastModifiedTime) are not in Describe's shape.
    members = _member_names(f"Describe{kind.noun}")
    if not members.issuperset(record):
        for key in record.keys() - members:
            del record[key]
    return record


@functools.cache
def _member_names(operation_name: str) -> frozenset[str]:
    return frozenset(output_members(operation_name))


@functools.cache
def _list_shape(noun: str) -> tuple[str, frozenset[str]]:
    """The key of a List<noun>s response's list, and the members of its summaries."""
    output = output_members(f"List{noun}s")
    list_key = next(key for key in output if key != "NextToken")
    return list_key, frozenset(output[list_key].member.members)


def parent_of(em: Emulator, job: Job) -> Job | None:
    """The job that launched ``job`` (a tuning job for its training jobs), if any."""
    if job.parent_arn is None:
        return None
    resource = job.parent_arn.split(":", 5)[-1]
    arn_type = resource.split("/", 1)[0]
    for kind in KINDS.values():
        if kind.arn_type == arn_type:
            jobs = em.jobs_of(kind.key).values()
            return next((parent for parent in jobs if parent.arn == job.parent_arn), None)
    return None


def request_stop(em: Emulator, job: Job, now: float) -> None:
    """Stopping now, Stopped ``stop_duration`` later; a second Stop changes nothing.

    The kind's ``after_stop`` then runs, and the parent's kind hears of it (``child_stopped``).
    """
    state = job.state(now)
    kind = job.kind
    if state.status in kind.terminal:
        raise errors.validation_error(
            f"The request was rejected because the {kind.words} is in status {state.status}."
        )
    if job.stop_requested_at is not None:
        return
    job.stop_requested_at = now
    stopped_at = now + em.config.stop_duration
    job.schedule.cut(
        now,
        [
            Transition(now, kind.stopping.status, kind.stopping.secondary, kind.stopping.message),
            Transition(
                stopped_at, kind.stopped.status, kind.stopped.secondary, kind.stopped.message
            ),
        ],
    )
    em.logs.job_stopped(job, now)
    if kind.after_stop is not None:
        kind.after_stop(em, job, now)
    parent = parent_of(em, job)
    if parent is not None and parent.kind.child_stopped is not None:
        parent.kind.child_stopped(em, parent, job, now)


def stop_job(em: Emulator, kind: EmulatedKind, params: Params) -> Response:
    now = em.now()
    request_stop(em, find_job(em, kind, params[kind.name_field], now), now)
    return {}


def summary(job: Job, now: float, summary_shape_members: Any) -> dict[str, Any]:
    full = describe(job, now)
    if job.kind.summary_extra is not None:
        full.update(job.kind.summary_extra(job, now))
    return {key: value for key, value in full.items() if key in summary_shape_members}


def list_jobs(em: Emulator, kind: EmulatedKind, params: Params) -> Response:
    now = em.now()
    list_key, members = _list_shape(kind.noun)
    page, token = list_indexed(
        params,
        em.jobs_of(kind.key),
        now,
        lambda job: summary(job, now, members),
        paging=em.config.paging,
    )
    response: Response = {list_key: page}
    if token:
        response["NextToken"] = token
    return response


# --- kind-specific rules and fields ---------------------------------------------------------


def stable_fraction(*parts: str) -> float:
    """A number in [0, 1) that depends only on ``parts``: metrics that are the same every run."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _check_training(em: Emulator, params: Params) -> None:
    algorithm = params.get("AlgorithmSpecification") or {}
    has_image, has_name = bool(algorithm.get("TrainingImage")), bool(algorithm.get("AlgorithmName"))
    if has_image == has_name:
        raise errors.validation_error(
            "AlgorithmSpecification must specify exactly one of TrainingImage or AlgorithmName."
        )
    if has_name:
        _check_algorithm(em, algorithm["AlgorithmName"])
    stopping = params.get("StoppingCondition") or {}
    max_wait = stopping.get("MaxWaitTimeInSeconds")
    if params.get("EnableManagedSpotTraining"):
        if max_wait is None:
            raise errors.validation_error(
                "MaxWaitTimeInSeconds must be specified in StoppingCondition when EnableManagedSpotTraining is true."
            )
        if max_wait < stopping.get("MaxRuntimeInSeconds", 86400):
            raise errors.validation_error(
                "Invalid MaxWaitTimeInSeconds. It must be greater than or equal to MaxRuntimeInSeconds."
            )
    elif max_wait is not None:
        raise errors.validation_error(
            "MaxWaitTimeInSeconds is only supported when EnableManagedSpotTraining is true."
        )


def _check_algorithm(em: Emulator, name: str) -> None:
    """An ``AlgorithmName`` must name an algorithm resource of the account (a name, or the ARN
    of its own or a subscribed one: ``EmulatorConfig.algorithms``). AWS answers an unknown one
    with a ValidationException naming its ARN (a bare name is taken as one of the account's,
    in the region): "Algorithm arn:aws:sagemaker:us-east-2:043170249292:algorithm/... does not
    exist." (field report: aws/amazon-sagemaker-examples#3923)."""
    account = f"arn:aws:sagemaker:{em.config.region}:{em.config.account_id}:algorithm/"

    def arn_of(algorithm: str) -> str:
        return algorithm if algorithm.startswith("arn:") else account + algorithm

    if arn_of(name) not in {arn_of(known) for known in em.config.algorithms}:
        raise errors.validation_error(f"Algorithm {arn_of(name)} does not exist.")


def final_metrics(job: Job, at: float) -> list[dict[str, Any]]:
    """A value per metric definition, the same for the same job name every time."""
    definitions = (job.request.get("AlgorithmSpecification") or {}).get("MetricDefinitions") or []
    return [
        {
            "MetricName": d["Name"],
            "Value": round(stable_fraction(job.name, d["Name"]), 6),
            "Timestamp": at,
        }
        for d in definitions
    ]


def _rule_statuses(job: Job, now: float, config_key: str) -> list[dict[str, Any]]:
    rules = job.request.get(config_key) or []
    if not rules:
        return []
    status = job.status(now)
    rules_end = job.rules_end_at()
    if status in (job.kind.failed.status, job.kind.stopped.status, job.kind.stopping.status):
        result, modified = "Stopped", job.state(now).at
    elif rules_end is not None and rules_end <= now:
        result, modified = job.rule_result, rules_end
    else:
        result, modified = "InProgress", job.state(now).at
    statuses = []
    for rule in rules:
        entry: dict[str, Any] = {
            "RuleConfigurationName": rule["RuleConfigurationName"],
            # Rule evaluations run as processing jobs.
            "RuleEvaluationJobArn": job.arn.replace("training-job/", "processing-job/")
            + f"-{rule['RuleConfigurationName'].lower()}",
            "RuleEvaluationStatus": result,
            "LastModifiedTime": modified,
        }
        if result in ("IssuesFound", "Error"):
            entry["StatusDetails"] = f"Rule {rule['RuleConfigurationName']} ended with {result}"
        statuses.append(entry)
    return statuses


_RULE_KEYS = (
    ("DebugRuleConfigurations", "DebugRuleEvaluationStatuses"),
    ("ProfilerRuleConfigurations", "ProfilerRuleEvaluationStatuses"),
)


def _training_extra(job: Job, now: float) -> dict[str, Any]:
    state = job.state(now)
    history = job.schedule.history(now)
    transitions = []
    secondary = [t for t in history if t.secondary]
    for index, transition in enumerate(secondary):
        entry: dict[str, Any] = {
            "Status": transition.secondary,
            "StartTime": transition.at,
            "StatusMessage": transition.message,
        }
        if index + 1 < len(secondary):
            entry["EndTime"] = secondary[index + 1].at
        transitions.append(entry)
    extra: dict[str, Any] = {
        "SecondaryStatus": state.secondary,
        "SecondaryStatusTransitions": transitions,
        "ModelArtifacts": {"S3ModelArtifacts": ""},
    }
    if state.status in job.schedule.terminal:  # ended (Schedule.ended_at)
        seconds = max(int(state.at - history[0].at), 1)
        extra["TrainingTimeInSeconds"] = seconds
        extra["BillableTimeInSeconds"] = seconds
    if state.status == "Completed":
        output = job.request["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        extra["ModelArtifacts"] = {"S3ModelArtifacts": f"{output}/{job.name}/output/model.tar.gz"}
        metrics = final_metrics(job, state.at)
        if metrics:
            extra["FinalMetricDataList"] = metrics
    for config_key, status_key in _RULE_KEYS if job.has_rules() else ():
        statuses = _rule_statuses(job, now, config_key)
        if statuses:
            extra[status_key] = statuses
    if job.parent_arn:
        extra["TuningJobArn"] = job.parent_arn
    return extra


def _check_transform(em: Emulator, params: Params) -> None:
    model = params["ModelName"]
    if model not in em.models:
        raise errors.validation_error(f'Could not find model "{em.arn("model", model)}".')


def _labeling_extra(job: Job, now: float) -> dict[str, Any]:
    state = job.state(now)
    request = job.request
    total = 100
    done = {"Completed": total, "InProgress": total // 2}.get(state.status, 0)
    extra: dict[str, Any] = {
        "LabelCounters": {
            "TotalLabeled": done,
            "HumanLabeled": done - done // 4,
            "MachineLabeled": done // 4,
            "FailedNonRetryableError": 0,
            "Unlabeled": total - done,
        },
        "JobReferenceCode": hashlib.sha256(job.arn.encode()).hexdigest()[:16],
    }
    if state.status == "Completed":
        output = request["OutputConfig"]["S3OutputPath"].rstrip("/")
        labeling_output: dict[str, Any] = {
            "OutputDatasetS3Uri": f"{output}/{job.name}/manifests/output/output.manifest"
        }
        if request.get("LabelingJobAlgorithmsConfig"):
            labeling_output["FinalActiveLearningModelArn"] = (
                job.arn.replace("labeling-job/", "model/") + "-final-model"
            )
        extra["LabelingJobOutput"] = labeling_output
    return extra


TRAINING = register_kind(
    EmulatedKind(
        key="training",
        noun="TrainingJob",
        arn_type="training-job",
        phases=(
            Phase(0.0, "InProgress", "Starting", "Launching requested ML instances"),
            Phase(0.1, "InProgress", "Downloading", "Downloading input data"),
            Phase(
                0.25,
                "InProgress",
                "Training",
                "Training image download completed. Training in progress.",
            ),
            Phase(0.85, "InProgress", "Uploading", "Uploading generated training model"),
            Phase(1.0, "Completed", "Completed", "Training job completed"),
        ),
        failed=Transition(0, "Failed", "Failed", "Training job failed"),
        stopping=Transition(0, "Stopping", "Stopping", "Stopping the training job"),
        stopped=Transition(0, "Stopped", "Stopped", "Training job stopped"),
        log_group="/aws/sagemaker/TrainingJobs",
        instances=("ResourceConfig",),
        start_field="TrainingStartTime",
        end_field="TrainingEndTime",
        describe_extra=_training_extra,
        check_request=_check_training,
        not_found=lambda em, name: errors.requested_resource_not_found(name),
    )
)

PROCESSING = register_kind(
    EmulatedKind(
        key="processing",
        noun="ProcessingJob",
        arn_type="processing-job",
        log_group="/aws/sagemaker/ProcessingJobs",
        instances=("ProcessingResources", "ClusterConfig"),
        start_field="ProcessingStartTime",
        end_field="ProcessingEndTime",
        not_found=lambda em, name: errors.requested_job_not_found(name),
    )
)

TRANSFORM = register_kind(
    EmulatedKind(
        key="transform",
        noun="TransformJob",
        arn_type="transform-job",
        log_group="/aws/sagemaker/TransformJobs",
        instances=("TransformResources",),
        start_field="TransformStartTime",
        end_field="TransformEndTime",
        check_request=_check_transform,
        not_found=lambda em, name: errors.requested_job_not_found(name),
    )
)

LABELING = register_kind(
    EmulatedKind(
        key="labeling",
        noun="LabelingJob",
        arn_type="labeling-job",
        phases=(Phase(0.0, "Initializing"), Phase(0.1, "InProgress"), Phase(1.0, "Completed")),
        log_group="/aws/sagemaker/LabelingJobs",
        describe_extra=_labeling_extra,
        not_found=lambda em, name: errors.labeling_job_not_found(
            name, em.config.labeling_not_found
        ),
    )
)
