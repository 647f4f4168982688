"""Hyperparameter tuning jobs: a parent whose every answer is read off its training jobs.

In SageMaker a tuning job is bookkeeping over real training jobs, and clients watch both
sides: DescribeHyperParameterTuningJob's counters and best job, and the children themselves
through ListTrainingJobs and DescribeTrainingJob. So the emulator launches real training jobs
(``jobs.TRAINING``) and derives what the tuning job reports from them; the two views then agree
at every instant.

As with every emulated job nothing runs in the background; the search is planned at creation:

* ``MaxNumberOfTrainingJobs`` children, at most ``MAX_CHILDREN`` (an emulator cap: AWS allows
  hundreds, tests and benchmarks need a few), launched in waves of ``MaxParallelTrainingJobs``;
  a wave starts when the previous one has ended. Children of later waves are stored with a
  future creation time and are invisible until their wave starts.
* Children are named like AWS's (``<tuning name>-NNN-<8 hex>``), carry the tuning job's ARN
  (DescribeTrainingJob's ``TuningJobArn``), its static hyperparameters, tuned values drawn
  deterministically from its parameter ranges (grid search walks the grid in order) and
  ``_tuning_objective_metric``; their ``FinalMetricDataList`` carries the objective metric.
* The tuning job's schedule has a transition whenever a child is launched or ends, since its
  counters change then (so does its LastModifiedTime), and it ends when its last child ends.

Stopping the tuning job stops its running children and drops those not launched yet, so they
never appear. Stopping one child on its own (StopTrainingJob) re-plans when the tuning job
ends; later waves keep their planned start.

Tags on the tuning job:

``emulator:duration-seconds``  how long each child runs (default: ``--job-duration``)
``emulator:fail-reason``       the tuning job fails with this reason when its first wave ends,
                               and launches no further children
``emulator:child-fail-count``  that many children (the first ones) fail with an AlgorithmError
                               and count as NonRetryableError; the tuning job still completes
Other tags are copied to every child, as SageMaker does.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import itertools
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from emulator import errors
from emulator.jobs import (
    DURATION_TAG,
    FAIL_TAG,
    TRAINING,
    EmulatedKind,
    Job,
    describe,
    final_metrics,
    find_job,
    new_job,
    register_kind,
    request_stop,
    stable_fraction,
    tag_float,
)
from emulator.lifecycle import Schedule, Transition, tag_dict
from emulator.listing import Listed, list_page
from emulator.logs import log_lines
from emulator.state import Emulator, Params, Response, operation
from runner.validation import operation_model

MAX_CHILDREN = 50  # most training jobs one emulated tuning job launches
CHILD_FAIL_TAG = "emulator:child-fail-count"
CONTROL_TAGS = frozenset({DURATION_TAG, FAIL_TAG, CHILD_FAIL_TAG})  # not copied to children
OBJECTIVE_HYPERPARAMETER = "_tuning_objective_metric"
CHILD_FAILURE = (
    "AlgorithmError: the training script exited with a non-zero status "
    f"(planned by the tuning job's {CHILD_FAIL_TAG} tag)"
)
CHILD_NAME_LIMIT = 63  # training job names are at most 63 characters
DEFAULT_VOLUME_GB = 30
RANGE_KINDS = (
    "IntegerParameterRanges",
    "ContinuousParameterRanges",
    "CategoricalParameterRanges",
    "AutoParameters",
)
OBJECTIVE_STATUS = {
    "InProgress": "Pending",
    "Stopping": "Pending",
    "Completed": "Succeeded",
    "Failed": "Failed",
    "Stopped": "Failed",
}
# What a child's summary (HyperParameterTrainingJobSummary) takes from its DescribeTrainingJob.
SUMMARY_FROM_DESCRIBE = (
    "TrainingJobName",
    "TrainingJobArn",
    "CreationTime",
    "TrainingStartTime",
    "TrainingEndTime",
    "TrainingJobStatus",
    "FailureReason",
)


@dataclass(frozen=True)
class Trial:
    """What a child training job knows of the search that launched it."""

    definition_name: str | None
    objective_type: str  # Maximize | Minimize
    objective_metric: str
    tuned: dict[str, str]  # the hyperparameters drawn from the ranges


# --- reading the request ----------------------------------------------------------------------


def _definitions(request: Params) -> list[Params]:
    single = request.get("TrainingJobDefinition")
    return [single] if single is not None else list(request.get("TrainingJobDefinitions") or [])


def _objective(config: Params, definition: Params) -> Params | None:
    objective: Params | None = definition.get("TuningObjective") or config.get(
        "HyperParameterTuningJobObjective"
    )
    return objective


def objective_of(request: Params, definition: Params) -> Params | None:
    """The tuning objective of one of a tuning request's training job definitions."""
    return _objective(request["HyperParameterTuningJobConfig"], definition)


