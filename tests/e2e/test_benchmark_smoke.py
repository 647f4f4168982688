"""The load benchmark, tiny: keeps ``python -m benchmarks.load`` working between full runs.

Four jobs of a second or two per strategy, 0.5 s intervals, a SIGTERM phase of four jobs for
ours (the baselines' SIGTERM paths run in ``--quick``); the
emulator and every strategy run as subprocesses on 127.0.0.1 with the network guard and fake
credentials. Checks that every figure is there and that the report and charts are written,
never a timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support.environment import subprocess_env

REPO = Path(__file__).resolve().parents[2]
RUN_FIGURES = (
    "latency_p50_s",
    "latency_p99_s",
    "latency_max_s",
    "status_calls_per_job_minute",
    "polling_calls_per_job_minute",
    "logs_calls_per_job_minute",
    "throttled",
    "throttling_errors_surfaced",
    "cpu_s",
    "peak_rss_mb",
    "lag_p99_ms",
    "latency_cdf_s",
)
SIGTERM_FIGURES = ("to_every_stop_request_s", "to_last_stop_accepted_s", "jobs_stop_accepted")


def test_smoke_run_writes_every_figure_the_report_and_the_charts(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.load",
            "--profile",
            "smoke",
            "--out",
            str(tmp_path),
            "--report",
            str(readme),
        ],
        cwd=REPO,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]

    (results,) = tmp_path.glob("*-smoke.json")
    document = json.loads(results.read_text())
    assert {run["strategy"] for run in document["runs"]} == {"ours", "v1", "trigger"}
    for run in document["runs"]:
        assert run["detected"] == run["ended"] == run["jobs"], run["strategy"]
        missing = [key for key in RUN_FIGURES if run.get(key) is None]
        assert not missing, (run["strategy"], missing)
        assert run["throttling_errors_surfaced"] == 0
    ours = next(run for run in document["runs"] if run["strategy"] == "ours")
    assert ours["noticed_p99_s"] is not None
    assert {run["strategy"] for run in document["sigterm"]} == {"ours"}
    for run in document["sigterm"]:
        missing = [key for key in SIGTERM_FIGURES if run.get(key) is None]
        assert not missing, (run["strategy"], missing)
        assert run["jobs_stop_requested"] == run["in_flight_at_signal"]

    charts = sorted(path.name for path in tmp_path.glob("*.png"))
    assert charts == [f"{results.stem}-calls-vs-n.png", f"{results.stem}-latency-cdf.png"]
    assert all((tmp_path / chart).read_bytes().startswith(b"\x89PNG") for chart in charts)
    report = readme.read_text()
    assert "### Targets" in report and "ours / v1" in report and results.name in report
