"""The SageMaker Python SDK v2's log readers find and print the emulator's streams
(``sagemaker_sdk_logs_check``): AWS-maintained code reading the names the emulator gives them.

The SDK is a reference client, never a project dependency: it lives in a throwaway virtualenv
whose Python ``SMRUN_SAGEMAKER_SDK_PYTHON`` names; without it the test is skipped:

    python3.11 -m venv /tmp/sagemaker-sdk-venv
    /tmp/sagemaker-sdk-venv/bin/pip install 'sagemaker<3'
    SMRUN_SAGEMAKER_SDK_PYTHON=/tmp/sagemaker-sdk-venv/bin/python \
        .venv/bin/pytest tests/e2e/test_sagemaker_sdk_logs.py

The script runs with the network guard (tests/support/sitecustomize): the SDK cannot reach AWS.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from emulator.server import BackgroundEmulator
from emulator.state import EmulatorConfig
from support.environment import subprocess_env

SCRIPT = Path(__file__).with_name("sagemaker_sdk_logs_check.py")
SDK_PYTHON = os.environ.get("SMRUN_SAGEMAKER_SDK_PYTHON", "")
EPOCH = r"\d{10}"

pytestmark = pytest.mark.skipif(
    not SDK_PYTHON or not Path(SDK_PYTHON).exists(),
    reason="SMRUN_SAGEMAKER_SDK_PYTHON does not name the Python of a virtualenv with the SDK",
)


@pytest.mark.timeout(300)
def test_the_sdks_log_readers_find_every_kinds_streams() -> None:
    config = EmulatorConfig(job_duration=1.0, late_event_delay=0.2, log_lines=6)
    with BackgroundEmulator(config) as url:
        done = subprocess.run(
            [SDK_PYTHON, str(SCRIPT), "--endpoint-url", url],
            env=subprocess_env(SAGEMAKER_SUPPRESS_V2_WARNING="1"),
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])

    names = {job: sorted(found[job]["streams"]) for job in found}
    assert all(re.fullmatch(rf"sdk-train/algo-[12]-{EPOCH}", n) for n in names["sdk-train"])
    assert all(re.fullmatch(rf"sdk-process/algo-[12]-{EPOCH}", n) for n in names["sdk-process"])
    instance, data_log = names["sdk-transform"]
    assert re.fullmatch(rf"sdk-transform/i-[0-9a-f]{{17}}-{EPOCH}", instance)
    assert data_log == f"{instance}/data-log"

    printed = {job: "\n".join(found[job]["sdk"]) for job in found}
    # (logs_for_job prints the training status without a newline before the first log line.)
    for job in ("sdk-train", "sdk-process"):  # every line of both hosts, once
        assert len(found[job]["streams"]) == 2
        for messages in found[job]["streams"].values():
            assert all(printed[job].count(message) == 1 for message in messages), job
    # The transform's data-log line is shown with the container's. (v2.257's listing asks for
    # limit=InstanceCount streams, then again without the nextToken, so with a data-log it
    # lists the instance's stream twice and prints its lines twice: the same on AWS.)
    transform = found["sdk-transform"]["streams"]
    assert all(m in printed["sdk-transform"] for ms in transform.values() for m in ms)
    assert "[sagemaker logs]: MaxConcurrentTransforms=1" in transform[data_log][0]
