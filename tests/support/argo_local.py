"""Run a kfp 1.8 pipeline (the Argo workflow its compiler writes) locally, as Argo would.

Enough of Argo for what kfp 1.8 emits: DAG templates whose tasks wait for their
``dependencies`` (a task after a failed one is skipped), arguments with
``{{inputs.parameters.x}}``, ``{{workflow.parameters.x}}`` and
``{{tasks.t.outputs.parameters.y}}`` (and ``{{workflow.uid}}`` in container arguments), container templates run as local subprocesses (the output
files kfp puts under ``/tmp/outputs/`` go to the run's own directory instead), output parameters
read from their ``valueFrom.path``, and the ``onExit`` template once the DAG has ended, however
it ended. Every parameter is text, as in Argo (kfp 1.8's client sent dicts and lists as JSON).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support.components import start_container

REPO = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{\{(inputs|workflow)\.parameters\.([\w-]+)\}\}")
TASK_OUTPUT = re.compile(r"\{\{tasks\.([\w-]+)\.outputs\.parameters\.([\w-]+)\}\}")
KFP1_OUTPUTS = "/tmp/outputs/"


@dataclass
class ArgoResult:
    name: str
    state: str  # Succeeded, Failed, Skipped
    outputs: dict[str, str] = field(default_factory=dict)
    stderr: str = ""
    children: dict[str, ArgoResult] = field(default_factory=dict)

    def flat(self) -> dict[str, ArgoResult]:
        found = {self.name: self}
        for child in self.children.values():
            found.update(child.flat())
        return found


class ArgoLocalRun:
    def __init__(self, workflow: dict[str, Any], workdir: Path, env: dict[str, str]) -> None:
        self.spec = workflow["spec"]
        self.templates = {template["name"]: template for template in self.spec["templates"]}
        self.workdir = workdir
        self.env = env
        self.parameters: dict[str, str] = {}
        self.uid = str(
            uuid.uuid4()
        )  # {{workflow.uid}}: the run's id (kfp 1.8's RUN_ID_PLACEHOLDER)

    async def run(self, arguments: dict[str, str]) -> ArgoResult:
        declared = self.spec.get("arguments", {}).get("parameters", [])
        self.parameters = {p["name"]: str(p.get("value", "")) for p in declared}
        self.parameters.update(arguments)
        entry = self.spec["entrypoint"]
        result = await self._template(entry, entry, dict(self.parameters))
        if "onExit" in self.spec:
            exit_name = self.spec["onExit"]
            result.children[exit_name] = await self._template(exit_name, exit_name, {})
        return result

    def _fill(self, text: str, inputs: dict[str, str], done: dict[str, ArgoResult]) -> str:
        def parameter(match: re.Match[str]) -> str:
            scope = inputs if match.group(1) == "inputs" else self.parameters
            return scope[match.group(2)]

        text = PLACEHOLDER.sub(parameter, text).replace("{{workflow.uid}}", self.uid)
        return TASK_OUTPUT.sub(lambda m: done[m.group(1)].outputs[m.group(2)], text)

    async def _template(self, task: str, name: str, inputs: dict[str, str]) -> ArgoResult:
        template = self.templates[name]
        if "dag" in template:
            return await self._dag(task, template["dag"], inputs)
        return await self._container(task, template, inputs)

    async def _dag(self, name: str, dag: dict[str, Any], inputs: dict[str, str]) -> ArgoResult:
        tasks = {task["name"]: task for task in dag["tasks"]}
        finished: dict[str, asyncio.Future[ArgoResult]] = {
            task: asyncio.get_running_loop().create_future() for task in tasks
        }

        async def one(task: dict[str, Any]) -> None:
            upstream = {dep: await finished[dep] for dep in task.get("dependencies", [])}
            if any(result.state != "Succeeded" for result in upstream.values()):
                finished[task["name"]].set_result(ArgoResult(task["name"], "Skipped"))
                return
            done = {n: f.result() for n, f in finished.items() if f.done()}
            arguments = {
                p["name"]: self._fill(str(p.get("value", "")), inputs, done)
                for p in task.get("arguments", {}).get("parameters", [])
            }
            result = await self._template(task["name"], task["template"], arguments)
            finished[task["name"]].set_result(result)

        await asyncio.gather(*(one(task) for task in tasks.values()))
        children = {task: future.result() for task, future in finished.items()}
        ok = all(child.state == "Succeeded" for child in children.values())
        return ArgoResult(name, "Succeeded" if ok else "Failed", children=children)

    async def _container(
        self, name: str, template: dict[str, Any], inputs: dict[str, str]
    ) -> ArgoResult:
        outputs_dir = self.workdir / name / "outputs"

        def fill(text: str) -> str:
            return self._fill(text, inputs, {}).replace(KFP1_OUTPUTS, f"{outputs_dir}/")

        container = template["container"]
        command = [fill(str(part)) for part in [*container["command"], *container.get("args", [])]]
        process = await start_container(command, self.env, REPO)
        _, stderr = await process.communicate()
        if process.returncode != 0:
            return ArgoResult(name, "Failed", stderr=stderr.decode())
        paths = {
            p["name"]: Path(fill(p["valueFrom"]["path"]))
            for p in template.get("outputs", {}).get("parameters", [])
        }
        return ArgoResult(name, "Succeeded", read_all(paths), stderr.decode())


def read_all(paths: dict[str, Path]) -> dict[str, str]:
    return {name: path.read_text() for name, path in paths.items()}
