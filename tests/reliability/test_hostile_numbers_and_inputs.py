"""Integers outside the API's range, and hostile component inputs (issue 16, point 7)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from components.common.inputs import InputError, parse_structured
from components.model.component import run as run_model
from runner.validation import endpoint_url_problem, region_problem, validate_request
from support import requests as req


@pytest.mark.parametrize("count", [2**31, 10**30, 10**4000, -(2**31) - 1])
def test_an_int32_field_out_of_range_is_named(count: int) -> None:
    request = req.training("t")
    request["ResourceConfig"]["InstanceCount"] = count
    problems = validate_request("sagemaker", "CreateTrainingJob", request)
    assert [p.path for p in problems] == ["ResourceConfig.InstanceCount"]


def test_an_int32_field_at_its_max_passes() -> None:
    request = req.training("t")
    request["ResourceConfig"]["InstanceCount"] = 2**31 - 1
    assert validate_request("sagemaker", "CreateTrainingJob", request) == []


async def test_the_emulator_refuses_it_rather_than_hang(sagemaker: Any) -> None:
    request = req.training("huge")
    request["ResourceConfig"]["InstanceCount"] = 10**30
    with pytest.raises(ClientError) as refused:
        await sagemaker.create_training_job(**request)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "instanceCount" in refused.value.response["Error"]["Message"]


@pytest.mark.parametrize("depth", [65, 30_000])
def test_component_input_nested_deep_is_one_problem(depth: int) -> None:
    with pytest.raises(InputError, match="nests more than 64"):
        parse_structured("tags", "[" * depth + "]" * depth, list)
    with pytest.raises(InputError, match="nests more than 64"):
        parse_structured("tags", "- " * depth + "x", list)  # YAML, v1 accepted it


@settings(max_examples=80, deadline=None)
@given(text=st.text(max_size=120))
def test_any_structured_input_is_a_value_or_one_problem(text: str) -> None:
    try:
        parse_structured("hyperparameters", text, dict)
    except InputError as error:
        assert "\n" not in str(error)


@pytest.mark.parametrize("region", ["bad region!!", "useast1", "us-east", "../etc"])
def test_a_bogus_region_is_refused(region: str) -> None:
    assert region_problem(region)


@pytest.mark.parametrize("region", ["us-east-1", "cn-north-1", "us-gov-west-1", "eu-west-3"])
def test_region_names_pass(region: str) -> None:
    assert region_problem(region) is None


@pytest.mark.parametrize("url", ["notaurl", "ftp://host", "http://", "http://exa mple.com"])
def test_a_bogus_endpoint_url_is_refused(url: str) -> None:
    assert endpoint_url_problem(url)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:5000", "https://sagemaker.us-east-1.amazonaws.com", "http://[::1]:8"]
)
def test_endpoint_urls_pass(url: str) -> None:
    assert endpoint_url_problem(url) is None


def test_the_component_names_both_inputs(capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    code = run_model(
        [
            "--region", "bad region!!",
            "--endpoint_url", "notaurl",
            "--model_name", "m",
            "--role", req.ROLE,
            "--image", req.IMAGE,
            "--model_artifact_url", "s3://bucket/model.tar.gz",
            "--model_name_output_path", str(tmp_path / "model_name"),
        ]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "input 'region': must be an AWS region name" in err
    assert "input 'endpoint_url': must be an http:// or https:// URL" in err
    assert not (tmp_path / "model_name").exists()
