"""Minimal valid SageMaker requests, for tests to start from and override."""

from __future__ import annotations

from typing import Any

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"


def tags(**pairs: Any) -> list[dict[str, str]]:
    """``tags(**{"emulator:duration-seconds": 2})`` -> SageMaker's tag list."""
    return [{"Key": key, "Value": str(value)} for key, value in pairs.items()]


def training(name: str, *, instance_count: int = 1, **overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "RoleArn": ROLE,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": "s3://bucket/train",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/output"},
        "ResourceConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": instance_count,
            "VolumeSizeInGB": 30,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }
    request.update(overrides)
    return request


def processing(name: str, *, instance_count: int = 1, **overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "ProcessingJobName": name,
        "RoleArn": ROLE,
        "AppSpecification": {"ImageUri": IMAGE},
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceType": "ml.m5.xlarge",
                "InstanceCount": instance_count,
                "VolumeSizeInGB": 30,
            }
        },
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "out",
                    "S3Output": {
                        "S3Uri": "s3://bucket/processed",
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }
    request.update(overrides)
    return request


def model(name: str, **overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "ModelName": name,
        "ExecutionRoleArn": ROLE,
        "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": "s3://bucket/output/model.tar.gz"},
    }
    request.update(overrides)
    return request


def tuning(name: str, **overrides: Any) -> dict[str, Any]:
    """Four children, two at a time, each running 0.3 s in the emulator."""
    request: dict[str, Any] = {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {
                "Type": "Minimize",
                "MetricName": "validation:loss",
            },
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {"Name": "eta", "MinValue": "0.01", "MaxValue": "0.5"}
                ],
                "IntegerParameterRanges": [{"Name": "depth", "MinValue": "2", "MaxValue": "9"}],
            },
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"objective": "reg:squarederror"},
            "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            "RoleArn": ROLE,
            "OutputDataConfig": {"S3OutputPath": "s3://bucket/hpo"},
            "ResourceConfig": {
                "InstanceType": "ml.m5.xlarge",
                "InstanceCount": 1,
                "VolumeSizeInGB": 30,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
        "Tags": tags(**{"emulator:duration-seconds": 0.3}),
    }
    request.update(overrides)
    return request


def transform(
    name: str, model_name: str, *, instance_count: int = 1, **overrides: Any
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TransformJobName": name,
        "ModelName": model_name,
        "TransformInput": {
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/batch"}
            },
            "ContentType": "text/csv",
        },
        "TransformOutput": {"S3OutputPath": "s3://bucket/batch-out"},
        "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": instance_count},
    }
    request.update(overrides)
    return request


def labeling(name: str, workteam_arn: str, **overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "LabelingJobName": name,
        "LabelAttributeName": "label",
        "InputConfig": {
            "DataSource": {"S3DataSource": {"ManifestS3Uri": "s3://bucket/in.manifest"}}
        },
        "OutputConfig": {"S3OutputPath": "s3://bucket/labels"},
        "RoleArn": ROLE,
        "HumanTaskConfig": {
            "WorkteamArn": workteam_arn,
            "UiConfig": {"UiTemplateS3Uri": "s3://bucket/template.liquid"},
            "PreHumanTaskLambdaArn": "arn:aws:lambda:us-east-1:432418664414:function:PRE-BoundingBox",
            "TaskTitle": "Draw boxes",
            "TaskDescription": "Draw a box around each car",
            "NumberOfHumanWorkersPerDataObject": 1,
            "TaskTimeLimitInSeconds": 300,
            "AnnotationConsolidationConfig": {
                "AnnotationConsolidationLambdaArn": (
                    "arn:aws:lambda:us-east-1:432418664414:function:ACS-BoundingBox"
                )
            },
        },
    }
    request.update(overrides)
    return request


def cognito_members(group: str = "labelers") -> list[dict[str, Any]]:
    """A work team's MemberDefinitions: one Cognito user group."""
    return [
        {
            "CognitoMemberDefinition": {
                "UserPool": "us-east-1_abcdEFGH",
                "UserGroup": group,
                "ClientId": "client123",
            }
        }
    ]
