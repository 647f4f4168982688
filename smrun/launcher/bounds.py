"""How much a manifest may be, and reading one within it: hostile input is refused before
the work it would cause is done.

Each cap is a constant here (the README's manifest reference states them):

- ``MAX_MANIFEST_BYTES``: at most this much of the file is read (``/dev/zero`` as a
  manifest reads 4 MiB and stops), so a file's size is never trusted.
- ``MAX_DEPTH``: mappings and lists nested deeper are refused while the YAML is composed (the
  C composer recurses and overflows the C stack at ~30,000 levels, a segfault, not an error).
- ``MAX_NODES``: the values a document holds once its YAML aliases are expanded: an alias
  bomb (``&a [..9..]``, ``&b [*a x9]``, ...) is a small file of 10^9 values; it is refused
  from the count, before anything walks it.
- ``MAX_ENTRIES``: the entries a batch expands to (every matrix product times every count),
  computed from the sizes before any entry is made: a matrix of 10^12 is refused, not built.
- ``MAX_COUNT``: one entry's ``count``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.nodes import MappingNode, Node, SequenceNode

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
MAX_DEPTH = 64
MAX_NODES = 1_000_000
MAX_ENTRIES = 10_000
MAX_COUNT = 10_000

try:  # libyaml's parser (a state machine: no recursion), else PyYAML's own
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class DocumentRefused(ValueError):
    """A manifest file that is not read: one line saying why."""


class _BoundedLoader(Composer, _BaseLoader):
    """A safe loader whose composer (PyYAML's, over libyaml's events) bounds nesting and
    alias expansion as it goes."""

    def __init__(self, stream: str) -> None:
        _BaseLoader.__init__(self, stream)
        Composer.__init__(self)
        self._depth = 0
        self._nodes = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            if node is not None:
                self._count(self._size(node), event)
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise DocumentRefused(
                f"nests more than {MAX_DEPTH} mappings or lists deep (line {_line(event)})"
            )
        try:
            self._count(1, event)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _count(self, nodes: int, event: Any) -> None:
        self._nodes += nodes
        if self._nodes > MAX_NODES:
            raise DocumentRefused(
                f"holds more than {MAX_NODES:,} values once its aliases are expanded "
                f"(line {_line(event)})"
            )

    def _size(self, node: Node) -> int:
        """The values ``node`` stands for, its aliases expanded (memoized: shared nodes are
        counted once each time they are used, never walked again)."""
        known = self._sizes.get(id(node))
        if known is not None:
            return known
        size = 1
        if isinstance(node, SequenceNode):
            size += sum(self._size(item) for item in node.value)
        elif isinstance(node, MappingNode):
            size += sum(self._size(k) + self._size(v) for k, v in node.value)
        self._sizes[id(node)] = size
        return size


def _line(event: Any) -> int:
    mark = getattr(event, "start_mark", None)
    return int(mark.line) + 1 if mark is not None else 0


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
        return _json(text)
    return _yaml(text)


def _json(text: str) -> Any:
    try:
        document = json.loads(text)
    except RecursionError:
        raise DocumentRefused(f"nests more than {MAX_DEPTH} objects or arrays deep") from None
    except ValueError as error:
        raise DocumentRefused(f"is not valid JSON ({error})") from None
    if _depth(document) > MAX_DEPTH:
        raise DocumentRefused(f"nests more than {MAX_DEPTH} objects or arrays deep")
    return document


def _depth(document: Any) -> int:
    """How deep ``document``'s mappings and lists nest, without recursing."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, Mapping):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, level + 1)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def _yaml(text: str) -> Any:
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    except DocumentRefused:
        raise
    except yaml.MarkedYAMLError as error:
        raise DocumentRefused(f"is not valid YAML ({_yaml_words(error)})") from None
    except (yaml.YAMLError, ValueError, RecursionError) as error:
        words = " ".join(str(error).split()) or type(error).__name__
        raise DocumentRefused(f"is not valid YAML ({words})") from None
    finally:
        loader.dispose()


def _yaml_words(error: yaml.MarkedYAMLError) -> str:
    """PyYAML's error on one line: what is wrong and where (its own text spans lines and
    quotes the source)."""
    words = " ".join(filter(None, [error.context, error.problem])) or "cannot be parsed"
    mark = error.problem_mark or error.context_mark
    if mark is None:
        return words
    return f"{words}, line {mark.line + 1} column {mark.column + 1}"


def expansion_size(matrix: Any, count: Any) -> int:
    """How many entries one job expands to, from the sizes alone (nothing expanded): the
    product of its matrix lists times its count. What is not a list or a count counts as
    one (that value's own problem is reported where it is read)."""
    lists = matrix.values() if isinstance(matrix, Mapping) else ()
    product = math.prod(len(v) for v in lists if isinstance(v, list) and v)
    copies = count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 1
    return product * copies
