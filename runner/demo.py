"""``make demo``: a short scripted batch against the embedded emulator (an entry point).

Starts the local SageMaker emulator on a free loopback port, then drives a small mixed batch
through the runner exactly as against AWS: training jobs (one fails, one runs Debugger rules),
a processing job, a model, an endpoint config and an endpoint, a batch transform, and one long
job that the final shutdown stops. Prints each outcome as it lands, then a summary table.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from runner.config import AwsTarget, PollPolicy, RetryPolicy, RunnerConfig
from runner.core import Runner
from runner.emulator.server import EmulatorServer
from runner.emulator.state import EmulatorConfig
from runner.events import configure_logging
from runner.naming import Identity
from runner.tracker import JobHandle, Outcome

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
S3 = "s3://smrun-demo"


def _tags(seconds: float, **extra: str) -> list[dict[str, str]]:
    return [{"Key": "emulator:duration-seconds", "Value": str(seconds)}] + [
        {"Key": key, "Value": value} for key, value in extra.items()
    ]


def _training(seconds: float, **extra: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "RoleArn": ROLE,
        "AlgorithmSpecification": {
            "TrainingImage": IMAGE,
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "train:loss", "Regex": "loss=([0-9.]+)"}],
        },
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"{S3}/mnist/train"}
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"{S3}/models"},
        "ResourceConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": 2,
            "VolumeSizeInGB": 30,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "Tags": _tags(seconds),
    }
    request.update(extra)
    return request


async def _run(console: Console) -> int:
    async with EmulatorServer(EmulatorConfig(job_duration=3.0, stop_duration=0.5)) as emulator:
        console.print(f"[bold]SageMaker emulator[/] on {emulator.url}")
        config = RunnerConfig(
            aws=AwsTarget.local(emulator.url),
            poll=PollPolicy(initial=0.3, maximum=1.0, sweep_interval=0.5, sweep_overlap=2.0),
            retry=RetryPolicy(initial=0.05, maximum=1.0),
        )
        batch = f"demo-{int(time.time())}"
        started = time.monotonic()
        async with Runner(config) as runner:
            handles: list[JobHandle] = []
            for index, seconds in enumerate((2.0, 3.0, 4.0, 2.5, 3.5)):
                handles.append(
                    await runner.submit(
                        "training", _training(seconds), identity=Identity(batch, f"train-{index}")
                    )
                )
            handles.append(
                await runner.submit(
                    "training",
                    _training(
                        2.0,
                        Tags=_tags(2.0, **{"emulator:fail-reason": "AlgorithmError: loss is NaN"}),
                    ),
                    identity=Identity(batch, "train-diverges"),
                )
            )
            rules = [{"RuleConfigurationName": "LossNotDecreasing", "RuleEvaluatorImage": IMAGE}]
            handles.append(
                await runner.submit(
                    "training",
                    _training(2.0, DebugRuleConfigurations=rules),
                    identity=Identity(batch, "train-rules"),
                )
            )
            model = await runner.submit(
                "model",
                {
                    "ExecutionRoleArn": ROLE,
                    "PrimaryContainer": {
                        "Image": IMAGE,
                        "ModelDataUrl": f"{S3}/models/model.tar.gz",
                    },
                },
                identity=Identity(batch, "model"),
            )
            model_name = (await model.wait()).outputs["model_name"]
            config_handle = await runner.submit(
                "endpoint_config",
                {
                    "ProductionVariants": [
                        {
                            "VariantName": "variant-name-1",
                            "ModelName": model_name,
                            "InitialInstanceCount": 1,
                            "InstanceType": "ml.m5.large",
                        }
                    ]
                },
                identity=Identity(batch, "endpoint-config"),
            )
            config_name = (await config_handle.wait()).outputs["endpoint_config_name"]
            handles.append(
                await runner.submit(
                    "endpoint",
                    {"EndpointConfigName": config_name, "Tags": _tags(2.0)},
                    identity=Identity(batch, "endpoint"),
                )
            )
            handles.append(
                await runner.submit(
                    "transform",
                    {
                        "ModelName": model_name,
                        "TransformInput": {
                            "DataSource": {
                                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"{S3}/batch"}
                            }
                        },
                        "TransformOutput": {"S3OutputPath": f"{S3}/batch-out"},
                        "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
                        "Tags": _tags(2.5),
                    },
                    identity=Identity(batch, "transform"),
                )
            )
            long_job = await runner.submit(
                "training", _training(600), identity=Identity(batch, "too-long")
            )

            outcomes: list[Outcome] = [await model.wait(), await config_handle.wait()]
            async for outcome in runner.as_completed(handles):
                outcomes.append(outcome)
                mark = "[green]ok[/]" if outcome.succeeded else "[red]failed[/]"
                console.print(f"{mark} {outcome.kind:<10} {outcome.name}  {outcome.status}")
            console.print("stopping what is still running ...")
            outcomes.extend(await runner.shutdown(grace=10))
            outcomes = list({o.name: o for o in outcomes}.values())
            assert long_job.done

        table = Table(
            title=f"batch {batch}: {len(outcomes)} jobs in {time.monotonic() - started:.1f}s"
        )
        for column in ("kind", "name", "status", "result", "detail"):
            table.add_column(column)
        for outcome in outcomes:
            detail = outcome.failure_reason or ", ".join(
                f"{k}={v}" for k, v in outcome.outputs.items() if k != "metrics"
            )
            result = (
                "succeeded"
                if outcome.succeeded
                else "stopped"
                if outcome.stopped_by_runner
                else "failed"
            )
            table.add_row(outcome.kind, outcome.name, outcome.status, result, detail[:70])
        console.print(table)
        expected_failures = {"Failed", "Stopped"}
        unexpected = [o for o in outcomes if not o.succeeded and o.status not in expected_failures]
        return 1 if unexpected else 0


def main() -> int:
    configure_logging(json=False)
    # Wide enough for the summary table when the output is a log, not a terminal.
    console = Console() if sys.stdout.isatty() else Console(width=160)
    return asyncio.run(_run(console))


if __name__ == "__main__":
    sys.exit(main())
