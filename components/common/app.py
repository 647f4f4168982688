"""What every component does around its own request: parse, run, write outputs, exit.

A component module supplies its ``ComponentSpec``, a ``check(run)`` that builds its request(s)
without calling AWS, and an ``execute(run)`` coroutine that builds them and calls
``run.job(kind, request)``; ``main`` does the rest:

- inputs parsed and checked before anything else: every problem at once (bad values, the
  component's own rules, then SageMaker's service model, each named by the input that fills
  the field), exit 2, nothing created, and a summary that lists them;
- one Runner for the pod, configured from the region/endpoint/role inputs: ``endpoint_url`` is
  SageMaker's alone (as in v1); CloudWatch Logs and STS find theirs the way botocore does (a
  warning when that sends ``assume_role`` to AWS's STS while SageMaker's endpoint is elsewhere);
- the run's identity from KFP's placeholders, so a restarted pod re-attaches to its job;
- the jobs' CloudWatch logs streamed live to stdout, drained before the outcome is reported;
- SIGTERM/SIGINT stop every job first, then exit 143/130;
- outputs written to the paths KFP gave before success is reported; exit 0, or 1 when a job
  failed or was stopped, or when its logs or the role to assume could not be had (one line on
  stderr, never a traceback).

Pod logs are readable lines (timestamp, level, event, job, status, message) unless
``SMRUN_LOG_FORMAT=json`` asks for JSON lines; the jobs' own CloudWatch lines go to stdout as
they are.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.session
import structlog
from botocore.config import Config as BotocoreConfig
from botocore.exceptions import BotoCoreError

from components.common import summary
from components.common.inputs import (
    InputChecks,
    InputError,
    InputProblem,
    ParsedArgs,
    input_for_field,
    parse_args,
    unfilled,
)
from components.common.spec import SUMMARY, ComponentSpec
from runner.config import DEFAULT_SHUTDOWN_TIMEOUT, AwsTarget, RunnerConfig
from runner.core import Runner
from runner.errors import (
    AwsCallFailed,
    CredentialsUnavailable,
    RequestInvalid,
    RunnerError,
)
from runner.joblogs import LogSummary, LogTailer, TextSink
from runner.kinds import kind_named
from runner.naming import Identity, request_digest
from runner.telemetry import configure_logging
from runner.tracker import Outcome
from runner.validation import (
    Problem,
    endpoint_url_problem,
    queue_url_problem,
    region_problem,
    role_arn_problem,
    validate_request,
)
from smrun.signals import StopOnSignal

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
LOG_FORMAT_VARIABLE = "SMRUN_LOG_FORMAT"  # "json" for JSON lines; readable lines otherwise
# Seconds from SIGTERM to the component's exit (outputs written); a pod's grace is 30 s.
SHUTDOWN_TIMEOUT_VARIABLE = "SMRUN_SHUTDOWN_TIMEOUT"
log = structlog.get_logger("components")


class JobFailed(RunnerError):
    """A job the component ran did not succeed."""

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome
        super().__init__(
            f"{outcome.kind} job {outcome.name} ended {outcome.status}: {outcome.failure_reason}"
        )


class LogsUnavailable(RunnerError):
    """The job's CloudWatch logs could not be read (the pod log is how a KFP user sees the
    job, so the step fails, as v1's did, once the job has ended; a retry re-attaches to it)."""

    def __init__(self, outcome: Outcome, reason: str) -> None:
        self.outcome = outcome
        super().__init__(
            f"{outcome.kind} job {outcome.name} ended {outcome.status}, but its CloudWatch logs "
            f"could not be read ({reason})"
        )


class PodLogSink(TextSink):
    """The jobs' lines to stdout, and how each job's tail ended."""

    def __init__(self) -> None:
        super().__init__()
        self.summaries: dict[str, LogSummary] = {}

    def finish(self, summary: LogSummary) -> None:
        self.summaries[summary.job] = summary

    def unread(self) -> str | None:
        """Why some job's logs (a tuning job's: its best training job's) could not be read."""
        for tail in self.summaries.values():
            if tail.error:
                return f"{tail.job}: {tail.error}"
            if not tail.drained and tail.lines == 0:
                # Cut by the drain limit without one line read: CloudWatch Logs never answered.
                return (
                    f"{tail.job}: no answer from CloudWatch Logs within the drain limit; is "
                    "its endpoint reachable (AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, the config "
                    "file's services section)?"
                )
        return None