def objective_metric_definition(metric: str) -> dict[str, str]:
    """The metric definition a child gets for the objective when its definition has none."""
    return {"Name": metric, "Regex": f"{re.escape(metric)}=([-+0-9.eE]+)"}


def _ranges(config: Params, definition: Params) -> Params:
    ranges: Params = definition.get("HyperParameterRanges") or config.get("ParameterRanges") or {}
    return ranges


def _bounds(spec: Params, parse: Callable[[str], float]) -> tuple[float, float]:
    name = spec["Name"]
    try:
        low, high = parse(spec["MinValue"]), parse(spec["MaxValue"])
    except ValueError:
        wanted = "integers" if parse is int else "numbers"
        raise errors.validation_error(
            f"MinValue and MaxValue of hyperparameter {name} must be {wanted}, "
            f"got {spec['MinValue']!r} and {spec['MaxValue']!r}."
        ) from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise errors.validation_error(
            f"MinValue and MaxValue of hyperparameter {name} must be finite."
        )
    if low > high:
        raise errors.validation_error(
            f"MinValue ({spec['MinValue']}) of hyperparameter {name} must not be greater than "
            f"its MaxValue ({spec['MaxValue']})."
        )
    return low, high


def _combinations(ranges: Params) -> int | None:
    """How many distinct value sets the ranges allow; None when unbounded (continuous, auto)."""
    if ranges.get("ContinuousParameterRanges") or ranges.get("AutoParameters"):
        return None
    count = 1
    for spec in ranges.get("CategoricalParameterRanges") or []:
        count *= len(set(spec["Values"]))
    for spec in ranges.get("IntegerParameterRanges") or []:
        low, high = _bounds(spec, int)
        count *= int(high - low) + 1
    return count


def resource_config(tuning_resources: Params) -> Params:
    """A training job's ResourceConfig from a HyperParameterTuningResourceConfig: its first
    instance configuration (the emulator does not spread children over instance types)."""
    first: Params = (tuning_resources.get("InstanceConfigs") or [tuning_resources])[0]
    config: Params = {
        "InstanceCount": first.get("InstanceCount", 1),
        "VolumeSizeInGB": first.get("VolumeSizeInGB", DEFAULT_VOLUME_GB),
    }
    if first.get("InstanceType"):
        config["InstanceType"] = first["InstanceType"]
    if tuning_resources.get("VolumeKmsKeyId"):
        config["VolumeKmsKeyId"] = tuning_resources["VolumeKmsKeyId"]
    return config


def _input_members(operation_name: str) -> Any:
    shape = operation_model("sagemaker", operation_name).input_shape
    return shape.members if shape is not None else {}


def _child_request(
    definition: Params, objective: Params, name: str, tuned: dict[str, str]
) -> Params:
    """The CreateTrainingJob request of one child: the definition's training fields, its static
    and tuned hyperparameters, and a metric definition for the objective."""
    training_fields = _input_members("CreateTrainingJob")
    request = {
        key: copy.deepcopy(value) for key, value in definition.items() if key in training_fields
    }
    request["TrainingJobName"] = name
    if "ResourceConfig" not in request:
        request["ResourceConfig"] = resource_config(
            definition.get("HyperParameterTuningResourceConfig") or {}
        )
    metric = objective["MetricName"]
    metric_definitions = request["AlgorithmSpecification"].setdefault("MetricDefinitions", [])
    if not any(entry["Name"] == metric for entry in metric_definitions):
        metric_definitions.append(objective_metric_definition(metric))
    request["HyperParameters"] = {
        **(definition.get("StaticHyperParameters") or {}),
        **tuned,
        OBJECTIVE_HYPERPARAMETER: metric,
    }
    return request


# --- the rules SageMaker applies on Create ----------------------------------------------------


