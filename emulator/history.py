"""An account with history: ended jobs of every kind, created over the past months.

A new emulator is an empty account, where every List call answers in one page. A real one is
not: SageMaker has no Delete for training, processing, transform, tuning or labeling jobs (the
API has only Stop*), so an account's history only grows, and since AWS cuts a List page before
it filters (``listing``), a client that filters by status, name or modification time walks
that history ``MaxResults`` jobs at a time, under ListTrainingJobs' 2 requests/s. ``preload``
builds such an account, so that what a sweep costs there can be measured here.

Per kind, ``per_kind`` jobs (tuning: one in twenty of that, each with two training children
that count among the training jobs), created at random moments of the past ``days`` days,
oldest first, with durations of the kind's usual order (minutes for processing, about an hour
for training, hours to days for labeling), and ended by the time the emulator starts: about
86% Completed, 10% Failed with an AlgorithmError or ClientError reason, 4% Stopped. They are
stored, listed, described, tagged and logged (a few lines each) like any other job, from the
same seeded generator every time.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from emulator.jobs import (
    DURATION_TAG,
    FAIL_TAG,
    KINDS,
    LABELING,
    PROCESSING,
    TRAINING,
    TRANSFORM,
    EmulatedKind,
    new_job,
    request_stop,
)
from emulator.logs import LOG_LINES_TAG
from emulator.state import Emulator, Params
from emulator.tuning import TUNING

ROLE = "arn:aws:iam::{account}:role/service-role/AmazonSageMaker-ExecutionRole"
IMAGE = "683313688378.dkr.ecr.{region}.amazonaws.com/sagemaker-xgboost:1.7-1"
DAY = 86_400.0
LOG_LINES = "3"  # per host: the history is listed far more than it is read
FAILED_SHARE, STOPPED_SHARE = 0.10, 0.04
TUNING_SHARE, CHILDREN_PER_TUNING = 20, 2
FAILURE_REASONS = (
    'AlgorithmError: ExecuteUserScriptError: Command "/usr/bin/python3 train.py" exited 1',
    "ClientError: Data download failed: NoSuchKey: The specified key does not exist.",
    "CapacityError: Unable to provision requested ML compute capacity.",
)
NAME_BASES = {
    "training": ("xgboost", "pytorch-training", "kmeans", "sagemaker-scikit-learn", "blazingtext"),
    "processing": ("sagemaker-scikit-learn", "preprocess", "evaluation", "baseline"),
    "transform": ("xgboost", "batch-transform", "sagemaker-pytorch"),
    "labeling": ("boxes", "sentiment", "ner-review"),
    "tuning": ("xgb-hpo", "hpo", "tune"),
}
# (median, spread) of a job's duration in seconds, drawn log-normally.
DURATIONS = {
    "training": (3_600.0, 1.0),
    "processing": (600.0, 0.8),
    "transform": (900.0, 0.8),
    "labeling": (DAY, 0.9),
    "tuning": (1_800.0, 0.8),
}


def _training(em: Emulator, name: str) -> Params:
    return {
        "TrainingJobName": name,
        "RoleArn": ROLE.format(account=em.config.account_id),
        "AlgorithmSpecification": {
            "TrainingImage": IMAGE.format(region=em.config.region),
            "TrainingInputMode": "File",
        },
        "OutputDataConfig": {"S3OutputPath": "s3://ml-team-artifacts/training"},
        "ResourceConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 30,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 86_400},
    }


def _processing(em: Emulator, name: str) -> Params:
    return {
        "ProcessingJobName": name,
        "RoleArn": ROLE.format(account=em.config.account_id),
        "AppSpecification": {"ImageUri": IMAGE.format(region=em.config.region)},
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceType": "ml.m5.xlarge",
                "InstanceCount": 1,
                "VolumeSizeInGB": 30,
            }
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 86_400},
    }


def _transform(em: Emulator, name: str) -> Params:
    return {
        "TransformJobName": name,
        "ModelName": f"{name}-model",
        "TransformInput": {
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://ml-team-data/batch"}
            },
            "ContentType": "text/csv",
        },
        "TransformOutput": {"S3OutputPath": "s3://ml-team-artifacts/batch"},
        "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
    }


def _labeling(em: Emulator, name: str) -> Params:
    region, account = em.config.region, em.config.account_id
    return {
        "LabelingJobName": name,
        "LabelAttributeName": "label",
        "InputConfig": {
            "DataSource": {"S3DataSource": {"ManifestS3Uri": "s3://ml-team-data/in.manifest"}}
        },
        "OutputConfig": {"S3OutputPath": "s3://ml-team-artifacts/labels"},
        "RoleArn": ROLE.format(account=account),
        "HumanTaskConfig": {
            "WorkteamArn": f"arn:aws:sagemaker:{region}:{account}:workteam/private-crowd/labelers",
            "UiConfig": {"UiTemplateS3Uri": "s3://ml-team-data/template.liquid"},
            "PreHumanTaskLambdaArn": f"arn:aws:lambda:{region}:432418664414:function:PRE-BoundingBox",
            "TaskTitle": "Draw boxes",
            "TaskDescription": "Draw a box around each object",
            "NumberOfHumanWorkersPerDataObject": 1,
            "TaskTimeLimitInSeconds": 300,
            "AnnotationConsolidationConfig": {
                "AnnotationConsolidationLambdaArn": (
                    f"arn:aws:lambda:{region}:432418664414:function:ACS-BoundingBox"
                )
            },
        },
    }


def _tuning(em: Emulator, name: str) -> Params:
    definition = _training(em, name)
    for key in ("TrainingJobName", "ResourceConfig"):
        definition.pop(key)
    definition["ResourceConfig"] = {
        "InstanceType": "ml.m5.xlarge",
        "InstanceCount": 1,
        "VolumeSizeInGB": 30,
    }
    definition["StaticHyperParameters"] = {"num_round": "100"}
    definition["AlgorithmSpecification"]["MetricDefinitions"] = [
        {"Name": "validation:auc", "Regex": "validation-auc:([0-9.]+)"}
    ]
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {
                "Type": "Maximize",
                "MetricName": "validation:auc",
            },
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": CHILDREN_PER_TUNING,
                "MaxParallelTrainingJobs": CHILDREN_PER_TUNING,
            },
            "ParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5"}]
            },
        },
        "TrainingJobDefinition": definition,
    }


REQUESTS: dict[str, Callable[[Emulator, str], Params]] = {
    TRAINING.key: _training,
    PROCESSING.key: _processing,
    TRANSFORM.key: _transform,
    LABELING.key: _labeling,
    TUNING.key: _tuning,
}


def counts(per_kind: int) -> dict[str, int]:
    """How many jobs ``preload`` creates directly, per kind (tuning children come on top of
    the tuning jobs but within the training count)."""
    tuning = per_kind // TUNING_SHARE
    result = {key: per_kind for key in REQUESTS}
    result[TUNING.key] = tuning
    result[TRAINING.key] = max(per_kind - tuning * CHILDREN_PER_TUNING, 0)
    return result


def preload(em: Emulator, per_kind: int, *, days: float = 120.0, seed: int = 0) -> None:
    """Store ``per_kind`` ended jobs of every kind (see the module docstring)."""
    if set(REQUESTS) != set(KINDS):
        raise RuntimeError(f"history has no request for {sorted(set(KINDS) - set(REQUESTS))}")
    draw = random.Random(seed)
    now = em.now()
    for key, count in counts(per_kind).items():
        kind = KINDS[key]
        moments = sorted(draw.uniform(now - days * DAY, now) for _ in range(count))
        for index, created in enumerate(moments):
            _past_job(em, kind, index, created, now=now, draw=draw)
    for job in em.all_jobs():  # tuning children included
        job.preloaded = True
        em.history[job.kind.key] += 1


def _past_job(
    em: Emulator, kind: EmulatedKind, index: int, created: float, *, now: float, draw: random.Random
) -> None:
    median, spread = DURATIONS[kind.key]
    # Ended before now: a job created a moment ago was a short one.
    duration = min(draw.lognormvariate(0.0, spread) * median, max(now - created, 2.0) * 0.9)
    stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(created))
    name = f"{draw.choice(NAME_BASES[kind.key])}-{stamp}-{index % 1000:03d}"
    if len(name) > (32 if kind is TUNING else 63):
        name = f"{kind.key[:3]}-{index:06d}-{stamp[5:]}"[:32]
    roll = draw.random()
    tags: dict[str, Any] = {DURATION_TAG: f"{duration:.0f}", LOG_LINES_TAG: LOG_LINES}
    if roll < FAILED_SHARE and kind is not TUNING:
        tags[FAIL_TAG] = draw.choice(FAILURE_REASONS)
    job = new_job(
        em,
        kind,
        REQUESTS[kind.key](em, name),
        created_at=created,
        duration=duration,
        tags={key: str(value) for key, value in tags.items()},
    )
    if FAILED_SHARE <= roll < FAILED_SHARE + STOPPED_SHARE:
        request_stop(em, job, created + duration * draw.uniform(0.2, 0.8))
