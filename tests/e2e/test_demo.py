"""``make demo`` runs its batch against the embedded emulator and exits 0 (non-TTY output)."""

from __future__ import annotations

import subprocess
import sys

from support.environment import subprocess_env


def test_demo_runs_a_mixed_batch_to_the_end() -> None:
    env = subprocess_env()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(name)  # the demo needs no AWS credentials at all
    done = subprocess.run(
        [sys.executable, "-m", "runner.demo"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "12 jobs" in out
    for expected in ("Completed", "InService", "Failed", "Stopped", "AlgorithmError: loss is NaN"):
        assert expected in out
    # Events are structured lines on stderr, never with credentials.
    assert "job.submitted" in done.stderr and "job.stop_requested" in done.stderr
