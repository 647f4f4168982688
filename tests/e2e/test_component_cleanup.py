"""The cleanup component as an exit handler runs it: a subprocess, against the emulator.

Jobs of every stoppable kind are made with the run-id tag the components put on their jobs,
beside jobs of another run and a job of this run that has already ended; the cleanup must stop
exactly this run's running jobs, wait until they have stopped, and name them.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from support import requests as req
from support.clock import HeldClock
from support.components import component_env
from support.stats import fetch_stats

RUN = "run-1234"
OTHER_RUN = "run-9999"
RUN_ID_TAG = "smrun:run-id"
LONG = {"emulator:duration-seconds": "60"}


async def run_cleanup(url: str, out: Path, *extra: str) -> tuple[int, str]:
    args = ["--region", "us-east-1", "--endpoint_url", url, *extra]
    args += ["--stopped_jobs_output_path", str(out / "stopped_jobs")]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "components.cleanup",
        *args,
        env=component_env(args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    return process.returncode or 0, stderr.decode()


def tuning_request(name: str, tags: list[dict[str, str]]) -> dict[str, Any]:
    training = req.training("unused")
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "test:msd"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "IntegerParameterRanges": [{"Name": "k", "MinValue": "2", "MaxValue": "20"}]
            },
        },
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {
                "TrainingImage": req.IMAGE,
                "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": "test:msd", "Regex": "msd=([0-9.]+)"}],
            },
            "RoleArn": req.ROLE,
            "InputDataConfig": training["InputDataConfig"],
            "OutputDataConfig": training["OutputDataConfig"],
            "ResourceConfig": training["ResourceConfig"],
            "StoppingCondition": training["StoppingCondition"],
        },
        "Tags": tags,
    }


async def make_jobs(sagemaker: Any, run_id: str, suffix: str, **extra_tags: str) -> list[str]:
    """One running job of every stoppable kind, tagged as the components tag them."""
    tags = req.tags(**{RUN_ID_TAG: run_id, **LONG, **extra_tags})
    names = [f"{kind}-{suffix}" for kind in ("train", "tune", "process", "transform", "label")]
    await sagemaker.create_model(**req.model(f"model-{suffix}"))
    await asyncio.gather(
        sagemaker.create_training_job(**req.training(names[0], Tags=tags)),
        sagemaker.create_hyper_parameter_tuning_job(**tuning_request(names[1], tags)),
        sagemaker.create_processing_job(**req.processing(names[2], Tags=tags)),
        sagemaker.create_transform_job(**req.transform(names[3], f"model-{suffix}", Tags=tags)),
        sagemaker.create_labeling_job(
            **req.labeling(
                names[4],
                "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/team",
                Tags=tags,
            )
        ),
    )
    return names


def rows_by_name(stats: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in stats["jobs"]}


async def test_stops_only_the_runs_running_jobs_and_waits_for_them(
    emulator: Any, sagemaker: Any, tmp_path: Path
) -> None:
    ours = await make_jobs(sagemaker, RUN, "ours")
    theirs = await make_jobs(sagemaker, OTHER_RUN, "theirs")
    # This run's job that has already ended, and an untagged one: neither is touched.
    await sagemaker.create_training_job(
        **req.training(
            "train-done", Tags=req.tags(**{RUN_ID_TAG: RUN, "emulator:duration-seconds": 0})
        )
    )
    await sagemaker.create_training_job(**req.training("train-untagged", Tags=req.tags(**LONG)))
    # The tuning job's children carry its tags: its Stop stops them, no Stop of their own.
    children = [
        summary["TrainingJobName"]
        for summary in (
            await sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
                HyperParameterTuningJobName="tune-ours"
            )
        )["TrainingJobSummaries"]
    ]
    assert children

    started = time.monotonic()
    code, stderr = await run_cleanup(emulator.url, tmp_path, "--kfp_run_id", RUN)
    assert code == 0, stderr
    assert json.loads((tmp_path / "stopped_jobs").read_text()) == sorted(ours)

    stats = await fetch_stats(emulator.url)
    rows = rows_by_name(stats)
    for name in ours:
        assert rows[name]["stop_requested_at"] is not None, name
        assert rows[name]["status"] == "Stopped", name  # the cleanup waited for the stop
    for name in children:
        assert rows[name]["status"] == "Stopped", name
    for name in [*theirs, "train-done", "train-untagged"]:
        assert rows[name]["stop_requested_at"] is None, name
    assert stats["calls"]["StopTrainingJob"] == 1  # train-ours only, not the tuning children
    print(f"\ncleanup of {len(ours)} jobs took {time.monotonic() - started:.2f}s")


async def test_pipeline_run_id_input_names_another_run_and_endpoints_are_deleted(
    emulator: Any, sagemaker: Any, tmp_path: Path
) -> None:
    clock = emulator.emulator.clock = HeldClock()
    tags = req.tags(**{RUN_ID_TAG: OTHER_RUN, "emulator:duration-seconds": "2.5"})
    await sagemaker.create_training_job(
        **req.training("train-other", Tags=req.tags(**{RUN_ID_TAG: OTHER_RUN, **LONG}))
    )
    await sagemaker.create_model(**req.model("m"))
    await sagemaker.create_endpoint_config(
        EndpointConfigName="cfg",
        ProductionVariants=[
            {
                "VariantName": "v1",
                "ModelName": "m",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.xlarge",
            }
        ],
    )
    await sagemaker.create_endpoint(EndpointName="half-made", EndpointConfigName="cfg", Tags=tags)
    await sagemaker.create_endpoint(
        EndpointName="someone-elses",
        EndpointConfigName="cfg",
        Tags=req.tags(**{"emulator:duration-seconds": "2.5"}),
    )

    cleanup_run = asyncio.ensure_future(
        run_cleanup(
            emulator.url,
            tmp_path,
            "--pipeline_run_id",
            OTHER_RUN,
            "--kfp_run_id",
            RUN,
            "--include_endpoints",
            "True",
        )
    )
    # Time moves on once the cleanup has found the endpoint Creating and waits for it to leave.
    # (the emulator has no hook to await: its call counter is read, as a condition, not a time)
    while emulator.emulator.calls["DescribeEndpoint"] == 0 and not cleanup_run.done():  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    clock.release()
    code, stderr = await cleanup_run
    assert code == 0, stderr
    assert json.loads((tmp_path / "stopped_jobs").read_text()) == ["train-other"]
    rows = rows_by_name(await fetch_stats(emulator.url))
    # Deleted once it had left Creating (SageMaker refuses to delete it before).
    assert rows["half-made"]["stop_requested_at"] is not None, stderr
    assert rows["someone-elses"]["stop_requested_at"] is None
    assert "cleanup.endpoint_deleted" in stderr


async def test_nothing_to_stop_writes_an_empty_list(emulator: Any, tmp_path: Path) -> None:
    code, stderr = await run_cleanup(emulator.url, tmp_path, "--kfp_run_id", RUN)
    assert code == 0, stderr
    assert json.loads((tmp_path / "stopped_jobs").read_text()) == []


async def test_without_a_run_id_it_is_an_input_error(emulator: Any, tmp_path: Path) -> None:
    code, stderr = await run_cleanup(
        emulator.url, tmp_path, "--kfp_run_id", "{{$.pipeline_job_uuid}}"
    )
    assert code == 2
    assert "pipeline_run_id" in stderr
    assert not (tmp_path / "stopped_jobs").exists()
