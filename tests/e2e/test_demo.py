"""``make demo`` itself, as CI sees it (no terminal): the 50-job batch through ``smrun launch
--local`` runs to the end, follows one job's logs, prints the summary and writes the reports."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from support.environment import subprocess_env

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(180)
def test_make_demo_runs_the_batch_to_the_end(tmp_path: Path) -> None:
    make = shutil.which("make")
    assert make, "make is needed for `make demo`"
    env = subprocess_env()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(name)  # the demo needs no AWS credentials at all
    for name in ("SMRUN_POLL_INITIAL", "SMRUN_POLL_MAXIMUM", "SMRUN_LOG_DRAIN_WAIT"):
        env.pop(name)  # the demo's own pace, as a user gets it
    out = tmp_path / "demo"
    done = subprocess.run(
        [make, "-s", "demo", f"DEMO_OUT={out}"],
        cwd=REPO,
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # The summary: every job accounted for, the planned failures named.
    assert "batch smrun-demo  50 jobs:  47 succeeded  3 failed" in done.stdout
    assert "AlgorithmError: loss is NaN" in done.stdout
    # The followed job's logs reached the console, host by host.
    followed = [line for line in done.stdout.splitlines() if "kmeans-k-8-epochs-6" in line]
    assert any("[algo-1]" in line for line in followed)
    assert any("[algo-2]" in line for line in followed)
    # Progress as structured lines, and no credentials anywhere.
    assert "launch.progress" in done.stderr and "launch.job_ended" in done.stderr
    # The reports and a log file per job with logs.
    records = [json.loads(line) for line in (out / "report.jsonl").read_text().splitlines()]
    assert len(records) == 50
    assert sorted(r["state"] for r in records).count("succeeded") == 47
    kinds = {r["kind"] for r in records if r["state"] == "succeeded"}
    assert kinds == {
        "training",
        "tuning",
        "processing",
        "model",
        "transform",
        "endpoint_config",
        "endpoint",
    }
    summary = json.loads((out / "summary.json").read_text())
    assert summary["states"]["failed"] == 3
    assert (out / "report.csv").read_text().count("\n") == 51
    logs = list((out / "logs").glob("*.log"))
    assert len(logs) >= 44  # every training, tuning, processing and transform job
