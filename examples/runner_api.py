"""The runner's Python API: submit SageMaker jobs, follow one's logs, wait for the others.

    python examples/runner_api.py                            # an embedded local emulator
    python examples/runner_api.py --endpoint-url http://127.0.0.1:4566   # `smrun emulator`
    python examples/runner_api.py --region eu-west-1 --role ARN --image URI --bucket B  # AWS

The jobs have an identity (``run_id`` and a key), so their names are deterministic: running
this again with the same ``--run-id`` against the same endpoint re-attaches to the same jobs
instead of creating new ones. README's "Python API" snippet is the part of ``run`` between the
``snippet`` markers, as it is here (tests/e2e/test_example_runner_api.py checks both).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from runner import AwsTarget, Identity, LogTailer, Runner, RunnerConfig, TextSink

LOCAL_ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
LOCAL_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"  # k-means, us-east-1


def training_request(image: str, role: str, bucket: str) -> dict[str, Any]:
    """A k-means training request without a name: the runner derives it from the identity."""
    return {
        "RoleArn": role,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "HyperParameters": {"k": "10", "feature_dim": "784"},
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{bucket}/mnist/train",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/models"},
        "ResourceConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 10,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }


async def run(config: RunnerConfig, request: dict[str, Any], run_id: str) -> bool:
    """Three jobs: the first one's logs to stdout, then each outcome as it comes."""
    # snippet: start
    async with Runner(config) as runner:
        handles = [
            await runner.submit("training", request, identity=Identity(run_id, f"fit-{i}"))
            for i in range(3)
        ]
        tailer = LogTailer(runner.caller)
        first = await tailer.wait_with_logs(handles[0], TextSink(), request=request)
        print(f"{first.name}: {first.status}")
        outcomes = [first]
        async for outcome in runner.as_completed(handles[1:]):
            print(f"{outcome.name}: {outcome.status} {outcome.outputs['model_artifact_url']}")
            outcomes.append(outcome)
        await tailer.close()
    # snippet: end
    return all(outcome.succeeded for outcome in outcomes)


@contextlib.contextmanager
def local_emulator() -> Iterator[str]:
    """An embedded emulator (jobs of 3 s) for a machine without AWS: its URL."""
    from emulator.server import BackgroundEmulator
    from emulator.state import EmulatorConfig

    with BackgroundEmulator(EmulatorConfig(job_duration=3.0, log_lines=5)) as url:
        yield url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", help="an emulator's URL (default: start one here)")
    parser.add_argument("--region", help="real AWS: the region (no --endpoint-url)")
    parser.add_argument("--role", default=LOCAL_ROLE)
    parser.add_argument("--image", default=LOCAL_IMAGE)
    parser.add_argument("--bucket", default="smrun-example")
    parser.add_argument("--run-id", default="runner-api-example")
    args = parser.parse_args(argv)
    request = training_request(args.image, args.role, args.bucket)
    with contextlib.ExitStack() as stack:
        if args.region and not args.endpoint_url:
            target = AwsTarget(region=args.region)  # the standard AWS credential chain
        else:
            url = args.endpoint_url or stack.enter_context(local_emulator())
            target = AwsTarget.local(url)  # placeholder credentials, us-east-1
        # tuned_from_env: SMRUN_POLL_INITIAL and friends (tests follow short jobs briskly).
        config = RunnerConfig(aws=target).tuned_from_env()
        succeeded = asyncio.run(run(config, request, args.run_id))
    return 0 if succeeded else 1


if __name__ == "__main__":
    sys.exit(main())
