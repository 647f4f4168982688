"""Structured events: dotted names, job context, and no credentials ever.

The core logs through ``structlog.get_logger("runner...")`` with events such as
``job.submitted``, ``job.status_changed``, ``job.secondary_status``, ``job.succeeded``,
``job.failed`` and ``job.stop_accepted``, each bound to the job's ``job`` name and ``kind``;
the log tailer adds ``logs.*`` events (``logs.read_failed``, ``logs.drain_cut``, ...).
Entry points call ``configure_logging`` once: JSON lines for machines, or readable lines for
people (``render_readable``: timestamp, level, event, then the job, its status and message
first; colours only on a terminal). ``redact_credentials`` runs in every configuration, before
rendering. Events are written through ``runner.streams.guarded``: a log stream that fails (a
full disk, a closed pipe) is dropped and reported once, and no log call ever raises for it.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from json import dumps as json_text
from typing import Any, TextIO

import structlog

from runner.streams import GuardedStream, guarded

REDACTED = "**redacted**"
_SECRET_KEYS = re.compile(
    r"(secret|password|passwd|token|credential|authorization|signature|x-amz-security|session_key)",
    re.IGNORECASE,
)
# AWS access key ids anywhere in text.
_KEY_IDS = re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{12,}\b")
# A 40-character secret key only where text names it: "secret...=<key>", "SecretAccessKey: <key>".
_NAMED_SECRETS = re.compile(
    r"(?i)(secret\w*[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"
)
# A 40-character secret key right after an access key id ("AKIA... wJalr...").
_PAIRED_SECRETS = re.compile(
    r"(\b(?:AKIA|ASIA)[A-Z0-9]{12,}[\s,;:=/\"']{1,5})[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"
)
# Deeper than this, a structure is logged as its scrubbed text rather than walked.
_MAX_DEPTH = 20
# Readable lines show these fields first, in this order: who, then what happened to it.
_FIRST_FIELDS = ("job", "kind", "status", "previous", "secondary_status", "message", "error")
_BARE_VALUE = re.compile(r"[^\s\"'=]+")


# What each of the three patterns needs somewhere in the text: most text has none of it, and
# one search is cheaper than three substitutions (every event's every string passes here).
_MAY_HOLD_SECRETS = re.compile(r"(?i:secret)|A(?:KIA|SIA|GPA|IDA|ROA|NPA|NVA|IPA)")


def _scrub_text(text: str) -> str:
    if not _MAY_HOLD_SECRETS.search(text):
        return text
    text = _PAIRED_SECRETS.sub(rf"\1{REDACTED}", text)
    text = _NAMED_SECRETS.sub(rf"\1{REDACTED}", text)
    return _KEY_IDS.sub(REDACTED, text)


def _scrub(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return _scrub_text(value)
    if depth > _MAX_DEPTH and isinstance(value, dict | list | tuple):
        return _scrub_text(repr(value))  # fail closed: never pass a deep structure through
    if isinstance(value, dict):
        return {
            key: REDACTED
            if isinstance(key, str) and _SECRET_KEYS.search(key)
            else _scrub(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_scrub(item, depth + 1) for item in value)
    return value


def redact_credentials(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: secret-looking keys and AWS key material become ``**redacted**``."""
    for key in list(event_dict):
        if key != "event" and _SECRET_KEYS.search(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


def _field_text(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if _BARE_VALUE.fullmatch(text) else json_text(text, ensure_ascii=False)


def render_readable(logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> str:
    """A structlog renderer: one plain line per event, for a log viewer that shows text
    (the KFP UI's pod log), e.g. ``2026-12-01T10:51:10.2Z info job.status_changed
    job=mnist-train kind=training status=Completed previous=InProgress``."""
    fields = dict(event_dict)
    parts = [
        str(fields.pop("timestamp", "")),
        str(fields.pop("level", method_name)),
        str(fields.pop("event", "")),
    ]
    exception = fields.pop("exception", None)
    names = [name for name in _FIRST_FIELDS if name in fields]
    names += sorted(name for name in fields if name not in _FIRST_FIELDS)
    parts += [f"{name}={_field_text(fields[name])}" for name in names]
    line = " ".join(part for part in parts if part)
    return f"{line}\n{exception}" if exception else line


# The guard configure_logging made itself (not one an entry point gave it), forgotten when
# logging is configured again: a stream no longer logged to is not one to report to.
_own_guard: list[GuardedStream] = []


def configure_logging(
    *, json: bool | None = None, level: int = logging.INFO, file: TextIO | None = None
) -> None:
    """Entry points call this once. Events go to ``file`` (stderr by default); ``json=None``
    picks JSON when that is not a terminal, ``json=False`` readable lines (coloured on a
    terminal only)."""
    given = file or sys.stderr
    out = guarded(given)
    for old in _own_guard:
        old.forget()
    _own_guard[:] = [out] if isinstance(out, GuardedStream) and out is not given else []
    terminal = out.isatty()
    as_json = (not terminal) if json is None else json
    renderer: Any = structlog.processors.JSONRenderer()
    if not as_json:
        renderer = structlog.dev.ConsoleRenderer() if terminal else render_readable
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # Tracebacks become text first, so that redaction sees them too.
            structlog.processors.format_exc_info,
            redact_credentials,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
