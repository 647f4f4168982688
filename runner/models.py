"""botocore's service data (models, paginators, endpoints), loaded once per process.

A botocore session reads each service's model through its own loader and caches it there:
every session made with ``get_session()`` parses SageMaker's model again (~8 MB of objects
in this process). The runner's clients (``runner.session``), its request validation
(``runner.validation``) and its paging lookups all read through the one loader here. Its
search path (``AWS_DATA_PATH``, or the default profile's ``data_path``) is read once, at first
use; a ``data_path`` set only in the profile a runner is given is not followed.
"""

from __future__ import annotations

import functools
from typing import TypeVar

import botocore.session
from botocore.loaders import Loader

AnySession = TypeVar("AnySession", bound=botocore.session.Session)


@functools.cache
def model_session() -> botocore.session.Session:
    """The process's botocore session for service data alone (it makes no client)."""
    return botocore.session.get_session()


def shared_loader() -> Loader:
    """The loader of ``model_session``, which caches every model it has read."""
    loader: Loader = model_session().get_component("data_loader")
    return loader


def share_models(session: AnySession) -> AnySession:
    """``session`` (botocore's or aiobotocore's) reading service data through the shared
    loader; returned for chaining."""
    session.register_component("data_loader", shared_loader())
    return session
