"""Which component builds which job kind's request: the launcher's one way into components/.

A component that runs one job declares its ``KIND`` (a runner kind key) and a pure
``build_request(inputs)``: its ``SPEC``'s inputs, converted, in; the request out (or
``InputError`` with every problem), with no runner and no AWS. A manifest entry with
``inputs`` is built by its kind's component here. ``deploy`` (two jobs, and an update that
depends on what exists) and ``cleanup`` (no job of its own) are not request builders.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from components.batch_transform import component as batch_transform
from components.common.app import ComponentInputs
from components.common.spec import ComponentSpec
from components.ground_truth import component as ground_truth
from components.hyperparameter_tuning import component as hyperparameter_tuning
from components.model import component as model
from components.process import component as process
from components.train import component as train
from components.workteam import component as workteam

__all__ = ["BUILDERS", "RequestBuilder"]


@dataclass(frozen=True)
class RequestBuilder:
    """A component that turns its inputs into one request of ``kind``."""

    component: str  # its folder name, and v1's: "train"
    kind: str  # the runner kind: "training"
    spec: ComponentSpec
    build: Callable[[ComponentInputs], dict[str, Any]]


# Runner kind -> its component, in the order the launcher lists them.
BUILDERS: Mapping[str, RequestBuilder] = {
    module.KIND: RequestBuilder(module.SPEC.module, module.KIND, module.SPEC, module.build_request)
    for module in (
        train,
        process,
        batch_transform,
        hyperparameter_tuning,
        model,
        ground_truth,
        workteam,
    )
}
