"""The emulator refuses what AWS refuses: an unknown AlgorithmName, an InstanceCount outside the
API's range; and an injected dropped connection is one log line, not a traceback."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import botocore.exceptions
import pytest

from emulator.state import EmulatorConfig
from support.requests import training, tuning
from support.stats import set_faults

OWN = "my-algorithm"
SUBSCRIBED = "arn:aws:sagemaker:us-east-1:865070037744:algorithm/marketplace-algo-1a2b"


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(job_duration=1.0, stop_duration=0.2, algorithms=(OWN, SUBSCRIBED))


def by_algorithm(name: str, algorithm: str) -> dict[str, Any]:
    return training(
        name, AlgorithmSpecification={"AlgorithmName": algorithm, "TrainingInputMode": "File"}
    )


def refusal(caught: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> tuple[str, str]:
    error = caught.value.response["Error"]
    return error["Code"], error["Message"]


async def test_an_unknown_algorithm_is_refused_naming_its_arn(sagemaker: Any) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        await sagemaker.create_training_job(**by_algorithm("unknown", "no-such-algorithm"))
    assert refusal(caught) == (
        "ValidationException",
        "Algorithm arn:aws:sagemaker:us-east-1:123456789012:algorithm/no-such-algorithm "
        "does not exist.",
    )
    other = "arn:aws:sagemaker:us-east-1:865070037744:algorithm/someone-elses"
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        await sagemaker.create_training_job(**by_algorithm("unknown-arn", other))
    assert refusal(caught) == ("ValidationException", f"Algorithm {other} does not exist.")
    with pytest.raises(botocore.exceptions.ClientError):
        await sagemaker.describe_training_job(TrainingJobName="unknown")  # nothing was created


async def test_the_accounts_algorithms_are_accepted_by_name_or_arn(sagemaker: Any) -> None:
    own_arn = f"arn:aws:sagemaker:us-east-1:123456789012:algorithm/{OWN}"
    for name, algorithm in [("own", OWN), ("own-arn", own_arn), ("subscribed", SUBSCRIBED)]:
        await sagemaker.create_training_job(**by_algorithm(name, algorithm))
        described = await sagemaker.describe_training_job(TrainingJobName=name)
        assert described["AlgorithmSpecification"]["AlgorithmName"] == algorithm


async def test_a_tuning_job_with_an_unknown_algorithm_is_refused(sagemaker: Any) -> None:
    request = tuning("tune-unknown")
    request["TrainingJobDefinition"]["AlgorithmSpecification"] = {
        "AlgorithmName": "no-such-algorithm",
        "TrainingInputMode": "File",
    }
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        await sagemaker.create_hyper_parameter_tuning_job(**request)
    assert refusal(caught)[0] == "ValidationException"
    assert "no-such-algorithm does not exist" in refusal(caught)[1]


@pytest.mark.parametrize(
    ("count", "words"),
    [(-1, "greater than or equal to 0"), (2**31, "less than or equal to 2147483647")],
)
async def test_an_instance_count_outside_the_api_range_is_refused(
    client_factory: Callable[..., Any], count: int, words: str
) -> None:
    # Without botocore's own check (it checks only the model's min), as another SDK may send it.
    async with client_factory("sagemaker", parameter_validation=False) as sagemaker:
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            await sagemaker.create_training_job(**training("counted", instance_count=count))
    code, message = refusal(caught)
    assert code == "ValidationException"
    assert "resourceConfig.instanceCount" in message and words in message


async def test_a_dropped_connection_is_one_log_line_without_a_traceback(
    emulator: Any, sagemaker: Any, caplog: pytest.LogCaptureFixture
) -> None:
    await set_faults(emulator.url, drop_rate=1.0)
    caplog.set_level(logging.DEBUG)
    for _ in range(3):
        with pytest.raises((botocore.exceptions.HTTPClientError, ConnectionError)):
            await sagemaker.describe_training_job(TrainingJobName="x")
    server_side = [r for r in caplog.records if r.name.startswith(("emulator", "aiohttp"))]
    assert not [r for r in server_side if r.exc_info], "a traceback was logged"
    dropped = [r for r in server_side if "dropped connection" in r.getMessage()]
    assert len(dropped) == 3
    assert all("DescribeTrainingJob" in r.getMessage() for r in dropped)
