"""The environment every test and every subprocess under test runs in."""

from __future__ import annotations

import os
from pathlib import Path

TESTS_ROOT = Path(__file__).parents[1]

# Fake credentials and a fixed region, so that nothing can find real ones; the network guard
# in subprocesses too (tests/support/sitecustomize).
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "SMRUN_NETWORK_GUARD": "1",
    # Components poll the emulator's short jobs quickly (their default first poll is 2 s).
    "SMRUN_POLL_INITIAL": "0.2",
    "SMRUN_POLL_MAXIMUM": "1",
    # ... and wait for late log lines only a little longer than the emulator delays them.
    "SMRUN_LOG_DRAIN_WAIT": "0.8",
    "SMRUN_TESTS_ROOT": str(TESTS_ROOT),
}


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for a subprocess under test: guard on, fake credentials, the repo importable."""
    env = dict(os.environ)
    env.update(FAKE_AWS_ENV)
    env["PYTHONPATH"] = os.pathsep.join(
        [
            str(TESTS_ROOT / "support" / "sitecustomize"),
            str(TESTS_ROOT.parent),
            env.get("PYTHONPATH", ""),
        ]
    )
    env.update(extra)
    return env
