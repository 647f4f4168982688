"""v1 pipelines on these components, with only their component file paths changed.

``v1_pipelines/v1.py`` holds the v1 project's own pipelines as v1 wrote them (its integration
tests' definitions and its samples, see that file), loading our ``components/*/component.yaml``.
They compile with kfp 1.8 (in a throwaway virtualenv: ``SMRUN_KFP1_PYTHON``, default
``/tmp/kfp18/bin/python``; skipped when absent) and with kfp 2.17, and run end to end against
the emulator as KFP 2 would run them (``support.kfp_local``), with v1's own argument sets
(``v1_pipelines/arguments.yaml``).

kfp 2 itself requires a type on every pipeline parameter, which v1's pipelines do not have:
``for_kfp2`` adds them (the type of the component input each parameter feeds) and changes
nothing else. kfp 2 also has no ``dsl.get_pipeline_conf`` (v1's endpoint pipelines set the
image pull policy with it), so a stand-in that does nothing is put there, and it refuses JSON
text for a list input, so the Ground Truth sample's ``channels=json.dumps(channels)`` becomes
``channels=channels`` there. The pipelines reach SageMaker and CloudWatch Logs through the
environment (``AWS_ENDPOINT_URL_SAGEMAKER``, ``AWS_ENDPOINT_URL_CLOUDWATCH_LOGS``), as v1's
did through the cluster's, so not one of their arguments changes.

No ``from __future__ import annotations`` here: kfp reads annotations as real types.
"""

import asyncio
import importlib.util
import inspect
import itertools
import json
import os
import re
import subprocess
import time
import types
from pathlib import Path
from typing import Any

import pytest
import yaml
from kfp import compiler, dsl

from support import requests as req
from support.argo_local import ArgoLocalRun
from support.components import run_component
from support.kfp_local import KfpLocalRun, by_component, explain, flatten
from support.stats import fetch_stats

V1_DIR = Path(__file__).parent / "v1_pipelines"
KFP1_PYTHON = Path(os.environ.get("SMRUN_KFP1_PYTHON", "/tmp/kfp18/bin/python"))
PLACEHOLDERS = {
    "REGION": "us-east-1",
    "DATA_BUCKET": "bucket",
    "SAGEMAKER_ROLE_ARN": req.ROLE,
    "KMEANS_REGISTRY": "382416733822",
}
INTEGERS = {
    *("instance_count", "volume_size", "max_run_time", "max_wait_time", "max_num_jobs"),
    *("max_parallel_jobs", "initial_instance_count_1", "max_concurrent", "max_payload"),
    *("ground_truth_num_workers_per_object", "ground_truth_time_limit"),
    *("ground_truth_task_availibility", "ground_truth_max_concurrent_tasks"),
    *("training_instance_count", "training_volume_size", "training_max_run_time"),
}
BOOLS = {"network_isolation", "traffic_encryption", "spot_instance", "update_endpoint"}
OBJECTS = {"hyperparameters", "static_parameters", "checkpoint_config", "environment"}
OBJECTS |= {"training_hyperparameters"}
ARRAYS = {"channels", "integer_parameters", "categorical_parameters", "container_entrypoint"}
ARRAYS |= {"container_arguments", "input_config", "output_config"}


def parameter_type(name: str) -> type:
    """The type of the component input a v1 pipeline parameter feeds."""
    for names, kind in ((INTEGERS, int), (BOOLS, bool), (OBJECTS, dict), (ARRAYS, list)):
        if name in names:
            return kind
    return str


