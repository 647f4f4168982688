"""The SageMaker requests benchmarks send: one minimal valid training job, the same for all."""

from __future__ import annotations

from typing import Any

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"


def training_request(
    name: str | None = None,
    *,
    instances: int = 1,
    max_runtime: int = 3600,
    tags: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A CreateTrainingJob request; without ``name``, for a launcher that names the job."""
    request: dict[str, Any] = {
        **({"TrainingJobName": name} if name is not None else {}),
        "RoleArn": ROLE,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": "s3://bench/train",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://bench/output"},
        "ResourceConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": instances,
            "VolumeSizeInGB": 30,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime},
    }
    if tags is not None:
        request["Tags"] = tags
    return request
