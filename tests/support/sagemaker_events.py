"""SageMaker state-change events in AWS's format, for the change feed's tests.

Shaped on the examples of AWS's developer guide, "Events that Amazon SageMaker AI sends to
Amazon EventBridge" (https://docs.aws.amazon.com/sagemaker/latest/dg/
automating-sagemaker-with-eventbridge.html; awsdocs/amazon-sagemaker-developer-guide,
doc_source/automating-sagemaker-with-eventbridge.md): the envelope's fields, the training
detail with its times as epoch-millisecond strings and ``Tags`` as a map, the transform detail
with no ``LastModifiedTime``, the endpoint detail with times as numbers.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"


def epoch_ms(moment: dt.datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def envelope(detail_type: str, arn: str, detail: dict[str, Any], time: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": "aws.sagemaker",
        "account": ACCOUNT,
        "time": time,
        "region": REGION,
        "resources": [arn],
        "detail": detail,
    }


def training_detail(
    name: str, status: str, modified: dt.datetime, tags: dict[str, str] | None = None
) -> dict[str, Any]:
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{name}"
    return {
        "TrainingJobName": name,
        "TrainingJobArn": arn,
        "TrainingJobStatus": status,
        "SecondaryStatus": status,
        "HyperParameters": {"Hyper": "Parameters"},
        "AlgorithmSpecification": {"TrainingImage": "TrainingImage", "TrainingInputMode": "File"},
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/SMRole",
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 20},
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
        "CreationTime": epoch_ms(modified - dt.timedelta(minutes=5)),
        "LastModifiedTime": epoch_ms(modified),
        "SecondaryStatusTransitions": [],
        "Tags": dict(tags or {}),
    }


def training_event(
    name: str, status: str, modified: dt.datetime, tags: dict[str, str] | None = None
) -> dict[str, Any]:
    detail = training_detail(name, status, modified, tags)
    time = modified.strftime("%Y-%m-%dT%H:%M:%SZ")
    return envelope("SageMaker Training Job State Change", detail["TrainingJobArn"], detail, time)


def transform_event(name: str, status: str, time: dt.datetime) -> dict[str, Any]:
    """As AWS's example: ISO times, and no LastModifiedTime in the detail."""
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:transform-job/{name}"
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ")
    detail = {
        "TransformJobName": name,
        "TransformJobArn": arn,
        "TransformJobStatus": status,
        "ModelName": "model",
        "TransformOutput": {"S3OutputPath": "s3://bucket/transformed"},
        "CreationTime": iso,
        "TransformStartTime": iso,
        "Tags": {},
    }
    return envelope("SageMaker Transform Job State Change", arn, detail, iso)


def endpoint_event(name: str, status: str, modified: dt.datetime) -> dict[str, Any]:
    """As AWS's example: times as numbers of milliseconds."""
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name.lower()}"
    detail = {
        "EndpointName": name,
        "EndpointArn": arn,
        "EndpointConfigName": f"{name}-config",
        "ProductionVariants": [{"DesiredWeight": 1.0, "DesiredInstanceCount": 1.0}],
        "EndpointStatus": status,
        "CreationTime": float(epoch_ms(modified)) - 1000.0,
        "LastModifiedTime": float(epoch_ms(modified)),
        "Tags": {},
    }
    return envelope("SageMaker Endpoint State Change", arn, detail, epoch_ms(modified))


def body(event: dict[str, Any]) -> str:
    return json.dumps(event)
