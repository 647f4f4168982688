"""SageMaker - Cleanup: stop every SageMaker job a pipeline run left running.

Not a v1 component. Meant for ``dsl.ExitHandler``: KFP runs it when the run ends, however it
ended, so a failed, cancelled or timed-out run does not leave training, tuning, processing,
transform or labeling jobs running (and billing) in SageMaker::

    cleanup = components.load("cleanup")

    @dsl.pipeline(name="mnist")
    def pipeline(region: str = "us-east-1") -> None:
        with dsl.ExitHandler(cleanup(region=region)):
            ...

Every job the components submit carries the tag ``smrun:run-id`` = the KFP run's id
(``{{$.pipeline_job_uuid}}``). The cleanup lists the jobs of each kind that are still running
(``List<Kind>`` with ``StatusEquals``: Search covers only training and tuning jobs), reads each
candidate's tags, sends Stop to all of the run's jobs at once, then waits (bounded) until they
have stopped. A tuning job's training jobs carry its tags too; stopping the tuning job stops
them, so they are not stopped on their own. With ``include_endpoints`` it also deletes the
run's endpoints that are still being created (SageMaker deletes an endpoint only once it has
left ``Creating``: the cleanup waits for that, within the same bound).

``pipeline_run_id`` empty (the default) means this run; another run's id cleans that run.
Output ``stopped_jobs``: a JSON list of the names of the jobs it asked to stop. Exit 0 when
every Stop was accepted (a job that ended meanwhile is no error), 1 when one was refused.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from components.common.app import ComponentRun, main
from components.common.inputs import InputError, unfilled
from components.common.spec import ComponentSpec, Input, Output
from runner.backoff import Backoff
from runner.errors import AwsCallFailed, ResourceMissing
from runner.kinds import ENDPOINT, KINDS, Caller, Children, JobKind
from runner.naming import RUN_ID_TAG
from runner.session import AwsCaller

log = structlog.get_logger("components.cleanup")

# The kinds with a Stop, and the statuses in which each can still be stopped.
STOPPABLE: Mapping[JobKind, tuple[str, ...]] = {
    kind: tuple(sorted(kind.stoppable_states)) for kind in KINDS.values() if kind.stoppable_states
}
STOPPING = "Stopping"  # already asked to stop (e.g. by a component's SIGTERM): only waited for
ENDPOINT_BUSY = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})
WAIT_SECONDS = 600.0  # how long to wait for the stops (and endpoint deletions) to finish
LIST_PAGE = 100
MAX_POLL_SECONDS = 5.0  # the longest wait between two Describes of a job being waited for
TAG_READERS = 16  # ListTags calls in flight at once (the runner's rate limit applies anyway)

SPEC = ComponentSpec(
    module="cleanup",
    display_name="SageMaker - Cleanup",
    description=(
        "Stops every SageMaker job of a pipeline run that is still running (for dsl.ExitHandler)"
    ),
    inputs=[
        Input("region", "String", None, "The region where the jobs run."),
        Input(
            "endpoint_url",
            "String",
            "",
            "The SageMaker endpoint URL to use instead of the region's.",
        ),
        Input("assume_role", "String", "", "An IAM role ARN to assume before calling SageMaker."),
        Input(
            "pipeline_run_id",
            "String",
            "",
            "The pipeline run whose jobs to stop (its smrun:run-id tag); empty: this run.",
        ),
        Input(
            "include_endpoints",
            "Bool",
            "False",
            "Also delete the run's endpoints that are still being created.",
        ),
    ],
    outputs=[Output("stopped_jobs", "JSON list of the names of the jobs that were stopped.")],
)


@dataclass(frozen=True)
class Found:
    """A resource of the run, as listed."""

    kind: JobKind
    name: str
    arn: str
    status: str
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass
class CleanupResult:
    stopped: list[str] = field(default_factory=list)  # Stop accepted
    already_ended: list[str] = field(default_factory=list)  # ended before the Stop
    still_stopping: list[str] = field(default_factory=list)  # not ended when the wait ran out
    deleted_endpoints: list[str] = field(default_factory=list)
    errors: list[AwsCallFailed] = field(default_factory=list)


async def tags_of(caller: AwsCaller, arn: str) -> dict[str, str] | None:
    """A resource's tags; None when it is gone."""
    try:
        return {
            tag["Key"]: tag.get("Value", "")
            async for tag in caller.paginate(
                "sagemaker", "ListTags", ResourceArn=arn, MaxResults=100
            )
        }
    except ResourceMissing:
        return None


