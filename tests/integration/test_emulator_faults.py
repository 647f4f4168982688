"""Injected faults, quotas and capacity limits, as a real aiobotocore client sees them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import botocore.exceptions
import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.retries.standard import ExponentialBackoff

from emulator.state import EmulatorConfig
from support.requests import tags, training
from support.stats import fetch_stats, set_faults


def quick_config(**overrides: Any) -> EmulatorConfig:
    settings: dict[str, Any] = {
        "job_duration": 1.0,
        "stop_duration": 0.2,
        "late_event_delay": 0.2,
        "check_responses": True,
    }
    settings.update(overrides)
    return EmulatorConfig(**settings)


@contextlib.asynccontextmanager
async def client(url: str, service: str = "sagemaker", attempts: int = 1) -> AsyncIterator[Any]:
    """A client that makes ``attempts`` attempts in all.

    botocore's ``retries={"max_attempts": n}`` counts *retries* (n + 1 attempts in all), so the
    shared ``client_factory`` (max_attempts=1) retries once; counting requests needs exactly one.
    """
    config = AioConfig(retries={"mode": "standard", "total_max_attempts": attempts})
    async with get_session().create_client(
        service, region_name="us-east-1", endpoint_url=url, config=config
    ) as made:
        yield made


@pytest.fixture
async def sagemaker(emulator: Any) -> AsyncIterator[Any]:
    """Overrides the shared fixture: one attempt per call, so stats count calls exactly."""
    async with client(emulator.url) as made:
        yield made


def error_code(error: botocore.exceptions.ClientError) -> str:
    return str(error.response["Error"]["Code"])


async def test_injected_throttling_is_a_throttling_exception(emulator: Any, sagemaker: Any) -> None:
    await set_faults(emulator.url, throttle_rate=1.0, seed=1)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        await sagemaker.list_training_jobs()
    assert error_code(caught.value) == "ThrottlingException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # One attempt in all: exactly one request reached the emulator.
    stats = await fetch_stats(emulator.url)
    assert stats["throttled"] == {"ListTrainingJobs": 1}
    assert stats["calls"] == {"ListTrainingJobs": 1}


async def test_shared_client_factory_with_max_attempts_1_still_surfaces_throttling(
    emulator: Any, client_factory: Callable[..., Any]
) -> None:
    # The shared fixture's max_attempts=1 is one *retry*: two requests, then the error.
    await set_faults(emulator.url, throttle_rate=1.0)
    async with client_factory("sagemaker") as sm:
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            await sm.list_training_jobs()
    assert error_code(caught.value) == "ThrottlingException"
    attempts = caught.value.response["ResponseMetadata"]["RetryAttempts"] + 1
    assert (await fetch_stats(emulator.url))["throttled"] == {"ListTrainingJobs": attempts}


async def test_injected_5xx_is_an_internal_failure(emulator: Any, sagemaker: Any) -> None:
    await set_faults(emulator.url, error_rate=1.0)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        await sagemaker.describe_training_job(TrainingJobName="anything")
    assert error_code(caught.value) == "InternalFailure"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert (await fetch_stats(emulator.url))["throttled"] == {}


async def test_injected_drop_is_a_connection_error(emulator: Any, sagemaker: Any) -> None:
    await set_faults(emulator.url, drop_rate=1.0)
    connection_errors = (
        botocore.exceptions.HTTPClientError,  # ConnectionClosedError and friends
        botocore.exceptions.ConnectionError,
        aiohttp.ClientConnectionError,
        ConnectionError,
    )
    with pytest.raises(connection_errors):
        await sagemaker.list_training_jobs()


async def test_a_lost_answer_is_served_then_dropped_for_only_the_operations_named(
    emulator: Any, sagemaker: Any
) -> None:
    await set_faults(emulator.url, lose_answer_rate=1.0, operations=["CreateTrainingJob"])
    with pytest.raises(
        (botocore.exceptions.HTTPClientError, aiohttp.ClientConnectionError, ConnectionError)
    ):
        await sagemaker.create_training_job(**training("lost-1"))
    # The job exists though its answer never came, and other operations are untouched.
    described = await sagemaker.describe_training_job(TrainingJobName="lost-1")
    assert described["TrainingJobName"] == "lost-1"
    stats = await fetch_stats(emulator.url)
    assert stats["lost_answers"] == {"CreateTrainingJob": 1}
    assert stats["calls"]["CreateTrainingJob"] == 1


async def test_faults_can_be_limited_to_one_service(emulator: Any, sagemaker: Any) -> None:
    await set_faults(emulator.url, error_rate=1.0, services=["logs"])
    await sagemaker.list_training_jobs()  # untouched
    async with client(emulator.url, "logs") as logs:
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            await logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs")
    assert error_code(caught.value) == "InternalFailure"


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b'{"throttle_rate": 1.5}', ["throttle_rate must be between 0 and 1, got 1.5"]),
        (b'{"throttle_rat": 0.1}', ["unknown key 'throttle_rat'"]),
        (b"throttle_rate=0.3", ["the body is not JSON (line 1, column 1)"]),
        (b"", ["the body is not JSON (line 1, column 1)"]),
        (b"\xff", ["the body is not JSON (not UTF-8 text)"]),
        (b"[0.3]", ["the body must be a JSON object, got [0.3]"]),
        (
            b'{"error_rate": "0.5", "drop_rate": true, "seed": 1.5, "services": "logs"}',
            [
                'error_rate must be a number, got "0.5"',
                "drop_rate must be a number, got true",
                "seed must be an integer or null, got 1.5",
                'services must be a list of service names, got "logs"',
            ],
        ),
        (b'{"services": ["sagemakr"]}', ["services: unknown 'sagemakr'"]),
        (b'{"latency_s": -1}', ["latency_s must be 0 or more seconds, got -1"]),
        (b'{"latency_jitter_s": NaN}', ["latency_jitter_s must be 0 or more seconds, got nan"]),
        (b'{"throttle_rate": 0.6, "error_rate": 0.6}', ["rates add up to 1.2; at most 1"]),
        (b'{"operations": "CreateTrainingJob"}', ["operations must be a list of names"]),
    ],
)
async def test_bad_fault_settings_are_refused_with_the_accepted_keys(
    emulator: Any, body: bytes, said: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    before = emulator.emulator.config.faults
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{emulator.url}/_emulator/faults", data=body) as response,
    ):
        assert response.status == 400
        message = (await response.json())["error"]
    for words in said:
        assert words in message
    # Every key it takes, in the user's terms: no Python internals, nothing logged.
    accepted = message.split("Accepted keys: ")[1]
    for key in ("throttle_rate", "error_rate", "drop_rate", "latency_s", "latency_jitter_s"):
        assert f"{key} (" in accepted
    assert (
        "services (a list of events, logs, sagemaker, sqs, sts" in accepted and "seed (" in accepted
    )
    assert "__init__" not in message and "Traceback" not in message
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert emulator.emulator.config.faults is before  # unchanged


async def test_keys_left_out_of_the_fault_settings_take_their_defaults(emulator: Any) -> None:
    await set_faults(emulator.url, throttle_rate=0.25, services=["logs"], seed=None)
    faults = emulator.emulator.config.faults
    assert (faults.throttle_rate, faults.services) == (0.25, frozenset({"logs"}))
    await set_faults(emulator.url, latency_s=0.5)
    faults = emulator.emulator.config.faults
    assert (faults.throttle_rate, faults.services, faults.latency_s) == (0.0, frozenset(), 0.5)


async def test_latency_is_added_to_every_request(emulator: Any, sagemaker: Any) -> None:
    await set_faults(emulator.url, latency_s=0.2)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await sagemaker.list_training_jobs()
    assert loop.time() - start >= 0.2


@pytest.mark.parametrize("emulator_config", [quick_config(profile="aws-like")])
async def test_aws_like_profile_throttles_a_burst_of_list_calls(
    emulator: Any, sagemaker: Any
) -> None:
    # ListTrainingJobs: 2/s with a burst of 4 in the aws-like profile.
    async def one_call() -> str:
        try:
            await sagemaker.list_training_jobs()
        except botocore.exceptions.ClientError as error:
            return error_code(error)
        return "ok"

    loop = asyncio.get_running_loop()
    started = loop.time()
    outcomes = await asyncio.gather(*(one_call() for _ in range(12)))
    elapsed = loop.time() - started
    succeeded = outcomes.count("ok")
    throttled = outcomes.count("ThrottlingException")
    assert succeeded + throttled == 12
    # The burst, plus what refilled (2/s) while the calls were in flight.
    assert 4 <= succeeded <= 4 + int(2 * elapsed) + 1
    assert throttled >= 1
    stats = await fetch_stats(emulator.url)
    assert stats["throttled"] == {"ListTrainingJobs": throttled}
    assert stats["calls"] == {"ListTrainingJobs": 12}
    # Other operations have their own buckets.
    await sagemaker.list_processing_jobs()


@pytest.mark.parametrize("emulator_config", [quick_config(profile="aws-like")])
async def test_aws_like_bucket_refills(emulator: Any, sagemaker: Any) -> None:
    # Spend the bucket: the burst of 4 and whatever refilled meanwhile.
    admitted = 0
    while True:
        try:
            await sagemaker.list_training_jobs()
        except botocore.exceptions.ClientError as error:
            assert error_code(error) == "ThrottlingException"
            break
        admitted += 1
        assert admitted < 20, "20 calls in a row were admitted"
    assert admitted >= 4
    await asyncio.sleep(0.6)  # a token comes back every 0.5 s
    await sagemaker.list_training_jobs()


async def test_standard_retries_ride_out_a_30_percent_throttle_rate(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # botocore's own retry decisions, with its backoff (up to 1, 2, 4 ... s) scaled down a
    # hundredfold so the test takes a fraction of a second.
    real_delay = ExponentialBackoff.delay_amount
    monkeypatch.setattr(
        ExponentialBackoff,
        "delay_amount",
        lambda self, context: real_delay(self, context) / 100,
    )
    await set_faults(emulator.url, throttle_rate=0.3, seed=2024)
    calls = 20
    async with client(emulator.url, attempts=10) as sm:
        await sm.create_training_job(**training("retried"))
        results = await asyncio.gather(
            *(sm.describe_training_job(TrainingJobName="retried") for _ in range(calls))
        )
    assert all(result["TrainingJobName"] == "retried" for result in results)
    stats = await fetch_stats(emulator.url)
    retried = sum(result["ResponseMetadata"]["RetryAttempts"] for result in results)
    assert stats["throttled"].get("DescribeTrainingJob", 0) > 0
    # Every throttled Describe was retried, and nothing else was: calls = answers + retries.
    assert stats["calls"]["DescribeTrainingJob"] == calls + retried
    assert stats["throttled"]["DescribeTrainingJob"] == retried


@pytest.mark.parametrize("emulator_config", [quick_config(max_instances_per_type=3)])
async def test_instance_cap_gives_resource_limit_exceeded_until_a_job_ends(
    emulator: Any, sagemaker: Any
) -> None:
    short = tags(**{"emulator:duration-seconds": 1.0})
    await sagemaker.create_training_job(**training("first", instance_count=2, Tags=short))
    await sagemaker.create_training_job(**training("second", instance_count=1))
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        await sagemaker.create_training_job(**training("third", instance_count=1))
    assert error_code(caught.value) == "ResourceLimitExceeded"
    message = caught.value.response["Error"]["Message"]
    assert "ml.m5.xlarge for training job usage" in message
    assert "current utilization of 3 Instances" in message
    # The refused job was not created.
    with pytest.raises(botocore.exceptions.ClientError):
        await sagemaker.describe_training_job(TrainingJobName="third")

    # Another instance type has its own cap.
    other = training("other-type", instance_count=3)
    other["ResourceConfig"]["InstanceType"] = "ml.c5.xlarge"
    await sagemaker.create_training_job(**other)

    # The cap frees up when the first job ends.
    for _ in range(100):
        status = (await sagemaker.describe_training_job(TrainingJobName="first"))[
            "TrainingJobStatus"
        ]
        if status == "Completed":
            break
        await asyncio.sleep(0.05)
    assert status == "Completed"
    await sagemaker.create_training_job(**training("third", instance_count=2))


@pytest.mark.parametrize(
    "emulator_config", [quick_config(max_instances_per_type=1, stop_duration=0.6)]
)
async def test_a_stopped_job_frees_its_instances(emulator: Any, sagemaker: Any) -> None:
    await sagemaker.create_training_job(**training("running"))
    await sagemaker.stop_training_job(TrainingJobName="running")
    # Stopping still holds the instance ...
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        await sagemaker.create_training_job(**training("waiting"))
    assert error_code(caught.value) == "ResourceLimitExceeded"
    # ... Stopped does not.
    await asyncio.sleep(0.7)
    await sagemaker.create_training_job(**training("waiting"))


async def test_stats_count_every_call_per_operation(emulator: Any, sagemaker: Any) -> None:
    await sagemaker.create_training_job(**training("counted"))
    for _ in range(3):
        await sagemaker.describe_training_job(TrainingJobName="counted")
    await sagemaker.list_training_jobs()
    await sagemaker.list_training_jobs(MaxResults=5)
    # Refused calls are counted too: one unknown job, one invalid request.
    with pytest.raises(botocore.exceptions.ClientError):
        await sagemaker.describe_training_job(TrainingJobName="missing")
    with pytest.raises(botocore.exceptions.ClientError):
        await sagemaker.stop_training_job(TrainingJobName="bad_name")
    stats = await fetch_stats(emulator.url)
    assert stats["calls"] == {
        "CreateTrainingJob": 1,
        "DescribeTrainingJob": 4,
        "ListTrainingJobs": 2,
        "StopTrainingJob": 1,
    }
    assert stats["throttled"] == {}
    assert [(row["kind"], row["name"]) for row in stats["jobs"]] == [("training", "counted")]
