"""The example pipelines: they compile with kfp, and they run end to end as KFP would run them
(``support.kfp_local.KfpLocalRun``)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from support import requests as req
from support.environment import subprocess_env
from support.kfp_local import REPO, KfpLocalRun, by_component, explain, flatten
from support.stats import fetch_stats

EXAMPLES = REPO / "examples"
PIPELINES = ("mnist_kmeans", "tuning_flow")
FAST = {"emulator:duration-seconds": "0.3"}


def pipeline_module(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def compiled(name: str, tmp_path: Path) -> dict[str, Any]:
    target: Path = pipeline_module(name).main([str(tmp_path / f"{name}.yaml")])
    spec: dict[str, Any] = yaml.safe_load(target.read_text())
    return spec


def arguments(url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "role_arn": req.ROLE,
        "bucket_name": "bucket",
        "endpoint_url": url,
        "tags": dict(FAST),
        **overrides,
    }


async def test_the_examples_compile_from_the_command_line(tmp_path: Path) -> None:
    async def compile_one(name: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(EXAMPLES / f"{name}.py"),
            str(tmp_path / f"{name}.yaml"),
            cwd=tmp_path,
            env=subprocess_env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await process.communicate()
        return process.returncode or 0, stderr.decode()

    results = await asyncio.gather(*(compile_one(name) for name in PIPELINES))
    for name, (code, stderr) in zip(PIPELINES, results, strict=True):
        assert code == 0, stderr
        spec = yaml.safe_load((tmp_path / f"{name}.yaml").read_text())
        executors = spec["deploymentSpec"]["executors"].values()
        modules = {e["container"]["command"][-1] for e in executors}
        assert "components.cleanup" in modules, modules
        # The exit handler's task runs however the handled tasks ended.
        policies = [
            task.get("triggerPolicy", {}).get("strategy")
            for task in spec["root"]["dag"]["tasks"].values()
        ]
        assert "ALL_UPSTREAM_TASKS_COMPLETED" in policies


async def run_example(name: str, emulator: Any, tmp_path: Path) -> tuple[KfpLocalRun, dict]:
    run = KfpLocalRun(compiled(name, tmp_path), tmp_path / "run")
    started = time.monotonic()
    results = await run.run(arguments(emulator.url))
    print(f"\n{name} ran in {time.monotonic() - started:.1f}s")
    assert all(r.state == "SUCCEEDED" for r in flatten(results).values()), explain(results)
    # Nothing was left running, so the exit handler's cleanup stopped nothing.
    stopped = by_component(results, "sagemaker-cleanup").outputs["stopped_jobs"]
    assert json.loads(stopped) == []
    # Everything the run made carries its run's id: what the cleanup looks for.
    for row in (await fetch_stats(emulator.url))["jobs"]:
        assert row["tags"].get("smrun:run-id") == run.run_id, row["name"]
    return run, results


async def test_mnist_kmeans_runs_end_to_end(emulator: Any, tmp_path: Path) -> None:
    """train -> model -> deploy and batch transform."""
    _, results = await run_example("mnist_kmeans", emulator, tmp_path)
    train = by_component(results, "sagemaker-training-job").outputs
    assert train["training_image"] == pipeline_module("mnist_kmeans").KMEANS_IMAGE
    assert train["model_artifact_url"] == (
        f"s3://bucket/mnist_kmeans_example/output/{train['job_name']}/output/model.tar.gz"
    )
    summary = by_component(results, "sagemaker-training-job").artifacts["summary"]
    assert train["job_name"] in summary.read_text()  # the Markdown summary for the KFP UI
    model = by_component(results, "sagemaker-create-model").outputs
    assert model["model_name"] == train["job_name"]
    endpoint = by_component(results, "sagemaker-deploy-model").outputs["endpoint_name"]
    assert emulator.emulator.endpoints[endpoint].status(time.time()) == "InService"
    transform = by_component(results, "sagemaker-batch-transformation").outputs
    assert transform["output_location"] == "s3://bucket/mnist_kmeans_example/batch_output"
    (job,) = emulator.emulator.jobs["transform"].values()
    assert job.request["ModelName"] == model["model_name"]


async def test_tuning_flow_runs_end_to_end(emulator: Any, tmp_path: Path) -> None:
    """tune -> model from the best job's artifact and image -> deploy."""
    _, results = await run_example("tuning_flow", emulator, tmp_path)
    hpo = by_component(results, "sagemaker-hyperparameter-tuning").outputs
    best = emulator.emulator.jobs["training"][hpo["best_job_name"]]
    assert hpo["model_artifact_url"].endswith(f"/{hpo['best_job_name']}/output/model.tar.gz")
    assert best.request["AlgorithmSpecification"]["TrainingImage"] == hpo["training_image"]
    model = by_component(results, "sagemaker-create-model").outputs["model_name"]
    assert model == hpo["best_job_name"]
    assert (
        emulator.emulator.models[model].request["PrimaryContainer"]["ModelDataUrl"]
        == (hpo["model_artifact_url"])
    )
    endpoint = by_component(results, "sagemaker-deploy-model").outputs["endpoint_name"]
    assert emulator.emulator.endpoints[endpoint].status(time.time()) == "InService"


async def test_the_exit_handler_stops_what_a_killed_step_left_running(
    emulator: Any, tmp_path: Path
) -> None:
    """A pod killed outright (evicted, OOM-killed) cannot stop its job; the cleanup does."""
    run = KfpLocalRun(compiled("mnist_kmeans", tmp_path), tmp_path / "run")
    slow = arguments(emulator.url, tags={"emulator:duration-seconds": "120"})
    pipeline = asyncio.ensure_future(run.run(slow))

    deadline = time.monotonic() + 30
    while not (await fetch_stats(emulator.url))["jobs"]:
        assert time.monotonic() < deadline and not pipeline.done(), "no training job started"
        await asyncio.sleep(0.05)
    (train_task,) = [name for name in run.processes if name.startswith("sagemaker-training")]
    run.processes[train_task].send_signal(signal.SIGKILL)
    results = await asyncio.wait_for(pipeline, 60)

    flat = flatten(results)
    assert flat[train_task].state == "FAILED"
    assert by_component(results, "sagemaker-create-model").state == "SKIPPED"
    cleanup = by_component(results, "sagemaker-cleanup")
    assert cleanup.state == "SUCCEEDED", cleanup.stderr
    (job,) = (await fetch_stats(emulator.url))["jobs"]
    assert json.loads(cleanup.outputs["stopped_jobs"]) == [job["name"]]
    assert job["stop_requested_at"] is not None and job["status"] == "Stopped"
