"""One name per job kind, wherever a user writes one: manifests, ``limits:``, ``--limit``.

The runner's kind keys (``training``, ``processing``, ...) are the names; the v1 component
names (``train``, ``process``, ``batch_transform``, ...) are accepted as aliases everywhere
and never appear in what smrun writes (journal, reports, events). Whether an entry is built by
a component or sent as a raw request is said by ``inputs`` or ``request``, not by the name.

``suggest`` gives the nearest names for a misspelling (difflib), for every "not a ..." error.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from components.registry import BUILDERS
from runner.kinds import KINDS

__all__ = ["ALIASES", "COMPONENTS", "canonical_kind", "did_you_mean", "kind_hint", "kind_names"]

# Runner kind -> the component whose inputs build its request (an entry with ``inputs``).
COMPONENTS: dict[str, str] = {kind: builder.component for kind, builder in BUILDERS.items()}
# Alias -> the runner kind it names: the components named otherwise than their kind.
ALIASES: dict[str, str] = {
    component: kind for kind, component in COMPONENTS.items() if component != kind
}


def canonical_kind(text: str) -> str | None:
    """The runner kind ``text`` names (a kind key or an alias, any case), or None."""
    key = text.strip().lower().replace("-", "_")
    if key in KINDS:
        return key
    return ALIASES.get(key)


def kind_names() -> list[str]:
    """Every name a kind may be written as: the kinds, then their aliases."""
    return [*KINDS, *ALIASES]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'training'?)`` for the nearest choices, or ``""`` when none is near."""
    return _hint(difflib.get_close_matches(word, list(dict.fromkeys(choices)), n=2, cutoff=0.6))


def kind_hint(word: str) -> str:
    """``did_you_mean`` among the kinds and their aliases, naming the kinds themselves."""
    near = difflib.get_close_matches(word.lower(), kind_names(), n=3, cutoff=0.6)
    kinds = list(dict.fromkeys(canonical_kind(name) or name for name in near))
    return _hint(kinds[:2])


def _hint(near: list[str]) -> str:
    if not near:
        return ""
    return f" (did you mean {' or '.join(repr(n) for n in near)}?)"