async def listed(caller: AwsCaller, kind: JobKind, statuses: Iterable[str]) -> list[Found]:
    """Every resource of ``kind`` in one of ``statuses``."""
    assert kind.list_operation and kind.list_key and kind.status_field
    found: list[Found] = []
    for status in statuses:
        params = {"StatusEquals": status, "MaxResults": LIST_PAGE}
        async for summary in caller.paginate("sagemaker", kind.list_operation, **params):
            found.append(Found(kind, summary[kind.name_field], summary[kind.arn_field], status))
    return found


async def of_run(caller: AwsCaller, candidates: list[Found], run_id: str) -> list[Found]:
    """The candidates tagged with ``run_id``, with their tags."""
    gate = asyncio.Semaphore(TAG_READERS)

    async def read(candidate: Found) -> Found | None:
        async with gate:
            tags = await tags_of(caller, candidate.arn)
        if tags is None or tags.get(RUN_ID_TAG) != run_id:
            return None
        return Found(candidate.kind, candidate.name, candidate.arn, candidate.status, tags)

    results = await asyncio.gather(*(read(candidate) for candidate in candidates))
    return [found for found in results if found is not None]


async def find_run_jobs(caller: AwsCaller, run_id: str) -> list[Found]:
    """The run's jobs that are running or stopping, every kind listed at once."""
    wanted = {kind: (*statuses, STOPPING) for kind, statuses in STOPPABLE.items()}
    per_kind = await asyncio.gather(
        *(listed(caller, kind, statuses) for kind, statuses in wanted.items())
    )
    # A job that moved on between two listings is listed twice: keep its first sighting.
    candidates: dict[tuple[str, str], Found] = {}
    for found in (found for group in per_kind for found in group):
        candidates.setdefault((found.kind.key, found.name), found)
    jobs = await of_run(caller, list(candidates.values()), run_id)
    # A tuning job's training jobs carry its tags, and its Stop stops them: not on their own.
    children = await asyncio.gather(
        *(children_of(caller, job.kind.children, job.name) for job in jobs if job.kind.children)
    )
    launched = {child for found in children for child in found}
    return [job for job in jobs if (job.kind.key, job.name) not in launched]


async def children_of(caller: AwsCaller, children: Children, parent: str) -> list[tuple[str, str]]:
    """The (kind, name) of the jobs ``parent`` launched (a tuning job's training jobs)."""
    params = {children.parent_field: parent, "MaxResults": LIST_PAGE}
    kind = children.kind
    try:
        return [
            (kind.key, summary[kind.name_field])
            async for summary in caller.paginate("sagemaker", children.list_operation, **params)
        ]
    except ResourceMissing:
        return []


async def stop(call: Caller, job: Found, result: CleanupResult) -> bool:
    """Send Stop; True when it was accepted (the job is to be waited for)."""
    assert job.kind.stop_operation
    try:
        await call(job.kind.stop_operation, **{job.kind.name_field: job.name})
    except ResourceMissing:
        result.already_ended.append(job.name)
        return False
    except AwsCallFailed as error:
        if error.code == "ValidationException":  # ended between the listing and the Stop
            log.info(
                "cleanup.already_ended", kind=job.kind.key, job=job.name, message=error.aws_message
            )
            result.already_ended.append(job.name)
            return False
        log.error("cleanup.stop_refused", kind=job.kind.key, job=job.name, error=str(error))
        result.errors.append(error)
        return False
    log.info("cleanup.stop_requested", kind=job.kind.key, job=job.name)
    result.stopped.append(job.name)
    return True


async def describe(call: Caller, kind: JobKind, name: str) -> dict[str, Any] | None:
    try:
        answer = await call(kind.describe, **{kind.name_field: name})
    except ResourceMissing:
        return None
    return answer


async def wait_until(
    call: Caller,
    job: Found,
    done: Callable[[str], bool],
    deadline: float,
    interval: float,
) -> str | None:
    """Describe ``job`` until ``done(status)`` (or it is gone: None); "" at the deadline."""
    polls = Backoff(initial=interval, maximum=max(interval, MAX_POLL_SECONDS))
    while True:
        answer = await describe(call, job.kind, job.name)
        if answer is None:
            return None
        status = job.kind.status_of(answer) or ""
        if done(status):
            return status
        if time.monotonic() >= deadline:
            return ""
        await asyncio.sleep(min(polls.delay, max(deadline - time.monotonic(), 0.0)))
        polls = polls.grown()


