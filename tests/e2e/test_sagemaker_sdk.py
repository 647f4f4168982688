"""The SageMaker Python SDK v2 runs its usual flow against the emulator (``sagemaker_sdk_check``).

The SDK is a reference client, never a project dependency: it lives in a throwaway virtualenv
whose Python ``SMRUN_SAGEMAKER_SDK_PYTHON`` names; without it the test is skipped. To run it:

    python3.11 -m venv /tmp/sagemaker-sdk-venv
    /tmp/sagemaker-sdk-venv/bin/pip install 'sagemaker<3'
    SMRUN_SAGEMAKER_SDK_PYTHON=/tmp/sagemaker-sdk-venv/bin/python \
        .venv/bin/pytest tests/e2e/test_sagemaker_sdk.py

The script runs in a subprocess with the network guard (tests/support/sitecustomize), so any
attempt of the SDK to reach AWS (STS, S3, telemetry) fails the step that made it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.server import BackgroundEmulator
from emulator.state import EmulatorConfig
from support.environment import subprocess_env

SCRIPT = Path(__file__).with_name("sagemaker_sdk_check.py")
SDK_PYTHON = os.environ.get("SMRUN_SAGEMAKER_SDK_PYTHON", "")
STEPS = (
    "Estimator.fit(logs=True)",
    "Estimator.attach",
    "HyperparameterTuner.fit",
    "HyperparameterTuner.best_estimator",
    "HyperparameterTuner.attach + best_estimator",
    "Estimator.transformer().transform(wait, logs) + Transformer.attach",
    "Processor.run(wait, logs)",
    "Estimator.deploy + delete",
)

pytestmark = pytest.mark.skipif(
    not SDK_PYTHON or not Path(SDK_PYTHON).exists(),
    reason="SMRUN_SAGEMAKER_SDK_PYTHON does not name the Python of a virtualenv with the SDK",
)


@pytest.fixture
def emulator_url() -> Iterator[str]:
    config = EmulatorConfig(
        job_duration=2.0,
        stop_duration=0.5,
        endpoint_duration=1.0,
        late_event_delay=0.2,
        check_responses=True,  # an answer outside botocore's output shape is a 500
    )
    with BackgroundEmulator(config) as url:
        yield url


@pytest.mark.timeout(600)
def test_the_sdk_fits_attaches_tunes_transforms_and_deploys(emulator_url: str) -> None:
    result = subprocess.run(
        [SDK_PYTHON, str(SCRIPT), "--endpoint-url", emulator_url, "--sdk-clock-speedup", "10"],
        env=subprocess_env(SAGEMAKER_SUPPRESS_V2_WARNING="1"),
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    output = result.stdout + result.stderr
    sys.stdout.write(output)  # shown by pytest when the test fails
    passed = {
        line[5:].rsplit(" (", 1)[0] for line in output.splitlines() if line.startswith("PASS ")
    }
    assert set(STEPS) <= passed, f"steps not passed: {set(STEPS) - passed}"
    assert result.returncode == 0, output[-4000:]
    with urllib.request.urlopen(f"{emulator_url}/_emulator/stats", timeout=10) as response:
        calls = json.loads(response.read())["calls"]
    for operation in (
        "CreateTrainingJob",
        "CreateHyperParameterTuningJob",
        "CreateTransformJob",
        "CreateProcessingJob",
        "CreateEndpoint",
        "DeleteEndpoint",
        "GetLogEvents",
    ):
        assert calls.get(operation, 0) >= 1, f"the SDK never called {operation} on the emulator"