def _check_request(em: Emulator, params: Params) -> None:
    config = params["HyperParameterTuningJobConfig"]
    has_single, has_several = "TrainingJobDefinition" in params, "TrainingJobDefinitions" in params
    if has_single == has_several:
        raise errors.validation_error(
            "Exactly one of TrainingJobDefinition or TrainingJobDefinitions must be provided."
        )
    definitions = _definitions(params)
    if has_several:
        names = [definition.get("DefinitionName") for definition in definitions]
        if None in names:
            raise errors.validation_error(
                "Every entry of TrainingJobDefinitions must have a DefinitionName."
            )
        if len(set(names)) != len(names):
            raise errors.validation_error(
                "The DefinitionName of each of TrainingJobDefinitions must be unique."
            )
    _check_strategy(config)
    limits = config["ResourceLimits"]
    max_jobs, max_parallel = (
        limits.get("MaxNumberOfTrainingJobs"),
        limits["MaxParallelTrainingJobs"],
    )
    if max_jobs is not None and max_parallel > max_jobs:
        raise errors.validation_error(
            f"MaxParallelTrainingJobs ({max_parallel}) must be less than or equal to "
            f"MaxNumberOfTrainingJobs ({max_jobs})."
        )
    for definition in definitions:
        _check_definition(em, config, definition, max_jobs)
    tags = tag_dict(params.get("Tags"))
    tag_float(tags, DURATION_TAG, 0.0)
    _child_fail_count(tags)
    log_lines(em, tags)  # children inherit the tags: refuse here what they would refuse


def _check_strategy(config: Params) -> None:
    strategy = config["Strategy"]
    if config.get("StrategyConfig") and strategy != "Hyperband":
        raise errors.validation_error(
            "StrategyConfig can be provided only with the Hyperband strategy."
        )
    if strategy == "Hyperband" and config.get("TrainingJobEarlyStoppingType") == "Auto":
        raise errors.validation_error(
            "TrainingJobEarlyStoppingType must be Off with the Hyperband strategy, "
            "which stops training jobs early itself."
        )


def _check_definition(
    em: Emulator, config: Params, definition: Params, max_jobs: int | None
) -> None:
    label = "TrainingJobDefinition"
    if definition.get("DefinitionName"):
        label = f"TrainingJobDefinition {definition['DefinitionName']}"
    objective = _objective(config, definition)
    if objective is None:
        raise errors.validation_error(
            f"{label} has no tuning objective: set HyperParameterTuningJobConfig."
            "HyperParameterTuningJobObjective, or TuningObjective in every training job definition."
        )
    has_resources = "ResourceConfig" in definition
    has_tuning_resources = "HyperParameterTuningResourceConfig" in definition
    if has_resources == has_tuning_resources:
        raise errors.validation_error(
            f"{label} must specify exactly one of ResourceConfig or "
            "HyperParameterTuningResourceConfig."
        )
    if has_tuning_resources and "InstanceType" not in resource_config(
        definition["HyperParameterTuningResourceConfig"]
    ):
        raise errors.validation_error(
            f"{label}: HyperParameterTuningResourceConfig must give an InstanceType "
            "or InstanceConfigs."
        )
    # Children are training jobs: the definition must pass the rules a training job does.
    if TRAINING.check_request is not None:
        TRAINING.check_request(em, _child_request(definition, objective, "probe", {}))
    ranges = _ranges(config, definition)
    _check_ranges(ranges, config["Strategy"], definition.get("StaticHyperParameters") or {})
    combinations = _combinations(ranges)
    if combinations is not None and max_jobs is not None and max_jobs > combinations:
        raise errors.validation_error(
            "You don't have enough combinations of hyperparameter ranges: the ranges allow "
            f"{combinations} combinations, fewer than MaxNumberOfTrainingJobs ({max_jobs}). "
            "Provide additional ranges."
        )


def _check_ranges(ranges: Params, strategy: str, static: dict[str, str]) -> None:
    _check_range_names(ranges, static)
    if strategy == "Grid" and any(
        ranges.get(kind)
        for kind in ("IntegerParameterRanges", "ContinuousParameterRanges", "AutoParameters")
    ):
        raise errors.validation_error("The Grid strategy supports only CategoricalParameterRanges.")
    _check_scaling(ranges)


def _check_range_names(ranges: Params, static: dict[str, str]) -> None:
    """Each tuned hyperparameter in one range only, and never also static."""
    seen: set[str] = set()
    for range_kind in RANGE_KINDS:
        for spec in ranges.get(range_kind) or []:
            name = spec["Name"]
            if name in seen:
                raise errors.validation_error(
                    f"Hyperparameter {name} appears in more than one range."
                )
            if name in static:
                raise errors.validation_error(
                    f"Hyperparameter {name} is both static (StaticHyperParameters) and tuned "
                    "(a parameter range); it can be only one of them."
                )
            seen.add(name)


