"""The report: charts and Markdown from one results document.

``python -m benchmarks.load.report RESULTS.json [--also MORE.json] [--readme README.md]``
rewrites the charts and the report from a results file, so that every figure, ratio and chart
the README shows comes from one run; ``--also`` adds the runs of another invocation (sizes the
first did not run, e.g. N = 10,000 for two strategies), each said to be from its own file. Targets are judged here, from the figures, with the reason for a
miss computed from the same figures. What a person writes about a run goes in ``NOTES.md``
beside the report, which the report includes after its targets and never overwrites.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.load.format import fmt
from benchmarks.load.targets import paced_runs, targets
from benchmarks.load.workload import FULL, KUBERNETES_GRACE

STRATEGY_NAMES = {
    "ours": "ours (runner core)",
    "ours-events": "ours with events",
    "v1": "v1: thread per job",
    "trigger": "trigger: coroutine per job",
}
HAND_NOTES = "NOTES.md"  # beside the report: what a person wrote about the run, kept
BASELINES = ("v1", "trigger")  # what the ratio columns divide ours by
# Profile fields that choose which phases run, and the paced phase's own: runs merged into one
# report may differ in them, never in the workload or the account.
PHASE_KNOBS = frozenset(
    {"sizes", "sigterm_size", "paced_size", "paced_strategies", "paced_window", "pace"}
)
COLORS = {"ours": "#1b7837", "ours-events": "#5aae61", "v1": "#b2182b", "trigger": "#2166ac"}
Row = tuple[str, str, Callable[[dict[str, Any]], Any]]


def _get(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda figures: figures.get(key)


def _sweep(operation: str, key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda figures: figures.get("sweeps", {}).get(operation, {}).get(key)


def _events(figures: dict[str, Any], key: str) -> Any:
    """EventBridge's count ``key``: None where no rule took the events (no feed)."""
    events = figures.get("events") or {}
    return events.get(key) if events.get("matched") else None


def _log_share(figures: dict[str, Any]) -> float | None:
    """Percent of the written log lines the strategy delivered."""
    if figures.get("log_lines") is None or not figures.get("log_lines_written"):
        return None
    return round(100 * float(figures["log_lines"]) / float(figures["log_lines_written"]), 1)


ROWS: list[Row] = [
    ("completions detected", "count", lambda f: f"{f['detected']}/{f['ended']}"),
    ("detection latency p50", "s", _get("latency_p50_s")),
    ("detection latency p99", "s", _get("latency_p99_s")),
    ("detection latency max", "s", _get("latency_max_s")),
    ("end status seen (sweep/poll/event), p99", "s", _get("noticed_p99_s")),
    ("status calls per job, over its life", "calls", _get("status_calls_per_job")),
    ("  Describe* per job", "calls", _get("describe_calls_per_job")),
    ("  List* pages per job (shared evenly)", "calls", _get("list_pages_per_job")),
    (
        "ListTrainingJobs pages per sweep, mean",
        "pages",
        _sweep("ListTrainingJobs", "pages_per_sweep_mean"),
    ),
    (
        "ListTrainingJobs pages per sweep, max",
        "pages",
        _sweep("ListTrainingJobs", "pages_per_sweep_max"),
    ),
    ("ListTrainingJobs sweep duration p50", "s", _sweep("ListTrainingJobs", "sweep_s_p50")),
    (
        "ListProcessingJobs pages per sweep, mean",
        "pages",
        _sweep("ListProcessingJobs", "pages_per_sweep_mean"),
    ),
    ("SageMaker events delivered to the queue", "count", lambda f: _events(f, "delivered")),
    ("feed calls per job (SQS receive, delete)", "calls", _get("feed_calls_per_job")),
    ("bystander ListTrainingJobs calls", "count", _get("bystander_calls")),
    ("bystander calls throttled", "count", _get("bystander_throttled")),
    ("status calls per job-minute", "calls", _get("status_calls_per_job_minute")),
    ("  of which polling", "calls", _get("polling_calls_per_job_minute")),
    ("throttled responses", "count", _get("throttled")),
    ("throttling errors surfaced", "count", _get("throttling_errors_surfaced")),
    ("Logs calls per job-minute", "calls", _get("logs_calls_per_job_minute")),
    ("log lines delivered", "% of written", _log_share),
    ("runner CPU, whole run", "s", _get("cpu_s")),
    ("runner CPU / wall, whole run", "% of a core", _get("cpu_percent_run")),
    ("runner CPU, steady state", "% of a core", _get("cpu_percent_steady")),
    ("peak RSS", "MB", _get("peak_rss_mb")),
    ("loop lag p99 (threads: sleep lag)", "ms", _get("lag_p99_ms")),
    ("loop lag p99, steady state", "ms", _get("lag_p99_steady_ms")),
    ("wall time of the run", "s", _get("wall_s")),
    # A strategy that submits late shortens its jobs (each ends at its planned time).
    ("submission of every job", "s", _get("submit_s")),
    ("job-minutes run", "min", _get("job_minutes")),
]
RATIO_ROWS = {
    "status calls per job, over its life",
    "detection latency p50",
    "detection latency p99",
    "status calls per job-minute",
    "  of which polling",
    "throttled responses",
    "Logs calls per job-minute",
    "runner CPU, whole run",
    "peak RSS",
    "loop lag p99 (threads: sleep lag)",
}
BYSTANDER_ROW: Row = (
    "bystander calls throttled (of its calls)",
    "count",
    lambda f: f"{f.get('bystander_throttled')}/{f.get('bystander_calls')}",
)
SIGTERM_ROWS: list[Row] = [
    ("jobs in flight at the signal", "count", _get("in_flight_at_signal")),
    ("SIGTERM to every job's Stop received", "s", _get("to_every_stop_request_s")),
    ("SIGTERM to first Stop received", "s", _get("to_first_stop_request_s")),
    ("SIGTERM to the last Stop received", "s", _get("to_last_stop_request_s")),
    ("jobs whose Stop was received", "count", _get("jobs_stop_requested")),
    ("Stop requests (throttled)", "count", _get("stop_requests_throttled")),
    ("jobs whose Stop was accepted", "count", _get("jobs_stop_accepted")),
    (
        "  of which within 30 s (Kubernetes' grace)",
        "count",
        _get("jobs_stop_accepted_in_kubernetes_grace"),
    ),
    ("SIGTERM to the last Stop accepted", "s", _get("to_last_stop_accepted_s")),
    ("killed after the grace period", "", _get("killed_after_grace")),
    BYSTANDER_ROW,
]


