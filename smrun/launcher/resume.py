"""What a launch does with each entry of a batch it has run before: the resume rules.

A batch is identified by its id (``batch:``, ``--batch-id``, or derived from the manifest's
path), not by the manifest's content, so running the same command after an edit resumes the
same batch. The journal remembers what each entry said; this module compares:

========================  =====================================  ===============================
journal state             entry unchanged                        entry edited
========================  =====================================  ===============================
(not journaled)           submit                                 -
pending                   submit                                 submit, as edited
error, never sent         submit again                           submit again, as edited
error after a Create      submit again (re-attach if it exists)  problem, or ``--retry changed``
submitted, running        re-attach (never a second Create)      problem: it is in flight
succeeded                 leave                                  problem, or ``--retry changed``
failed                    leave, or ``--retry failed``           problem, or ``--retry changed``
stopped                   leave, or ``--retry stopped``          problem, or ``--retry changed``
========================  =====================================  ===============================

A rerun (``--retry``) is a new job under a new name (``<entry>-retry-<n>``): the old job stays
as it ended. Entries that come ``after`` a rerun entry wait for the rerun. A problem is
reported (exit 2, nothing created) by ``--dry-run`` and the launch alike, naming the fields
that changed (``jobs[0](xgb-eta-0-1).inputs.hyperparameters.eta: ... was '0.1', now '0.2'``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from runner.kinds import KINDS
from runner.validation import Problem
from smrun.launcher.journal import (
    ERROR,
    FAILED,
    PENDING,
    RUNNING,
    STOPPED,
    SUBMITTED,
    Planned,
    Row,
)
from smrun.launcher.manifest import Entry, Manifest, dedupe_problems

__all__ = ["RETRY_CHOICES", "Decision", "ResumePlan", "body_record", "plan_resume"]

CHANGED = "changed"
RETRY_CHOICES = (FAILED, STOPPED, CHANGED)  # what --retry accepts
SUBMIT, SUBMIT_AGAIN, REATTACH, LEAVE, RERUN = (
    "submit",
    "submit again",
    "re-attach",
    "leave (finished)",
    "rerun as a new job",
)
MAX_FIELDS = 3  # changed fields named per entry
BATCH_REGION_INPUT = "inputs.region"  # a component entry's region: the batch's


@dataclass(frozen=True)
class Decision:
    """What this launch does with one entry, and the job name it uses for it."""

    entry: Entry
    state: str  # the journal's state, or "new"
    action: str
    job_name: str
    retries: int  # reruns so far, this one included

    def planned(self) -> Planned:
        return Planned(
            self.entry.id,
            self.entry.kind,
            self.job_name,
            self.entry.digest,
            body_record(self.entry),
            dict(self.entry.matrix),
            self.action == RERUN,
        )


@dataclass(frozen=True)
class ResumePlan:
    decisions: list[Decision]
    problems: list[Problem]
    dropped: list[str]  # journaled entries the manifest no longer has (left as they are)

    def count(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for decision in self.decisions:
            counts[decision.action] = counts.get(decision.action, 0) + 1
        return counts


def body_record(entry: Entry) -> dict[str, Any]:
    """What the journal keeps of an entry, to tell an edit field by field."""
    return {"key": entry.body_key, "value": dict(entry.body)}


def plan_resume(
    manifest: Manifest,
    rows: Iterable[Row],
    retry: Collection[str] = (),
    *,
    region_moved: bool = False,
) -> ResumePlan:
    """Decide every entry (see the table above); problems for edits the rules refuse. With
    ``region_moved`` (the caller refuses the batch's new region, once), a component entry's
    ``region`` input, which is the batch's, is not an edit of the entry."""
    unknown = set(retry) - set(RETRY_CHOICES)
    if unknown:
        raise ValueError(f"--retry: {', '.join(sorted(unknown))} (choose from {RETRY_CHOICES})")
    journaled = {row.id: row for row in rows}
    decisions: list[Decision] = []
    problems: list[Problem] = []
    for entry in manifest.entries:
        row = journaled.get(entry.id)
        if row is None:
            decisions.append(Decision(entry, "new", SUBMIT, entry.job_name, 0))
            continue
        decision, problem = _decide(entry, row, retry, region_moved)
        decisions.append(decision)
        if problem is not None:
            problems.append(problem)
    ids = {entry.id for entry in manifest.entries}
    dropped = [entry_id for entry_id in journaled if entry_id not in ids]
    return ResumePlan(decisions, dedupe_problems(problems), dropped)


def _decide(
    entry: Entry, row: Row, retry: Collection[str], region_moved: bool
) -> tuple[Decision, Problem | None]:
    changes = _changes(entry, row)
    if region_moved:
        changes = [change for change in changes if change[0] != BATCH_REGION_INPUT]
    unsent = row.never_sent
    same = Decision(entry, row.state, "", entry.job_name_for(row.retries), row.retries)
    if unsent:
        action = SUBMIT if row.state == PENDING else SUBMIT_AGAIN
        return _with(same, action), None
    if row.state in (SUBMITTED, RUNNING):
        in_flight = "it is in flight: let it end (or smrun stop it), then rerun it"
        return _with(same, REATTACH), _changed(entry, row, changes, in_flight) if changes else None
    wants_rerun = (CHANGED in retry and bool(changes)) or (not changes and row.state in retry)
    if wants_rerun or (changes and row.state in retry):
        return _rerun(entry, row)
    if changes:
        hint = f"--retry {CHANGED}" + (
            f" (or --retry {row.state})" if row.state in (FAILED, STOPPED) else ""
        )
        return _with(same, LEAVE), _changed(
            entry, row, changes, f"rerun it as a new job with {hint}, or start a new batch"
        )
    action = SUBMIT_AGAIN if row.state == ERROR else LEAVE
    return _with(same, action), None


def _rerun(entry: Entry, row: Row) -> tuple[Decision, Problem | None]:
    """A new job for the entry, under its next retry's name: refused when the request names
    its job itself (every attempt would be that one job)."""
    retries = row.retries + 1
    rerun = Decision(entry, row.state, RERUN, entry.job_name_for(retries), retries)
    if not entry.names_itself:
        return rerun, None
    field = KINDS[entry.kind].name_field
    return rerun, Problem(
        _where(entry, f"request.{field}"),
        f"a rerun needs a new job name, and the request names its job "
        f"{entry.job_name!r}: drop {field} so that smrun names each attempt",
    )


def _with(decision: Decision, action: str) -> Decision:
    return Decision(decision.entry, decision.state, action, decision.job_name, decision.retries)


def _where(entry: Entry, rest: str) -> str:
    at = entry.source if entry.id == entry.group else f"{entry.source}({entry.id})"
    return f"{at}.{rest}" if rest else at


def _changed(
    entry: Entry, row: Row, changes: list[tuple[str, Any, Any]], what_to_do: str
) -> Problem:
    path, old, new = changes[0]
    detail = f"was {_shown(old)}, now {_shown(new)}"
    more = len(changes) - 1
    if more:
        others = ", ".join(p for p, _, _ in changes[1:MAX_FIELDS])
        detail += f"; also {others}" + (" and more" if more >= MAX_FIELDS else "")
    # No job name in the rule: the same edit to every expansion of a sweep is one line.
    ran = "sent, then lost" if row.state == ERROR else row.state
    return Problem(
        _where(entry, path), f"changed since the batch ran it ({ran}): {detail}; {what_to_do}"
    )


def _shown(value: Any) -> str:
    if value is _ABSENT:
        return "not set"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_ABSENT = object()


def _changes(entry: Entry, row: Row) -> list[tuple[str, Any, Any]]:
    """The fields of ``entry`` that differ from what the journal has: ``(path, old, new)``."""
    if row.kind != entry.kind:
        return [("kind", row.kind, entry.kind)]
    if row.request_digest == entry.digest:
        return []
    record = row.body
    if record is None:  # journaled before the journal kept bodies
        return [(entry.body_key, "(a request journaled by an older smrun)", "another")]
    if record.get("key") != entry.body_key:
        return [(entry.body_key, f"given as {record.get('key')}", f"given as {entry.body_key}")]
    found = list(_diff(record.get("value") or {}, dict(entry.body), entry.body_key))
    # The same inputs can build another request (a component's default changed).
    return found or [(entry.body_key, "the request built from it before", "another request")]


def _diff(old: Any, new: Any, path: str) -> Iterable[tuple[str, Any, Any]]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in list(dict.fromkeys([*old, *new])):
            yield from _diff(old.get(key, _ABSENT), new.get(key, _ABSENT), f"{path}.{key}")
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from _diff(a, b, f"{path}[{index}]")
    elif old != new:
        yield path, old, new
