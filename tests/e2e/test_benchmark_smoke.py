"""The load benchmark, tiny: keeps ``python -m benchmarks.load`` working between full runs.

Four jobs of about a second per strategy (ours with events on a queue and rule set up on its
emulator, events delivered 0.2 s late), 0.5 s intervals, a SIGTERM phase of four jobs for
ours (the baselines' SIGTERM paths run in ``--quick``), on an account with AWS paging and 150
older jobs per kind and a bystander listing every 2 s; the runs go at once (the smoke profile
measures nothing). The emulator and every strategy run as subprocesses on 127.0.0.1 with the
network guard and fake credentials. Checks that every figure is there, is consistent with the
others and that the report and charts are written, never a timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from support.environment import subprocess_env

REPO = Path(__file__).resolve().parents[2]
RUN_FIGURES = (
    "latency_p50_s",
    "latency_p99_s",
    "latency_max_s",
    "status_calls_per_job_minute",
    "polling_calls_per_job_minute",
    "status_calls_per_job",
    "describe_calls_per_job",
    "list_pages_per_job",
    "cpu_percent_run",
    "logs_calls_per_job_minute",
    "throttled",
    "throttling_errors_surfaced",
    "cpu_s",
    "peak_rss_mb",
    "lag_p99_ms",
    "latency_cdf_s",
    "latency_by_end_s",
    "feed_calls",
    "log_events_read_per_line",
)
SIGTERM_FIGURES = (
    "to_every_stop_request_s",
    "to_first_stop_request_s",
    "to_last_stop_request_s",
    "to_last_stop_accepted_s",
    "jobs_stop_accepted",
    "jobs_stop_accepted_in_kubernetes_grace",
)

PACED_FIGURES = (
    "cpu_percent_paced",
    "paced_window_s",
    "peak_rss_mb",
    "peak_rss_window_mb",
    "log_events_read_per_line",
    "changes_per_s",
    "log_lines_per_s",
    "status_calls_per_job_minute",
    "lag_p99_paced_ms",
)


# The run's own bound (below) rather than the suite's 120 s.
@pytest.mark.timeout(240)
def test_smoke_run_writes_every_figure_the_report_and_the_charts(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    (tmp_path / "NOTES.md").write_text("## Written by hand\n\nuptime: load average 1.5\n")
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
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]

    (results,) = tmp_path.glob("*-smoke.json")
    document = json.loads(results.read_text())
    assert {run["strategy"] for run in document["runs"]} == {"ours", "ours-events", "v1", "trigger"}
    for run in document["runs"]:
        assert run["detected"] == run["ended"] == run["jobs"], run["strategy"]
        missing = [key for key in RUN_FIGURES if run.get(key) is None]
        assert not missing, (run["strategy"], missing)
        assert run["throttling_errors_surfaced"] == 0
        assert sum(row["jobs"] for row in run["latency_by_end_s"]) == run["detected"]
        per_job = run["describe_calls_per_job"] + run["list_pages_per_job"]
        assert abs(run["status_calls_per_job"] - per_job) < 0.01, run["strategy"]
        if run["strategy"] != "ours-events":  # each job is Described
            assert run["status_calls_per_job"] >= 1, run["strategy"]
        # The bystander called, and its calls are not the strategy's: v1 and trigger never List.
        assert run["bystander_calls"] >= 1, run["strategy"]
        assert 0 <= run["bystander_throttled"] <= run["bystander_calls"]
        if run["strategy"] in ("v1", "trigger"):
            assert run["list_pages_per_job"] == 0, run["strategy"]
    ours = next(run for run in document["runs"] if run["strategy"] == "ours")
    assert ours["noticed_p99_s"] is not None
    # The account the figures were taken on (how the runner follows 4 jobs there is its own
    # choice: sweeps or Describes), and sweeps, where it swept, made of whole pages.
    assert (document["profile"]["history"], document["profile"]["list_paging"]) == (150, "aws")
    for operation, entry in ours["sweeps"].items():
        assert entry["sweeps"] >= 1 and entry["pages_per_sweep_mean"] >= 1, operation
    # Ours with events: the emulator's EventBridge took every job's events to the queue the
    # strategy set up, the runner read them there, and the figures count it apart.
    fed = next(run for run in document["runs"] if run["strategy"] == "ours-events")
    events = fed["events"]
    assert events["delivery"]["delay_s"] == document["profile"]["event_delay"]
    assert events["matched"] >= fed["jobs"]  # at least each job's end
    assert events["delivered"] == events["matched"] and events["undeliverable"] == 0
    assert fed["calls_by_operation"]["PutRule"] == fed["calls_by_operation"]["CreateQueue"] == 1
    assert fed["feed_calls"] >= 1 and fed["calls_by_operation"]["ReceiveMessage"] >= 1
    assert fed["noticed_p99_s"] is not None
    # An end event carrying the outcome's fields settles the job: at most the Describes polling
    # would make, and no lookup before Create (known_new) for either.
    assert fed["describe_calls_per_job"] <= ours["describe_calls_per_job"]
    # Status calls are SageMaker's job calls: the setup's DescribeRule/ListTargetsByRule and
    # the SQS calls are not among them.
    assert fed["calls_by_operation"]["DescribeRule"] >= 1
    job_calls = sum(
        n
        for op, n in fed["calls_by_operation"].items()
        if op.startswith(("Describe", "List")) and "Job" in op
    )
    assert fed["status_calls"] == job_calls
    assert ours["feed_calls"] == 0 and ours["events"]["matched"] == 0
    assert not document["failed"] and not document["skipped"]
    assert {run["strategy"] for run in document["sigterm"]} == {"ours"}
    for run in document["sigterm"]:
        missing = [key for key in SIGTERM_FIGURES if run.get(key) is None]
        assert not missing, (run["strategy"], missing)
        assert run["jobs_stop_requested"] == run["in_flight_at_signal"]
        assert run["jobs_stop_accepted"] == run["in_flight_at_signal"]
        assert run["to_first_stop_request_s"] <= run["to_last_stop_accepted_s"]
        assert run["to_last_stop_accepted_s"] <= run["to_last_stop_request_s"]
        assert run["bystander_calls"] >= 1
    check_paced(document)
    check_report(tmp_path, readme, results)


def check_paced(document: dict[str, Any]) -> None:
    """The steady state at AWS's pace: every job still running at the deadline, left so, with
    the window's cost and the status changes the runner saw in it."""
    (paced,) = document["paced"]
    assert paced["strategy"] == "ours" and paced["ended"] == 0
    assert paced["created"] == paced["jobs"] == document["profile"]["paced_size"]
    missing = [key for key in PACED_FIGURES if paced.get(key) is None]
    assert not missing, missing
    assert paced["paced_window_s"] >= document["profile"]["paced_window"] - 1
    assert 0 < paced["peak_rss_window_mb"] <= paced["peak_rss_mb"]


def check_report(folder: Path, readme: Path, results: Path) -> None:
    """The charts and the report beside the results, the hand notes (NOTES.md) included."""
    charts = sorted(path.name for path in folder.glob("*.png"))
    assert charts == [f"{results.stem}-calls-vs-n.png", f"{results.stem}-latency-cdf.png"]
    assert all((folder / chart).read_bytes().startswith(b"\x89PNG") for chart in charts)
    report = readme.read_text()
    assert "### Targets" in report and "ours / v1" in report and results.name in report
    assert "## Written by hand\n\nuptime: load average 1.5" in report
    assert "### Steady state at AWS's pace, N = 4" in report
    assert "at AWS's pace, N = 4" in report  # the steady-state target judged on that phase