def _peaks(figures: dict[str, Any]) -> str:
    return f"{fmt(figures.get('peak_rss_window_mb'))} / {fmt(figures.get('peak_rss_mb'))}"


PACED_ROWS: list[Row] = [
    ("jobs running (ended in the window)", "count", lambda f: f"{f['created']} ({f['ended']})"),
    ("runner CPU over the window", "% of a core", _get("cpu_percent_paced")),
    (
        "window: from / length",
        "s",
        lambda f: f"{fmt(f.get('window_from_s'))} / {fmt(f.get('paced_window_s'))}",
    ),
    ("runner CPU / wall, whole run", "% of a core", _get("cpu_percent_run")),
    ("peak RSS by the window's end / at exit", "MB", _peaks),
    ("status changes seen in the window", "per s", _get("changes_per_s")),
    ("log lines delivered", "per s", _get("log_lines_per_s")),
    ("status calls", "per job-min", _get("status_calls_per_job_minute")),
    ("CloudWatch Logs calls", "per job-min", _get("logs_calls_per_job_minute")),
    ("change feed calls", "count", _get("feed_calls")),
    ("event loop lag p99 in the window", "ms", _get("lag_p99_paced_ms")),
    BYSTANDER_ROW,
]


def _ratio(ours: Any, baseline: Any) -> str:
    if not isinstance(ours, int | float) or not isinstance(baseline, int | float):
        return "-"
    if baseline == 0:
        return "-" if ours == 0 else "n/a"
    ratio = ours / baseline
    if ratio == 0:
        return "0"
    return f"{ratio:.2g}" if ratio < 10 else f"{ratio:,.0f}"


def _runs(document: dict[str, Any], size: int) -> dict[str, dict[str, Any]]:
    return {run["strategy"]: run for run in document["runs"] if run["size"] == size}


def _sizes(document: dict[str, Any]) -> list[int]:
    return sorted({run["size"] for run in document["runs"]})


# --- charts ----------------------------------------------------------------------------------