@dataclass
class ComponentInputs:
    """A component's parsed inputs and what its requests are built with, without AWS: a
    component's ``build_request`` takes one (the launcher makes one per manifest entry)."""

    spec: ComponentSpec
    inputs: dict[str, Any]
    run_id: str | None = None
    task: str | None = None
    checks: InputChecks = field(default_factory=InputChecks)  # problems found in the inputs

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

    def named(self, problem: Problem, fields: Mapping[str, str] | None = None) -> InputProblem:
        """A service-model problem named by the input that fills its field."""
        name = input_for_field(self.spec.fields if fields is None else fields, problem.path)
        return InputProblem(name or "", problem.rule, problem.path or None)

    def model_problems(
        self,
        kind: str,
        request: Mapping[str, Any],
        *,
        fields: Mapping[str, str] | None = None,
        filled_later: Iterable[str] = (),
    ) -> list[InputProblem]:
        """What SageMaker's service model finds wrong with ``request``, named by input. The
        job's name (and ``filled_later``) may still be missing: the runner or the component
        fills them in before it is sent. Fields whose part of the request already failed a
        component rule are not reported again."""
        job_kind = kind_named(kind)
        may_miss = {job_kind.name_field, *filled_later}
        failed = self.checks.failed_fields
        return [
            self.named(problem, fields)
            for problem in validate_request("sagemaker", job_kind.create, request)
            if not (problem.rule == "is required" and problem.path in may_miss)
            and not any(
                problem.path == part or problem.path.startswith((f"{part}.", f"{part}["))
                for part in failed
            )
        ]

    def checked(
        self, kind: str, request: Mapping[str, Any], *, filled_later: Iterable[str] = ()
    ) -> dict[str, Any]:
        """``request``, once it passes SageMaker's service model; else ``InputError`` with
        every problem found so far."""
        self.checks.raise_if_any(self.model_problems(kind, request, filled_later=filled_later))
        return dict(request)


@dataclass
class ComponentRun(ComponentInputs):
    """One component execution: its inputs, its runner, and the jobs it ran."""

    runner: Runner = field(kw_only=True)
    outcomes: list[Outcome] = field(default_factory=list)
    tailer: LogTailer | None = None  # made on the first job: job logs stream live to stdout
    log_sink: PodLogSink = field(default_factory=PodLogSink)

    async def job(self, kind: str, request: Mapping[str, Any], *, step: str = "") -> Outcome:
        """Submit (or re-attach to) one job and wait for it; ``JobFailed`` unless it succeeds."""
        self.checks.raise_if_any()  # never create anything from inputs with a problem
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
        unread = self.log_sink.unread()
        if unread:
            raise LogsUnavailable(outcome, unread)
        return outcome


Execute = Callable[[ComponentRun], Awaitable[Mapping[str, Any]]]
Check = Callable[[ComponentInputs], object]


