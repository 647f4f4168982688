"""One launch of a manifest in process, against an emulator: the launcher's tests and the
reliability tests drive it the same way."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from runner.config import LogPolicy, RateLimits
from runner.core import Runner
from smrun.launcher.journal import Journal
from smrun.launcher.launch import Launch, LaunchOptions, LaunchResult
from smrun.launcher.manifest import Manifest, parse_manifest
from smrun.launcher.progress import LineView
from support.runner_setup import runner_config

QUICK_LOGS = LogPolicy(min_interval=0.2, max_interval=1.0, drain_wait=0.3, merge_hold=0.3)


async def launch(
    url: str,
    data: dict[str, Any] | Manifest,
    tmp_path: Path,
    *,
    interrupt_when: Any = None,
    during: Callable[[Launch], Awaitable[None]] | None = None,
    before: Callable[[Launch], Awaitable[None]] | None = None,
    budgets: RateLimits | None = None,
    **options: Any,
) -> LaunchResult:
    """One launch of ``data`` with its journal and output under ``tmp_path``. With
    ``interrupt_when(launch) -> str | None``, the launch is interrupted once that returns a
    reason (looked at every 50 ms); ``during(launch)`` runs beside it (a fault to inject), and
    its failure, or its not ending within 30 s of the launch, fails the launch's test;
    ``before(launch)`` runs first (a hook to register). ``budgets``: the runner's rate limits
    (none by default)."""
    parsed = data if isinstance(data, Manifest) else parse_manifest(data)
    journal = Journal(tmp_path / "journal.sqlite", parsed.batch_id)
    settings = LaunchOptions(output=tmp_path / "out", tick=0.1, backoff_initial=0.2, **options)
    config = runner_config(url, logs=QUICK_LOGS, limits=budgets or RateLimits.none())
    async with Runner(config) as runner:
        run = Launch(parsed, journal, runner, settings, view=LineView(interval=1.0))
        if before is not None:
            await before(run)
        beside = asyncio.create_task(during(run)) if during is not None else None
        watcher = None
        if interrupt_when is not None:

            async def watch() -> None:
                while (reason := interrupt_when(run)) is None:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
                run.interrupt(reason)

            watcher = asyncio.create_task(watch())
        try:
            result = await run.run()
            if beside is not None:  # what it asserted, if it failed; never a hang
                await asyncio.wait_for(beside, timeout=30)
            return result
        finally:
            for task in (beside, watcher):
                if task is not None:
                    task.cancel()
            run.close()
