"""The live view and the end screen, drawn on rich's recording console at 80 and 120 columns:
every part present, and no line longer than the console (cut, never wrapped)."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from rich.console import Console, RenderableType

from smrun.launcher.journal import Journal
from smrun.launcher.progress import Failure, Pause, RunningJob, Tally, end_screen, render

NOW = 1_800_000_000.0
LONG = "AlgorithmError: loss is NaN after epoch 3 " + "(a very long reason) " * 10


def picture(renderable: RenderableType, width: int) -> list[str]:
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    lines = console.export_text().splitlines()
    assert all(len(line) <= width for line in lines), [s for s in lines if len(s) > width]
    return lines


def busy_tally() -> Tally:
    tally = Tally(
        "nightly-sweep",
        counts={
            "pending": 9,
            "submitted": 1,
            "running": 10,
            "succeeded": 18,
            "failed": 2,
            "stopped": 0,
            "error": 0,
        },
        clock=lambda: NOW,
    )
    tally.started = time.monotonic() - 120
    tally.ended_times.extend(time.monotonic() - s for s in range(1, 21))
    tally.running = [
        RunningJob(
            f"xgb-eta-0-{i}-depth-{i}-with-a-long-entry-name",
            f"TrainingJob-xgb-{i}",
            "training",
            "2 x ml.p3.2xlarge",
            "InProgress",
            "Training" if i % 2 else "Downloading",
            NOW - 65 * (i + 1),
        )
        for i in range(10)
    ]
    tally.billable_s = 12_345
    tally.waiting, tally.blocked = 5, 3
    tally.paused = [Pause("training:ml.p3.2xlarge", 8, 8)]
    tally.failed(Failure("xgb-eta-0-9", "TrainingJob-xgb-9", "Failed", LONG))
    return tally


@pytest.mark.parametrize("width", [80, 120])
def test_the_live_view_shows_the_bar_running_jobs_quotas_and_paths(width: int) -> None:
    text = "\n".join(picture(render(busy_tally(), "output: smrun-runs/x   journal: j"), width))
    assert "20/40 done" in text and "ETA " in text
    assert "━" in text and " 50%" in text  # the bar and its share
    assert "18 succeeded" in text and "10 running" in text and "9 pending" in text
    assert "running (10)" in text and "... and 2 more" in text  # oldest first, 8 shown
    assert "Downloading" in text and "Training" in text
    assert "10m50s" in text  # the oldest job's elapsed time: 650 s
    assert "2 x ml.p3.2xlarge" in text
    assert "billable so far: 12,345 s" in text
    assert "waiting: 5 for room, 3 for the entries they come after" in text
    assert "paused (ResourceLimitExceeded): training:ml.p3.2xlarge, 8 of 8 in use" in text
    assert "latest failures" in text and "AlgorithmError: loss is NaN" in text
    assert "output: smrun-runs/x   journal: j" in text


def test_before_any_job_ends_the_eta_says_when_it_will_be_known() -> None:
    tally = Tally(
        "b",
        counts={
            "pending": 21,
            "submitted": 0,
            "running": 0,
            "succeeded": 0,
            "failed": 0,
            "stopped": 0,
            "error": 0,
        },
    )
    text = "\n".join(picture(render(tally, "output: o   journal: j"), 80))
    assert "0/21 done" in text and "ETA after the first job ends" in text
    assert "output: o   journal: j" in text  # the paths from the first frame


@pytest.mark.parametrize("width", [80, 120])
def test_the_end_screen_is_compact(tmp_path: Path, width: int) -> None:
    with Journal(tmp_path / "j.sqlite", "b1") as journal:
        journal.plan([(f"fit-{i}", "training", f"TrainingJob-fit-{i}", "d") for i in range(21)])
        for i in range(21):
            journal.submitted(f"fit-{i}")
            if i < 2:
                journal.ended(f"fit-{i}", "failed", status="Failed", failure_reason=LONG)
            else:
                journal.ended(f"fit-{i}", "succeeded", status="Completed")
        rows = journal.rows()
    lines = picture(
        end_screen(
            "b1",
            rows,
            wall_s=754,
            billable_s=4_200,
            log_path=lambda name: f"smrun-runs/b1/logs/{name}.log",
            report="smrun-runs/b1/report.csv",
        ),
        width,
    )
    # Counts, wall time, two lines per failure (reason, log), and where the full table is.
    assert len(lines) == 2 + 2 * 2 + 1
    assert "21 jobs:  19 succeeded  2 failed" in lines[0]
    assert "wall time 12m34s; billable 4,200 s" in lines[1]
    assert lines[2].startswith("failed    fit-0  AlgorithmError: loss is NaN")
    assert lines[3].strip() == "log: smrun-runs/b1/logs/TrainingJob-fit-0.log"
    assert lines[-1] == "full table: smrun-runs/b1/report.csv"


@pytest.mark.parametrize("width", [80, 120])
def test_smrun_status_table_is_one_line_per_job(tmp_path: Path, width: int) -> None:
    from smrun.launcher.report import status_table

    with Journal(tmp_path / "j.sqlite", "b1") as journal:
        journal.plan(
            [
                (f"xgb-eta-0-{i}-depth-{i}", "training", f"TrainingJob-xgb-{i}-" + "a" * 30, "d")
                for i in range(3)
            ]
        )
        journal.submitted("xgb-eta-0-0-depth-0")
        journal.ended("xgb-eta-0-0-depth-0", "failed", status="Failed", failure_reason=LONG)
        rows = journal.rows()
    lines = picture(status_table("b1", rows), width)
    assert lines[0].startswith("batch b1: 3 jobs (2 pending, 1 failed)")
    assert len(lines) == 2 + 3  # title, header, a line per job
    assert "failed" in lines[2] and "Failed" in lines[2] and "training" in lines[2]
