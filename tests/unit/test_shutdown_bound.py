"""The shutdown timeout as entry points take it, and what the end screen says is left."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest
from structlog.testing import capture_logs

from components.common.app import shutdown_reserve, shutdown_timeout
from runner.config import (
    DEFAULT_SHUTDOWN_TIMEOUT,
    SHUTDOWN_MARGIN_S,
    Rate,
    RateLimits,
    shutdown_timeout_for,
)
from runner.stopping import senders
from smrun.launcher.command import interrupted_line
from smrun.launcher.journal import Row
from smrun.launcher.launch import LaunchResult


def test_a_component_takes_its_shutdown_timeout_from_the_environment() -> None:
    assert shutdown_timeout({}) == DEFAULT_SHUTDOWN_TIMEOUT < 30
    assert shutdown_timeout({"SMRUN_SHUTDOWN_TIMEOUT": "12.5"}) == 12.5
    assert shutdown_reserve(25) == 2.0 and shutdown_reserve(5) == 1.0


@pytest.mark.parametrize("text", ["soon", "0", "-3", "nan", "inf"])
def test_a_shutdown_timeout_that_is_not_seconds_is_the_default_said_once(text: str) -> None:
    with capture_logs() as events:
        assert shutdown_timeout({"SMRUN_SHUTDOWN_TIMEOUT": text}) == DEFAULT_SHUTDOWN_TIMEOUT
    assert [e["event"] for e in events] == ["component.shutdown_timeout_ignored"]
    assert events[0]["value"] == text


def test_stops_are_sent_by_as_many_senders_as_the_budget_uses() -> None:
    assert senders(RateLimits({"Stop*": Rate(10, 10)}), 1000, 50) == 20
    assert senders(RateLimits({"Stop*": Rate(10, 10)}), 3, 50) == 3
    assert senders(RateLimits.none(), 1000, 64) == 64


def row(entry_id: str, state: str, status: str | None = None) -> Row:
    values: dict[str, Any] = {f.name: None for f in fields(Row)}
    values.update(id=entry_id, kind="training", job_name=entry_id, request_digest="d")
    values.update(state=state, status=status, updated_at="now", attempts=1, retries=0)
    return Row(**values)


def result(rows: list[Row], stopping: tuple[str, ...] = ()) -> LaunchResult:
    return LaunchResult(
        batch_id="b",
        counts={},
        rows=rows,
        interrupted="SIGTERM",
        left_running=False,
        reports=None,
        stopping=stopping,
    )


def test_the_end_screen_says_which_jobs_the_bound_left_and_how_to_stop_them() -> None:
    rows = [row("a", "running", "Stopping"), row("b", "running", "InProgress"), row("c", "stopped")]
    line = interrupted_line(result(rows, stopping=("a",)))
    assert "1 job(s) still stopping (Stop sent; journaled Stopping)" in line
    assert "1 not stopped (no Stop accepted in time; `smrun stop` on this batch stops them)" in line
    every = interrupted_line(result([row("c", "stopped")]))
    assert "jobs in flight were stopped" in every


def test_a_launch_in_a_pod_keeps_below_its_grace_and_elsewhere_takes_what_its_stops_need() -> None:
    pod = {"KUBERNETES_SERVICE_HOST": "10.0.0.1"}
    stops = RateLimits({"Stop*": Rate(10, 10)})
    assert shutdown_timeout_for(1000, stops, pod) == DEFAULT_SHUTDOWN_TIMEOUT < 30
    # 1,000 Stops at 10/s: 100 s, plus the margin for the last answers and the reports.
    assert shutdown_timeout_for(1000, stops, {}) == 100 + SHUTDOWN_MARGIN_S
    assert shutdown_timeout_for(20, stops, {}) == DEFAULT_SHUTDOWN_TIMEOUT  # never less
    assert (
        shutdown_timeout_for(1000, RateLimits.none(), {}) == DEFAULT_SHUTDOWN_TIMEOUT
    )  # no Stop budget
