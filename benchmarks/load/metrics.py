"""The figures of one run, from the emulator's records and the strategy's own.

Detection latency is the strategy's wall clock when it knew a job had ended minus the
emulator's true end (``ended_at`` in ``/_emulator/stats``): both are ``time.time()`` on the
same machine (the emulator's clock is ``time.time``). "Per job-minute" divides by the sum of
the jobs' run times (creation to end, from the emulator). Status calls are every SageMaker
Describe*/List* request the emulator received, throttled or not; Logs calls are every
CloudWatch Logs request.

Status calls are SageMaker's alone (botocore's SageMaker service model names them): the
change feed's SQS calls (ReceiveMessage, DeleteMessageBatch) and the EventBridge/SQS calls of
its setup (DescribeRule, ListTargetsByRule, ...) are counted apart as feed calls.

"Polling" status calls leave out the calls a strategy makes once per job whatever its length:
ours Describes each job once at its end for its outputs (it submits as the launcher does a
never-sent entry, with no lookup before Create); the baselines make no such call (their last
Describe is an ordinary poll). Time compression makes this fixed call ~30x heavier per
job-minute than on AWS, so the polling figure is the one that compares with AWS. Ours with
events has no fixed call to leave out: an end whose event carries the outcome's fields needs
no Describe, and whatever Describes it sends are counted.

Status calls per job over its life: every Describe*, List* and Search request the strategy sent
(throttled ones included), divided by the jobs it created. A List page serves every job it
lists, so it is not one job's: the pages are counted once and shared evenly over the run's jobs
(``list_pages_per_job``), beside the Describes (``describe_calls_per_job``), which each name one.

The paced phase (``paced_figures``) measures the steady state at AWS's pace: its jobs run
``Profile.pace`` times longer with as many more log lines, so a job changes status as often
as on AWS while a host writes as many lines a minute as in the run phase. The window is as
late as the plan allows before the first job's end (``workload.paced_window_from``): a training
job's logs begin a quarter into its life, so right after the submission few hosts write.

The bystander's requests (``bystander``) are left out of every strategy figure; its own figures
are its calls and the throttled answers it got, all of them caused by the strategy's use of the
shared quota (alone, one call per 10 s is far under ListTrainingJobs' 2/s).
"""

from __future__ import annotations

import functools
import math
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import botocore.session

from benchmarks.load.emulator import ListRow
from benchmarks.load.spec import RunResult, RunSpec
from benchmarks.load.workload import KUBERNETES_GRACE, Profile
from emulator.logs import LATE_EVENTS_PER_HOST

LOGS_OPERATIONS = frozenset(
    {"DescribeLogStreams", "DescribeLogGroups", "GetLogEvents", "FilterLogEvents"}
)
FEED_OPERATIONS = frozenset({"ReceiveMessage", "DeleteMessageBatch", "DeleteMessage"})
CDF_POINTS = 200


@functools.cache
def sagemaker_operations() -> frozenset[str]:
    """Every SageMaker API operation, from botocore's service model."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    return frozenset(model.operation_names)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile (``fraction`` in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(fraction * len(ordered)), 1)
    return ordered[min(rank, len(ordered)) - 1]


def cdf(values: Sequence[float]) -> list[float]:
    """``CDF_POINTS + 1`` quantiles, 0% to 100%: enough to draw the curve, small in JSON."""
    if not values:
        return []
    ordered = sorted(values)
    last = len(ordered) - 1
    return [round(ordered[round(i * last / CDF_POINTS)], 3) for i in range(CDF_POINTS + 1)]


def sweep_figures(lists: Sequence[ListRow]) -> dict[str, Any]:
    """Per List operation of the strategy: how many sweeps, pages per sweep, how long a sweep
    took.

    A sweep is a page asked for without a token and every page after it that followed its
    token, until an answer had none or the next sweep began (a bounded sweep stops following
    tokens once it reaches its oldest job: ``runner.sweeps``); throttled pages (sent again) are
    left out. Search sweeps count as List sweeps do."""
    figures: dict[str, Any] = {}
    by_operation: dict[str, list[tuple[float, bool, bool]]] = {}
    for row in lists:
        if row.status == 200 and not row.bystander:
            by_operation.setdefault(row.operation, []).append(
                (row.at, row.had_token, row.gave_token)
            )
    for operation, pages in sorted(by_operation.items()):
        sweeps: list[tuple[int, float]] = []  # (pages, seconds)
        start: float | None = None
        count, last = 0, 0.0
        for at, had_token, gave_token in pages:
            if not had_token:
                if start is not None:  # the previous sweep stopped short of the last page
                    sweeps.append((count, last - start))
                start, count = at, 0
            if start is None:
                continue
            count, last = count + 1, at
            if not gave_token:
                sweeps.append((count, at - start))
                start = None
        if start is not None:
            sweeps.append((count, last - start))
        sizes = [float(size) for size, _ in sweeps]
        durations = [seconds for _, seconds in sweeps]
        figures[operation] = {
            "pages": len(pages),
            "sweeps": len(sweeps),
            "pages_per_sweep_mean": _rounded(sum(sizes) / len(sizes) if sizes else None, 1),
            "pages_per_sweep_max": max(sizes, default=None),
            "sweep_s_p50": _rounded(percentile(durations, 0.5), 2),
            "sweep_s_max": _rounded(max(durations, default=None), 2),
        }
    return figures


def bystander_figures(lists: Sequence[ListRow]) -> dict[str, Any]:
    """The bystander's ListTrainingJobs calls and the throttled answers it got."""
    mine = [row for row in lists if row.bystander]
    return {
        "bystander_calls": len(mine),
        "bystander_throttled": sum(1 for row in mine if row.status != 200),
    }


