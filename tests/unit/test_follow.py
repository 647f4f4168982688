"""Every scheduled action that fails ends its job with an outcome; the follow state's table;
``Runner.observe``. The AWS side is a fake caller whose answers and faults each test sets."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from runner.config import PollPolicy, Rate, RateLimits, RetryPolicy, RunnerConfig
from runner.core import Runner
from runner.errors import AwsUnreachable
from runner.kinds import TRAINING
from runner.session import AwsCaller
from runner.tracker import FOLLOW_TRANSITIONS, Follow, FollowStateError, TrackedJob
from support.requests import training

Answer = Callable[[dict[str, Any]], dict[str, Any]]
FAST = PollPolicy(initial=0.01, maximum=0.02, sweep_interval=0.01, delta_threshold=100)


def missing(operation: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": "ValidationException", "Message": "Requested resource not found."}},
        operation,
    )


def described(status: str, **extra: Any) -> dict[str, Any]:
    return {"TrainingJobName": "job", "TrainingJobStatus": status, **extra}


class FakeCaller(AwsCaller):
    """``answers[operation]`` is called with the params (or raised, if an exception), through the
    real retry boundary; every call is counted."""

    def __init__(self, config: RunnerConfig, answers: dict[str, Any]) -> None:
        super().__init__(config)
        self.answers = answers
        self.calls: list[str] = []

    async def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        from runner.retry import call_with_retries

        self.calls.append(operation)

        async def attempt() -> dict[str, Any]:
            if operation.startswith("Describe") and "CreateTrainingJob" not in self.calls:
                raise missing(operation)  # the lookup before Create
            answer = self.answers[operation]
            if isinstance(answer, BaseException):
                raise answer
            result: dict[str, Any] = answer(params)
            return result

        return await call_with_retries(operation, self.config.retry, attempt)

    async def close(self) -> None:
        pass


# Describe made dear next to List, so that the sweep chooses List even for one job.
LIST_CHEAPEST = RateLimits(rates={"Describe*": Rate(0.1, 100), "List*": Rate(100, 100)})


def runner_with(
    answers: dict[str, Any], poll: PollPolicy = FAST, limits: RateLimits | None = None
) -> Runner:
    config = RunnerConfig(
        poll=poll,
        retry=RetryPolicy(initial=0.001, maximum=0.001, max_attempts=2),
        limits=limits or RateLimits(),
    )
    return Runner(config, caller=FakeCaller(config, answers))


def created(_: dict[str, Any]) -> dict[str, Any]:
    return {"TrainingJobArn": "arn:aws:sagemaker:us-east-1:1:training-job/job"}


@pytest.mark.parametrize(
    "fault",
    [KeyError("TrainingJobStatus"), RuntimeError("a bug"), TimeoutError()],
    ids=["key-error", "runtime-error", "timeout"],
)
async def test_a_poll_that_raises_anything_ends_the_job_with_an_outcome(
    fault: BaseException,
) -> None:
    answers: dict[str, Any] = {"CreateTrainingJob": created, "DescribeTrainingJob": fault}
    async with runner_with(answers) as runner:
        handle = await runner.submit("training", training("job"))
        outcome = await asyncio.wait_for(handle.wait(), timeout=30)
    assert outcome.status == "Error" and not outcome.succeeded
    assert outcome.failure_reason
    if isinstance(fault, TimeoutError):  # transient: retried, then the project's own error
        assert "could not get through" in outcome.failure_reason
    else:
        assert type(fault).__name__ in outcome.failure_reason


async def test_a_final_describe_that_raises_ends_the_job() -> None:
    answers: dict[str, Any] = {
        "CreateTrainingJob": created,
        # The sweep sees the end; the final Describe (for the outputs) gets a malformed answer.
        "ListTrainingJobs": lambda _: {"TrainingJobSummaries": [described("Completed")]},
        "DescribeTrainingJob": ValueError("malformed answer"),
    }
    poll = PollPolicy(initial=0.01, maximum=0.02, sweep_interval=0.01, delta_threshold=1)
    async with runner_with(answers, poll, LIST_CHEAPEST) as runner:
        handle = await runner.submit("training", training("job"))
        outcome = await asyncio.wait_for(handle.wait(), timeout=30)
    assert outcome.status == "Error" and not outcome.succeeded
    assert outcome.failure_reason == "ValueError: malformed answer"
    assert runner.caller.calls[-2:] == ["ListTrainingJobs", "DescribeTrainingJob"]  # type: ignore[attr-defined]


async def test_a_sweep_that_raises_falls_back_to_describe() -> None:
    answers: dict[str, Any] = {
        "CreateTrainingJob": created,
        "ListTrainingJobs": ZeroDivisionError("a bug in the sweep"),
        "DescribeTrainingJob": lambda params: described(
            "Completed", TrainingJobName=params["TrainingJobName"]
        ),
    }
    poll = PollPolicy(initial=0.01, maximum=0.02, sweep_interval=0.01, delta_threshold=1)
    async with runner_with(answers, poll, LIST_CHEAPEST) as runner:
        handle = await runner.submit("training", training("job"))
        outcome = await asyncio.wait_for(handle.wait(), timeout=30)
    assert outcome.succeeded and outcome.status == "Completed"
    assert "ListTrainingJobs" in runner.caller.calls  # type: ignore[attr-defined]


async def test_an_unreachable_stop_is_sent_again() -> None:
    stops = iter([TimeoutError(), TimeoutError()])  # both attempts of the first Stop time out
    stopped = asyncio.Event()

    def stop(_: dict[str, Any]) -> dict[str, Any]:
        fault = next(stops, None)
        if fault is not None:
            raise fault
        stopped.set()
        return {}

    def describe(_: dict[str, Any]) -> dict[str, Any]:
        return described("Stopped" if stopped.is_set() else "InProgress")

    answers: dict[str, Any] = {
        "CreateTrainingJob": created,
        "DescribeTrainingJob": describe,
        "StopTrainingJob": stop,
    }
    async with runner_with(answers) as runner:
        handle = await runner.submit("training", training("job"))
        await handle.stop("test")
        outcome = await asyncio.wait_for(handle.wait(), timeout=30)
    assert outcome.status == "Stopped" and outcome.stopped_by_runner
    # Two logical Stops: the first gave up after its two attempts, the second was accepted.
    assert runner.caller.calls.count("StopTrainingJob") == 2  # type: ignore[attr-defined]


async def test_observe_describes_now_and_never_ends_a_job_from_the_event_alone() -> None:
    ended = asyncio.Event()

    def describe(_: dict[str, Any]) -> dict[str, Any]:
        return described("Completed" if ended.is_set() else "InProgress")

    answers: dict[str, Any] = {"CreateTrainingJob": created, "DescribeTrainingJob": describe}
    slow = PollPolicy(initial=3600.0, maximum=3600.0, jitter=0.0, delta_threshold=100)
    async with runner_with(answers, slow) as runner:
        handle = await runner.submit("training", training("job"))
        # An event that says Completed while Describe still says InProgress: not finished.
        assert runner.observe("training", "job", described("Completed"))
        for _ in range(200):
            await asyncio.sleep(0)
            if runner.caller.calls.count("DescribeTrainingJob") >= 1:  # type: ignore[attr-defined]
                break
        await asyncio.sleep(0.05)
        assert not handle.done
        ended.set()
        assert runner.observe("training", "job")
        outcome = await asyncio.wait_for(handle.wait(), timeout=30)
        assert outcome.succeeded
        assert not runner.observe("training", "job")  # done: nothing to wake
        assert not runner.observe("training", "unknown")


async def test_observe_ignores_a_description_older_than_what_was_seen() -> None:
    answers: dict[str, Any] = {
        "CreateTrainingJob": created,
        "DescribeTrainingJob": lambda _: described("InProgress"),
        "StopTrainingJob": lambda _: {},
    }
    slow = PollPolicy(initial=3600.0, maximum=3600.0, jitter=0.0, delta_threshold=100)
    now = dt.datetime.now(dt.UTC)
    async with runner_with(answers, slow) as runner:
        handle = await runner.submit("training", training("job"))
        runner.observe("training", "job", described("Training", LastModifiedTime=now))
        assert handle.status == "Training"
        runner.observe(
            "training", "job", described("Starting", LastModifiedTime=now - dt.timedelta(seconds=5))
        )
        assert handle.status == "Training"
        await runner.shutdown(grace=0)


def test_every_follow_state_has_its_moves_and_done_is_final() -> None:
    assert set(FOLLOW_TRANSITIONS) == set(Follow)
    assert FOLLOW_TRANSITIONS[Follow.DONE] == frozenset()
    for state, moves in FOLLOW_TRANSITIONS.items():
        if state is not Follow.DONE:
            assert Follow.DONE in moves, state  # any job may end from anywhere


async def test_an_illegal_move_raises() -> None:
    job = TrackedJob(kind=TRAINING, name="job", request={}, digest="d")
    job.move(Follow.SWEPT)
    with pytest.raises(FollowStateError, match="swept to rules"):
        job.move(Follow.RULES)
    job.move(Follow.DONE)
    with pytest.raises(FollowStateError):
        job.move(Follow.POLLED)


def test_missing_helper_is_a_not_found() -> None:
    from runner.errors import is_not_found

    assert is_not_found(missing("DescribeTrainingJob"))
    assert issubclass(AwsUnreachable, Exception)
