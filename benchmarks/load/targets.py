"""Issue 12's targets, judged from one results document, with the reason for a miss computed
from the same figures. Each target is a function of the document returning its row: (target,
figure, verdict, why)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.load.format import fmt
from benchmarks.load.metrics import sagemaker_operations

Target = tuple[str, str, str, str]
STOP_QUOTA = 10.0  # Stop* per second in the emulator's aws-like profile (emulator/quotas.py)
TARGET_N = 10_000


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "**missed**")


def _largest(document: dict[str, Any], strategy: str) -> dict[str, Any] | None:
    runs = [run for run in document["runs"] if run["strategy"] == strategy]
    return max(runs, key=lambda run: run["size"]) if runs else None


def _where(run: dict[str, Any]) -> str:
    where = f"N = {run['size']:,}"
    return where if run["size"] >= TARGET_N else where + f" (this run did not reach {TARGET_N:,})"


def _skipped(document: dict[str, Any], strategy: str) -> str:
    reasons = {s["reason"] for s in document.get("skipped", []) if s["strategy"] == strategy}
    return "; ".join(sorted(reasons)) or "not in this run"


def with_events(document: dict[str, Any]) -> Target:
    label = "with events: every end detected, p99 <= delivery delay + 3 s, <= 1.1 status calls per job, 0 bystander calls throttled"
    run = _largest(document, "ours-events")
    if run is None:
        return (label, "-", "n/a", "not run: " + _skipped(document, "ours-events"))
    figure = (
        f"{run['detected']}/{run['ended']}, p99 {fmt(run['latency_p99_s'])} s, "
        f"{fmt(run['status_calls_per_job'])} calls/job, bystander "
        f"{run['bystander_throttled']}/{run['bystander_calls']} throttled ({_where(run)})"
    )
    delay = float(document["profile"].get("event_delay", 0.0))
    missed = []
    if run["detected"] != run["ended"]:
        missed.append(f"{run['ended'] - run['detected']} ends not detected")
    p99 = run["latency_p99_s"]
    if p99 is None or p99 > delay + 3:
        missed.append(f"p99 {fmt(p99)} s against {delay + 3:g} s (a {delay:g} s delivery delay)")
    calls = run["status_calls_per_job"]
    if calls is None or calls > 1.1:
        missed.append(
            f"{fmt(calls)} status calls per job: {fmt(run['describe_calls_per_job'])} "
            f"Describes and {fmt(run['list_pages_per_job'])} List pages "
            f"({_operations(run, 'Describe')})"
        )
    if run["bystander_throttled"]:
        missed.append(f"the bystander was throttled {run['bystander_throttled']} times")
    return (label, figure, verdict(not missed), "; ".join(missed))


def _operations(run: dict[str, Any], prefix: str) -> str:
    """The run's SageMaker calls whose operation starts with ``prefix``, most first."""
    calls = run.get("calls_by_operation") or {}
    chosen = sorted(
        (
            (op, n)
            for op, n in calls.items()
            if op.startswith(prefix) and op in sagemaker_operations()
        ),
        key=lambda item: -item[1],
    )
    return ", ".join(f"{op} {n:,}" for op, n in chosen) or "none"


def polling(document: dict[str, Any]) -> Target:
    interval = document["profile"]["interval"]
    label = f"without events: p99 detection <= 2x sweep ({2 * interval:g} s), 0 bystander calls throttled"
    run = _largest(document, "ours")
    if run is None:
        return (label, "-", "n/a", "not run")
    p99 = run["latency_p99_s"]
    figure = (
        f"p99 {fmt(p99)} s, bystander {run['bystander_throttled']}/{run['bystander_calls']} "
        f"throttled ({_where(run)})"
    )
    ok = p99 is not None and p99 <= 2 * interval and run["bystander_throttled"] == 0
    return (label, figure, verdict(ok), "" if ok else _sweep_why(document, run))


def _sweep_why(document: dict[str, Any], run: dict[str, Any]) -> str:
    sweeps = run.get("sweeps", {}).get("ListTrainingJobs", {})
    history = document["profile"].get("history", 0)
    return (
        f"a ListTrainingJobs sweep took {fmt(sweeps.get('pages_per_sweep_mean'))} pages on average "
        f"(max {fmt(sweeps.get('pages_per_sweep_max'))}, p50 {fmt(sweeps.get('sweep_s_p50'))} s, "
        f"max {fmt(sweeps.get('sweep_s_max'))} s): with {history:,} older jobs per kind, AWS "
        "cuts each page of 100 before filtering by LastModifiedTimeAfter, so a sweep walks the "
        "account's history at the runner's List budget (1.5 pages/s; the quota is 2/s, shared "
        "with the bystander). The end status was seen at p99 "
        f"{fmt(run.get('noticed_p99_s'))} s. The List quota limits a sweep to ~150 jobs listed "
        "per second per kind: history and batch alike, not just the changed jobs"
    )


def steady_cost(document: dict[str, Any]) -> Target:
    label = "steady state: runner CPU < 10% of a core, peak RSS < 250 MB"
    run = _largest(document, "ours")
    if run is None:
        return (label, "-", "n/a", "not run")
    cpu, rss = run.get("cpu_percent_steady"), run.get("peak_rss_mb")
    figure = (
        f"{fmt(cpu)}% over {fmt(run.get('steady_window_s'))} s (whole run "
        f"{fmt(run.get('cpu_percent_run'))}%), {fmt(rss)} MB ({_where(run)})"
    )
    ok = None if cpu is None or rss is None else cpu < 10 and rss < 250
    why = "" if ok else "not profiled in this run (CPU shared with other work on this machine)"
    return (label, figure, verdict(ok), why)


def sigterm(document: dict[str, Any]) -> Target:
    label = "SIGTERM: first Stop within 0.2 s, every Stop accepted within N / Stop quota + 2 s"
    run = next((r for r in document.get("sigterm", []) if r["strategy"] == "ours"), None)
    if run is None:
        return (label, "-", "n/a", "not run")
    size, grace = run["size"], document["profile"]["grace"]
    budget = size / STOP_QUOTA + 2
    first, last = run.get("to_first_stop_request_s"), run.get("to_last_stop_accepted_s")
    every = run["jobs_stop_accepted"] >= run["in_flight_at_signal"]
    figure = (
        f"first {fmt(first)} s; {run['jobs_stop_accepted']}/{run['in_flight_at_signal']} "
        f"accepted, the last at {fmt(last)} s (budget {budget:g} s; N = {size:,})"
    )
    missed = []
    if first is None or first > 0.2:
        missed.append(f"the first Stop arrived {fmt(first)} s after the signal")
    if not every or last is None or last > budget:
        missed.append(
            f"{run['jobs_stop_accepted']} of {run['in_flight_at_signal']} Stops accepted, "
            f"the last at {fmt(last)} s"
        )
    why = "; ".join(missed)
    if missed:
        why += (
            f" ({fmt(run.get('stop_requests'))} Stop requests, "
            f"{fmt(run.get('stop_requests_throttled'))} of them throttled; the process was "
            + ("killed" if run.get("killed_after_grace") else "not killed")
            + f" after the {grace:g} s grace period)"
        )
    ok = not missed
    return (label, figure, verdict(ok), why)


TARGETS: list[Callable[[dict[str, Any]], Target]] = [with_events, polling, steady_cost, sigterm]


def targets(document: dict[str, Any]) -> list[Target]:
    return [target(document) for target in TARGETS]
