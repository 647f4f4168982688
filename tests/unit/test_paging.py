"""``AwsCaller.pages`` lets a page go before it asks for the next: a walk waits for its
budget's token between pages, and a batched log round runs a walk per 100 streams at once."""

from __future__ import annotations

import gc
import weakref
from typing import Any

from runner.config import AwsTarget, RunnerConfig
from runner.session import AwsCaller


class Page(dict[str, Any]):
    """A page that a weak reference can watch."""


async def test_a_page_is_let_go_before_the_next_is_asked_for() -> None:
    caller = AwsCaller(RunnerConfig(aws=AwsTarget(region="us-east-1")))
    pages: list[weakref.ref[Page]] = []
    alive_at_next: list[bool] = []

    async def call(service: str, operation: str, **params: Any) -> dict[str, Any]:
        gc.collect()
        alive_at_next.extend(ref() is not None for ref in pages)
        page = Page(events=[{"message": "x" * 1000}] * 100)
        if len(pages) < 3:
            page["nextToken"] = f"t{len(pages)}"
        pages.append(weakref.ref(page))
        return page

    caller.call = call  # type: ignore[method-assign]
    try:
        seen = 0
        async for page in caller.pages("logs", "FilterLogEvents", logGroupName="g"):
            seen += len(page["events"])
            del page  # as the log reader does
    finally:
        await caller.close()
    assert seen == 400 and len(pages) == 4
    assert alive_at_next == [False] * 6, "a page was still held while the next was fetched"