def _check_scaling(ranges: Params) -> None:
    """The scaling types each numeric range's bounds allow."""
    for spec in ranges.get("IntegerParameterRanges") or []:
        low, _ = _bounds(spec, int)
        name, scaling = spec["Name"], spec.get("ScalingType", "Auto")
        if scaling == "ReverseLogarithmic":
            raise errors.validation_error(
                f"ReverseLogarithmic scaling is not supported for integer hyperparameter {name}."
            )
        if scaling == "Logarithmic" and low <= 0:
            raise errors.validation_error(
                f"Logarithmic scaling of hyperparameter {name} needs a MinValue greater than 0."
            )
    for spec in ranges.get("ContinuousParameterRanges") or []:
        low, high = _bounds(spec, float)
        name, scaling = spec["Name"], spec.get("ScalingType", "Auto")
        if scaling == "Logarithmic" and low <= 0:
            raise errors.validation_error(
                f"Logarithmic scaling of hyperparameter {name} needs a MinValue greater than 0."
            )
        if scaling == "ReverseLogarithmic" and not (low >= 0 and high < 1):
            raise errors.validation_error(
                f"ReverseLogarithmic scaling of hyperparameter {name} needs 0 <= MinValue "
                "and MaxValue < 1."
            )


def _child_fail_count(tags: dict[str, str]) -> int:
    raw = tags.get(CHILD_FAIL_TAG)
    if raw is None:
        return 0
    try:
        count = int(raw)
    except ValueError:
        raise errors.validation_error(
            f"Tag {CHILD_FAIL_TAG} must be a whole number, got {raw!r}"
        ) from None
    if count < 0:
        raise errors.validation_error(f"Tag {CHILD_FAIL_TAG} must not be negative, got {raw!r}")
    return count


# --- planning the search ----------------------------------------------------------------------


def _draw(seed: str, index: int, ranges: Params) -> dict[str, str]:
    """Tuned values for child ``index``: the same for the same seed every run."""
    values: dict[str, str] = {}
    for spec in ranges.get("IntegerParameterRanges") or []:
        low, high = (int(bound) for bound in _bounds(spec, int))
        fraction = stable_fraction(seed, str(index), spec["Name"])
        if spec.get("ScalingType") == "Logarithmic":
            drawn = round(math.exp(math.log(low) + fraction * (math.log(high) - math.log(low))))
        else:
            drawn = low + int(fraction * (high - low + 1))
        values[spec["Name"]] = str(min(max(drawn, low), high))
    for spec in ranges.get("ContinuousParameterRanges") or []:
        low_value, high_value = _bounds(spec, float)
        fraction = stable_fraction(seed, str(index), spec["Name"])
        scaling = spec.get("ScalingType")
        if scaling == "Logarithmic":
            value = math.exp(
                math.log(low_value) + fraction * (math.log(high_value) - math.log(low_value))
            )
        elif scaling == "ReverseLogarithmic":
            near, far = math.log(1 - high_value), math.log(1 - low_value)
            value = 1 - math.exp(near + fraction * (far - near))
        else:
            value = low_value + fraction * (high_value - low_value)
        values[spec["Name"]] = f"{min(max(value, low_value), high_value):.10g}"
    for spec in ranges.get("CategoricalParameterRanges") or []:
        choices = spec["Values"]
        values[spec["Name"]] = choices[
            int(stable_fraction(seed, str(index), spec["Name"]) * len(choices))
        ]
    for spec in ranges.get("AutoParameters") or []:
        values[spec["Name"]] = spec["ValueHint"]
    return values


def _grid(ranges: Params) -> Iterator[dict[str, str]]:
    """Every combination of the categorical values, in order (the last range varies fastest)."""
    specs = ranges.get("CategoricalParameterRanges") or []
    names = [spec["Name"] for spec in specs]
    for combination in itertools.product(*(spec["Values"] for spec in specs)):
        yield dict(zip(names, combination, strict=True))


def _trials(tuning: Job) -> list[tuple[Params, dict[str, str]]]:
    """(training job definition, tuned values) of every child to launch, in launch order."""
    request = tuning.request
    config = request["HyperParameterTuningJobConfig"]
    definitions = _definitions(request)
    limit = config["ResourceLimits"].get("MaxNumberOfTrainingJobs")
    count = min(limit or MAX_CHILDREN, MAX_CHILDREN)
    if config["Strategy"] == "Grid":
        grid = (
            (definition, values)
            for definition in definitions
            for values in _grid(_ranges(config, definition))
        )
        return list(itertools.islice(grid, count))
    # RandomSeed: the same seed draws the same values, as SageMaker promises for the same job.
    seed = str(config["RandomSeed"]) if "RandomSeed" in config else tuning.name
    trials = []
    for index in range(count):
        definition = definitions[index % len(definitions)]
        trials.append((definition, _draw(seed, index + 1, _ranges(config, definition))))
    return trials