def own_calls(stats: dict[str, Any], lists: Sequence[ListRow]) -> tuple[Counter[str], Counter[str]]:
    """(calls, throttled) per operation as the emulator counted them, less the bystander's."""
    calls, throttled = Counter(stats["calls"]), Counter(stats["throttled"])
    for row in lists:
        if row.bystander:
            calls[row.operation] -= 1
            if row.status != 200:
                throttled[row.operation] -= 1
    return +calls, +throttled


def _per(count: float, total: float) -> float | None:
    return _rounded(count / total) if total else None


def _rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _cpu_between(samples: Sequence[Sequence[float]], start: float, end: float) -> float | None:
    """CPU share (percent of one core) between two wall times, from (wall, cpu) samples."""
    inside = [(wall, cpu) for wall, cpu in samples if start <= wall <= end]
    if len(inside) < 2 or inside[-1][0] - inside[0][0] < 2.0:
        return None
    (wall_0, cpu_0), (wall_1, cpu_1) = inside[0], inside[-1]
    return 100 * (cpu_1 - cpu_0) / (wall_1 - wall_0)


def run_figures(
    profile: Profile,
    spec: RunSpec,
    result: RunResult | None,
    *,
    stats: dict[str, Any],
    lists: Sequence[ListRow],
    emulator_cpu_s: float,
) -> dict[str, Any]:
    """Every figure of a "run" phase (jobs submitted, followed to their end)."""
    now = float(stats.get("now", time.time()))
    rows = [row for row in stats["jobs"] if row["kind"] in ("training", "processing")]
    ended = {row["name"]: row for row in rows if row["ended_at"] is not None}
    job_minutes = sum(((row["ended_at"] or now) - row["created_at"]) / 60 for row in rows)
    detected = result.detected if result else {}
    figures: dict[str, Any] = {
        "jobs": len(spec.jobs),
        "created": len(rows),
        "ended": len(ended),
        "detected": sum(1 for name in ended if name in detected),
        **_latency_figures(result, ended),
        "job_minutes": round(job_minutes, 2),
        **_call_figures(
            spec, stats, lists, created=len(rows), detected=len(detected), job_minutes=job_minutes
        ),
        "sweeps": sweep_figures(lists),
        **bystander_figures(lists),
        "throttling_errors_surfaced": result.throttling_surfaced if result else None,
        "errors_surfaced": result.errors if result else None,
        "statuses_seen": result.statuses if result else None,
        "log_lines": result.log_lines if result else None,
        "log_events_read_per_line": _reads_per_line(stats, result.log_lines if result else 0),
        # Every line the emulator writes: the tagged lines per host plus its late lines.
        "log_lines_written": sum(
            job.instances * (job.log_lines + LATE_EVENTS_PER_HOST) for job in spec.jobs
        ),
        "emulator_cpu_s": round(emulator_cpu_s, 2),
        # EventBridge's side (published, matched by a rule, delivered to SQS, the delay).
        "events": stats.get("events", {}),
    }
    figures.update(_process_figures(profile, spec, result, list(ended.values())))
    return figures


def _latency_figures(result: RunResult | None, ended: dict[str, Any]) -> dict[str, Any]:
    """Detection (the outcome known) and, for ours, the end status first seen by a sweep."""
    detected = result.detected if result else {}
    noticed = result.noticed if result else {}
    latencies = [detected[n] - row["ended_at"] for n, row in ended.items() if n in detected]
    seen = [noticed[n] - row["ended_at"] for n, row in ended.items() if n in noticed]
    return {
        "latency_p50_s": _rounded(percentile(latencies, 0.50)),
        "latency_p99_s": _rounded(percentile(latencies, 0.99)),
        "latency_max_s": _rounded(max(latencies, default=None)),
        "noticed_p50_s": _rounded(percentile(seen, 0.50)),
        "noticed_p99_s": _rounded(percentile(seen, 0.99)),
        "latency_cdf_s": cdf(latencies),
        "latency_by_end_s": _by_end(result, ended),
    }


