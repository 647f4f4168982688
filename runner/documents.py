"""YAML and JSON documents read within bounds: nesting and alias expansion capped while the
document is composed, so hostile text is refused with one line, never a RecursionError, a
segfault (libyaml's C composer recurses: ~30,000 levels overflow the C stack) or an alias
bomb's 10^9 values (``&a [..9..]``, ``&b [*a x9]``, ...: a small file).

- ``MAX_DEPTH``: mappings and lists nested deeper are refused.
- ``MAX_NODES``: the values a document holds once its aliases are expanded, counted from the
  anchored nodes' sizes, before anything walks it.

The launcher's manifests (``smrun.launcher.bounds``) and the components' JSON inputs
(``components.common.inputs``) are read with these.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.nodes import MappingNode, Node, SequenceNode

__all__ = ["MAX_DEPTH", "MAX_NODES", "DocumentRefused", "parse_json", "parse_yaml"]

MAX_DEPTH = 64
MAX_NODES = 1_000_000


class DocumentRefused(ValueError):
    """A document that is not read: one line saying why. ``syntax``: the text is not of the
    format at all (``detail`` says where), rather than too large a document of it."""

    def __init__(self, message: str, *, syntax: bool = False, detail: str = "") -> None:
        super().__init__(message)
        self.syntax = syntax
        self.detail = detail or message


try:  # libyaml's parser (a state machine: no recursion), else PyYAML's own
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


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


def parse_json(text: str) -> Any:
    """``text`` as JSON, its nesting bounded; raises DocumentRefused."""
    try:
        document = json.loads(text)
    except RecursionError:
        raise DocumentRefused(f"nests more than {MAX_DEPTH} objects or arrays deep") from None
    except ValueError as error:
        raise DocumentRefused(
            f"is not valid JSON ({error})", syntax=True, detail=str(error)
        ) from None
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


def parse_yaml(text: str) -> Any:
    """``text`` as one YAML document (safe types only), bounded; raises DocumentRefused."""
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    except DocumentRefused:
        raise
    except yaml.MarkedYAMLError as error:
        words = _yaml_words(error)
        raise DocumentRefused(f"is not valid YAML ({words})", syntax=True, detail=words) from None
    except (yaml.YAMLError, ValueError, RecursionError) as error:
        words = " ".join(str(error).split()) or type(error).__name__
        raise DocumentRefused(f"is not valid YAML ({words})", syntax=True, detail=words) from None
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
