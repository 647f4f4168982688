"""What a launch really calls is granted by docs/iam/launcher-policy.json: the emulator counts
every operation it serves, a cross-check of the policy test's derivation from the code
(tests/unit/test_iam_policy.py) on a batch that submits, sweeps, tails logs and stops."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support import iam
from support.launching import launch
from support.manifests import entry, manifest, raw_job
from support.stats import fetch_stats

POLICY = Path(__file__).resolve().parents[2] / "docs" / "iam" / "launcher-policy.json"
# The emulator counts operations by name alone; these names are unique across its services.
AUTHORIZED_AS = {operation: action for (_, operation), action in iam.AUTHORIZED_AS.items()}


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

    def all_running(run: Any) -> str | None:
        return "SIGTERM" if run.tally.counts.get("running", 0) >= 6 else None

    result = await launch(emulator.url, data, tmp_path, interrupt_when=all_running)
    assert [row.state for row in result.rows].count("stopped") == 6
    called = {AUTHORIZED_AS.get(op, op) for op in (await fetch_stats(emulator.url))["calls"]}
    assert {"CreateTrainingJob", "StopTrainingJob", "GetLogEvents"} <= called  # it did all that
    assert not called - granted_operations(), "called but not granted"