def runner_config(
    inputs: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> RunnerConfig:
    """Where to run from the inputs; the pace (``SMRUN_POLL_*``, ``SMRUN_LOG_DRAIN_WAIT``)
    from the environment when set, else the runner's defaults."""
    aws = AwsTarget(
        region=inputs["region"] or None,
        sagemaker_endpoint_url=inputs.get("endpoint_url") or None,
        assume_role_arn=inputs.get("assume_role") or None,
    )
    return RunnerConfig(aws=aws, events_queue=inputs.get("events_queue") or None).tuned_from_env(
        environ
    )


def sts_endpoints(region: str | None) -> tuple[str, str]:
    """(where botocore sends STS calls here, AWS's own endpoint for the region): equal when
    nothing configures STS (``AWS_ENDPOINT_URL_STS``, ``AWS_ENDPOINT_URL``, the config file's
    ``services`` section). Clients are made only to read their resolved ``meta.endpoint_url``
    (botocore's public face of its resolution); placeholder keys keep the credential chain
    from running, and nothing is sent."""
    session = botocore.session.get_session()
    urls = []
    for ignore_configured in (False, True):
        client = session.create_client(
            "sts",
            region_name=region,
            aws_access_key_id="unused",
            aws_secret_access_key="unused",
            # (botocore 1.31's option; the stubs installed here predate it)
            config=BotocoreConfig(ignore_configured_endpoint_urls=ignore_configured),  # type: ignore[call-arg]
        )
        urls.append(client.meta.endpoint_url)
        client.close()
    return urls[0], urls[1]


def warn_of_sts_at_aws(inputs: Mapping[str, Any]) -> None:
    """v1's ``endpoint_url`` is SageMaker's alone, so with ``assume_role`` and nothing set for
    STS, the role is assumed at AWS's STS: say so before the first call, since against a local
    or private SageMaker that call only fails after the retries (a minute)."""
    if not (inputs.get("assume_role") and inputs.get("endpoint_url")):
        return
    try:
        resolved, aws = sts_endpoints(inputs["region"] or None)
    except BotoCoreError:  # a region botocore refuses: the runner reports it
        return
    if resolved == aws:
        log.warning(
            "component.sts_endpoint",
            sts=aws,
            message="endpoint_url is SageMaker's alone: assume_role calls STS at AWS's "
            "regional endpoint; to reach STS elsewhere set AWS_ENDPOINT_URL_STS (or "
            "AWS_ENDPOINT_URL, or an sts entry in the AWS config file's services section)",
        )


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


async def _run(
    spec: ComponentSpec, execute: Execute, check: Check | None, parsed: ParsedArgs
) -> int:
    inputs = parsed.values
    run_id = parsed.run_id
    task = None if unfilled(parsed.kfp_task) else parsed.kfp_task
    # Every request is built and checked before the runner exists: nothing can be created
    # from bad input, and every problem is found at once.
    checking = ComponentInputs(spec, inputs, run_id, task, checks=parsed.checks)
    try:
        check_target(inputs, checking.checks)
        check_role_to_assume(inputs, checking.checks)
        check_events_queue(inputs, checking.checks)
        if check is not None:
            check(checking)
        checking.checks.raise_if_any()
    except InputError as error:
        return _finish(spec, parsed, [], _failed(EXIT_BAD_INPUT, error, "bad_input"))
    warn_of_sts_at_aws(inputs)
    timeout = shutdown_timeout()
    async with Runner(runner_config(inputs)) as runner:
        # The runner's shutdown takes the timeout less what writing the outputs needs.
        with StopOnSignal(runner, grace=timeout - shutdown_reserve(timeout)) as signals:
            run = ComponentRun(spec, inputs, run_id, task, runner=runner)
            try:
                result = await _execute_until_shut_down(execute, run, shutdown_reserve(timeout) / 2)
            finally:
                if run.tailer is not None:
                    await run.tailer.close()
            if signals.received:
                await signals.wait_for_shutdown()
                result = (signals.exit_code, {}, _stopped_reason(signals, run))
    return _finish(spec, parsed, run.outcomes, result)


def shutdown_timeout(environ: Mapping[str, str] | None = None) -> float:
    """``SMRUN_SHUTDOWN_TIMEOUT`` seconds, else the default (below a pod's 30 s grace); a
    value that is not a number above 0 is the default too, said once as a warning."""
    text = (os.environ if environ is None else environ).get(SHUTDOWN_TIMEOUT_VARIABLE, "")
    if not text:
        return DEFAULT_SHUTDOWN_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        log.warning(
            "component.shutdown_timeout_ignored",
            variable=SHUTDOWN_TIMEOUT_VARIABLE,
            value=text,
            used=DEFAULT_SHUTDOWN_TIMEOUT,
        )
        return DEFAULT_SHUTDOWN_TIMEOUT
    return value


def shutdown_reserve(timeout: float) -> float:
    """Of a shutdown ``timeout``, what is kept after the runner's for the last log lines and
    the outputs."""
    return min(2.0, timeout * 0.2)


async def _execute_until_shut_down(execute: Execute, run: ComponentRun, drain: float) -> Result:
    """``_execute``'s result; after a signal, once the runner's shutdown is over (its job
    Stopped, or its bound run out), the execution gets ``drain`` seconds more for its last log
    lines and is then cancelled, so that the pod exits within the shutdown timeout."""
    execution = asyncio.ensure_future(_execute(execute, run))
    shut_down = asyncio.ensure_future(run.runner.wait_shut_down())
    try:
        await asyncio.wait({execution, shut_down}, return_when=asyncio.FIRST_COMPLETED)
        if not execution.done():
            await asyncio.wait({execution}, timeout=drain)
    finally:
        shut_down.cancel()
        if not execution.done():
            execution.cancel()
        await asyncio.gather(execution, shut_down, return_exceptions=True)
    if execution.cancelled():
        return EXIT_FAILED, {}, "shutdown ended before the job did"
    return execution.result()


def _stopped_reason(signals: StopOnSignal, run: ComponentRun) -> str:
    """What the signal did, with the jobs it left stopping (journaled nowhere else)."""
    assert signals.received is not None
    left = [handle.name for handle in run.runner.in_flight]
    reason = f"stopped by {signals.received.name}"
    if left:
        reason += f"; still stopping when the shutdown timeout ran out: {', '.join(left)}"
    return reason


def check_target(inputs: Mapping[str, Any], checks: InputChecks) -> None:
    """``region`` must be an AWS region name and ``endpoint_url`` an http(s) URL
    (``runner.validation``): botocore would refuse either only when the Runner makes its
    clients, a traceback or a one-line error that names no input, exit 1."""
    region = inputs.get("region") or ""
    problem = region_problem(region) if region else None
    if problem is not None:
        checks.add("region", problem)
    url = inputs.get("endpoint_url") or ""
    problem = endpoint_url_problem(url) if url else None
    if problem is not None:
        checks.add("endpoint_url", problem)


def check_role_to_assume(inputs: Mapping[str, Any], checks: InputChecks) -> None:
    """``assume_role`` must be an IAM role ARN, as SageMaker's own role fields must be (their
    pattern in botocore's SageMaker model, shape ``RoleArn``): refused here, a malformed one
    would only fail at STS, inside the first call that needs credentials."""
    role = inputs.get("assume_role") or ""
    problem = role_arn_problem(role) if role else None
    if problem is not None:
        checks.add("assume_role", problem)


def check_events_queue(inputs: Mapping[str, Any], checks: InputChecks) -> None:
    """``events_queue``, when given, must be an SQS queue URL (``runner.validation``, as the
    launcher's ``--events`` is checked)."""
    queue = inputs.get("events_queue") or ""
    problem = queue_url_problem(queue) if queue else None
    if problem is not None:
        checks.add("events_queue", problem)


Result = tuple[int, Mapping[str, Any], str | None]  # exit code, outputs, error


def _finish(
    spec: ComponentSpec, parsed: ParsedArgs, outcomes: Sequence[Outcome], result: Result
) -> int:
    """The summary (always, when asked for), then the outputs (on success only)."""
    code, outputs, error = result
    summary_path = parsed.output_paths.pop(SUMMARY.name, None)
    if summary_path is not None:
        text = summary.render(spec.display_name, parsed.values["region"], outcomes, error)
        write_outputs({SUMMARY.name: summary_path}, {SUMMARY.name: text})
    if code != EXIT_OK:
        return code
    write_outputs(parsed.output_paths, outputs)
    log.info("component.succeeded", component=spec.module, outputs=sorted(parsed.output_paths))
    return EXIT_OK


async def _execute(execute: Execute, run: ComponentRun) -> Result:
    """(exit code, outputs, error): bad input 2; a failed or stopped job, its logs or the
    role's credentials not to be had, or AWS refusing a call, 1. Always one line, no traceback."""
    try:
        return EXIT_OK, await execute(run), None
    except (InputError, RequestInvalid, RunnerError, BotoCoreError) as error:
        # JobFailed, JobConflict, LogsUnavailable... are RunnerErrors.
        return _failed(*_classified(error, run))


def _classified(error: Exception, run: ComponentInputs) -> tuple[int, Exception, str]:
    """(exit code, the error as the user is told it, what failed) for an error of the run."""
    if isinstance(error, InputError):
        return EXIT_BAD_INPUT, error, "bad_input"
    if isinstance(error, RequestInvalid):
        # The request as the runner sends it (its name and tags added) broke the model.
        return EXIT_BAD_INPUT, InputError.of([run.named(p) for p in error.problems]), "bad_input"
    if isinstance(error, CredentialsUnavailable):
        if error.code in ("ValidationError", "InvalidParameterValue"):
            return EXIT_BAD_INPUT, InputError("assume_role", str(error), "RoleArn"), "bad_input"
        return EXIT_FAILED, error, "credentials_failed"
    if isinstance(error, AwsCallFailed):
        # SageMaker refusing the request itself is bad input too.
        code = EXIT_BAD_INPUT if error.code == "ValidationException" else EXIT_FAILED
        return code, error, "aws_error"
    return EXIT_FAILED, error, "failed"


def _failed(code: int, error: Exception, what: str) -> tuple[int, Mapping[str, Any], str]:
    if isinstance(error, InputError):
        # The problems themselves follow on stderr (and in the summary): here, which inputs.
        inputs = list(dict.fromkeys(problem.name or "(request)" for problem in error.problems))
        log.error(f"component.{what}", problems=len(error.problems), inputs=inputs)
    else:
        log.error(f"component.{what}", error=str(error))
    print(f"error: {error}", file=sys.stderr)
    return code, {}, str(error)


def main(
    spec: ComponentSpec,
    execute: Execute,
    argv: Sequence[str] | None = None,
    *,
    check: Check | None = None,
) -> int:
    """Run the component; ``check`` builds its requests from the inputs without calling AWS
    (raising ``InputError``), so that bad input is found, all of it, before anything runs."""
    configure_logging(json=os.environ.get(LOG_FORMAT_VARIABLE, "").lower() == "json")
    try:
        parsed = parse_args(spec, sys.argv[1:] if argv is None else argv)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return asyncio.run(_run(spec, execute, check, parsed))
