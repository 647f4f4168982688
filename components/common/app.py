"""What every component does around its own request: parse, run, write outputs, exit.

A component module supplies its ``ComponentSpec`` and an ``execute(run)`` coroutine that builds
its request(s) and calls ``run.job(kind, request)``; ``main`` does the rest:

- inputs parsed and checked (``InputError``: exit 2, nothing created);
- one Runner for the pod, configured from the region/endpoint/role inputs;
- the run's identity from KFP's placeholders, so a restarted pod re-attaches to its job;
- the jobs' CloudWatch logs streamed live to stdout, drained before the outcome is reported;
- SIGTERM/SIGINT stop every job first, then exit 143/130;
- outputs written to the paths KFP gave before success is reported; exit 0, or 1 when a job
  failed or was stopped.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from components.common import summary
from components.common.inputs import InputError, ParsedArgs, parse_args, unfilled
from components.common.spec import SUMMARY, ComponentSpec
from runner.config import AwsTarget, RunnerConfig
from runner.core import Runner
from runner.errors import AwsCallFailed, JobConflict, RequestInvalid, RunnerError
from runner.events import configure_logging
from runner.kinds import kind_named
from runner.logs import LogTailer, TextSink
from runner.naming import Identity, request_digest
from runner.signals import StopOnSignal
from runner.tracker import Outcome

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
log = structlog.get_logger("components")


class JobFailed(RunnerError):
    """A job the component ran did not succeed."""

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome
        super().__init__(
            f"{outcome.kind} job {outcome.name} ended {outcome.status}: {outcome.failure_reason}"
        )


@dataclass
class ComponentRun:
    """One component execution: its inputs, its runner, and the jobs it ran."""

    spec: ComponentSpec
    inputs: dict[str, Any]
    runner: Runner
    run_id: str | None
    task: str | None
    outcomes: list[Outcome] = field(default_factory=list)

    tailer: LogTailer | None = None  # made on the first job: job logs stream live to stdout
    log_sink: TextSink = field(default_factory=TextSink)

    def identity(self, kind: str, request: Mapping[str, Any], step: str) -> Identity | None:
        """Who asks for this job: the pipeline run, the task, and what the job does.

        The request digest is part of the key so that tasks sharing a name (a ParallelFor
        loop) get one job each, while a restarted pod, asking for the same job, finds it.
        """
        if self.run_id is None:
            return None
        digest = request_digest(request, kind_named(kind).name_field)[:10]
        return Identity(self.run_id, "-".join(filter(None, [self.task, step, digest])))

    def user_tags(self) -> list[dict[str, str]]:
        return [{"Key": str(k), "Value": str(v)} for k, v in self.inputs.get("tags", {}).items()]

    async def job(self, kind: str, request: Mapping[str, Any], *, step: str = "") -> Outcome:
        """Submit (or re-attach to) one job and wait for it; ``JobFailed`` unless it succeeds."""
        handle = await self.runner.submit(
            kind, request, identity=self.identity(kind, request, step)
        )
        log.info("component.job", kind=kind, job=handle.name, attached=handle.attached)
        # Returns once the job's last lines (its error, if it failed) have been printed.
        if self.tailer is None:
            self.tailer = LogTailer(self.runner.caller)
        outcome = await self.tailer.wait_with_logs(handle, self.log_sink, request=request)
        self.outcomes.append(outcome)
        if not outcome.succeeded:
            raise JobFailed(outcome)
        return outcome


Execute = Callable[[ComponentRun], Awaitable[Mapping[str, Any]]]


def runner_config(
    inputs: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> RunnerConfig:
    """Where to run from the inputs; the pace (``SMRUN_POLL_*``, ``SMRUN_LOG_DRAIN_WAIT``)
    from the environment when set, else the runner's defaults."""
    aws = AwsTarget(
        region=inputs["region"] or None,
        endpoint_url=inputs.get("endpoint_url") or None,
        assume_role_arn=inputs.get("assume_role") or None,
    )
    return RunnerConfig(aws=aws).tuned_from_env(environ)


def output_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def write_outputs(paths: Mapping[str, Path], values: Mapping[str, Any]) -> None:
    """Every declared output KFP asked for; a missing value is an error in the component."""
    for name, path in paths.items():
        if name not in values:
            raise RuntimeError(f"component produced no value for output {name!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".partial")
        temporary.write_text(output_text(values[name]))
        temporary.replace(path)  # never a half-written output


async def _run(spec: ComponentSpec, execute: Execute, parsed: ParsedArgs) -> int:
    inputs = parsed.values
    run_id = None if unfilled(parsed.kfp_run_id) else parsed.kfp_run_id
    task = None if unfilled(parsed.kfp_task) else parsed.kfp_task
    async with Runner(runner_config(inputs)) as runner:
        with StopOnSignal(runner) as signals:
            run = ComponentRun(spec, inputs, runner, run_id, task)
            try:
                code, outputs, error = await _execute(execute, run)
            finally:
                if run.tailer is not None:
                    await run.tailer.close()
            if signals.received:
                await signals.wait_for_shutdown()
                code, error = signals.exit_code, f"stopped by {signals.received.name}"
    summary_path = parsed.output_paths.pop(SUMMARY.name, None)
    if summary_path is not None:
        text = summary.render(spec.display_name, inputs["region"], run.outcomes, error)
        write_outputs({SUMMARY.name: summary_path}, {SUMMARY.name: text})
    if code != EXIT_OK:
        return code
    write_outputs(parsed.output_paths, outputs)
    log.info("component.succeeded", component=spec.module, outputs=sorted(parsed.output_paths))
    return EXIT_OK


async def _execute(
    execute: Execute, run: ComponentRun
) -> tuple[int, Mapping[str, Any], str | None]:
    """(exit code, outputs, error): bad input 2, a failed or stopped job 1."""
    try:
        return EXIT_OK, await execute(run), None
    except (InputError, RequestInvalid) as error:
        log.error("component.bad_input", error=str(error))
        return _failed(EXIT_BAD_INPUT, error)
    except AwsCallFailed as error:
        log.error("component.aws_error", error=str(error), code=error.code)
        # SageMaker refusing the request itself is bad input too.
        return _failed(
            EXIT_BAD_INPUT if error.code == "ValidationException" else EXIT_FAILED, error
        )
    except (JobFailed, JobConflict) as error:
        log.error("component.failed", error=str(error))
        return _failed(EXIT_FAILED, error)


def _failed(code: int, error: Exception) -> tuple[int, Mapping[str, Any], str]:
    print(f"error: {error}", file=sys.stderr)
    return code, {}, str(error)


def main(spec: ComponentSpec, execute: Execute, argv: Sequence[str] | None = None) -> int:
    configure_logging()
    try:
        parsed = parse_args(spec, sys.argv[1:] if argv is None else argv)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return asyncio.run(_run(spec, execute, parsed))
