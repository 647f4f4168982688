"""Job names and request digests: what makes submission idempotent.

With an identity (a pipeline run and task, or a launcher manifest entry), a job's name is a
function of that identity, so a restarted pod or a resumed batch asks for the same name again
and finds its job instead of creating a second one. The request digest, carried in a tag,
tells "the same job" from "another job under the same name".

Names follow SageMaker's rule for job names: ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_NAME = 63
DIGEST_TAG = "smrun:request-digest"
IDENTITY_TAG = "smrun:identity"
RUN_ID_TAG = "smrun:run-id"
KIND_TAG = "smrun:kind"


@dataclass(frozen=True)
class Identity:
    """Who asks for a job: ``scope`` (a pipeline run id, a batch id) and ``key`` within it
    (the task name, the manifest entry)."""

    scope: str
    key: str

    def text(self) -> str:
        """Readable form, for tags: ``scope/key``."""
        return f"{self.scope}/{self.key}"

    def fingerprint(self) -> str:
        """sha256 of the pair, unambiguous even when scope or key contain "/"."""
        return hashlib.sha256(json.dumps([self.scope, self.key]).encode()).hexdigest()


def slug(text: str) -> str:
    """``text`` reduced to SageMaker's name alphabet: letters, digits, single hyphens."""
    cleaned = re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-")
    return re.sub(r"-{2,}", "-", cleaned)


def deterministic_name(identity: Identity, hint: str, max_length: int = MAX_NAME) -> str:
    """``<hint>-<key>-<12 hex of the identity>``, within ``max_length`` characters (63 for
    most kinds, 32 for tuning jobs), the same every time."""
    digest = identity.fingerprint()[:12]
    readable = slug(f"{hint}-{identity.key}")[: max_length - len(digest) - 1].strip("-")
    return f"{readable}-{digest}" if readable else f"job-{digest}"


def generated_name(prefix: str, now: dt.datetime | None = None, max_length: int = MAX_NAME) -> str:
    """v1's form for a job with no name and no identity: ``<Prefix>-YYYYMMDDHHMMSS-xxxx``."""
    moment = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%d%H%M%S")
    suffix = secrets.token_hex(2)
    head = slug(prefix)[: max_length - len(moment) - len(suffix) - 2] or "job"
    return f"{head}-{moment}-{suffix}"


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def request_digest(request: Mapping[str, Any], name_field: str) -> str:
    """sha256 of the request without its name and tags: what the job *does*.

    Tags are left out on purpose: the runner adds its own, and a changed label is not a
    different job.
    """
    body = {k: v for k, v in request.items() if k not in (name_field, "Tags")}
    return hashlib.sha256(json.dumps(_canonical(body), separators=(",", ":")).encode()).hexdigest()


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def merge_tags(
    request_tags: list[dict[str, str]] | None, extra: Mapping[str, str]
) -> list[dict[str, str]]:
    """The request's tags plus ``extra``; ``extra`` wins on a key both have."""
    merged = {tag["Key"]: tag.get("Value", "") for tag in request_tags or []}
    merged.update(extra)
    return tag_list(merged)