def write_charts(document: dict[str, Any], stem: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    if not document["runs"]:  # a SIGTERM phase alone
        return []
    return [_latency_chart(document, stem), _calls_chart(document, stem)]


def _latency_chart(document: dict[str, Any], stem: Path) -> Path:
    import matplotlib.pyplot as plt

    sizes = _sizes(document)
    figure, axes = plt.subplots(1, len(sizes), figsize=(5 * len(sizes), 4), squeeze=False)
    for axis, size in zip(axes[0], sizes, strict=True):
        for strategy, run in _runs(document, size).items():
            points = run.get("latency_cdf_s") or []
            if not points:
                continue
            fractions = [i / (len(points) - 1) for i in range(len(points))]
            axis.step(
                points,
                fractions,
                where="post",
                color=COLORS.get(strategy),
                label=STRATEGY_NAMES.get(strategy, strategy),
            )
        interval = document["profile"]["interval"]
        axis.axvline(2 * interval, color="grey", linestyle=":", label="2x sweep interval")
        axis.set_xscale("symlog", linthresh=1.0)
        axis.set_title(f"N = {size:,}")
        axis.set_xlabel("detection latency (s): true end to the strategy knowing")
        axis.set_ylabel("fraction of the jobs detected")
        axis.set_xlim(left=0)
        axis.set_ylim(0, 1.01)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    path = stem.with_name(f"{stem.name}-latency-cdf.png")
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _calls_chart(document: dict[str, Any], stem: Path) -> Path:
    import matplotlib.pyplot as plt

    panels = [
        ("status_calls_per_job", "status calls per job, over its life", "log"),
        ("logs_calls_per_job_minute", "Logs calls per job-minute", "log"),
        ("throttled", "throttled responses", "symlog"),
    ]
    figure, axes = plt.subplots(1, len(panels), figsize=(15, 4), squeeze=False)
    for axis, (key, label, scale) in zip(axes[0], panels, strict=True):
        lines = [(strategy, key, "-") for strategy in STRATEGY_NAMES]
        if key == "status_calls_per_job":
            lines.append(("ours", "describe_calls_per_job", "--"))
        for strategy, field, style in lines:
            points = [
                (run["size"], run.get(field))
                for run in document["runs"]
                if run["strategy"] == strategy and isinstance(run.get(field), int | float)
            ]
            if not points:
                continue
            xs, ys = zip(*sorted(points), strict=True)
            name = STRATEGY_NAMES[strategy] + (", Describes only" if style == "--" else "")
            axis.plot(xs, ys, style, marker="o", color=COLORS[strategy], label=name)
        axis.set_xscale("log")
        if scale == "symlog":
            axis.set_yscale("symlog", linthresh=1.0)
            axis.set_ylim(bottom=0)
        else:
            axis.set_yscale("log")
        axis.set_xlabel("N (jobs)")
        axis.set_title(label)
        axis.grid(alpha=0.3, which="both")
        axis.legend(fontsize=8)
    figure.tight_layout()
    path = stem.with_name(f"{stem.name}-calls-vs-n.png")
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def findings(document: dict[str, Any]) -> list[str]:
    """What the tables say, in sentences, with the run's own figures."""
    notes = []
    sizes = _sizes(document)
    compared = [size for size in sizes if {"ours", "v1", "trigger"} <= set(_runs(document, size))]
    if compared:
        size = max(compared)
        runs = _runs(document, size)
        ours, v1, trigger = runs["ours"], runs["v1"], runs["trigger"]
        notes.append(
            f"**Calls.** At N = {size:,} ours sent {fmt(ours['status_calls_per_job_minute'])} "
            f"status calls per job-minute ({fmt(ours['polling_calls_per_job_minute'])} of them "
            f"polling), v1 {fmt(v1['status_calls_per_job_minute'])} and trigger "
            f"{fmt(trigger['status_calls_per_job_minute'])}; Logs calls per job-minute: ours "
            f"{fmt(ours['logs_calls_per_job_minute'])}, v1 {fmt(v1['logs_calls_per_job_minute'])} "
            f"(logs read once, at the end), trigger {fmt(trigger['logs_calls_per_job_minute'])}."
        )
        notes.append(
            f"**Throttling.** At N = {size:,} the emulator throttled v1 {fmt(v1['throttled'])} "
            f"times and trigger {fmt(trigger['throttled'])} times "
            f"(v1: {_ops(v1)}; trigger: {_ops(trigger)}); "
            f"{fmt(v1['throttling_errors_surfaced'])} and "
            f"{fmt(trigger['throttling_errors_surfaced'])} jobs were lost from view on a "
            f"throttling error that outlasted botocore's retries. Ours: "
            f"{fmt(ours['throttled'])} throttled, {fmt(ours['throttling_errors_surfaced'])} "
            "surfaced: its budgets stay under the quotas."
        )
        notes.append(
            f"**Detection.** At N = {size:,} the p99 latency was ours "
            f"{fmt(ours['latency_p99_s'])} s, v1 {fmt(v1['latency_p99_s'])} s, trigger "
            f"{fmt(trigger['latency_p99_s'])} s, with every job detected by ours "
            f"({ours['detected']}/{ours['ended']}), v1 {v1['detected']}/{v1['ended']}, trigger "
            f"{trigger['detected']}/{trigger['ended']}. A fixed 5 s poll detects as fast as a "
            "5 s sweep while it is not throttled; it pays for it in calls."
        )
        notes.append(
            f"**Cost of the process.** At N = {size:,}: CPU ours {fmt(ours['cpu_s'])} s, v1 "
            f"{fmt(v1['cpu_s'])} s, trigger {fmt(trigger['cpu_s'])} s; peak RSS ours "
            f"{fmt(ours['peak_rss_mb'])} MB, v1 {fmt(v1['peak_rss_mb'])} MB, trigger "
            f"{fmt(trigger['peak_rss_mb'])} MB. The baselines' figures are a lower bound: "
            "threads and shared sessions are cheaper than N pods or N hooks."
        )
    log_parts = [
        f"{STRATEGY_NAMES[run['strategy']].split(':')[0]} {fmt(_log_share(run))}% at "
        f"N = {run['size']:,}"
        for run in document["runs"]
        if _log_share(run) is not None
    ]
    if log_parts:
        notes.append(
            "**Logs delivered** (of the lines the emulator wrote, late lines included): "
            + "; ".join(log_parts)
            + ". v1 reads once, right after the end, and misses the late lines; a batched "
            "tail that cannot keep up is cut `drain_limit` (60 s) after each job's end (a job "
            "still missing a stream then: after the listing that follows its end)."
        )
    big = _runs(document, sizes[-1]).get("ours") if sizes else None
    share = _log_share(big) if big else None
    if big is not None and share is not None and share < 50:
        calls = big.get("calls_by_operation", {})
        notes.append(
            f"**Logs at N = {big['size']:,}** (ours): {fmt(share)}% delivered, with "
            f"{fmt(calls.get('DescribeLogStreams'))} DescribeLogStreams and "
            f"{fmt(calls.get('FilterLogEvents'))} FilterLogEvents calls. The batched tailer "
            "discovers streams with one listing on the jobs' common prefix, but gives up on it "
            "after 40 pages (2,000 streams, `MAX_SHARED_PAGES`) and falls back to one "
            "DescribeLogStreams per job at its 5/s budget: 10,000 jobs take ~2,000 s to "
            "discover, and most tails are cut before their streams are found (runner "
            "event `logs.discovery_per_job`, then `logs.drain_cut`)."
        )
    notes += _events_notes(document)
    notes += _account_notes(document)
    notes += _late_submission_notes(document)
    if (
        big is not None
        and not document["profile"].get("history")
        and (big.get("noticed_p99_s") or 0) > 2 * document["profile"]["interval"]
    ):
        calls = big.get("calls_by_operation", {})
        notes.append(
            f"**Sweeps at N = {big['size']:,}.** {fmt(calls.get('ListTrainingJobs'))} "
            "ListTrainingJobs calls over the run. A delta sweep pages through every job "
            "modified since the previous sweep began (less the 10 s overlap), 100 per page, "
            "at the runner's List budget (1.5/s; the quota is 2/s): it keeps up with about "
            "150 status changes a second per kind. Here 10,000 jobs make five changes each in "
            "~2 minutes (several hundred a second), so each sweep took many pages, the next "
            "window grew, and the sweeps fell behind until the churn stopped. Uncompressed "
            "(30x fewer changes a second) the same batch is within one or two pages per sweep."
        )
    sigterms = {run["strategy"]: run for run in document.get("sigterm", [])}
    if sigterms:
        parts = []
        for name, run in sigterms.items():
            short = STRATEGY_NAMES[name].split(":")[0]
            if run.get("to_every_stop_request_s") is not None:
                sent = f"every Stop received after {fmt(run['to_every_stop_request_s'])} s"
            else:
                errors = run.get("errors_surfaced") or {}
                sent = (
                    f"Stops received for only {fmt(run.get('jobs_stop_requested'))} of "
                    f"{fmt(run.get('in_flight_at_signal'))} jobs (its tasks failed on "
                    f"throttling: {fmt(errors.get('ThrottlingException', 0))} errors surfaced "
                    "in this phase, before and after the signal)"
                )
            parts.append(
                f"{short}: {sent}, {fmt(run.get('jobs_stop_accepted'))}"
                f"/{fmt(run.get('in_flight_at_signal'))} accepted"
                + (" before the kill" if run.get("killed_after_grace") else "")
                + f" ({fmt(run.get('jobs_stop_accepted_in_kubernetes_grace'))} within "
                f"{KUBERNETES_GRACE:g} s)"
            )
        grace = document["profile"]["grace"]
        size = next(iter(sigterms.values()))["size"]
        notes.append(
            "**SIGTERM.** "
            + "; ".join(parts)
            + f". The `aws-like` Stop* quota (10/s, burst 20) accepts ~{10 * grace + 20:.0f} "
            f"Stops in this run's {grace:g} s grace period and ~{10 * KUBERNETES_GRACE + 20:.0f} "
            f"in a KFP pod's {KUBERNETES_GRACE:g} s, whoever sends them"
            + (
                f": at N = {size:,} the jobs a pod leaves running outlive it, and the `cleanup` "
                "exit-handler component (Stop by the run-id tag) is what stops them."
                if size > 10 * KUBERNETES_GRACE + 20
                else "."
            )
        )
    return notes


def _events_notes(document: dict[str, Any]) -> list[str]:
    """Per size, ours with events beside ours polling: what the feed saved, what it cost."""
    notes = []
    delay = document["profile"].get("event_delay", 0.0)
    for size in _sizes(document):
        runs = _runs(document, size)
        fed, polled = runs.get("ours-events"), runs.get("ours")
        if fed is None:
            continue
        events = fed.get("events") or {}
        line = (
            f"**Events, N = {size:,}.** Ours with events detected "
            f"{fed['detected']}/{fed['ended']} ends, p50 {fmt(fed['latency_p50_s'])} s and p99 "
            f"{fmt(fed['latency_p99_s'])} s after the true end (delivery delay {delay:g} s), "
            f"with {fmt(fed['describe_calls_per_job'])} Describes and "
            f"{fmt(fed['list_pages_per_job'])} List pages per job over its life, "
            f"{fmt(fed.get('feed_calls_per_job'))} SQS calls per job "
            f"({fmt(events.get('delivered'))} events delivered to its queue)"
        )
        if polled is not None:
            line += (
                f"; ours polling: p99 {fmt(polled['latency_p99_s'])} s, "
                f"{fmt(polled['describe_calls_per_job'])} Describes and "
                f"{fmt(polled['list_pages_per_job'])} List pages per job"
            )
        notes.append(line + ".")
    return notes


def _account_notes(document: dict[str, Any]) -> list[str]:
    """The account's history and the bystander, per size: what the List quota's sharing cost."""
    profile = document["profile"]
    notes = []
    for size in _sizes(document):
        parts = []
        for strategy, run in _runs(document, size).items():
            sweeps = run.get("sweeps", {}).get("ListTrainingJobs")
            walked = (
                f"{fmt(sweeps['pages_per_sweep_mean'])} ListTrainingJobs pages per sweep "
                f"(p50 {fmt(sweeps['sweep_s_p50'])} s), "
                if sweeps
                else ""
            )
            parts.append(
                f"{STRATEGY_NAMES.get(strategy, strategy).split(':')[0]} {walked}"
                f"{fmt(run.get('status_calls_per_job'))} status calls per job, bystander "
                f"throttled {fmt(run.get('bystander_throttled'))} of "
                f"{fmt(run.get('bystander_calls'))}"
            )
        notes.append(
            f"**The account, N = {size:,}** ({profile.get('history', 0):,} older jobs per "
            f"kind, List paging `{profile.get('list_paging')}`, a bystander listing every "
            f"{profile.get('bystander_interval', 0):g} s): " + "; ".join(parts) + "."
        )
    return notes


def _late_submission_notes(document: dict[str, Any]) -> list[str]:
    """Strategies that fell behind the planned pace of submission: their jobs ran shorter, so
    their per-job and per-job-minute figures do not compare with the others'."""
    rate = document["profile"]["submit_rate"]
    late = [
        f"{STRATEGY_NAMES.get(run['strategy'], run['strategy'])} at N = {run['size']:,} took "
        f"{fmt(run['submit_s'])} s (planned {run['size'] / rate:g} s; "
        f"{fmt(run['job_minutes'])} job-minutes run)"
        for run in document["runs"]
        if run.get("submit_s") is not None and run["submit_s"] > 2 * run["size"] / rate + 1
    ]
    if not late:
        return []
    return [
        "**Late submission.** "
        + "; ".join(late)
        + ". Each job ends at its planned time, so jobs submitted late ran shorter: these "
        "strategies' per-job and per-job-minute figures do not compare with the others' "
        "(a loaded machine, or what starting a job costs the strategy)."
    ]


def _not_run_lines(document: dict[str, Any]) -> list[str]:
    skipped = document.get("skipped") or []
    if not skipped:
        return []
    line = "Not run: " + "; ".join(
        f"{STRATEGY_NAMES.get(s['strategy'], s['strategy'])}"
        + (" (SIGTERM)" if s.get("phase") == "sigterm" else "")
        + f" at N = {s['size']:,} ({s['reason']})"
        for s in skipped
    )
    if any(s["reason"].startswith("capped") for s in skipped):
        line += (
            ". A thread per job (v1) or two clients per job (trigger) at N = 10,000 means "
            "10,000 threads or 20,000 botocore clients (about 25 GB) in one process; these "
            "stand for N pods or N triggers, which no one machine runs"
        )
    return [line + ".", ""]


def _ops(figures: dict[str, Any]) -> str:
    throttled = figures.get("throttled_by_operation") or {}
    top = sorted(throttled.items(), key=lambda item: -item[1])[:3]
    return ", ".join(f"{op} {count:,}" for op, count in top) or "none"


# --- the Markdown ----------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _size_table(document: dict[str, Any], size: int) -> list[str]:
    runs = _runs(document, size)
    strategies = [s for s in STRATEGY_NAMES if s in runs]
    baselines = [s for s in strategies if s in BASELINES]
    header = ["figure", "unit", *(STRATEGY_NAMES[s] for s in strategies)]
    if "ours" in runs:
        header += [f"ours / {s}" for s in baselines]
    rows = []
    for label, unit, get in ROWS:
        values = [get(runs[s]) for s in strategies]
        row = [label.replace("  ", "&nbsp;&nbsp;"), unit, *(fmt(v) for v in values)]
        if "ours" in runs:
            for baseline in baselines:
                row.append(
                    _ratio(get(runs["ours"]), get(runs[baseline])) if label in RATIO_ROWS else ""
                )
        rows.append(row)
    return _table(header, rows)


def _phase_table(runs: dict[str, dict[str, Any]], rows: list[Row]) -> list[str]:
    """A phase's table: ``rows`` down, the strategies that ran across."""
    strategies = [s for s in STRATEGY_NAMES if s in runs]
    header = ["figure", "unit", *(STRATEGY_NAMES[s] for s in strategies)]
    cells = [[label, unit, *(fmt(get(runs[s])) for s in strategies)] for label, unit, get in rows]
    return _table(header, cells)


def _sigterm_table(document: dict[str, Any]) -> list[str]:
    return _phase_table({run["strategy"]: run for run in document["sigterm"]}, SIGTERM_ROWS)


def _also_what(also: dict[str, Any]) -> str:
    """What a merged run brought: its sizes, or its phase when it ran no run phase."""
    if also["sizes"]:
        return "N = " + ", ".join(f"{size:,}" for size in also["sizes"])
    return "the " + " and ".join(also.get("phases") or ["other"]) + " phase"


def _paced_lines(document: dict[str, Any]) -> list[str]:
    runs = paced_runs(document)
    if not runs:
        return []
    # A report merged onto an older run's document: that profile may predate the phase.
    profile = {**FULL.as_dict(), **document["profile"]}
    size = next(iter(runs.values()))["size"]
    return [
        f"### Steady state at AWS's pace, N = {size:,}",
        "",
        f"The run phase compresses time {profile['pace']:g}x, and so every job's status changes"
        f" come {profile['pace']:g}x faster than on AWS. Here {size:,} jobs run "
        f"{profile['pace']:g}x longer (durations as on AWS) with {profile['pace']:g}x more log "
        "lines (each host writes as many lines a minute as in the run phase), and the "
        f"runner's cost is measured for {profile['paced_window']:g} s as late as the plan "
        "allows before the first job ends (a training job's logs begin a quarter into its "
        "life, after its instances start and its data downloads: right after the submission "
        "few hosts would be writing); then the strategy leaves the jobs running.",
        "",
        *_phase_table(runs, PACED_ROWS),
        "",
    ]


def _hand_notes(readme: Path) -> list[str]:
    """The hand-written notes kept beside the report (``NOTES.md`` in its folder), included
    as they are: regenerating the report never loses them."""
    notes = readme.parent / HAND_NOTES
    if not notes.is_file():
        return []
    text = notes.read_text().strip()
    return ["", f"<!-- from {HAND_NOTES}, written by hand: edit it there -->", "", text]


def markdown(document: dict[str, Any], results: Path, charts: list[Path], readme: Path) -> str:
    profile = document["profile"]
    base = readme.parent

    def link(path: Path) -> str:
        try:
            return str(path.resolve().relative_to(base.resolve()))
        except ValueError:
            return str(path)

    sizes = _sizes(document)
    lines = [
        "# Benchmarks",
        "",
        "## Load: the runner core against the old ways, side by side",
        "",
        f"One run of `{document['command']}` on {document['date']} "
        f"({document['machine']['cpus']} CPUs, Python {document['machine']['python']}, "
        f"{fmt(document['wall_s'] / 60)} minutes in all). Every figure, ratio and chart below "
        f"comes from {'these runs' if document.get('also') else 'that run'}: "
        f"[`{link(results)}`]({link(results)})"
        + "".join(
            f"; {_also_what(also)} from a second run, "
            f"`{also['command']}` ({fmt(also['wall_s'] / 60)} minutes, the same machine): "
            f"[`{link(Path(also['results']))}`]({link(Path(also['results']))})"
            for also in document.get("also", [])
        )
        + ". To reproduce:",
        "",
        "```sh",
        "make bench          # = .venv/bin/python -m benchmarks.load: N = 100, 1,000, 10,000",
        "                    # on the default 20,000-job account, SIGTERM at 1,000, and",
        "                    # the steady state at AWS's pace at 10,000 (--paced-size)",
        "make bench-quick    # N = 100 and short jobs, under 2 minutes (not for the report)",
        "```",
        "",
        "Regenerate this page and the charts from a results file with "
        "`python -m benchmarks.load.report benchmarks/results/<date>.json`.",
        "",
        "### Targets",
        "",
    ]
    lines += _table(
        ["target", "figure", "verdict", "why, where missed"],
        [list(row) for row in targets(document)],
    )
    lines += _hand_notes(readme)
    lines += ["", "### Findings", ""]
    for note in findings(document):
        lines += [f"- {note}"]
    lines += ["", *METHOD.format(**{"event_delay": 0.0, **profile}).splitlines(), ""]
    for size in sizes:
        lines += [f"### N = {size:,}", ""]
        lines += _size_table(document, size)
        lines.append("")
    lines += _not_run_lines(document)
    failed = document.get("failed") or []
    if failed:
        lines.append(
            "Failed (no figures): "
            + "; ".join(
                f"{f['phase']} of {STRATEGY_NAMES.get(f['strategy'], f['strategy'])} at "
                f"N = {f['size']:,}: {f['error']}"
                for f in failed
            )
            + "."
        )
        lines.append("")
    if document.get("sigterm"):
        size = document["sigterm"][0]["size"]
        lines += [
            f"### SIGTERM at N = {size:,}",
            "",
            f"{size:,} long jobs are submitted and followed for {profile['sigterm_settle']:g} s, "
            f"then the strategy's process gets SIGTERM and is killed {profile['grace']:g} s "
            "later if still running (long enough for the Stop* quota to accept every Stop; "
            "a KFP pod gets 30 s, Kubernetes' default grace period). Times are from the "
            "signal to what the emulator received.",
            "",
        ]
        lines += _sigterm_table(document)
        lines.append("")
    lines += _paced_lines(document)
    lines += ["### Charts", ""]
    for chart in charts:
        lines += [f"![{chart.stem}]({link(chart)})", ""]
    lines += [*OTHERS.splitlines(), ""]
    return "\n".join(lines)


METHOD = """### Method

- **The strategies, one after another in one invocation**, each in a process of its own
  against a fresh emulator process (`benchmarks/load/emulator.py`), so that CPU time, peak
  RSS and loop lag are each strategy's own:
  - *ours*: `runner.core.Runner` with the default `RunnerConfig` (sweeps every 5 s, bounded
    by the oldest job followed, or paced Describes where cheaper; default retries and
    budgets), every job submitted with an `Identity` and `known_new` as the launcher submits
    an entry its journal shows never sent (no lookup before Create), logs followed by one
    `LogTailer` in batched mode into a `FileSink`, SIGTERM through `StopOnSignal`;
  - *v1: thread per job*: a thread per job standing in for a pod: boto3 (standard retries, 10
    attempts), Describe every {interval:g} s, the first page of each log stream once the job
    has ended, an error after retries ends the thread as it crashed the pod; on SIGTERM each
    thread sends its Stop and keeps polling;
  - *trigger: coroutine per job*: an asyncio task per job with its own SageMaker and Logs
    clients (aiobotocore, botocore's default retries), Describe every {interval:g} s with no
    jitter, the print-log trigger's log reads (GetLogEvents per stream) at every poll; on
    SIGTERM each task sends its Stop.
  - *ours with events*: the same runner and jobs, following them by SageMaker's state-change
    events first (`RunnerConfig.events_queue`, `runner.eventfirst`): before the first job the
    strategy sets up an SQS queue, an EventBridge rule, its target and the queue policy on its
    emulator through `runner.feed.setup`, as `smrun launch --local` does
    (`benchmarks/load/events.py`), and the emulator delivers every event {event_delay:g} s
    after the change (`--event-delay`; no duplicates, no reordering). An end whose event
    carries the outcome's fields settles the job with no Describe; polling is the safety net
    (every job every 300 s, at once if the feed goes quiet or fails).
- **The account** (issue 12): List calls page as on AWS (`--list-paging aws`: each page of
  `MaxResults` is cut from the whole account, then filtered), and the account holds
  {history:,} older ended jobs of every kind (`--history`; 0 for a new account). A
  **bystander** (`benchmarks/load/bystander.py`) calls ListTrainingJobs every
  {bystander_interval:g} s (newest first, one page, no retries, as a console or another
  pipeline would) through the same quotas; its throttled answers are the ones the strategy's
  List calls caused (`--no-bystander` to leave it out). Its calls are left out of every
  strategy figure.
- **Quotas**: the emulator's `aws-like` profile (ListTrainingJobs 2/s, Stop* 10/s,
  GetLogEvents 25/s, FilterLogEvents 5/s, ...), the same for every strategy, except Create*
  ({create_rate:g}/s) and Describe* ({describe_rate:g}/s, aws-like: 20/s), raised because of
  the time compression (below); the runner's own Create*/Describe* budgets are set to 90% of
  those. Everything that follows running jobs (List, Logs) runs at the real quotas and the
  runner's default budgets.
- **Time compression**: jobs run tens of seconds instead of tens of minutes (~30x): each
  job ends `ramp + d` seconds after the start, `d` lognormal (median {duration_median:g} s,
  sigma {duration_sigma:g}, clipped to {duration_min:g}-{duration_max:g} s, seeded; on AWS:
  10 to 45 minutes), and jobs are submitted at {submit_rate:g}/s by every strategy
  (`ramp` = N / {submit_rate:g} s). Intervals are *not* compressed (the 5 s sweep, the
  baselines' {interval:g} s poll, the log tailer's pace), so latencies and calls per minute
  read as against AWS. What compression does distort is the rate of per-job events: creations,
  status changes and ends arrive ~30x faster than on AWS, which loads each strategy's fixed
  per-job calls (hence the raised Create*/Describe* quotas, and the "polling" row, which leaves
  out ours' fixed call per job: the final Describe for outputs). Nine jobs in ten are training jobs (five status changes each), one in ten a
  processing job; one in five runs on two instances (two log streams),
  {log_lines} log lines per host.
- **Figures**: detection latency = the strategy's wall clock when it knew the job had ended
  (ours: its `Outcome` resolved) minus the emulator's true end (`ended_at` in
  `/_emulator/stats`; both `time.time()` on this machine). "End status seen" is when ours' sweep
  (or poll, or event) first saw the end status, before any final Describe. Status calls =
  SageMaker Describe*/List* requests received (throttled included; the feed's SQS and
  EventBridge calls are not SageMaker's and are shown apart as feed calls), Logs calls =
  CloudWatch Logs requests, per job-minute of the jobs' run time. Throttled responses are the emulator's count;
  throttling errors surfaced are jobs whose following failed on throttling. *Status calls per
  job, over its life*: the strategy's Describe* and List* requests (throttled included) over
  the jobs it created; a List page serves every job on it, so pages are shared evenly over the
  jobs (the Describe and List shares are shown apart). *Pages per sweep*: a first page and the
  pages that follow its tokens. CPU: `getrusage` of the strategy process (every thread), and
  CPU time / wall time of the run; peak RSS: the process's `VmHWM` (`getrusage`'s
  `ru_maxrss` survives `execve` on Linux, so it reported the harness's size when larger).
  SIGTERM: a Stop is *received* when the emulator got it (throttled or not) and *accepted*
  when answered 200. Steady state: from one interval after the
  last submission to the first job's end (every job running, none submitted or ending). Loop
  lag: oversleep of a 100 ms sleep, on the event loop (threads: on a thread).
- **In `make test`**: `tests/e2e/test_benchmark_smoke.py` runs a tiny version (4 jobs of 1-2 s
  per strategy, ours with events included, 0.5 s intervals) so that this keeps working; it
  checks that the figures exist and agree, never a timing."""

OTHERS = """### Earlier runs

- [`results/2026-12-02-full-run-44dc227.json`](results/2026-12-02-full-run-44dc227.json)
  (and its charts): the previous full run, this morning, before log discovery had a loop of
  its own; with events at N = 10,000 it delivered 94.8% of the log lines (530 short jobs
  with none), polling 100%.
- Before this page came from one full run, it was made from three:
  [`results/2026-12-01-sweeps-skew.json`](results/2026-12-01-sweeps-skew.json) (every
  strategy and SIGTERM at N = 1,000; its first Stop 0.968 s after the signal, on a machine
  loaded to 34),
  [`results/2026-12-01-slim-n10000.json`](results/2026-12-01-slim-n10000.json) (ours and ours
  with events at N = 10,000) and
  [`results/2026-12-02-paced-reads.json`](results/2026-12-02-paced-reads.json) (the steady
  state at AWS's pace), with the paced runs of each step before it
  (`results/2026-12-02-paced-*.json`). The notes written about them:
  [`results/2026-12-02-notes-before-the-full-run.md`](results/2026-12-02-notes-before-the-full-run.md).
- [`results/2026-12-01-after-issue-12.json`](results/2026-12-01-after-issue-12.json) (every
  strategy, N = 1,000) and
  [`results/2026-12-01-after-issue-12-n10000.json`](results/2026-12-01-after-issue-12-n10000.json)
  (ours, N = 10,000): issue 12's first "after", before sweeps ran start to start, took pages as
  they came and followed Describe-chosen kinds in rounds, and with one feed receiver; ours with
  events and 4 receivers at N = 1,000:
  [`results/2026-12-01-after-issue-12-events-4-receivers.json`](results/2026-12-01-after-issue-12-events-4-receivers.json).
- [`results/2026-12-01-after-issue-12-notes.md`](results/2026-12-01-after-issue-12-notes.md):
  what the kept logs of the 2026-12-01 after-issue-12 run add to its figures (the sweep
  strategy chosen over time, detection by the end's time, the first Stop's 0.34 s).

- [`results/2026-11-24.json`](results/2026-11-24.json): every strategy at N = 100, 1,000 and
  10,000 on a new account (no history, List calls filtered before paging, no bystander,
  SIGTERM with a 30 s grace, peak RSS from `ru_maxrss`).
- [`results/2026-12-01-history.md`](results/2026-12-01-history.md): ours at N = 1,000 with
  and without 20,000 older jobs per kind, the sweeps' pages and durations.
- [`results/2026-12-01-before-issue-12.json`](results/2026-12-01-before-issue-12.json): the
  "before" of issue 12 on this account (main before its bounded sweeps, the feed and paced
  Stops; N = 1,000): a sweep walked 201 pages in 132 s, detection p99 114 s, the first Stop
  0.459 s after SIGTERM; the trigger's SIGTERM phase, run alone after it failed there:
  [`results/2026-12-01-before-issue-12-sigterm-trigger.json`](results/2026-12-01-before-issue-12-sigterm-trigger.json).

## Other benchmarks

- `python -m benchmarks.emulator_throughput [--http-client raw]`: calls per second the
  emulator serves on one core (`make bench-emulator`).
- `python -m benchmarks.emulator_list`: the emulator's List and Describe handlers over many
  jobs, in process."""


def merged(document: dict[str, Any], extras: list[tuple[Path, dict[str, Any]]]) -> dict[str, Any]:
    """``document`` with the runs of ``extras`` (path, document) added, each run marked with
    its file; the profiles must agree but for the sizes (one account, one workload)."""
    result = {
        **document,
        **{phase: list(document.get(phase, [])) for phase in ("runs", "sigterm", "paced")},
    }
    result["also"] = []
    for path, extra in extras:
        differ = sorted(
            key
            for key in {*extra["profile"], *document["profile"]} - PHASE_KNOBS
            if extra["profile"].get(key) != document["profile"].get(key)
        )
        if differ:
            raise ValueError(f"{path}: another profile than the report's ({', '.join(differ)})")
        for phase in ("runs", "sigterm", "paced"):
            result[phase] += [{**run, "source": path.name} for run in extra.get(phase, [])]
        for key in ("skipped", "failed"):
            result[key] = [*result.get(key, []), *extra.get(key, [])]
        sizes = sorted({run["size"] for run in extra["runs"]})
        phases = [name for name in ("sigterm", "paced") if extra.get(name)]
        result["also"].append(
            {"command": extra["command"], "wall_s": extra["wall_s"], "results": str(path)}
            | {"sizes": sizes, "phases": phases}
        )
    return result


def write_report(document: dict[str, Any], results: Path, readme: Path | None) -> list[Path]:
    """Charts next to ``results`` (same stem), and the Markdown report at ``readme``."""
    charts = write_charts(document, results.with_suffix(""))
    if readme is not None:
        readme.write_text(markdown(document, results, charts, readme))
    return charts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load.report")
    parser.add_argument("results", type=Path)
    parser.add_argument("--also", type=Path, action="append", default=[], metavar="RESULTS")
    parser.add_argument("--readme", type=Path, default=Path(__file__).parents[1] / "README.md")
    args = parser.parse_args(argv)
    document = json.loads(args.results.read_text())
    if args.also:
        extras = [(path, json.loads(path.read_text())) for path in args.also]
        document = merged(document, extras)
    for chart in write_report(document, args.results, args.readme):
        print(f"chart: {chart}")
    print(f"report: {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
