"""The exception tree drawn in runner/errors.py's docstring is the code's own."""

from __future__ import annotations

import builtins
import re

from runner import errors

# "    │   ├── ResourceMissing          the resource ..." -> depth 2, name, extra bases
LINE = re.compile(r"^(?P<lead>[ │├└─]*?)(?P<name>[A-Z]\w+)(?: \((?P<also>[\w, ]+)\))?(?:\s{2,}|$)")


def drawn() -> dict[str, tuple[str | None, tuple[str, ...]]]:
    """Each drawn class: its parent in the drawing and the builtins named beside it."""
    tree: dict[str, tuple[str | None, tuple[str, ...]]] = {}
    parents: list[str] = []
    doc = errors.__doc__ or ""
    block = doc.split("\n\n")[1]  # the drawing is the docstring's second paragraph
    for line in block.splitlines():
        found = LINE.match(line.removeprefix("    "))
        if not found:
            continue
        depth = len(found["lead"]) // 4
        parents[depth:] = [found["name"]]
        also = tuple(name.strip() for name in (found["also"] or "").split(",") if name.strip())
        tree[found["name"]] = (parents[depth - 1] if depth else None, also)
    return tree


def test_the_drawing_names_every_exception_of_the_module() -> None:
    defined = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, Exception) and name in errors.__all__
    }
    assert set(drawn()) == defined


def test_each_drawn_class_has_the_bases_drawn() -> None:
    tree = drawn()
    assert tree["RunnerError"] == (None, ())  # the root
    for name, (parent, also) in tree.items():
        cls = getattr(errors, name)
        if parent is not None:
            assert getattr(errors, parent) in cls.__bases__, f"{name} is drawn under {parent}"
        for builtin in also:
            assert issubclass(cls, getattr(builtins, builtin)), f"{name} is drawn as a {builtin}"
        undrawn = {
            base.__name__
            for base in cls.__bases__
            if base.__name__ not in (parent, *also) and base is not Exception
        }
        assert not undrawn, f"{name} has bases the drawing leaves out: {undrawn}"


def test_request_invalid_is_caught_as_either() -> None:
    from runner.validation import Problem, RequestInvalid

    error = RequestInvalid("CreateTrainingJob", [Problem("RoleArn", "is required")])
    assert isinstance(error, errors.RunnerError) and isinstance(error, ValueError)
    assert RequestInvalid is errors.RequestInvalid