def _child_name(tuning: Job, number: int) -> str:
    digest = hashlib.sha256(f"{tuning.arn}/{number}".encode()).hexdigest()[:8]
    suffix = f"-{number:03d}-{digest}"
    return tuning.name[: CHILD_NAME_LIMIT - len(suffix)] + suffix


def _children(tuning: Job) -> list[Job]:
    children: list[Job] = tuning.extra.setdefault("children", [])
    return children


def _trial(child: Job) -> Trial:
    trial: Trial = child.extra["trial"]
    return trial


def _plan(tuning: Job, children: list[Job]) -> list[Transition]:
    """InProgress from creation and again whenever a child is launched or ends (the counters
    change then), then Completed (Failed when planned) as the last child ends."""
    kind = tuning.kind
    moments = sorted(
        {when for child in children for when in (child.created_at, child.schedule.planned_end())}
    )
    end = max(moments, default=tuning.created_at)
    final_status = kind.failed.status if tuning.failure_reason else kind.phases[-1].status
    return [
        Transition(tuning.created_at, "InProgress"),
        *(Transition(when, "InProgress") for when in moments if tuning.created_at < when < end),
        Transition(end, final_status),
    ]


def _launch_children(em: Emulator, tuning: Job) -> None:
    """Create every child, wave by wave, and plan the tuning job's life around them."""
    config = tuning.request["HyperParameterTuningJobConfig"]
    parallel = config["ResourceLimits"]["MaxParallelTrainingJobs"]
    duration = tag_float(tuning.tags, DURATION_TAG, em.config.job_duration)
    failing = _child_fail_count(tuning.tags)
    inherited_tags = {key: value for key, value in tuning.tags.items() if key not in CONTROL_TAGS}
    trials = _trials(tuning)
    children = _children(tuning)
    wave_start = tuning.created_at
    for first in range(0, len(trials), parallel):
        wave = []
        for index in range(first, min(first + parallel, len(trials))):
            definition, tuned = trials[index]
            objective = _objective(config, definition) or {}
            number = index + 1
            name = _child_name(tuning, number)
            tags = dict(inherited_tags)
            if number <= failing:
                tags[FAIL_TAG] = CHILD_FAILURE
            child = new_job(
                em,
                TRAINING,
                _child_request(definition, objective, name, tuned),
                created_at=wave_start,
                duration=duration,
                tags=tags,
                parent_arn=tuning.arn,
            )
            child.extra["trial"] = Trial(
                definition_name=definition.get("DefinitionName"),
                objective_type=objective["Type"],
                objective_metric=objective["MetricName"],
                tuned=tuned,
            )
            wave.append(child)
        children.extend(wave)
        wave_start = max(child.schedule.planned_end() for child in wave)
        if tuning.failure_reason:
            break  # the tuning job fails as its first wave ends
    tuning.schedule = Schedule(_plan(tuning, children), tuning.kind.terminal)


def _stop_children(em: Emulator, tuning: Job, now: float) -> None:
    """Stop the running children; the ones not launched yet never will be."""
    children = _children(tuning)
    for child in list(children):
        if not child.visible(now):
            children.remove(child)
            _forget(em, child)
        elif child.status(now) not in child.kind.terminal:
            request_stop(em, child, now)


def _forget(em: Emulator, child: Job) -> None:
    """Undo the creation of a child that was never launched: it leaves the job store, the
    tags, and the log store, which planned its streams (visible from their first event) when
    the child was created."""
    del em.jobs_of(child.kind.key)[child.name]
    em.tags.pop(child.arn, None)
    em.logs.job_dropped(child)


def _child_stopped(em: Emulator, tuning: Job, child: Job, now: float) -> None:
    """A child stopped on its own ends sooner (or later): re-plan when the tuning job ends."""
    if tuning.stop_requested_at is not None or tuning.status(now) in tuning.kind.terminal:
        return
    planned = _plan(tuning, _children(tuning))
    tuning.schedule.cut(now, [transition for transition in planned if transition.at > now])


# --- what the tuning job reports --------------------------------------------------------------