def _by_end(result: RunResult | None, ended: dict[str, Any], width: float = 10.0) -> list[Any]:
    """Detection latency per ``width`` seconds of the true end (after t0): whether the late
    ones are the first ends (a backlog) or spread over the run."""
    if result is None or not result.detected:
        return []
    buckets: dict[float, list[float]] = {}
    for name, row in ended.items():
        if name in result.detected:
            start = width * math.floor((row["ended_at"] - result.t0) / width)
            buckets.setdefault(start, []).append(result.detected[name] - row["ended_at"])
    return [
        {
            "from_s": start,
            "jobs": len(values),
            "p50_s": _rounded(percentile(values, 0.5)),
            "p99_s": _rounded(percentile(values, 0.99)),
        }
        for start, values in sorted(buckets.items())
    ]


def _reads_per_line(stats: dict[str, Any], lines: int) -> float | None:
    """Log events the emulator answered for each line the strategy delivered: 1.0 when every
    line was read once; batched re-reads (late events, a call's earliest start) make it more."""
    return _per(sum(stats.get("log_events_served", {}).values()), lines)


def _call_figures(
    spec: RunSpec,
    stats: dict[str, Any],
    lists: Sequence[ListRow],
    *,
    created: int,
    detected: int,
    job_minutes: float,
) -> dict[str, Any]:
    """The strategy's own calls (the bystander's left out): per job-minute and per job."""
    calls, throttled = own_calls(stats, lists)
    sagemaker = {op: n for op, n in calls.items() if op in sagemaker_operations()}
    describes = sum(n for op, n in sagemaker.items() if op.startswith("Describe"))
    pages = sum(n for op, n in sagemaker.items() if op.startswith("List") or op == "Search")
    status_calls = describes + pages
    logs_calls = sum(n for op, n in calls.items() if op in LOGS_OPERATIONS)
    feed_calls = sum(n for op, n in calls.items() if op in FEED_OPERATIONS)
    fixed_calls = detected if spec.strategy == "ours" else 0
    return {
        "status_calls": status_calls,
        "status_calls_per_job_minute": _per(status_calls, job_minutes),
        "polling_calls_per_job_minute": _per(status_calls - fixed_calls, job_minutes),
        "status_calls_per_job": _per(status_calls, created),
        "describe_calls_per_job": _per(describes, created),
        "list_pages_per_job": _per(pages, created),
        "feed_calls": feed_calls,
        "feed_calls_per_job": _per(feed_calls, created),
        "logs_calls": logs_calls,
        "logs_calls_per_job_minute": _per(logs_calls, job_minutes),
        "throttled": sum(throttled.values()),
        "throttled_by_operation": dict(sorted(throttled.items())),
        "calls_by_operation": dict(sorted(calls.items())),
    }


def _process_figures(
    profile: Profile, spec: RunSpec, result: RunResult | None, ended: list[dict[str, Any]]
) -> dict[str, Any]:
    if result is None:
        return {"process": "killed: no figures of its own"}
    lags = [lag for _, lag in result.lag_samples]
    wall = result.finished_at - result.t0
    # Steady state: everything submitted (plus one interval to settle), no job ended yet.
    first_end = min((row["ended_at"] for row in ended), default=result.finished_at)
    steady_from = (result.submit_done_at or result.t0) + spec.interval
    steady_to = first_end - 0.5
    steady_lags = [lag for at, lag in result.lag_samples if steady_from <= at <= steady_to]
    return {
        "wall_s": round(wall, 1),
        "submit_s": _rounded((result.submit_done_at or result.t0) - result.t0, 1),
        "timed_out": result.timed_out,
        "cpu_s": round(result.cpu_s, 2),
        "cpu_percent_run": _rounded(100 * result.cpu_s / wall if wall > 0 else None, 1),
        "cpu_percent_steady": _rounded(_cpu_between(result.cpu_samples, steady_from, steady_to), 1),
        "steady_window_s": round(max(steady_to - steady_from, 0.0), 1),
        "peak_rss_mb": round(result.peak_rss_mb, 1),
        "lag_kind": result.lag_kind,
        "lag_p99_ms": _rounded(percentile(lags, 0.99), 1),
        "lag_max_ms": _rounded(max(lags, default=None), 1),
        "lag_p99_steady_ms": _rounded(percentile(steady_lags, 0.99), 1),
    }


