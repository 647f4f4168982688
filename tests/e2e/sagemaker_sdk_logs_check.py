"""The SageMaker Python SDK v2's own log readers against the emulator's log streams.

Run with the Python of a virtualenv that has the SDK (``pip install 'sagemaker<3'``), never the
project's: ``python sagemaker_sdk_logs_check.py --endpoint-url http://127.0.0.1:PORT``. Every
client the SDK makes is pointed at the emulator by ``AWS_ENDPOINT_URL``.

It runs a 2-instance training job, a 2-instance processing job and a 1-instance transform job
to their end, waits until their late log lines are readable, then lets the SDK print each job's
logs once (``Session.logs_for_job``, ``logs_for_processing_job``, ``logs_for_transform_job``
with ``wait=False``: one read of every stream the SDK finds). It prints one JSON object: per
job, the lines the SDK printed and every stream's messages read directly with GetLogEvents.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import time
from typing import Any

ROLE = "arn:aws:iam::123456789012:role/sdk-logs"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/algo:latest"
LATE_LINES_WAIT = 2.0  # seconds after the end: more than the emulator's late_event_delay
RESOURCES = {"InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 5}


def create_jobs(sm: Any) -> dict[str, tuple[str, str]]:
    """(the kind's noun, its log group) by job name."""
    sm.create_training_job(
        TrainingJobName="sdk-train",
        RoleArn=ROLE,
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        OutputDataConfig={"S3OutputPath": "s3://bucket/out"},
        ResourceConfig={**RESOURCES, "InstanceCount": 2},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    sm.create_processing_job(
        ProcessingJobName="sdk-process",
        RoleArn=ROLE,
        AppSpecification={"ImageUri": IMAGE},
        ProcessingResources={"ClusterConfig": {**RESOURCES, "InstanceCount": 2}},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    sm.create_model(ModelName="sdk-model", PrimaryContainer={"Image": IMAGE}, ExecutionRoleArn=ROLE)
    sm.create_transform_job(
        TransformJobName="sdk-transform",
        ModelName="sdk-model",
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/in"}}
        },
        TransformOutput={"S3OutputPath": "s3://bucket/batch-out"},
        TransformResources={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
    )
    return {
        "sdk-train": ("TrainingJob", "/aws/sagemaker/TrainingJobs"),
        "sdk-process": ("ProcessingJob", "/aws/sagemaker/ProcessingJobs"),
        "sdk-transform": ("TransformJob", "/aws/sagemaker/TransformJobs"),
    }


def wait_until_ended(sm: Any, noun: str, name: str) -> None:
    describe = getattr(sm, f"describe_{noun.removesuffix('Job').lower()}_job")
    while describe(**{f"{noun}Name": name})[f"{noun}Status"] in ("InProgress", "Stopping"):
        time.sleep(0.2)


def stream_messages(logs: Any, group: str, name: str) -> dict[str, list[str]]:
    streams = {}
    pages = logs.get_paginator("describe_log_streams").paginate(
        logGroupName=group, logStreamNamePrefix=f"{name}/"
    )
    for page in pages:
        for stream in page["logStreams"]:
            messages, token = [], None
            while True:
                where = {"nextToken": token} if token else {"startFromHead": True}
                events = logs.get_log_events(
                    logGroupName=group, logStreamName=stream["logStreamName"], **where
                )
                messages += [event["message"] for event in events["events"]]
                if events["nextForwardToken"] == token:
                    break
                token = events["nextForwardToken"]
            streams[stream["logStreamName"]] = messages
    return streams


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint-url", required=True)
    args = parser.parse_args()
    os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url

    import boto3
    import sagemaker

    session = sagemaker.Session(boto_session=boto3.Session(region_name="us-east-1"))
    sm, logs = session.sagemaker_client, session.boto_session.client("logs")
    jobs = create_jobs(sm)
    for name, (noun, _) in jobs.items():
        wait_until_ended(sm, noun, name)
    time.sleep(LATE_LINES_WAIT)
    readers = {
        "sdk-train": session.logs_for_job,
        "sdk-process": session.logs_for_processing_job,
        "sdk-transform": session.logs_for_transform_job,
    }
    found: dict[str, Any] = {}
    for name, (_, group) in jobs.items():
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            readers[name](name, wait=False)
        found[name] = {
            "sdk": [line for line in printed.getvalue().splitlines() if line.strip()],
            "streams": stream_messages(logs, group, name),
        }
    print(json.dumps(found))


if __name__ == "__main__":
    main()
