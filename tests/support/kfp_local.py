"""Run a compiled KFP pipeline (its IR YAML) locally, as KFP's driver and launcher would.

``KfpLocalRun`` walks the DAGs (nested ones too, such as the exit handler's), resolves every
task's input parameters (pipeline arguments, upstream outputs, constants and the
pipeline-channel placeholders kfp leaves inside constants), fills the container's placeholders
the way the launcher does (``{{$.inputs.parameters['x']}}``,
``{{$.outputs.parameters['y'].output_file}}``, ``{{$.pipeline_job_uuid}}``,
``{{$.pipeline_task_name}}``), runs each executor's command as a subprocess once its upstream
tasks are done (independent tasks at once), and reads the output files back. A task whose
upstream failed is skipped, unless its trigger policy is ``ALL_UPSTREAM_TASKS_COMPLETED`` (the
exit handler's task), as in KFP.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support.components import start_container

REPO = Path(__file__).resolve().parents[2]

INPUT = re.compile(r"\{\{\$\.inputs\.parameters\['([^']+)'\]\}\}")
OUTPUT_FILE = re.compile(r"\{\{\$\.outputs\.parameters\['([^']+)'\]\.output_file\}\}")
ARTIFACT_PATH = re.compile(r"\{\{\$\.outputs\.artifacts\['([^']+)'\]\.path\}\}")
ANY_PLACEHOLDER = re.compile(r"\{\{\$\.[^}]*\}\}")


def launcher_text(value: Any) -> str:
    """A parameter as the KFP launcher puts it on the command line."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        # Go's strconv.FormatFloat(v, 'f', -1, 64): 86400.0 -> "86400"
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return json.dumps(value)


def fill_inputs(value: Any, inputs: dict[str, Any]) -> Any:
    """Constants may hold ``{{$.inputs.parameters['pipelinechannel--x']}}`` (an f-string over
    a pipeline parameter, also inside lists and dicts): the driver fills them in."""
    if isinstance(value, str):
        return INPUT.sub(lambda match: launcher_text(inputs[match.group(1)]), value)
    if isinstance(value, list):
        return [fill_inputs(item, inputs) for item in value]
    if isinstance(value, dict):
        return {key: fill_inputs(item, inputs) for key, item in value.items()}
    return value


@dataclass
class TaskResult:
    name: str
    state: str  # SUCCEEDED, FAILED, SKIPPED
    outputs: dict[str, Any] = field(default_factory=dict)
    returncode: int | None = None
    stderr: str = ""
    children: dict[str, TaskResult] = field(default_factory=dict)  # a DAG task's tasks
    artifacts: dict[str, Path] = field(default_factory=dict)  # output artifact -> local file


