"""The batch's results, from its journal: JSON Lines and CSV of every job, and a summary.

Reports are derived from the journal alone, so they can be written again at any time
and a resumed batch's report covers every entry, whichever run finished it. Files are written
to a temporary name and renamed: a reader never sees half.

``report.csv`` has, after the fixed ``COLUMNS``, a ``matrix.<key>`` column per sweep key and a
``metric.<name>`` column per final metric (``FinalMetricDataList``) any job reported, so a sweep
can be sorted by its result in a spreadsheet.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table

from smrun.launcher.journal import FINISHED, STATES, Row

__all__ = [
    "COLUMNS",
    "ReportFiles",
    "StatusTable",
    "all_succeeded",
    "job_record",
    "status_table",
    "summary",
    "write_reports",
]

COLUMNS = (
    "id",
    "kind",
    "job_name",
    "state",
    "status",
    "submitted_at",
    "ended_at",
    "duration_s",
    "attempts",
    "retries",
    "failure_reason",
    "outputs",
)
MATRIX_PREFIX, METRIC_PREFIX = "matrix.", "metric."


@dataclass(frozen=True)
class ReportFiles:
    jsonl: Path
    csv: Path
    summary: Path


def _duration(row: Row) -> float | None:
    if not (row.submitted_at and row.ended_at):
        return None
    started = dt.datetime.fromisoformat(row.submitted_at)
    ended = dt.datetime.fromisoformat(row.ended_at)
    return round((ended - started).total_seconds(), 3)


def job_record(row: Row) -> dict[str, Any]:
    """One job of the report: what the journal knows, and how long it took from submission."""
    return {
        "id": row.id,
        "kind": row.kind,
        "job_name": row.job_name,
        "state": row.state,
        "status": row.status,
        "submitted_at": row.submitted_at,
        "ended_at": row.ended_at,
        "duration_s": _duration(row),
        "attempts": row.attempts,
        "retries": row.retries,
        "failure_reason": row.failure_reason,
        "outputs": row.outputs or {},
        "matrix": row.matrix or {},
    }


def _metrics(row: Row) -> dict[str, Any]:
    found = (row.outputs or {}).get("metrics")
    return dict(found) if isinstance(found, dict) else {}


def _csv_row(record: dict[str, Any], row: Row) -> dict[str, Any]:
    flat = {key: record[key] for key in COLUMNS}
    flat["outputs"] = json.dumps(record["outputs"], sort_keys=True)
    flat.update({f"{MATRIX_PREFIX}{k}": v for k, v in record["matrix"].items()})
    flat.update({f"{METRIC_PREFIX}{k}": v for k, v in _metrics(row).items()})
    return flat


def all_succeeded(rows: Sequence[Row]) -> bool:
    """A batch with jobs, every one of which succeeded (exit code 0)."""
    return bool(rows) and all(row.state == "succeeded" for row in rows)


def summary(batch_id: str, rows: Sequence[Row]) -> dict[str, Any]:
    """Counts by state and by kind, and the failures: what a reader wants first."""
    by_state = dict.fromkeys(STATES, 0)
    by_kind: dict[str, dict[str, int]] = {}
    for row in rows:
        by_state[row.state] += 1
        kind = by_kind.setdefault(row.kind, {})
        kind[row.state] = kind.get(row.state, 0) + 1
    durations = [d for d in (_duration(row) for row in rows) if d is not None]
    return {
        "batch": batch_id,
        "total": len(rows),
        "finished": sum(by_state[s] for s in FINISHED),
        "states": by_state,
        "kinds": by_kind,
        "all_succeeded": all_succeeded(rows),
        "longest_job_s": max(durations, default=None),
        "failures": [
            {
                "id": row.id,
                "job_name": row.job_name,
                "state": row.state,
                "reason": row.failure_reason,
            }
            for row in rows
            if row.state in ("failed", "stopped", "error")
        ],
    }


def _atomic_write(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("w", encoding="utf-8", newline="") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    partial.replace(path)


def write_reports(batch_id: str, rows: Sequence[Row], directory: str | Path) -> ReportFiles:
    """``report.jsonl``, ``report.csv`` and ``summary.json`` under ``directory``."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    records = [job_record(row) for row in rows]
    files = ReportFiles(
        jsonl=target / "report.jsonl", csv=target / "report.csv", summary=target / "summary.json"
    )
    _atomic_write(files.jsonl, "".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    flat = [_csv_row(record, row) for record, row in zip(records, rows, strict=True)]
    extra = dict.fromkeys(key for item in flat for key in item if key not in COLUMNS)
    matrix = [k for k in extra if k.startswith(MATRIX_PREFIX)]
    metrics = sorted(k for k in extra if k.startswith(METRIC_PREFIX))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*COLUMNS, *matrix, *metrics])
    writer.writeheader()
    writer.writerows(flat)
    _atomic_write(files.csv, buffer.getvalue())
    _atomic_write(files.summary, json.dumps(summary(batch_id, rows), indent=2) + "\n")
    return files


# Columns of the status table with the width they keep; entry, job name and detail share the
# rest of the line (and are cut to it: report.csv has them whole).
_FIXED_COLUMNS = {"kind": 10, "state": 9, "status": 10, "took": 7}
_SHARED_COLUMNS = {"entry": 0.3, "job name": 0.35, "detail": 0.35}
_ORDER = ("entry", "kind", "job name", "state", "status", "took", "detail")


class StatusTable:
    """The batch as a table, one line per job at any console width."""

    def __init__(self, batch_id: str, rows: Sequence[Row], limit: int | None = None) -> None:
        self.batch_id = batch_id
        self.rows = list(rows)
        self.limit = limit

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        rows = self.rows
        counts = summary(self.batch_id, rows)["states"]
        shown = ", ".join(f"{count} {state}" for state, count in counts.items() if count)
        table = Table(
            title=f"batch {self.batch_id}: {len(rows)} jobs ({shown or 'empty'})",
            title_justify="left",
            box=None,
            padding=(0, 1),
        )
        free = options.max_width - sum(_FIXED_COLUMNS.values()) - 2 * len(_ORDER)
        for column in _ORDER:
            width = _FIXED_COLUMNS.get(column) or max(int(free * _SHARED_COLUMNS[column]), 6)
            table.add_column(column, no_wrap=True, overflow="ellipsis", max_width=width)
        for row in rows[: self.limit] if self.limit is not None else rows:
            took = _duration(row)
            detail = row.failure_reason or ", ".join(
                f"{k}={v}"
                for k, v in (row.outputs or {}).items()
                if k not in ("metrics", "job_name")
            )
            table.add_row(
                row.id,
                row.kind,
                row.job_name,
                row.state,
                row.status or "",
                "" if took is None else f"{took:.1f}s",
                detail,
            )
        if self.limit is not None and len(rows) > self.limit:
            table.caption = f"... and {len(rows) - self.limit} more (see report.csv)"
            table.caption_justify = "left"
        yield table


def status_table(batch_id: str, rows: Iterable[Row], *, limit: int | None = None) -> StatusTable:
    """The batch as a table: one line per entry (the first ``limit``), and counts in the title."""
    return StatusTable(batch_id, list(rows), limit)
