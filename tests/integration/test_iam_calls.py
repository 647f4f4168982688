"""What a launch really calls is granted by docs/iam/launcher-policy.json: the emulator counts
every operation it serves, a cross-check of the policy test's derivation from the code
(tests/unit/test_iam_policy.py) on a batch that submits, sweeps, tails logs and stops."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from runner.config import LogPolicy
from runner.core import Runner
from smrun.launcher.journal import Journal
from smrun.launcher.launch import Launch, LaunchOptions
from smrun.launcher.manifest import parse_manifest
from smrun.launcher.progress import LineView
from support.manifests import entry, manifest, raw_job
from support.runner_setup import runner_config
from support.stats import fetch_stats

POLICY = Path(__file__).resolve().parents[2] / "docs" / "iam" / "launcher-policy.json"
# The batch calls authorized under their single-message actions (SQS's Service Authorization
# Reference), as the policy test maps them.
AUTHORIZED_AS = {"DeleteMessageBatch": "DeleteMessage"}
QUICK_LOGS = LogPolicy(min_interval=0.2, max_interval=1.0, drain_wait=0.3, merge_hold=0.3)


def granted_operations() -> set[str]:
    policy = json.loads(POLICY.read_text(encoding="utf-8"))
    return {
        action.partition(":")[2]
        for statement in policy["Statement"]
        for action in statement["Action"]
    }


async def test_every_operation_a_launch_calls_is_granted(emulator: Any, tmp_path: Path) -> None:
    data = manifest(
        entry("fit", "training", raw_job("training", 60), count=5),  # 5 in flight: List sweeps
        entry("prep", "processing", raw_job("processing", 60)),
    )
    parsed = parse_manifest(data)
    journal = Journal(tmp_path / "journal.sqlite", parsed.batch_id)
    options = LaunchOptions(output=tmp_path / "out", tick=0.1, backoff_initial=0.2)
    async with Runner(runner_config(emulator.url, logs=QUICK_LOGS)) as runner:
        run = Launch(parsed, journal, runner, options, view=LineView(interval=1.0))

        async def stop_once_running() -> None:
            while run.tally.counts.get("running", 0) < 6:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            run.interrupt("SIGTERM")

        watcher = asyncio.create_task(stop_once_running())
        try:
            result = await run.run()
        finally:
            watcher.cancel()
            run.close()
    assert [row.state for row in result.rows].count("stopped") == 6
    called = {AUTHORIZED_AS.get(op, op) for op in (await fetch_stats(emulator.url))["calls"]}
    assert {"CreateTrainingJob", "StopTrainingJob", "GetLogEvents"} <= called  # it did all that
    assert not called - granted_operations(), "called but not granted"