class KfpLocalRun:
    """One run of a compiled pipeline, its executors run as local subprocesses."""

    def __init__(
        self,
        spec: dict[str, Any],
        workdir: Path,
        run_id: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.spec = spec
        self.workdir = workdir
        self.run_id = run_id or str(uuid.uuid4())
        self.env = env or {}  # for every executor (a pod's env, e.g. AWS_ENDPOINT_URL_SAGEMAKER)
        self.processes: dict[str, asyncio.subprocess.Process] = {}  # task name -> process

    async def run(self, arguments: dict[str, Any]) -> dict[str, TaskResult]:
        root = self.spec["root"]
        inputs = self._with_defaults(root.get("inputDefinitions", {}), arguments)
        return await self._run_dag(root["dag"], inputs)

    @staticmethod
    def _with_defaults(definitions: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
        values = dict(given)
        for name, definition in definitions.get("parameters", {}).items():
            if name not in values and "defaultValue" in definition:
                values[name] = definition["defaultValue"]
        return values

    async def _run_dag(self, dag: dict[str, Any], scope: dict[str, Any]) -> dict[str, TaskResult]:
        tasks: dict[str, dict[str, Any]] = dag["tasks"]
        done: dict[str, asyncio.Future[TaskResult]] = {
            name: asyncio.get_running_loop().create_future() for name in tasks
        }

        async def one(name: str, task: dict[str, Any]) -> None:
            try:
                result = await self._run_task(name, task, scope, done)
            except BaseException as error:
                done[name].set_exception(error)
                raise
            done[name].set_result(result)

        await asyncio.gather(*(one(name, task) for name, task in tasks.items()))
        return {name: future.result() for name, future in done.items()}

    async def _run_task(
        self,
        name: str,
        task: dict[str, Any],
        scope: dict[str, Any],
        done: dict[str, asyncio.Future[TaskResult]],
    ) -> TaskResult:
        parameters: dict[str, Any] = task.get("inputs", {}).get("parameters", {})
        upstream = set(task.get("dependentTasks", []))
        for source in parameters.values():
            if "taskOutputParameter" in source:
                upstream.add(source["taskOutputParameter"]["producerTask"])
        finished = {producer: await done[producer] for producer in upstream}
        strategy = task.get("triggerPolicy", {}).get("strategy")
        if strategy != "ALL_UPSTREAM_TASKS_COMPLETED" and any(
            result.state != "SUCCEEDED" for result in finished.values()
        ):
            return TaskResult(name, "SKIPPED")

        component = self.spec["components"][task["componentRef"]["name"]]
        inputs: dict[str, Any] = {}
        constants: dict[str, Any] = {}
        for input_name, source in parameters.items():
            if "componentInputParameter" in source:
                inputs[input_name] = scope[source["componentInputParameter"]]
            elif "taskOutputParameter" in source:
                producer = source["taskOutputParameter"]
                inputs[input_name] = finished[producer["producerTask"]].outputs[
                    producer["outputParameterKey"]
                ]
            elif "runtimeValue" in source:
                constants[input_name] = source["runtimeValue"]["constant"]
            else:
                raise NotImplementedError(f"task {name}: input source {source}")
        inputs.update({key: fill_inputs(value, inputs) for key, value in constants.items()})
        inputs = self._with_defaults(component.get("inputDefinitions", {}), inputs)
        task_name = task.get("taskInfo", {}).get("name", name)
        if "dag" in component:
            return await self._run_sub_dag(task_name, component, inputs)
        return await self._run_executor(task_name, component, inputs)

    async def _run_sub_dag(
        self, name: str, component: dict[str, Any], inputs: dict[str, Any]
    ) -> TaskResult:
        children = await self._run_dag(component["dag"], inputs)
        state = (
            "SUCCEEDED"
            if all(child.state == "SUCCEEDED" for child in children.values())
            else "FAILED"
        )
        outputs: dict[str, Any] = {}
        for output, source in component["dag"].get("outputs", {}).get("parameters", {}).items():
            selector = source["valueFromParameter"]
            child = children[selector["producerSubtask"]]
            if child.state == "SUCCEEDED":
                outputs[output] = child.outputs[selector["outputParameterKey"]]
        return TaskResult(name, state, outputs, children=children)

    async def _run_executor(
        self, name: str, component: dict[str, Any], inputs: dict[str, Any]
    ) -> TaskResult:
        container = self.spec["deploymentSpec"]["executors"][component["executorLabel"]][
            "container"
        ]
        outdir = self.workdir / name
        outdir.mkdir(parents=True, exist_ok=True)
        declared = component.get("outputDefinitions", {}).get("parameters", {})
        output_files = {output: outdir / output for output in declared}
        artifacts = component.get("outputDefinitions", {}).get("artifacts", {})
        artifact_files = {artifact: outdir / "artifacts" / artifact for artifact in artifacts}

        def fill(text: str) -> str:
            text = INPUT.sub(lambda match: launcher_text(inputs[match.group(1)]), text)
            text = OUTPUT_FILE.sub(lambda match: str(output_files[match.group(1)]), text)
            text = ARTIFACT_PATH.sub(lambda match: str(artifact_files[match.group(1)]), text)
            text = text.replace("{{$.pipeline_job_uuid}}", self.run_id)
            text = text.replace("{{$.pipeline_task_name}}", name)
            left = ANY_PLACEHOLDER.search(text)
            assert left is None, f"task {name}: placeholder this launcher does not fill: {left}"
            return text

        command = [fill(part) for part in [*container["command"], *container.get("args", [])]]
        process = await start_container(command, self.env, REPO)
        self.processes[name] = process
        _, stderr = await process.communicate()
        code = process.returncode
        if code != 0:
            return TaskResult(name, "FAILED", returncode=code, stderr=stderr.decode())
        outputs: dict[str, Any] = {}
        for output, definition in declared.items():
            text = output_files[output].read_text()
            kind = definition.get("parameterType", "STRING")
            outputs[output] = text if kind == "STRING" else json.loads(text)
        return TaskResult(
            name,
            "SUCCEEDED",
            outputs,
            code,
            stderr.decode(),
            artifacts={a: path for a, path in artifact_files.items() if path.exists()},
        )


def flatten(results: dict[str, TaskResult]) -> dict[str, TaskResult]:
    """Every task of the run by its name, nested DAGs' tasks included."""
    flat: dict[str, TaskResult] = {}
    for name, result in results.items():
        flat[name] = result
        flat.update(flatten(result.children))
    return flat


def by_component(results: dict[str, TaskResult], prefix: str) -> TaskResult:
    """The one task made from a component (tasks are named after the component's name)."""
    (result,) = [r for name, r in flatten(results).items() if name.startswith(prefix)]
    return result


def explain(results: dict[str, TaskResult]) -> str:
    return "\n".join(
        f"{name}: {r.state} {r.returncode} {r.stderr[-2000:]}"
        for name, r in flatten(results).items()
        if r.state != "SUCCEEDED"
    )
