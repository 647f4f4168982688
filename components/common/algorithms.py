"""Built-in algorithm names -> their registry image for a region (filled in by the algorithms work)."""

from __future__ import annotations


def builtin_image(algorithm_name: str, region: str) -> str | None:
    """The image of a SageMaker built-in algorithm by its display name, or None if not built in."""
    return None