async def stop_jobs(
    call: Caller, jobs: list[Found], result: CleanupResult, deadline: float, interval: float
) -> None:
    """Stop the running ones at once, then wait for every one to end."""
    accepted = await asyncio.gather(
        *(stop(call, job, result) for job in jobs if job.status != STOPPING)
    )
    running = [job for job in jobs if job.status != STOPPING]
    waiting = [job for job, ok in zip(running, accepted, strict=True) if ok]
    waiting += [job for job in jobs if job.status == STOPPING]
    ends = await asyncio.gather(
        *(
            wait_until(call, job, job.kind.states.terminal.__contains__, deadline, interval)
            for job in waiting
        )
    )
    for job, end in zip(waiting, ends, strict=True):
        if end == "":
            result.still_stopping.append(job.name)
        else:
            log.info("cleanup.ended", kind=job.kind.key, job=job.name, status=end or "gone")


async def delete_endpoint(
    call: Caller, endpoint: Found, result: CleanupResult, deadline: float, interval: float
) -> None:
    """Wait until the endpoint has left Creating (SageMaker refuses before), then delete it."""
    status = await wait_until(
        call, endpoint, lambda status: status not in ENDPOINT_BUSY, deadline, interval
    )
    if status is None or status == "Deleting":
        return
    if status == "":
        log.warning("cleanup.endpoint_still_busy", endpoint=endpoint.name)
        result.still_stopping.append(endpoint.name)
        return
    try:
        assert ENDPOINT.delete_operation
        await call(ENDPOINT.delete_operation, **{ENDPOINT.name_field: endpoint.name})
    except ResourceMissing:
        return
    except AwsCallFailed as error:
        log.error("cleanup.delete_refused", endpoint=endpoint.name, error=str(error))
        result.errors.append(error)
        return
    log.info("cleanup.endpoint_deleted", endpoint=endpoint.name, was=status)
    result.deleted_endpoints.append(endpoint.name)


async def delete_endpoints(
    caller: AwsCaller, run_id: str, result: CleanupResult, deadline: float, interval: float
) -> None:
    creating = await of_run(caller, await listed(caller, ENDPOINT, ("Creating",)), run_id)
    await asyncio.gather(
        *(
            delete_endpoint(caller.sagemaker, endpoint, result, deadline, interval)
            for endpoint in creating
        )
    )


async def cleanup(
    caller: AwsCaller,
    run_id: str,
    *,
    include_endpoints: bool = False,
    wait: float = WAIT_SECONDS,
    poll_interval: float = 0.5,
) -> CleanupResult:
    """Stop every job tagged ``smrun:run-id`` = ``run_id`` that is still running, and wait
    (at most ``wait`` seconds) until they have ended; optionally delete the run's endpoints
    still being created, through ``caller`` (``runner.caller``: retried, rate-limited)."""
    call = caller.sagemaker
    result = CleanupResult()
    deadline = time.monotonic() + wait

    async def jobs() -> None:
        found = await find_run_jobs(caller, run_id)
        log.info("cleanup.found", run_id=run_id, jobs=[f"{j.kind.key}/{j.name}" for j in found])
        await stop_jobs(call, found, result, deadline, poll_interval)

    work = [jobs()]
    if include_endpoints:
        work.append(delete_endpoints(caller, run_id, result, deadline, poll_interval))
    await asyncio.gather(*work)
    result.stopped.sort()
    if result.still_stopping:
        log.warning("cleanup.wait_ran_out", still_stopping=sorted(result.still_stopping))
    return result


def run_id_of(run: ComponentRun) -> str:
    given = run.inputs["pipeline_run_id"].strip()
    if given and not unfilled(given):
        return str(given)
    if run.run_id:
        return run.run_id
    raise InputError(
        "pipeline_run_id",
        "is empty and no KFP run id was passed (--kfp_run_id): give the run whose jobs to stop",
    )


async def execute(run: ComponentRun) -> dict[str, Any]:
    run_id = run_id_of(run)
    result = await cleanup(
        run.runner.caller, run_id, include_endpoints=run.inputs["include_endpoints"]
    )
    log.info(
        "cleanup.done",
        run_id=run_id,
        stopped=result.stopped,
        already_ended=result.already_ended,
        deleted_endpoints=result.deleted_endpoints,
    )
    if result.errors:
        raise result.errors[0]
    return {"stopped_jobs": result.stopped}


def run(argv: Sequence[str] | None = None) -> int:
    return main(SPEC, execute, argv)