def sigterm_figures(
    spec: RunSpec,
    result: RunResult | None,
    stats: dict[str, Any],
    stops: Sequence[tuple[float, int, str]],
    lists: Sequence[ListRow],
    *,
    signalled_at: float,
    exit_code: int | None,
    killed: bool,
) -> dict[str, Any]:
    """The SIGTERM phase: from the signal to the last Stop the emulator received, and to the
    last one it accepted (answered 200, not throttled)."""
    rows = [row for row in stats["jobs"] if row["kind"] in ("training", "processing")]
    in_flight = [row for row in rows if row["ended_at"] is None or row["ended_at"] > signalled_at]
    after = [(at, status, name) for at, status, name in stops if at >= signalled_at]
    received = [at for at, _, _ in after]
    first: dict[str, float] = {}
    for at, _, name in after:
        first.setdefault(name, at)
    accepted: dict[str, float] = {}
    for at, status, name in after:
        if status == 200:
            accepted.setdefault(name, at)
    every_job = len(first) >= len(in_flight)
    return {
        "jobs": len(spec.jobs),
        "created": len(rows),
        "in_flight_at_signal": len(in_flight),
        "stop_requests": len(received),
        "stop_requests_throttled": sum(1 for _, status, _ in after if status != 200),
        "jobs_stop_requested": len(first),
        "jobs_stop_accepted": len(accepted),
        "jobs_stop_accepted_in_kubernetes_grace": sum(
            1 for at in accepted.values() if at - signalled_at <= KUBERNETES_GRACE
        ),
        # Until every job in flight had its Stop request received once.
        "to_every_stop_request_s": _rounded(
            max(first.values()) - signalled_at if first and every_job else None
        ),
        "to_first_stop_request_s": _after(min(received, default=None), signalled_at),
        "to_last_stop_request_s": _after(max(received, default=None), signalled_at),
        "to_last_stop_accepted_s": _after(max(accepted.values(), default=None), signalled_at),
        "exit_code": exit_code,
        "killed_after_grace": killed,
        "errors_surfaced": result.errors if result else None,
        **bystander_figures(lists),
    }


def _after(at: float | None, start: float) -> float | None:
    return None if at is None else _rounded(at - start)


def paced_figures(
    spec: RunSpec, result: RunResult | None, *, stats: dict[str, Any], lists: Sequence[ListRow]
) -> dict[str, Any]:
    """The paced phase: the strategy's cost over the window after every job was submitted
    (plus one interval), every job running and changing status at AWS's pace."""
    now = float(stats.get("now", time.time()))
    rows = [row for row in stats["jobs"] if row["kind"] in ("training", "processing")]
    job_minutes = sum(((row["ended_at"] or now) - row["created_at"]) / 60 for row in rows)
    figures: dict[str, Any] = {
        "jobs": len(spec.jobs),
        "created": len(rows),
        "ended": sum(1 for row in rows if row["ended_at"] is not None),
        "job_minutes": round(job_minutes, 2),
        **_call_figures(spec, stats, lists, created=len(rows), detected=0, job_minutes=job_minutes),
        **bystander_figures(lists),
        "errors_surfaced": result.errors if result else None,
    }
    if result is None:
        return figures | {"process": "killed: no figures of its own"}
    start, end = result.window or ((result.submit_done_at or result.t0) + spec.interval, 0.0)
    end = end or result.finished_at
    window = max(end - start, 0.0)
    changes = sum(1 for at in result.changes_at if start <= at <= end)
    lags = [lag for at, lag in result.lag_samples if start <= at <= end]
    wall = result.finished_at - result.t0
    return figures | {
        "submit_s": _rounded((result.submit_done_at or result.t0) - result.t0, 1),
        "paced_window_s": round(window, 1),
        "cpu_percent_paced": _rounded(_cpu_between(result.cpu_samples, start, end), 1),
        "cpu_percent_run": _rounded(100 * result.cpu_s / wall if wall > 0 else None, 1),
        "peak_rss_mb": round(result.peak_rss_mb, 1),
        "peak_rss_window_mb": _rounded(result.window_peak_rss_mb, 1),
        "lag_p99_paced_ms": _rounded(percentile(lags, 0.99), 1),
        "changes_per_s": _rounded(changes / window if window else None, 1),
        "window_from_s": _rounded(start - result.t0, 1),
        "log_lines": result.log_lines,
        "log_events_read_per_line": _reads_per_line(stats, result.log_lines),
        "log_lines_per_s": _rounded(result.window_lines / window if window else None, 1),
    }
