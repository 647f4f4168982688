"""Read the emulator's stats endpoint (the measuring contract of tests and benchmarks)."""

from __future__ import annotations

from typing import Any

import aiohttp


async def fetch_stats(url: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{url}/_emulator/stats") as response,
    ):
        response.raise_for_status()
        data: dict[str, Any] = await response.json()
        return data


async def set_faults(url: str, **settings: Any) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/_emulator/faults", json=settings) as response,
    ):
        response.raise_for_status()
