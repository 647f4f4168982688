"""Reports and the progress picture, from a journal."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from rich.console import Console

from smrun.launcher.journal import Journal
from smrun.launcher.report import status_table, summary, write_reports


def journal_with_outcomes(tmp_path: Path) -> Journal:
    journal = Journal(tmp_path / "j.sqlite", "b1")
    journal.plan([(f"e{i}", "training", f"job-{i}", f"d{i}") for i in range(4)])
    journal.submitted("e0")
    journal.ended("e0", "succeeded", status="Completed", outputs={"model": "s3://m/e0"})
    journal.submitted("e1")
    journal.ended("e1", "failed", status="Failed", failure_reason="AlgorithmError: NaN")
    journal.submitted("e2")
    journal.running("e2", "InProgress")
    return journal


def test_reports_list_every_job_with_its_outcome(tmp_path: Path) -> None:
    with journal_with_outcomes(tmp_path) as journal:
        files = write_reports("b1", journal.rows(), tmp_path / "out")
    records = [json.loads(line) for line in files.jsonl.read_text().splitlines()]
    assert [r["state"] for r in records] == ["succeeded", "failed", "running", "pending"]
    assert records[0]["outputs"] == {"model": "s3://m/e0"}
    assert records[0]["duration_s"] >= 0 and records[3]["duration_s"] is None
    with files.csv.open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows[1]["failure_reason"] == "AlgorithmError: NaN"
    assert json.loads(rows[0]["outputs"]) == {"model": "s3://m/e0"}
    written = json.loads(files.summary.read_text())
    assert written["states"]["succeeded"] == 1 and written["total"] == 4
    assert written["failures"] == [
        {"id": "e1", "job_name": "job-1", "state": "failed", "reason": "AlgorithmError: NaN"}
    ]
    assert not list((tmp_path / "out").glob(".*partial"))


def test_summary_counts_by_state_and_kind(tmp_path: Path) -> None:
    with journal_with_outcomes(tmp_path) as journal:
        result = summary("b1", journal.rows())
    assert result["kinds"] == {
        "training": {"succeeded": 1, "failed": 1, "running": 1, "pending": 1}
    }
    assert result["all_succeeded"] is False and result["finished"] == 2


def test_the_status_table_renders(tmp_path: Path) -> None:
    console = Console(width=200, record=True)
    with journal_with_outcomes(tmp_path) as journal:
        console.print(status_table("b1", journal.rows(), limit=3))
    text = console.export_text()
    assert "batch b1: 4 jobs (1 pending, 1 running, 1 succeeded, 1 failed)" in text
    assert "AlgorithmError: NaN" in text and "and 1 more" in text


def test_report_csv_has_a_column_per_matrix_key_and_final_metric(tmp_path: Path) -> None:
    from smrun.launcher.journal import Planned

    with Journal(tmp_path / "j.sqlite", "b1") as journal:
        journal.plan(
            [
                Planned("x-1", "training", "job-1", "d1", None, {"eta": "0.1", "depth": 4}),
                Planned("x-2", "training", "job-2", "d2", None, {"eta": "0.2", "depth": 8}),
                Planned("prep", "processing", "job-3", "d3"),
            ]
        )
        for entry_id, loss in (("x-1", 0.5), ("x-2", 0.25)):
            journal.submitted(entry_id)
            journal.ended(
                entry_id,
                "succeeded",
                status="Completed",
                outputs={"metrics": {"validation:loss": loss, "train:loss": loss / 2}},
            )
        files = write_reports("b1", journal.rows(), tmp_path / "out")
    with files.csv.open() as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert reader.fieldnames is not None
    assert reader.fieldnames[-4:] == [
        "matrix.eta",
        "matrix.depth",
        "metric.train:loss",
        "metric.validation:loss",
    ]
    assert [(r["id"], r["matrix.eta"], r["metric.validation:loss"]) for r in rows] == [
        ("x-1", "0.1", "0.5"),
        ("x-2", "0.2", "0.25"),
        ("prep", "", ""),
    ]
    record = json.loads(files.jsonl.read_text().splitlines()[1])
    assert record["matrix"] == {"eta": "0.2", "depth": 8} and record["retries"] == 0
