"""What crosses between the harness and a strategy process: a run's spec and its result (JSON)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.load.workload import JobSpec

READY = "READY"  # a strategy prints this line once every job is submitted (SIGTERM phase)


@dataclass
class RunSpec:
    strategy: str
    url: str
    # "run": until every job has ended; "sigterm": until the signal's work is done; "paced":
    # until the deadline, every job still running (left so: the emulator goes with the run).
    phase: str
    interval: float
    jobs: list[JobSpec]
    # Seconds after t0 after which the strategy stops waiting; paced: the window's length,
    # from its start (``window_from``, or one interval after the last submission if later).
    deadline: float
    drain_limit: float
    # Ours: the runner's own Create*/Describe* budgets per second (see ``strategy_ours``).
    create_rate: float
    describe_rate: float
    workdir: str
    result_path: str
    window_from: float = 0.0  # paced: seconds after t0 (``workload.paced_window_from``)

    def dump(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> RunSpec:
        data = json.loads(path.read_text())
        data["jobs"] = [JobSpec(**job) for job in data["jobs"]]
        return cls(**data)


@dataclass
class RunResult:
    """What a strategy reports about itself; the emulator's side is fetched by the harness."""

    strategy: str
    phase: str
    t0: float = 0.0  # wall clock when submission began
    submitted: int = 0
    submit_done_at: float | None = None
    # name -> wall time the strategy knew the job had ended (its outcome, for ours).
    detected: dict[str, float] = field(default_factory=dict)
    # ours only: name -> wall time a sweep or poll first saw the end status (before the final
    # Describe for outputs).
    noticed: dict[str, float] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)  # final status as the strategy saw it
    errors: dict[str, int] = field(default_factory=dict)  # surfaced errors by code
    throttling_surfaced: int = 0  # jobs whose following ended on a throttling error
    log_lines: int = 0  # log lines delivered
    signal_at: float | None = None  # wall clock the SIGTERM was handled
    changes_at: list[float] = field(default_factory=list)  # ours: each status change seen
    # Paced: the window's wall-clock start and end, and the log lines delivered in it.
    window: tuple[float, float] | None = None
    window_lines: int = 0
    # Paced: the peak resident set by the window's end (the steady state, the ramp before it),
    # before the strategy's teardown cancels its 20,000 tasks at once.
    window_peak_rss_mb: float | None = None
    finished_at: float = 0.0
    timed_out: bool = False
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    cpu_samples: list[tuple[float, float]] = field(default_factory=list)
    lag_samples: list[tuple[float, float]] = field(default_factory=list)
    lag_kind: str = "event loop"
    notes: list[str] = field(default_factory=list)

    def dump(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> RunResult:
        data: dict[str, Any] = json.loads(path.read_text())
        return cls(**data)
