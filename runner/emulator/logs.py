"""CloudWatch Logs (placeholder until the logs backend lands)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runner.emulator.jobs import Job
    from runner.emulator.state import Emulator


class LogStore:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def job_created(self, job: Job) -> None:
        pass

    def job_stopped(self, job: Job, at: float) -> None:
        pass
