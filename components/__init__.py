"""Kubeflow Pipelines components: thin entry points into the runner core (one module per component).

Each component lives in its own folder (``components/<name>/``): ``component.py`` declares its
interface and what it does, ``component.yaml`` is generated from it (``python -m
components.generate``), and the container runs ``python -m components.<name>``.

Pipeline authors load a component by its folder name::

    import components

    train = components.load("train")
    cleanup = components.load("cleanup")

    @dsl.pipeline(name="mnist")
    def pipeline(region: str = "us-east-1") -> None:
        with dsl.ExitHandler(cleanup(region=region)):
            train(region=region, ...)

``load(name)`` returns what ``kfp.components.load_component_from_file`` returns for that
component's ``component.yaml``; ``names()`` lists the components there are. kfp is imported
only when a component is loaded, so the containers never import it.

``load(name, summary=True)`` gives a component that had one v1 output (model, deploy,
batch_transform, workteam, cleanup) its Markdown summary too, as a second output (so use
``task.outputs["..."]`` rather than ``task.output``); ``load(name, image="...")`` runs another
container image, e.g. one pushed to a private registry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

_ROOT = Path(__file__).parent


def names() -> list[str]:
    """Every component there is: the folders with a ``component.yaml``."""
    return sorted(path.parent.name for path in _ROOT.glob("*/component.yaml"))


def load(name: str, *, summary: bool = False, image: str | None = None) -> Any:
    """The KFP component ``name`` (``"train"``, ``"deploy"``, ``"cleanup"``...), ready to call
    inside a ``@dsl.pipeline``. Raises ValueError for a name that is not a component, or an
    ``image`` that is not a container image reference."""
    path = _ROOT / name / "component.yaml"
    if "/" in name or "\\" in name or not path.is_file():
        raise ValueError(f"no component {name!r}; there are: {', '.join(names())}")
    from components.common.spec import image_problem

    problem = None if image is None else image_problem(image)
    if problem:
        raise ValueError(f"image: {problem}")
    from kfp import components as kfp_components  # type: ignore[import-untyped]

    if not summary and image is None:
        return kfp_components.load_component_from_file(str(path))
    from components.common.spec import DEFAULT_IMAGE
    from components.generate import spec_of

    text = spec_of(name).to_yaml(image or DEFAULT_IMAGE, summary=True if summary else None)
    return kfp_components.load_component_from_text(text)
