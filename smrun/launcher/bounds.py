"""How much a manifest may be, and reading one within it: hostile input is refused before
the work it would cause is done.

The caps (the README's manifest reference states them):

- ``MAX_MANIFEST_BYTES``: at most this much of the file is read (``/dev/zero`` as a
  manifest reads 4 MiB and stops), so a file's size is never trusted.
- ``MAX_DEPTH`` and ``MAX_NODES`` (``runner.documents``): nesting, and the values once YAML
  aliases are expanded, bounded while the document is composed.
- ``MAX_ENTRIES``: the entries a batch expands to (every matrix product times every count),
  computed from the sizes before any entry is made: a matrix of 10^12 is refused, not built.
- ``MAX_COUNT``: one entry's ``count``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner.documents import MAX_DEPTH, MAX_NODES, DocumentRefused, parse_json, parse_yaml

__all__ = [
    "MAX_COUNT",
    "MAX_DEPTH",
    "MAX_ENTRIES",
    "MAX_MANIFEST_BYTES",
    "MAX_NODES",
    "DocumentRefused",
    "expansion_size",
    "read_document",
]

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_ENTRIES = 10_000
MAX_COUNT = 10_000


def read_document(path: Path) -> Any:
    """The YAML or JSON document at ``path`` (JSON by its ``.json`` suffix), read within the
    caps; raises DocumentRefused (one line) or OSError."""
    with path.open("rb") as stream:
        data = stream.read(MAX_MANIFEST_BYTES + 1)
    if len(data) > MAX_MANIFEST_BYTES:
        raise DocumentRefused(
            f"is larger than {MAX_MANIFEST_BYTES // (1024 * 1024)} MiB, the most a manifest "
            "may be (use matrix and count for large batches)"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DocumentRefused(
            f"is not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}): "
            "a manifest is YAML or JSON"
        ) from None
    if path.suffix.lower() == ".json":
        return parse_json(text)
    return parse_yaml(text)


def expansion_size(matrix: Any, count: Any) -> int:
    """How many entries one job expands to, from the sizes alone (nothing expanded): the
    product of its matrix lists times its count. What is not a list or a count counts as
    one (that value's own problem is reported where it is read)."""
    lists = matrix.values() if isinstance(matrix, Mapping) else ()
    product = math.prod(len(v) for v in lists if isinstance(v, list) and v)
    copies = count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 1
    return product * copies