def v1_module() -> Any:
    """A fresh copy of v1.py (kfp 2 annotations are set on its functions)."""
    spec = importlib.util.spec_from_file_location(
        f"v1_pipelines_{time.monotonic_ns()}", V1_DIR / "v1.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def for_kfp2(module: Any, function: Any, decorator: dict[str, str]) -> Any:
    if function.__name__ == "ground_truth_test":
        source = inspect.getsource(function).replace(
            "channels=json.dumps(channels)", "channels=channels"
        )
        namespace = dict(vars(module))
        exec(compile(source, str(V1_DIR / "v1.py"), "exec"), namespace)
        function = namespace[function.__name__]
    parameters = []
    for parameter in inspect.signature(function).parameters.values():
        kind = parameter_type(parameter.name)
        default = (
            parameter.default if isinstance(parameter.default, kind) else inspect.Parameter.empty
        )
        parameters.append(parameter.replace(annotation=kind, default=default))
    # Parameters keep v1's order (kfp passes them positionally); a "" default that is not of
    # the parameter's type is dropped, so such a parameter is given by the run's arguments.
    function.__signature__ = inspect.Signature(parameters, __validate_parameters__=False)
    return dsl.pipeline(**decorator)(function)


@pytest.fixture
def kfp2_pipelines(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setattr(
        dsl,
        "get_pipeline_conf",
        lambda: types.SimpleNamespace(set_image_pull_policy=lambda policy: None),
        raising=False,
    )
    module = v1_module()
    return {
        function.__name__: for_kfp2(module, function, decorator)
        for function, decorator in module.PIPELINES
    }


def compile_kfp2(pipeline: Any, path: Path) -> dict[str, Any]:
    compiler.Compiler().compile(pipeline, str(path))
    spec: dict[str, Any] = yaml.safe_load(path.read_text())
    return spec


def v1_arguments(name: str) -> dict[str, Any]:
    """One v1 integration test's arguments, placeholders filled as v1's tests filled them."""
    text = (V1_DIR / "arguments.yaml").read_text()
    text = re.sub(r"\(\((\w+)\)\)", lambda match: PLACEHOLDERS[match.group(1)], text)
    arguments: dict[str, Any] = yaml.safe_load(text)[name]
    return arguments


def typed(name: str, value: Any) -> Any:
    """A v1 argument as a kfp 2 run takes it: of its parameter's type ("True" -> True)."""
    kind = parameter_type(name)
    if kind is bool and isinstance(value, str):
        return value.strip().lower() == "true"
    if kind in (int, str):
        return kind(value)
    return value


def kfp1_text(value: Any) -> str:
    """A v1 argument as kfp 1.8's client sent it: JSON text for structures, else str()."""
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


# (component input, the upstream output that feeds it): every kind of connection v1 pipelines make.
V1_CONNECTIONS = {
    ("hyperparameters", "best_hyperparameters"),
    ("model_name", "best_job_name"),
    ("image", "training_image"),
    ("model_artifact_url", "model_artifact_url"),
    ("model_name", "job_name"),
    ("model_name_1", "model_name"),
    ("model_name_2", "model_name"),
    ("model_name", "model_name"),
    ("endpoint_name", "endpoint_name"),
    ("workteam_arn", "workteam_arn"),
}


def kfp1_connections(workflow: dict[str, Any]) -> set[tuple[str, str]]:
    """(input, output) pairs of an Argo workflow from kfp 1.8: a container argument
    ``--<input> {{inputs.parameters.<task>-<output>}}``."""
    found = set()
    for template in workflow["spec"]["templates"]:
        args = (template.get("container") or {}).get("args", [])
        for flag, value in itertools.pairwise(args):
            match = re.fullmatch(r"\{\{inputs\.parameters\.([\w-]+)-(\w+)\}\}", str(value))
            if str(flag).startswith("--") and match:
                found.add((str(flag)[2:], match.group(2)))
    return found


def connections(spec: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    """(consumer task, input, producer task, output) of every task-to-task connection, nested
    DAGs (an exit handler's) included."""
    found = set()
    dags = [spec["root"]["dag"]] + [c["dag"] for c in spec["components"].values() if "dag" in c]
    for dag in dags:
        for consumer, task in dag["tasks"].items():
            for name, source in task.get("inputs", {}).get("parameters", {}).items():
                producer = source.get("taskOutputParameter")
                if producer:
                    found.add(
                        (consumer, name, producer["producerTask"], producer["outputParameterKey"])
                    )
    return found


# --- compiling ---------------------------------------------------------------------------


def compiled_names(directory: Path) -> set[str]:
    return {path.stem for path in directory.glob("*.yaml")}


@pytest.mark.skipif(not KFP1_PYTHON.exists(), reason=f"no kfp 1.8 at {KFP1_PYTHON}")
async def test_every_v1_pipeline_compiles_with_kfp_1_8(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        str(KFP1_PYTHON),
        str(V1_DIR / "v1.py"),
        str(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()[-3000:]
    names = {function.__name__ for function, _ in v1_module().PIPELINES}
    assert compiled_names(tmp_path) == names, stdout.decode()

    def arguments(name: str) -> dict[tuple[str, str], str]:
        workflow = yaml.safe_load((tmp_path / f"{name}.yaml").read_text())
        return {
            (task["name"], parameter["name"]): str(parameter.get("value"))
            for template in workflow["spec"]["templates"]
            for task in (template.get("dag") or {}).get("tasks", [])
            for parameter in task.get("arguments", {}).get("parameters", [])
        }

    mnist = arguments("mnist_classification_with_cleanup")
    hpo = "sagemaker-hyperparameter-tuning"
    assert mnist["sagemaker-training-job", f"{hpo}-best_hyperparameters"] == (
        f"{{{{tasks.{hpo}.outputs.parameters.{hpo}-best_hyperparameters}}}}"
    )
    for consumer in ("sagemaker-deploy-model", "sagemaker-batch-transformation"):
        assert (
            ".outputs.parameters.sagemaker-create-model-model_name"
            in (mnist[consumer, "sagemaker-create-model-model_name"])
        )
    workflow = yaml.safe_load((tmp_path / "mnist_classification_with_cleanup.yaml").read_text())
    assert workflow["spec"]["onExit"] == "sagemaker-cleanup"
    update = arguments("update_endpoint_pipeline")
    assert (
        "sagemaker-deploy-model-endpoint_name"
        in (update["sagemaker-deploy-model-2", "sagemaker-deploy-model-endpoint_name"])
    )
    ground_truth = arguments("ground_truth_test")
    assert ("sagemaker-ground-truth", "sagemaker-private-workforce-workteam_arn") in ground_truth
    every = yaml.safe_load((tmp_path / "every_v1_connection.yaml").read_text())
    assert kfp1_connections(every) >= V1_CONNECTIONS


def test_every_v1_pipeline_compiles_with_kfp_2(
    kfp2_pipelines: dict[str, Any], tmp_path: Path
) -> None:
    specs = {
        name: compile_kfp2(pipeline, tmp_path / f"{name}.yaml")
        for name, pipeline in kfp2_pipelines.items()
    }
    hpo, train = "sagemaker-hyperparameter-tuning", "sagemaker-training-job"
    mnist = connections(specs["mnist_classification_with_cleanup"])
    assert (train, "hyperparameters", hpo, "best_hyperparameters") in mnist
    assert ("sagemaker-create-model", "model_artifact_url", train, "model_artifact_url") in mnist
    assert ("sagemaker-create-model", "image", train, "training_image") in mnist
    assert ("sagemaker-create-model", "model_name", train, "job_name") in mnist
    model = "sagemaker-create-model"
    assert ("sagemaker-deploy-model", "model_name_1", model, "model_name") in mnist
    assert ("sagemaker-batch-transformation", "model_name", model, "model_name") in mnist
    update = connections(specs["update_endpoint_pipeline"])
    deploy = "sagemaker-deploy-model"
    assert ("sagemaker-deploy-model-2", "endpoint_name", deploy, "endpoint_name") in update
    ground_truth = connections(specs["ground_truth_test"])
    workforce = "sagemaker-private-workforce"
    assert ("sagemaker-ground-truth", "workteam_arn", workforce, "workteam_arn") in ground_truth
    every = connections(specs["every_v1_connection"])
    assert {(name, output) for _, name, _, output in every} >= V1_CONNECTIONS
    policies = [
        task.get("triggerPolicy", {}).get("strategy")
        for task in specs["mnist_classification_with_cleanup"]["root"]["dag"]["tasks"].values()
    ]
    assert "ALL_UPSTREAM_TASKS_COMPLETED" in policies


# --- running -------------------------------------------------------------------------------


def pod_env(url: str) -> dict[str, str]:
    """What a pod's environment would say: SageMaker and Logs at the emulator."""
    return {"AWS_ENDPOINT_URL_SAGEMAKER": url, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": url}


async def run_v1(
    pipeline: Any, arguments: dict[str, Any], emulator: Any, tmp_path: Path
) -> KfpLocalRun:
    spec = compile_kfp2(pipeline, tmp_path / "pipeline.yaml")
    run = KfpLocalRun(spec, tmp_path / "run", env=pod_env(emulator.url))
    results = await run.run(arguments)
    assert all(r.state == "SUCCEEDED" for r in flatten(results).values()), explain(results)
    run.results = results  # type: ignore[attr-defined]
    return run


async def test_the_v1_mnist_sample_runs_tuning_into_training_into_hosting(
    kfp2_pipelines: dict[str, Any], emulator: Any, tmp_path: Path
) -> None:
    """process -> tune -> train with the best hyperparameters -> model -> deploy and batch
    transform by ``.output``, inside an exit handler with the cleanup."""
    run = await run_v1(
        kfp2_pipelines["mnist_classification_with_cleanup"],
        {"role_arn": req.ROLE, "bucket_name": "bucket"},
        emulator,
        tmp_path,
    )
    results = run.results  # type: ignore[attr-defined]
    jobs = emulator.emulator.jobs
    hpo = by_component(results, "sagemaker-hyperparameter-tuning").outputs
    best = jobs["training"][hpo["best_job_name"]].request["HyperParameters"]
    train = by_component(results, "sagemaker-training-job").outputs
    sent = jobs["training"][train["job_name"]].request["HyperParameters"]
    assert sent == {k: v for k, v in best.items() if k != "_tuning_objective_metric"}
    assert set(sent) >= {"k", "feature_dim", "mini_batch_size", "init_method"}
    model = by_component(results, "sagemaker-create-model").outputs["model_name"]
    assert model == train["job_name"]
    container = emulator.emulator.models[model].request["PrimaryContainer"]
    assert container["ModelDataUrl"] == train["model_artifact_url"]
    endpoint = by_component(results, "sagemaker-deploy-model").outputs["endpoint_name"]
    assert emulator.emulator.endpoints[endpoint].status(time.time()) == "InService"
    (transform,) = jobs["transform"].values()
    assert transform.request["ModelName"] == model
    assert json.loads(by_component(results, "sagemaker-cleanup").outputs["stopped_jobs"]) == []
    for row in (await fetch_stats(emulator.url))["jobs"]:
        assert row["tags"].get("smrun:run-id") == run.run_id, row["name"]


async def test_the_v1_update_endpoint_pipeline_runs_with_v1_arguments(
    kfp2_pipelines: dict[str, Any], emulator: Any, tmp_path: Path
) -> None:
    """model -> deploy -> deploy again with ``endpoint_name=deploy.output`` and
    ``update_endpoint``, with the v1 integration test's own arguments."""
    arguments = v1_arguments("kmeans-mnist-update-endpoint")
    await run_v1(
        kfp2_pipelines["update_endpoint_pipeline"],
        {name: typed(name, value) for name, value in arguments.items()},
        emulator,
        tmp_path,
    )
    endpoint = emulator.emulator.endpoints[arguments["endpoint_name"]]
    assert endpoint.status(time.time()) == "InService"
    assert [deployment.is_update for deployment in endpoint.deployments] == [False, True]
    serving = endpoint.serving(time.time())
    assert serving is not None and serving.is_update
    assert serving.config.variants()[0]["InstanceType"] == arguments["instance_type_2"]


async def test_the_v1_batch_transform_pipeline_runs_with_v1_arguments(
    kfp2_pipelines: dict[str, Any], emulator: Any, tmp_path: Path
) -> None:
    arguments = v1_arguments("kmeans-mnist-batch-transform")
    await run_v1(
        kfp2_pipelines["batch_transform_pipeline"],
        {name: typed(name, value) for name, value in arguments.items()},
        emulator,
        tmp_path,
    )
    job = emulator.emulator.jobs["transform"][arguments["job_name"]]
    assert job.request["ModelName"] == arguments["model_name"]
    assert job.request["MaxConcurrentTransforms"] == 4
    assert job.request["TransformInput"]["SplitType"] == "Line"


# --- v1's argument sets, as kfp 1.8's client sent them ---------------------------------------

# v1 integration test -> (component, pipeline parameter -> component input where renamed)
V1_COMPONENT_RUNS = {
    "simple-mnist-training": ("train", {}),
    "spot-sample-pipeline-training": ("train", {}),
    "kmeans-mnist-hpo": ("hyperparameter_tuning", {"hpo_strategy": "strategy"}),
    "kmeans-algo-mnist-processing": ("process", {}),
    "kmeans-mnist-model": ("model", {}),
    "create-workteam": ("workteam", {}),
}
# What v1's tests put in before running (test_workteam_component.py: the account's own Cognito
# user pool, app client and group; the config's "user-pool" is not a valid pool id).
V1_TEST_OVERRIDES = {
    "create-workteam": {
        "user_pool": "us-east-1_AbCdEf123",
        "client_id": "6vgq9ua1pv6klbbrlcmd7sl3fd",
        "user_groups": "labelers",
    },
}


@pytest.mark.parametrize("name", sorted(V1_COMPONENT_RUNS))
async def test_v1_argument_sets_run_as_kfp_1_8_passed_them(
    name: str, emulator: Any, tmp_path: Path
) -> None:
    """Each value as text, the way kfp 1.8 put it on the command line: JSON from
    ``json.dumps``, ``"True"``/``"False"``, numbers as ``str()``."""
    component, renamed = V1_COMPONENT_RUNS[name]
    given = {**v1_arguments(name), **V1_TEST_OVERRIDES.get(name, {})}
    arguments = {renamed.get(key, key): value for key, value in given.items()}
    arguments.setdefault("endpoint_url", emulator.url)
    args = [part for key, value in arguments.items() for part in (f"--{key}", kfp1_text(value))]
    code, _, stderr = await run_component(component, args)
    assert code == 0, stderr[-3000:]
    assert "Traceback" not in stderr


async def test_pod_logs_are_readable_lines_unless_json_is_asked_for(
    emulator: Any, tmp_path: Path
) -> None:
    arguments = v1_arguments("kmeans-mnist-model")
    args = [f"--{key}={kfp1_text(value)}" for key, value in arguments.items()]
    args += [f"--endpoint_url={emulator.url}"]
    code, _, text = await run_component("model", args)
    assert code == 0, text
    line = next(line for line in text.splitlines() if " job.submitted " in line)
    # timestamp, level, event, then the job first
    assert re.match(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z info job\.submitted job=\S+ kind=model", line
    ), line
    assert "{" not in line
    code, _, text = await run_component(
        "model",
        [*args[:-1], f"--model_name={arguments['model_name']}-json", args[-1]],
        {"SMRUN_LOG_FORMAT": "json"},
    )
    assert code == 0, text
    events = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert any(event["event"] == "job.submitted" for event in events)


# --- kfp 1.8's own workflows, run as Argo runs them -------------------------------------------


@pytest.fixture(scope="module")
def kfp1_workflows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not KFP1_PYTHON.exists():
        pytest.skip(f"no kfp 1.8 at {KFP1_PYTHON}")
    out = tmp_path_factory.mktemp("kfp1")
    subprocess.run(
        [str(KFP1_PYTHON), str(V1_DIR / "v1.py"), str(out)], check=True, capture_output=True
    )
    return out


# pipeline -> the v1 integration test whose arguments it runs with (or the sample's own)
KFP1_RUNS: dict[str, str | dict[str, str]] = {
    "create_endpoint_pipeline": "kmeans-mnist-endpoint",
    "update_endpoint_pipeline": "kmeans-mnist-update-endpoint",
    "batch_transform_pipeline": "kmeans-mnist-batch-transform",
    "training_pipeline": "simple-mnist-training",
    "hpo_pipeline": "kmeans-mnist-hpo",
    "workteam_test": "create-workteam",
    "mnist_classification_with_cleanup": {"role_arn": req.ROLE, "bucket_name": "bucket"},
    # The Ground Truth sample's defaults, and what its README has the user fill in.
    "ground_truth_test": {
        "role_arn": req.ROLE,
        "user_pool": "us-west-2_AbCdEf123",
        "client_id": "6vgq9ua1pv6klbbrlcmd7sl3fd",
        "user_groups": "labelers",
    },
}


@pytest.mark.parametrize("pipeline", sorted(KFP1_RUNS))
async def test_v1_pipelines_compiled_by_kfp_1_8_run_as_argo_runs_them(
    pipeline: str, kfp1_workflows: Path, emulator: Any, tmp_path: Path
) -> None:
    """The literal case: v1's pipeline, compiled by kfp 1.8, run with v1's arguments as kfp
    1.8's client sent them (all text), only the component paths changed."""
    given = KFP1_RUNS[pipeline]
    if isinstance(given, str):
        given = {**v1_arguments(given), **V1_TEST_OVERRIDES.get(given, {})}
    workflow = yaml.safe_load((kfp1_workflows / f"{pipeline}.yaml").read_text())
    run = ArgoLocalRun(workflow, tmp_path, pod_env(emulator.url))
    result = await run.run({name: kfp1_text(value) for name, value in given.items()})
    failed = {n: r.stderr[-2000:] for n, r in result.flat().items() if r.state != "Succeeded"}
    assert not failed, failed
    stats = await fetch_stats(emulator.url)
    assert any(call.startswith("Create") for call in stats["calls"]), stats["calls"]
    # The Argo workflow's uid is the run's id: what a restarted pod and the cleanup go by.
    for row in stats["jobs"]:
        assert row["tags"].get("smrun:run-id") == run.uid, row["name"]
    if pipeline == "ground_truth_test":  # the labeled manifests, by str() of an output, in JSON
        manifests = {
            value
            for task in result.flat().values()
            for key, value in task.outputs.items()
            if key.endswith("output_manifest_location")
        }
        (training,) = emulator.emulator.jobs["training"].values()
        sources = training.request["InputDataConfig"]
        assert {c["DataSource"]["S3DataSource"]["S3Uri"] for c in sources} == manifests