def _launched(tuning: Job, now: float) -> list[Job]:
    return [child for child in _children(tuning) if child.visible(now)]


def _objective_value(child: Job, now: float) -> float | None:
    """The child's final objective metric, once it has completed."""
    state = child.state(now)
    if state.status != "Completed":
        return None
    metric = _trial(child).objective_metric
    for entry in final_metrics(child, state.at):
        if entry["MetricName"] == metric:
            value: float = entry["Value"]
            return value
    return None


def _child_summary(tuning: Job, child: Job, now: float) -> dict[str, Any]:
    """A HyperParameterTrainingJobSummary of ``child``."""
    described = describe(child, now)
    trial = _trial(child)
    summary = {key: described[key] for key in SUMMARY_FROM_DESCRIBE if key in described}
    summary["TuningJobName"] = tuning.name
    summary["TunedHyperParameters"] = dict(trial.tuned)
    summary["ObjectiveStatus"] = OBJECTIVE_STATUS[described["TrainingJobStatus"]]
    if trial.definition_name:
        summary["TrainingJobDefinitionName"] = trial.definition_name
    value = _objective_value(child, now)
    if value is not None:
        summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": trial.objective_type,
            "MetricName": trial.objective_metric,
            "Value": value,
        }
    return summary


def _best_child(tuning: Job, children: list[Job], now: float) -> Job | None:
    """The completed child with the best objective value; ties go to the earliest launched."""
    scored = [
        (value, child) for child in children if (value := _objective_value(child, now)) is not None
    ]
    if not scored:
        return None
    request = tuning.request
    objective = _objective(request["HyperParameterTuningJobConfig"], _definitions(request)[0]) or {}
    choose = max if objective.get("Type") == "Maximize" else min
    return choose(scored, key=lambda scored_child: scored_child[0])[1]


def _describe_extra(tuning: Job, now: float) -> dict[str, Any]:
    children = _launched(tuning, now)
    statuses = Counter(child.status(now) for child in children)
    running = statuses["InProgress"] + statuses["Stopping"]
    extra: dict[str, Any] = {
        "TrainingJobStatusCounters": {
            "Completed": statuses["Completed"],
            "InProgress": running,
            "RetryableError": 0,
            "NonRetryableError": statuses["Failed"],
            "Stopped": statuses["Stopped"],
        },
        "ObjectiveStatusCounters": {
            "Succeeded": statuses["Completed"],
            "Pending": running,
            "Failed": statuses["Failed"] + statuses["Stopped"],
        },
    }
    best = _best_child(tuning, children, now)
    if best is not None:
        extra["BestTrainingJob"] = _child_summary(tuning, best, now)
    return extra


def _summary_extra(tuning: Job, now: float) -> dict[str, Any]:
    config = tuning.request["HyperParameterTuningJobConfig"]
    return {"Strategy": config["Strategy"], "ResourceLimits": config["ResourceLimits"]}


TUNING = register_kind(
    EmulatedKind(
        key="tuning",
        noun="HyperParameterTuningJob",
        arn_type="hyper-parameter-tuning-job",
        # The default statuses; the schedule is re-planned from the children on creation.
        end_field="HyperParameterTuningEndTime",
        describe_extra=_describe_extra,
        check_request=_check_request,
        after_create=_launch_children,
        after_stop=_stop_children,
        child_stopped=_child_stopped,
        summary_extra=_summary_extra,
        not_found=lambda em, name: errors.tuning_job_not_found(name),
    )
)


@operation("sagemaker", "ListTrainingJobsForHyperParameterTuningJob")
def list_training_jobs_for_tuning_job(em: Emulator, params: Params) -> Response:
    now = em.now()
    tuning = find_job(em, TUNING, params["HyperParameterTuningJobName"], now)
    by_objective = params.get("SortBy") == "FinalObjectiveMetricValue"
    items = []
    for child in _launched(tuning, now):
        value = _objective_value(child, now)
        if by_objective and value is None:
            continue  # as in SageMaker: jobs without an objective value are left out of this order
        items.append(
            Listed(
                name=child.name,
                created=child.created_at,
                modified=child.last_modified(now),
                status=child.status(now),
                summarize=functools.partial(_child_summary, tuning, child, now),
                metric=value,
            )
        )
    page, token = list_page(
        params, items, paging=em.config.paging, default_sort="Name", default_order="Ascending"
    )
    response: Response = {"TrainingJobSummaries": page}
    if token:
        response["NextToken"] = token
    return response
