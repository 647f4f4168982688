"""The request as sent: a job's name, its tags and its digest, prepared in one place.

The runner (``Runner.prepare``/``submit``), the launcher (checking a manifest entry, naming its
job, comparing it with the journal) and the components (learning the names they pass on) all
call ``prepare_request``, so the name checked is the name sent and the digest journaled is the
digest tagged.

- The name: the request's own; else, for a kind that derives one, ``deterministic_name`` of the
  identity (a restarted pod or a resumed batch asks for the same job again), or v1's
  ``generated_name`` when there is no identity. An update never derives one: UpdateEndpoint's
  ``EndpointName`` is required and must name an existing endpoint (botocore's SageMaker model;
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateEndpoint.html), which a
  name made up here never does, so a request without it is refused by the service-model check.
- The tags: the request's own, then the run's (``run_tags``), the digest, the kind and the
  identity, then ``tags``; a later one wins on a key. Kinds whose Create takes no ``Tags``
  (an update) get none. Malformed request tags are left as they are for the check to report.
- The digest: ``request_digest``, what the job does (name and tags left out).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.kinds import JobKind, kind_named
from runner.naming import (
    DIGEST_TAG,
    IDENTITY_TAG,
    KIND_TAG,
    RUN_ID_TAG,
    Identity,
    deterministic_name,
    generated_name,
    merge_tags,
    request_digest,
)
from runner.validation import Problem, RequestInvalid, validate_request

__all__ = ["PreparedRequest", "prepare_request"]


@dataclass(frozen=True)
class PreparedRequest:
    """A request as it will be sent (``body``: name and tags in), and its ``digest``."""

    kind: JobKind
    body: dict[str, Any]
    digest: str

    @property
    def name(self) -> str | None:
        """The job's name; None only for an update that names no resource (refused)."""
        name = self.body.get(self.kind.name_field)
        return str(name) if name else None

    def problems(self) -> list[Problem]:
        """What SageMaker's service model finds wrong with the request as sent."""
        return validate_request("sagemaker", self.kind.create, self.body)

    def checked(self) -> PreparedRequest:
        """This request, once it passes the service model; else ``RequestInvalid``."""
        problems = self.problems()
        if problems:
            raise RequestInvalid(self.kind.create, problems)
        return self


def prepare_request(
    kind: JobKind | str,
    request: Mapping[str, Any],
    *,
    identity: Identity | None = None,
    run_tags: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
) -> PreparedRequest:
    """``request`` of ``kind`` as it will be sent. Pure but for ``generated_name``'s clock and
    randomness, used only when there is neither a name nor an identity."""
    job_kind = kind if isinstance(kind, JobKind) else kind_named(kind)
    body = dict(request)
    if not body.get(job_kind.name_field) and job_kind.derives_name:
        limit = job_kind.max_name_length
        body[job_kind.name_field] = (
            deterministic_name(identity, job_kind.name_prefix, limit)
            if identity is not None
            else generated_name(job_kind.name_prefix, max_length=limit)
        )
    digest = request_digest(body, job_kind.name_field)
    if job_kind.takes_tags and _well_formed_tags(body.get("Tags")):
        added = {**(run_tags or {}), DIGEST_TAG: digest, KIND_TAG: job_kind.key}
        if identity is not None:
            added[IDENTITY_TAG] = identity.text()[:256]
            added.setdefault(RUN_ID_TAG, identity.scope[:256])
        body["Tags"] = merge_tags(body.get("Tags"), {**added, **(tags or {})})
    return PreparedRequest(job_kind, body, digest)


def _well_formed_tags(tags: Any) -> bool:
    """None, or a list of ``{"Key": ..., "Value": ...}`` mappings (merge_tags' input)."""
    return tags is None or (
        isinstance(tags, list) and all(isinstance(t, Mapping) and "Key" in t for t in tags)
    )
