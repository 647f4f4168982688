"""A component's ``assume_role`` with ``endpoint_url`` (SageMaker's alone, as in v1) and nothing
set for STS warns, in one line, that STS will be AWS's regional endpoint. Nothing is sent:
botocore only resolves the endpoint."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from components.common.app import warn_of_sts_at_aws
from runner.telemetry import configure_logging

ROLE = "arn:aws:iam::123456789012:role/kfp-pipeline-runner"
EMULATOR = "http://127.0.0.1:4566"


@pytest.fixture(autouse=True)
def no_configured_endpoints(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No endpoint in the environment, and an AWS config file of the test's own."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    config = tmp_path / "config"
    config.write_text("[default]\nregion = us-east-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    return config


def warnings_for(**inputs: Any) -> list[dict[str, Any]]:
    with capture_logs() as logs:
        warn_of_sts_at_aws({"region": "eu-west-1", **inputs})
    return logs


def test_assume_role_with_only_sagemaker_s_endpoint_warns_once() -> None:
    (warning,) = warnings_for(assume_role=ROLE, endpoint_url=EMULATOR)
    assert warning["event"] == "component.sts_endpoint"
    assert warning["log_level"] == "warning"
    assert warning["sts"] == "https://sts.eu-west-1.amazonaws.com"
    assert "AWS_ENDPOINT_URL_STS" in warning["message"]
    assert "services section" in warning["message"]


@pytest.mark.parametrize(
    "inputs",
    [
        {"assume_role": ROLE, "endpoint_url": ""},  # everything at AWS: nothing to say
        {"assume_role": "", "endpoint_url": EMULATOR},  # no STS call at all
    ],
)
def test_no_warning_without_both(inputs: dict[str, str]) -> None:
    assert warnings_for(**inputs) == []


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"])
def test_no_warning_when_the_environment_sets_sts_endpoint(
    variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, EMULATOR)
    assert warnings_for(assume_role=ROLE, endpoint_url=EMULATOR) == []


def test_no_warning_when_the_config_file_sets_sts_endpoint(no_configured_endpoints: Path) -> None:
    no_configured_endpoints.write_text(
        f"[default]\nservices = local\n[services local]\nsts =\n  endpoint_url = {EMULATOR}\n"
    )
    assert warnings_for(assume_role=ROLE, endpoint_url=EMULATOR) == []


def test_the_warning_is_one_readable_line() -> None:
    out = io.StringIO()
    configure_logging(json=False, file=out)  # global: structlog's defaults are put back after
    try:
        warn_of_sts_at_aws({"region": "eu-west-1", "assume_role": ROLE, "endpoint_url": EMULATOR})
    finally:
        structlog.reset_defaults()
    (line,) = out.getvalue().splitlines()
    assert " warning component.sts_endpoint " in line
    assert "sts=https://sts.eu-west-1.amazonaws.com" in line
