"""Read a launcher manifest (YAML or JSON) into validated entries, or every problem it has.

    batch: nightly-sweep            # optional (1-64 of A-Za-z0-9._-); else from the file's path
    region: us-east-1               # optional; the one region every job of the batch runs in
    events: https://sqs.us-east-1.amazonaws.com/123456789012/smrun-events   # optional feed
    limits: {training: 20, "training:ml.p3.2xlarge": 8}   # jobs of a kind, instances of a type
    rates: {Create: 5, Describe: 20/40}   # API calls/s (/burst) per budget; --rate overrides
    defaults:                       # deep-merged into every entry; the entry wins
      inputs: {role: arn:aws:iam::123456789012:role/sm}
    jobs:
      - kind: training              # with inputs: the kind's component (here ``train``)
        name: xgb                   # stable id within the manifest; default <kind>-<index>
        matrix: {lr: ["0.1", "0.3"], depth: ["4", "8"]}   # one entry per combination
        inputs:                     # the component's inputs, checked by its rules
          hyperparameters: {eta: "{{ matrix.lr }}", max_depth: "{{ matrix.depth }}"}
          ...
      - kind: processing            # with request: the raw SageMaker request
        count: 3                    # three copies; {{ index }} is 0, 1, 2
        request: {...}
      - kind: transform
        count: 3
        after: ["prep-{{ index }}"]  # submitted once those succeeded (entry ids or names)
        request: {...}

Kinds are the runner's (``training``, ``processing``, ``transform``, ``tuning``, ``model``,
``labeling``, ``workteam``, ``endpoint_config``, ``endpoint``, and ``endpoint_update``, whose
request names the endpoint: no name is derived for it); the v1 component names
(``train``, ``process``, ``batch_transform``, ...) are aliases (``smrun.launcher.vocabulary``).

Entries with ``inputs`` are converted and checked with the component's ``SPEC`` (defaults
from the spec) and turned into a request by the component's own ``build_request``. Every
request is then checked against botocore's model, as the runner would send it (name and tags
added). Nothing is submitted from here: ``load_manifest`` returns a ``Manifest`` or raises
``ManifestInvalid`` listing every problem, each with its path in the manifest
(``jobs[3].inputs.instance_count: must be a whole number, got 'two'``). A problem in one
expansion of a sweep names it: ``jobs[0](xgb-lr-0.1).request.RoleArn``. A problem the service
model finds in a component's request is named by the input that holds the bad value
(``inputs.instance_type``, not ``request.ResourceConfig.InstanceType``); an entry that is
broken itself causes no second problem in the entries that come ``after`` it.

Region: one per batch, decided once: ``--region`` (``region=``), else the manifest's
``region``, else ``defaults.inputs.region``, else the AWS chain (``fallback_region=``). A region
written anywhere else in the manifest that differs is a problem; component entries without
their own ``region`` input get the batch's (their images are resolved for it).

Defaults' ``inputs`` apply to entries that use ``inputs`` and are ignored where the component
has no such input (so ``region`` and ``role`` can be shared by every component); defaults'
``request`` applies to entries that use ``request``.

``after`` names entries (an expanded id like ``xgb-lr-0-1-depth-4``, or an entry's ``name``
for every expansion of it) that must succeed before this one is submitted; unknown names and
cycles are problems like any other.

Placeholders: a string that is exactly ``{{ matrix.k }}`` or ``{{ index }}`` becomes the value
itself (a number stays a number); inside a longer string the value is written as text.
``{{ outputs.<entry>.<name> }}`` is an output of another entry (``model_artifact_url``,
``output_artifacts.features``: a dotted path into its journaled outputs), filled in when this
entry is submitted; the entry then comes ``after`` that one. The name is checked here against
what the upstream entry's kind gives (``JobKind.outputs``), not after the upstream jobs ran
and were billed. Until then it stands as
``s3://smrun-outputs/<entry>/<name>`` (``output_token``), which the service-model check takes
as valid wherever it stands (the real value is checked when the request is sent).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from components.common.spec import ComponentSpec
from components.registry import BUILDERS
from runner.config import Rate, budget_of
from runner.kinds import KINDS, JobKind
from runner.naming import Identity, slug
from runner.requests import prepare_request
from runner.validation import Problem, queue_url_problem
from smrun.launcher.admission import canonical_limit, limit_problem
from smrun.launcher.bounds import (
    MAX_COUNT,
    MAX_ENTRIES,
    DocumentRefused,
    expansion_size,
    read_document,
)
from smrun.launcher.preflight import NO_REGION
from smrun.launcher.vocabulary import COMPONENTS, canonical_kind, did_you_mean, kind_hint

__all__ = [
    "Entry",
    "Manifest",
    "ManifestInvalid",
    "dedupe_problems",
    "load_manifest",
    "parse_manifest",
]

TOP_KEYS = frozenset({"batch", "defaults", "events", "jobs", "limits", "rates", "region"})
ENTRY_KEYS = frozenset({"kind", "name", "request", "inputs", "matrix", "count", "after"})
DEFAULT_KEYS = frozenset({"kind", "request", "inputs"})
WHOLE = "(manifest)"  # the path of a problem with the manifest as a whole
_NAMES = r"(index|matrix\.([A-Za-z0-9_\-]+)|outputs\.([A-Za-z0-9_\-]+)\.([A-Za-z0-9_.\-]+))"
_PLACEHOLDER = re.compile(r"\{\{\s*" + _NAMES + r"\s*\}\}")
_WHOLE_PLACEHOLDER = re.compile(r"^\s*\{\{\s*" + _NAMES + r"\s*\}\}\s*$")
OUTPUT_TOKEN_PREFIX = "s3://smrun-outputs/"
STAND_IN_REGION = "us-east-1"  # where entries are checked when the batch has no region
BATCH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # safe as a directory and a tag
BATCH_ID_RULE = "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
_OUTPUT_TOKEN = re.compile(re.escape(OUTPUT_TOKEN_PREFIX) + r"([A-Za-z0-9_\-]+)/([A-Za-z0-9_.\-]+)")


class ManifestInvalid(ValueError):
    """A manifest that cannot be launched; carries every problem found."""

    def __init__(self, problems: list[Problem], source: str = "manifest") -> None:
        self.problems = problems
        self.source = source
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s):\n{lines}")


@dataclass(frozen=True)
class Entry:
    """One job of the batch: its stable id, runner kind, request (without the name and tags
    the runner adds) and identity ``(batch_id, id)``, from which its job name derives.

    ``body`` is what the manifest said, placeholders filled (the inputs or the request under
    ``body_key``): what an edit is compared on. ``matrix`` holds the sweep values it was made
    with, for the reports."""

    id: str
    kind: str
    request: dict[str, Any]
    identity: Identity
    component: str | None = None  # the component whose inputs made the request, if any
    source: str = ""  # where in the manifest: "jobs[2]"
    group: str = ""  # the entry's name before matrix/count expansion
    after: tuple[str, ...] = ()  # ids of the entries that must succeed first
    body_key: str = "request"
    body: Mapping[str, Any] = field(default_factory=dict)
    matrix: Mapping[str, Any] = field(default_factory=dict)
    # (entry id, output name) pairs of {{ outputs.<entry>.<name> }} in the request
    uses_outputs: tuple[tuple[str, str], ...] = ()

    @property
    def job_name(self) -> str:
        """The name the runner will give the job: the request's own, or the derived one."""
        return self.job_name_for(0)

    @property
    def names_itself(self) -> bool:
        """The request gives its job's name: every attempt would be that one job."""
        return bool(self.request.get(KINDS[self.kind].name_field))

    def identity_for(self, retry: int) -> Identity:
        """The identity of the entry's ``retry``-th rerun (0: its first run): each rerun
        (``--retry``) is a new job under a new name, never the old one again."""
        if retry == 0:
            return self.identity
        return Identity(self.identity.scope, f"{self.identity.key}-retry-{retry}")

    def job_name_for(self, retry: int) -> str:
        """The name of the entry's ``retry``-th run (``prepare_request``: the runner's)."""
        prepared = prepare_request(self.kind, self.request, identity=self.identity_for(retry))
        return prepared.name or ""  # "" only for an update naming nothing: refused when read

    @property
    def digest(self) -> str:
        return prepare_request(self.kind, self.request, identity=self.identity).digest


@dataclass(frozen=True)
class Manifest:
    batch_id: str
    entries: list[Entry]
    source: str = ""
    # "training" -> jobs in flight, "training:ml.p3.2xlarge" -> instances (launcher admission)
    limits: Mapping[str, int] = field(default_factory=dict)
    region: str | None = None  # where every job of the batch runs; None: left to the caller
    events: str | None = None  # the change feed's SQS queue URL (smrun events setup)
    # "Create" -> calls per second (and burst) for that budget (runner.config.BUDGETS)
    rates: Mapping[str, Rate] = field(default_factory=dict)

    def entry(self, entry_id: str) -> Entry:
        for entry in self.entries:
            if entry.id == entry_id:
                return entry
        raise KeyError(entry_id)


# --- loading ---------------------------------------------------------------------------------


def load_manifest(
    path: str | Path,
    *,
    batch_id: str | None = None,
    region: str | None = None,
    fallback_region: str | None = None,
    region_required: bool = False,
) -> Manifest:
    """Read and validate the manifest at ``path``. Raises ManifestInvalid with every problem."""
    file = Path(path)
    source = str(file)
    try:
        data = read_document(file)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ManifestInvalid([Problem(WHOLE, f"cannot be read ({reason})")], source) from None
    except DocumentRefused as refused:
        raise ManifestInvalid([Problem(WHOLE, str(refused))], source) from None
    return parse_manifest(
        data,
        batch_id=batch_id,
        default_batch_id=derived_batch_id(file),
        source=source,
        region=region,
        fallback_region=fallback_region,
        region_required=region_required,
    )


def derived_batch_id(path: Path) -> str:
    """``<file stem>-<12 hex>`` of the file's absolute path, not of its content: an edited
    manifest is still the same batch, so a relaunch resumes it (and the journal tells which
    entries changed); the same file elsewhere is another batch."""
    digest = hashlib.sha256(str(path.resolve()).encode("utf-8")).hexdigest()[:12]
    stem = slug(path.stem)[:40].strip("-")
    return f"{stem}-{digest}" if stem else f"batch-{digest}"


def parse_manifest(
    data: Any,
    *,
    batch_id: str | None = None,
    default_batch_id: str | None = None,
    source: str = "manifest",
    region: str | None = None,
    fallback_region: str | None = None,
    region_required: bool = False,
) -> Manifest:
    """Validate already-parsed manifest data. The batch id is ``batch_id``, else the
    manifest's ``batch``, else ``default_batch_id``, else a digest of the data. The region:
    ``region`` (a flag), else the manifest's, else ``fallback_region`` (the AWS chain); none
    is one problem when ``region_required`` or a component entry needs it."""
    problems: list[Problem] = []
    if not isinstance(data, Mapping):
        raise ManifestInvalid(
            [Problem(WHOLE, f"must be a mapping with a 'jobs' list, got {_type(data)}")], source
        )
    for key in sorted(set(map(str, data)) - TOP_KEYS):
        problems.append(Problem(key, _not_a_field("a manifest field", key, TOP_KEYS)))

    batch = _batch_id(data, batch_id, default_batch_id, problems)
    defaults = _defaults(data.get("defaults") or {}, problems)
    limits = _limits(data.get("limits"), problems)
    rates = _rates(data.get("rates"), problems)
    events = _events(data.get("events"), problems)
    batch_region = _region(data, defaults, region, problems) or fallback_region
    jobs = data.get("jobs")
    entries: list[Entry] = []
    if not isinstance(jobs, list) or not jobs:
        problems.append(Problem("jobs", "must be a non-empty list of jobs"))
    elif _too_many(jobs, problems):
        pass  # refused from the sizes: nothing is expanded
    else:
        broken: set[str] = set()  # names of entries with problems of their own
        context = _Context(defaults, batch, batch_region, problems, broken)
        for index, raw in enumerate(jobs):
            entries.extend(_entries(index, raw, context))
        _check_unique(entries, problems)
        entries = _resolve_after(entries, problems, broken, context.unread_after)
        region_required = region_required or context.needs_region
    if batch_region is None and region_required:  # once, not once per entry
        problems.append(Problem("region", NO_REGION))
    if problems:
        raise ManifestInvalid(dedupe_problems(problems), source)
    return Manifest(
        batch_id=batch,
        entries=entries,
        source=source,
        limits=limits,
        region=batch_region,
        events=events,
        rates=rates,
    )


def _too_many(jobs: list[Any], problems: list[Problem]) -> bool:
    """Whether the jobs expand to more than ``MAX_ENTRIES`` entries, told from the matrix
    sizes and counts before any entry is made (a problem for each job that alone is too
    many, else one for the batch)."""
    sizes = [
        expansion_size(raw.get("matrix"), raw.get("count")) if isinstance(raw, Mapping) else 1
        for raw in jobs
    ]
    total = sum(sizes)
    if total <= MAX_ENTRIES:
        return False
    too_big = [(index, size) for index, size in enumerate(sizes) if size > MAX_ENTRIES]
    for index, size in too_big:
        field = "matrix" if isinstance(jobs[index].get("matrix"), Mapping) else "count"
        problems.append(
            Problem(
                f"jobs[{index}].{field}",
                f"expands to {size:,} entries; a batch may have at most {MAX_ENTRIES:,}",
            )
        )
    if not too_big:
        problems.append(
            Problem(
                "jobs",
                f"expand to {total:,} entries; a batch may have at most {MAX_ENTRIES:,} "
                "(split it into batches)",
            )
        )
    return True


def _batch_id(
    data: Mapping[str, Any],
    flag: str | None,
    derived: str | None,
    problems: list[Problem],
) -> str:
    """``--batch-id``, else the manifest's ``batch``, else ``derived``, else a digest of the
    data."""
    if flag is not None and not safe_batch_id(flag):
        problems.append(Problem("--batch-id", f"{BATCH_ID_RULE}, got {flag!r}"))
    batch = flag or _batch_field(data.get("batch"), problems)
    if batch:
        return batch
    if derived:
        return derived
    text = json.dumps(data, sort_keys=True, default=str)
    return "batch-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def _defaults(defaults: Any, problems: list[Problem]) -> Mapping[str, Any]:
    """The manifest's ``defaults``, its problems recorded ({} when it is not a mapping)."""
    if not isinstance(defaults, Mapping):
        problems.append(Problem("defaults", f"must be a mapping, got {_type(defaults)}"))
        return {}
    for key in sorted(set(map(str, defaults)) - DEFAULT_KEYS):
        problems.append(Problem(f"defaults.{key}", _not_a_field("a default", key, DEFAULT_KEYS)))
    for key in ("request", "inputs"):
        if key in defaults and not isinstance(defaults[key], Mapping):
            problems.append(
                Problem(f"defaults.{key}", f"must be a mapping, got {_type(defaults[key])}")
            )
    return defaults


def _events(value: Any, problems: list[Problem]) -> str | None:
    """The change feed's queue URL: the jobs are followed by SageMaker's events first."""
    if value is None:
        return None
    problem = (
        queue_url_problem(value)
        if isinstance(value, str)
        else f"must be an SQS queue URL, got {_type(value)}"
    )
    if problem:
        problems.append(Problem("events", problem))
        return None
    return str(value)


def _region(
    data: Mapping[str, Any], defaults: Mapping[str, Any], flag: str | None, problems: list[Problem]
) -> str | None:
    """The batch's one region from the flag and the manifest; a disagreement is a problem."""
    named: list[tuple[str, str]] = []
    top = data.get("region")
    if top is not None and (not isinstance(top, str) or not top.strip()):
        problems.append(Problem("region", "must be a region name like us-east-1"))
    elif top is not None:
        named.append(("region", top.strip()))
    inputs = defaults.get("inputs")
    if isinstance(inputs, Mapping) and isinstance(inputs.get("region"), str) and inputs["region"]:
        named.append(("defaults.inputs.region", inputs["region"].strip()))
    if flag:
        for path, value in named:
            if value != flag:
                problems.append(
                    Problem(path, f"is {value!r} but --region is {flag!r}: a batch runs in one")
                )
        return flag
    if not named:
        return None
    first_path, first = named[0]
    for path, value in named[1:]:
        if value != first:
            problems.append(
                Problem(path, f"is {value!r} but {first_path} is {first!r}: a batch runs in one")
            )
    return first


def _limits(value: Any, problems: list[Problem]) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.append(Problem("limits", f"must be a mapping, got {_type(value)}"))
        return {}
    limits: dict[str, int] = {}
    for key, limit in value.items():
        problem = limit_problem(str(key), limit)
        if problem:
            problems.append(Problem(f"limits.{key}", problem))
        else:
            limits[canonical_limit(str(key))] = int(limit)
    return limits


def _rates(value: Any, problems: list[Problem]) -> dict[str, Rate]:
    """API call budgets: ``Create: 5`` (calls per second) or ``Describe: 20/40`` (and burst)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.append(Problem("rates", f"must be a mapping, got {_type(value)}"))
        return {}
    rates: dict[str, Rate] = {}
    for key, rate in value.items():
        where = f"rates.{key}"
        if isinstance(rate, bool) or not isinstance(rate, int | float | str):
            problems.append(
                Problem(where, f"must be calls per second (like 5 or 5/10), got {_type(rate)}")
            )
            continue
        try:
            rates[str(key)] = budget_of(str(key), str(rate))
        except ValueError as error:
            problems.append(Problem(where, str(error)))
    return rates


def safe_batch_id(text: str) -> bool:
    return BATCH_ID.fullmatch(text) is not None and ".." not in text


def _batch_field(value: Any, problems: list[Problem]) -> str | None:
    """The manifest's ``batch``: it names the output directory and tags every job, so only
    a safe alphabet and length (no ``/``, no spaces, no ``..``) is taken."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        problems.append(Problem("batch", f"{BATCH_ID_RULE}, got {_type(value)}"))
        return None
    if not safe_batch_id(str(value)):
        problems.append(Problem("batch", f"{BATCH_ID_RULE}, got {str(value)!r}"))
        return None
    return str(value)


# --- one entry -------------------------------------------------------------------------------


@dataclass
class _Context:
    """What every entry is read with."""

    defaults: Mapping[str, Any]
    batch: str
    region: str | None
    problems: list[Problem]
    broken: set[str]  # names of entries with problems of their own (no cascade from them)
    needs_region: bool = False  # a component entry has no region: the batch has none
    # (where, after names) of entries that could not be read: their after is checked still
    unread_after: list[tuple[str, list[str]]] = field(default_factory=list)


def _kind(where: str, text: Any, uses_inputs: bool, problems: list[Problem]) -> str | None:
    """The runner kind an entry's ``kind`` names (an alias included), or None with a problem."""
    if not isinstance(text, str) or not text:
        problems.append(Problem(f"{where}.kind", "is required: a job kind, like training"))
        return None
    kind = canonical_kind(text)
    if kind is None:
        hint = kind_hint(text)
        problems.append(
            Problem(f"{where}.kind", f"{text!r} is not a job kind{hint} (valid: {_names(KINDS)})")
        )
        return None
    if uses_inputs and kind not in COMPONENTS:
        problems.append(
            Problem(
                f"{where}.inputs",
                f"{kind} takes a request; inputs are for {_names(COMPONENTS)}",
            )
        )
        return None
    return kind


def _entries(index: int, raw: Any, context: _Context) -> list[Entry]:
    """The entries ``raw`` expands to, with every problem it has: a problem stops only what
    depends on it (an unknown kind, its inputs; a bad matrix, its placeholders), so that one
    run lists them all without a problem that is only another one's consequence."""
    where = f"jobs[{index}]"
    problems = context.problems
    if not isinstance(raw, Mapping):
        problems.append(Problem(where, f"must be a mapping, got {_type(raw)}"))
        return []
    found = len(problems)
    for key in sorted(set(map(str, raw)) - ENTRY_KEYS):
        problems.append(Problem(f"{where}.{key}", _not_a_field("an entry field", key, ENTRY_KEYS)))
    entry = _merged(raw, context.defaults)
    has_request, has_inputs = "request" in raw, "inputs" in raw
    kind_text = entry.get("kind")
    kind = _kind(where, kind_text, has_inputs and not has_request, problems)
    component = COMPONENTS.get(kind or "") if has_inputs else None

    body_key = "inputs" if has_inputs else "request"
    body = _body(where, entry, has_request=has_request, has_inputs=has_inputs, problems=problems)
    name = _entry_name(where, index, raw, kind or kind_text, problems)
    after = _after_names(where, raw.get("after", []), problems)
    before_expansion = len(problems)
    combos = _combinations(where, raw.get("matrix"), problems)
    count = _count(where, raw.get("count"), problems)
    if kind is None or body is None or len(problems) > before_expansion:
        context.broken.add(slug(name))
        context.unread_after.append((where, after))
        return []
    if component is not None:
        body = _with_region(body, raw.get("inputs") or {}, f"{where}.inputs", context)
    results = list(
        _expansions(
            where,
            name,
            kind=kind,
            component=component,
            body_key=body_key,
            body=body,
            after=after,
            combos=combos,
            count=count,
            raw=raw,
            context=context,
        )
    )
    if len(problems) > found:
        context.broken.add(slug(name))
        if not results:
            context.unread_after.append((where, after))
    return results


def _body(
    where: str,
    entry: Mapping[str, Any],
    *,
    has_request: bool,
    has_inputs: bool,
    problems: list[Problem],
) -> Mapping[str, Any] | None:
    """The entry's ``request`` or ``inputs``; None (a problem recorded) when it cannot be read."""
    if has_request and has_inputs:
        problems.append(Problem(where, "give either request or inputs, not both"))
        return None
    if not has_request and not has_inputs:
        problems.append(Problem(where, "needs a request (raw SageMaker) or inputs (a component)"))
        return None
    body_key = "inputs" if has_inputs else "request"
    body = entry.get(body_key, {})
    if not isinstance(body, Mapping):
        problems.append(Problem(f"{where}.{body_key}", f"must be a mapping, got {_type(body)}"))
        return None
    return body


def _entry_name(
    where: str, index: int, raw: Mapping[str, Any], kind: Any, problems: list[Problem]
) -> str:
    """The entry's ``name``; by default ``<kind>-<index>``."""
    name = raw.get("name", f"{kind}-{index}" if isinstance(kind, str) else "")
    if not isinstance(name, str) or not slug(name):
        problems.append(Problem(f"{where}.name", "must be a name with letters or digits"))
        return f"job-{index}"
    return name


def _after_names(where: str, after: Any, problems: list[Problem]) -> list[str]:
    if isinstance(after, str):
        after = [after]
    if not isinstance(after, list) or not all(isinstance(a, str) and a for a in after):
        problems.append(Problem(f"{where}.after", "must be an entry name or a list of them"))
        return []
    return after


def _expansions(
    where: str,
    name: str,
    *,
    kind: str,
    component: str | None,
    body_key: str,
    body: Mapping[str, Any],
    after: list[str],
    combos: list[dict[str, Any]],
    count: int | None,
    raw: Mapping[str, Any],
    context: _Context,
) -> Iterator[Entry]:
    problems = context.problems
    default_inputs = (
        dict(context.defaults.get("inputs") or {})
        if isinstance(context.defaults.get("inputs"), Mapping)
        else {}
    )
    own_inputs = set(map(str, raw.get("inputs") or {})) if component else set()
    expanded = bool(combos[0]) or count is not None
    for combo in combos:
        for copy in range(count if count is not None else 1):
            values: dict[str, Any] = {"matrix": combo}
            if count is not None:
                values["index"] = copy
            parts = [name, *(f"{k}-{v}" for k, v in combo.items())]
            if count is not None:
                parts.append(str(copy))
            entry_id = slug("-".join(str(p) for p in parts))
            at = f"{where}({entry_id})" if expanded else where
            before = len(problems)
            filled = _substitute(body, values, f"{at}.{body_key}", problems)
            waits_for = _substitute(after, values, f"{at}.after", problems)
            # Fields whose placeholder could not be filled: their value is unknown, not wrong.
            unknown = _first_keys(problems[before:], f"{at}.{body_key}.")
            identity = Identity(context.batch, entry_id)
            if component is not None:
                given = filled
                if context.region is None and not filled.get("region"):
                    # One problem for the batch, not one per entry; the rest is still checked
                    # (in a stand-in region: the manifest is refused anyway).
                    context.needs_region = True
                    given = {**filled, "region": STAND_IN_REGION}
                request = _component_request(
                    component,
                    given=given,
                    own=own_inputs,
                    from_defaults=default_inputs,
                    path=f"{at}.inputs",
                    problems=problems,
                    unknown=unknown,
                )
                if request is None:
                    continue
            else:
                request = filled
            _validate(
                KINDS[kind],
                request,
                identity,
                at,
                inputs=filled if component else None,
                problems=problems,
                unresolved=len(problems) > before,
            )
            yield Entry(
                entry_id,
                kind,
                request,
                identity,
                component=component,
                source=where,
                group=slug(name),
                after=tuple(str(a) for a in waits_for),
                body_key=body_key,
                body=filled,
                matrix=dict(combo),
                uses_outputs=tuple(output_references(request)),
            )


def _first_keys(problems: list[Problem], prefix: str) -> set[str]:
    """The top-level fields (under ``prefix``) that ``problems`` are about."""
    return {
        re.split(r"[.\[]", p.path[len(prefix) :], maxsplit=1)[0]
        for p in problems
        if p.path.startswith(prefix)
    }


def _with_region(
    body: Mapping[str, Any], own: Mapping[str, Any], path: str, context: _Context
) -> Mapping[str, Any]:
    """A component entry's inputs with the batch's region; its own other region is a problem."""
    if context.region is None:
        return body
    given = own.get("region") if isinstance(own, Mapping) else None
    if isinstance(given, str) and given and given != context.region:
        context.problems.append(
            Problem(
                f"{path}.region",
                f"is {given!r} but the batch runs in {context.region!r}: one region per batch",
            )
        )
    return {**body, "region": context.region}


def _merged(raw: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``defaults`` under the entry; only the body the entry uses takes its defaults."""
    base = {k: v for k, v in defaults.items() if k == "kind"}
    uses = "inputs" if "inputs" in raw else "request" if "request" in raw else None
    if uses and isinstance(defaults.get(uses), Mapping):
        base[uses] = defaults[uses]
    return deep_merge(base, raw)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``; mappings merge key by key, anything else is replaced."""
    merged: dict[str, Any] = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _combinations(where: str, matrix: Any, problems: list[Problem]) -> list[dict[str, Any]]:
    if matrix is None:
        return [{}]
    if not isinstance(matrix, Mapping) or not matrix:
        problems.append(Problem(f"{where}.matrix", "must be a non-empty mapping of lists"))
        return [{}]
    keys: list[str] = []
    lists: list[list[Any]] = []
    for key, values in matrix.items():
        path = f"{where}.matrix.{key}"
        if not isinstance(key, str) or not re.fullmatch(r"[A-Za-z0-9_\-]+", key):
            problems.append(Problem(path, "must be a key of letters, digits, '_' or '-'"))
        elif not isinstance(values, list) or not values:
            problems.append(Problem(path, "must be a non-empty list of values"))
        elif any(isinstance(v, Mapping | list) or v is None for v in values):
            problems.append(Problem(path, "values must be strings, numbers or booleans"))
        elif len({json.dumps(v) for v in values}) != len(values):
            problems.append(Problem(path, "has a value twice"))
        else:
            keys.append(key)
            lists.append(values)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*lists)]


def _count(where: str, count: Any, problems: list[Problem]) -> int | None:
    if count is None:
        return None
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        problems.append(
            Problem(
                f"{where}.count", f"must be a whole number from 1 to {MAX_COUNT}, got {count!r}"
            )
        )
        return None
    return count


def _check_unique(entries: list[Entry], problems: list[Problem]) -> None:
    seen: dict[str, Entry] = {}
    for entry in entries:
        first = seen.setdefault(entry.id, entry)
        if first is not entry:
            problems.append(
                Problem(
                    f"{entry.source}.name",
                    f"id {entry.id!r} is already used by {first.source}; give a distinct name",
                )
            )


class _AfterIndex:
    """The entries by id and by name (every expansion of it), for ``after`` names."""

    def __init__(self, entries: list[Entry], broken: set[str], problems: list[Problem]) -> None:
        self.by_id = {entry.id: entry for entry in entries}
        self.groups: dict[str, list[str]] = {}
        for entry in entries:
            self.groups.setdefault(entry.group, []).append(entry.id)
        self.broken, self.problems = broken, problems

    def targets(self, where: str, name: str) -> list[str]:
        """The ids ``name`` stands for; none (a problem) for a name of no entry, unless it is
        an entry's that could not be read."""
        found = [name] if name in self.by_id else self.groups.get(slug(name), [])
        if not found and "{{" not in name and not _names_broken(name, self.broken):
            hint = did_you_mean(name, [*self.groups, *self.by_id])
            self.problems.append(
                Problem(f"{where}.after", f"no entry named {name!r} in the manifest{hint}")
            )
        return found


def _resolve_after(
    entries: list[Entry],
    problems: list[Problem],
    broken: set[str],
    unread: Sequence[tuple[str, list[str]]] = (),
) -> list[Entry]:
    """Each entry's ``after`` names as entry ids; unknown names, unknown outputs and cycles
    are problems. A name of an entry that has problems of its own is not reported again; the
    ``after`` of an entry that could not be read (``unread``) is still checked."""
    index = _AfterIndex(entries, broken, problems)
    for where, names in unread:
        for name in names:
            index.targets(where, name)
    resolved: list[Entry] = []
    for entry in entries:
        wanted: list[str] = []
        for name in entry.after:
            found = index.targets(entry.source, name)
            if entry.id in found:
                problems.append(Problem(f"{entry.source}.after", f"{name!r} is the entry itself"))
            wanted.extend(i for i in found if i not in wanted and i != entry.id)
        for upstream in _output_upstreams(entry, index.by_id, broken, problems):
            if upstream not in wanted:
                wanted.append(upstream)  # it comes after the entry whose output it takes
        resolved.append(replace(entry, after=tuple(wanted)))
    cycle = _find_cycle({entry.id: entry.after for entry in resolved})
    if cycle:
        first = next(entry for entry in resolved if entry.id == cycle[0])
        problems.append(
            Problem(f"{first.source}.after", f"entries wait for each other: {' -> '.join(cycle)}")
        )
    return resolved


def _output_upstreams(
    entry: Entry, by_id: Mapping[str, Entry], broken: set[str], problems: list[Problem]
) -> list[str]:
    """The entries whose outputs ``entry`` uses, each use checked (``_output_problem``)."""
    upstreams: list[str] = []
    for upstream, name in entry.uses_outputs:
        found_at = _path_of(entry.body, output_token(upstream, name)) or ""
        where = f"{entry.source}.{entry.body_key}{found_at}"
        if upstream == entry.id:
            problems.append(Problem(where, f"uses its own output {name!r}"))
        elif upstream in by_id:
            problem = _output_problem(by_id[upstream], name)
            if problem:
                problems.append(Problem(where, f"uses outputs.{upstream}.{name}: {problem}"))
            upstreams.append(upstream)
        elif not _names_broken(upstream, broken):
            hint = did_you_mean(upstream, by_id)
            problems.append(
                Problem(
                    where,
                    f"uses outputs.{upstream}.{name}: no entry {upstream!r}{hint} "
                    "(name one entry id, not a sweep)",
                )
            )
    return upstreams


def _path_of(value: Any, text: str) -> str | None:
    """Where in ``value`` (an entry's body) a string holds ``text``: ``.channels[0].S3Uri``."""
    if isinstance(value, str):
        return "" if text in value else None
    items: Iterable[tuple[str, Any]] = ()
    if isinstance(value, Mapping):
        items = ((f".{key}", item) for key, item in value.items())
    elif isinstance(value, list):
        items = ((f"[{index}]", item) for index, item in enumerate(value))
    for step, item in items:
        below = _path_of(item, text)
        if below is not None:
            return f"{step}{below}"
    return None


def _output_problem(upstream: Entry, name: str) -> str | None:
    """Why ``name`` (``model_artifact_url``, ``metrics.auc``) is not an output the job of
    ``upstream`` can give (``JobKind.outputs``, and the keys its request names), or None:
    refused before any job runs, not when the entry is submitted after the upstream jobs were
    billed."""
    kind = KINDS[upstream.kind]
    output, _, key = name.partition(".")
    listed = f"{kind.key} outputs: {_names(kind.outputs) or 'none'}"
    if output not in kind.outputs:
        return f"a {kind.key} job has no output {output!r}{did_you_mean(output, kind.outputs)} ({listed})"
    if output in kind.keyed_outputs and not key:
        return f"{output!r} is a mapping: name one of its keys ({output}.<key>)"
    if output not in kind.keyed_outputs and key:
        return f"{output!r} is a single value, with no key {key!r}"
    keys_of = kind.output_keys.get(output)
    keys = keys_of(upstream.request) if keys_of is not None else None
    first = key.partition(".")[0]
    if keys is not None and first not in keys:
        named = _names(keys) or "none"
        return (
            f"{upstream.id}'s request names no {output} {first!r}"
            f"{did_you_mean(first, keys)} (its {output}: {named})"
        )
    return None


def _names_broken(name: str, broken: set[str]) -> bool:
    """``name`` is (an expansion of) an entry that could not be read."""
    key = slug(name)
    return any(key == group or key.startswith(f"{group}-") for group in broken)


def _find_cycle(edges: Mapping[str, tuple[str, ...]]) -> list[str] | None:
    """A cycle in the ``after`` graph, as the ids along it (first one repeated), or None.
    Iterative: a long chain of steps must not hit Python's recursion limit."""
    done: set[str] = set()
    for start in edges:
        if start in done:
            continue
        path: list[str] = [start]
        on_path = {start}
        branches = [iter(edges.get(start, ()))]
        while branches:
            nxt = next(branches[-1], None)
            if nxt is None:
                done.add(path[-1])
                on_path.discard(path.pop())
                branches.pop()
            elif nxt in on_path:
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in done:
                path.append(nxt)
                on_path.add(nxt)
                branches.append(iter(edges.get(nxt, ())))
    return None


# --- placeholders ----------------------------------------------------------------------------


def _substitute(value: Any, values: Mapping[str, Any], path: str, problems: list[Problem]) -> Any:
    if isinstance(value, Mapping):
        return {k: _substitute(v, values, f"{path}.{k}", problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, values, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    if not isinstance(value, str) or "{{" not in value:
        return value
    whole = _WHOLE_PLACEHOLDER.match(value)
    if whole:
        return _lookup(whole, values, path, problems)
    return _PLACEHOLDER.sub(lambda m: _text(_lookup(m, values, path, problems)), value)


def _lookup(
    match: re.Match[str], values: Mapping[str, Any], path: str, problems: list[Problem]
) -> Any:
    if match.group(3) is not None:  # an upstream entry's output: filled in at submission
        return output_token(match.group(3), match.group(4))
    if match.group(1) == "index":
        if "index" not in values:
            problems.append(Problem(path, "uses {{ index }} but the entry has no count"))
            return match.group(0)
        return values["index"]
    key = match.group(2)
    matrix = values.get("matrix", {})
    if key not in matrix:
        known = ", ".join(matrix) or "none"
        problems.append(Problem(path, f"uses matrix.{key}, not in the entry's matrix ({known})"))
        return match.group(0)
    return matrix[key]


def output_token(entry_id: str, name: str) -> str:
    """What ``{{ outputs.<entry>.<name> }}`` stands as until the entry's outputs are known."""
    return f"{OUTPUT_TOKEN_PREFIX}{entry_id}/{name}"


def output_references(value: Any) -> list[tuple[str, str]]:
    """The ``(entry id, output name)`` pairs that ``value`` (a request) waits for."""
    found: list[tuple[str, str]] = []
    if isinstance(value, Mapping):
        for item in value.values():
            found.extend(output_references(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(output_references(item))
    elif isinstance(value, str):
        found.extend((m.group(1), m.group(2)) for m in _OUTPUT_TOKEN.finditer(value))
    return list(dict.fromkeys(found))


def _output_value(outputs: Mapping[str, Any], name: str) -> Any:
    value: Any = outputs
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def fill_outputs(value: Any, outputs: Mapping[str, Mapping[str, Any]]) -> Any:
    """``value`` (a request) with every output token replaced by the upstream entry's output.
    Raises KeyError naming the first output that ``outputs`` (entry id -> outputs) lacks."""
    if isinstance(value, Mapping):
        return {k: fill_outputs(v, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [fill_outputs(v, outputs) for v in value]
    if not isinstance(value, str) or OUTPUT_TOKEN_PREFIX not in value:
        return value

    def one(match: re.Match[str]) -> str:
        entry_id, name = match.group(1), match.group(2)
        found = _output_value(outputs.get(entry_id) or {}, name)
        if found is None or isinstance(found, Mapping | list):
            known = ", ".join(sorted(outputs.get(entry_id) or {})) or "none"
            raise KeyError(f"{entry_id} has no output {name!r} (its outputs: {known})")
        return _text(found)

    return _OUTPUT_TOKEN.sub(one, value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- component inputs ------------------------------------------------------------------------


def _component_request(
    component: str,
    *,
    given: Mapping[str, Any],
    own: set[str],
    from_defaults: Mapping[str, Any],
    path: str,
    problems: list[Problem],
    unknown: set[str] | frozenset[str] = frozenset(),
) -> dict[str, Any] | None:
    """The component's request for these inputs, or None with the problems recorded. The
    ``unknown`` inputs (a placeholder that could not be filled, a region still to come) are
    neither required nor checked; the request is then not built."""
    from components.common.app import ComponentInputs
    from components.common.inputs import InputError

    builder = next(b for b in BUILDERS.values() if b.component == component)
    spec = builder.spec
    known = {item.name for item in spec.inputs}
    for name in sorted(set(map(str, given)) - known):
        if name in own or name not in from_defaults:
            hint = did_you_mean(name, known)
            problems.append(
                Problem(f"{path}.{name}", f"is not an input of the {component} component{hint}")
            )
    # A misspelt input does not keep the others from being checked: the request is built
    # without it, as its default.
    found = len(problems)
    inputs = _converted_inputs(spec, given, unknown, path, problems)
    if len(problems) > found or unknown & known:
        return None
    try:
        return builder.build(ComponentInputs(spec, inputs))
    except InputError as exc:
        problems.extend(_input_problems(path, exc))
        return None


def _converted_inputs(
    spec: ComponentSpec,
    given: Mapping[str, Any],
    unknown: set[str] | frozenset[str],
    path: str,
    problems: list[Problem],
) -> dict[str, Any]:
    """The given inputs (defaults for the others) converted as the component converts its
    command line; the ``unknown`` ones left out, each problem recorded."""
    from components.common.inputs import InputError, convert

    inputs: dict[str, Any] = {}
    for item in spec.inputs:
        if item.name in unknown:
            continue
        if item.name not in given or given[item.name] is None:
            if item.default is None:  # required
                problems.append(Problem(f"{path}.{item.name}", "is required"))
                continue
            text = item.default
        else:
            value = given[item.name]
            if item.type == "String" and isinstance(value, Mapping | list):
                problems.append(
                    Problem(f"{path}.{item.name}", f"must be a string, got {_type(value)}")
                )
                continue
            if item.type == "String" and not isinstance(value, str):
                value = _text(value)
            text = value if isinstance(value, str) else _as_text(value)
        try:
            inputs[item.name] = convert(item, text)
        except InputError as exc:
            problems.extend(_input_problems(path, exc))
    return inputs


def _input_problems(path: str, error: Any) -> list[Problem]:
    """A component's ``InputError``: every problem, at its input, the API field in brackets."""
    return [
        Problem(f"{path}.{p.name}", f"[{p.field}] {p.rule}" if p.field else p.rule)
        for p in error.problems
    ]


def _as_text(value: Any) -> str:
    """A native YAML/JSON value as the text KFP would pass, for the component's converter."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, Mapping | list):
        return json.dumps(value)
    return str(value)


# --- request validation ----------------------------------------------------------------------


def _validate(
    job_kind: JobKind,
    request: Mapping[str, Any],
    identity: Identity,
    at: str,
    *,
    inputs: Mapping[str, Any] | None,
    problems: list[Problem],
    unresolved: bool = False,
) -> None:
    """Check the request as the runner would send it (``prepare_request``: its name and the
    runner's tags). A problem in a request built from ``inputs`` is named by the input that
    holds the value. With ``unresolved``, a field still holding a placeholder (already
    reported) is skipped."""
    prepared = prepare_request(job_kind, request, identity=identity)
    body = prepared.body
    for problem in prepared.problems():
        held = _value_at(body, problem.path) if problem.path else None
        if isinstance(held, str) and OUTPUT_TOKEN_PREFIX in held:
            continue  # an upstream output, checked when it is known
        if unresolved and isinstance(held, str) and "{{" in held:
            continue
        if inputs is not None:
            problems.append(_as_input_problem(problem, body, inputs, at))
        else:
            where = f"{at}.request.{problem.path}" if problem.path else f"{at}.request"
            problems.append(Problem(where, problem.rule))


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _value_at(request: Mapping[str, Any], path: str) -> Any:
    """The value at ``ResourceConfig.InstanceType`` / ``Tags[2].Key`` in ``request``, or None."""
    value: Any = request
    for match in _PATH_PART.finditer(path):
        key, index = match.groups()
        if key is not None and isinstance(value, Mapping):
            value = value.get(key)
        elif index is not None and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return None
    return value


def _as_input_problem(
    problem: Problem, request: Mapping[str, Any], inputs: Mapping[str, Any], at: str
) -> Problem:
    """A service-model problem of a component's request, under the input the user wrote: the
    one whose value is the bad value, else the request field as the component built it."""
    value = _value_at(request, problem.path) if problem.path else None
    if value is not None:
        for name, given in inputs.items():
            if given == value or (
                isinstance(given, str | int | float) and str(given) == str(value)
            ):
                return Problem(f"{at}.inputs.{name}", problem.rule)
    field_name = problem.path or "(request)"
    return Problem(f"{at}.inputs", f"the request built from them: {field_name}: {problem.rule}")


# --- helpers ---------------------------------------------------------------------------------


def _type(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _names(names: Any) -> str:
    return ", ".join(sorted(names))


def _not_a_field(what: str, key: str, valid: frozenset[str]) -> str:
    return f"is not {what}{did_you_mean(key, valid)} (valid: {_names(valid)})"


_EXPANSION = re.compile(r"^(jobs\[\d+\])\(([^)]*)\)(.*)$")


def dedupe_problems(problems: list[Problem]) -> list[Problem]:
    """Each problem once; the same problem in many expansions of a sweep as one line that
    names the first expansion and counts the others."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    order: list[Problem | tuple[str, str, str]] = []
    seen: set[Problem] = set()
    for problem in problems:
        if problem in seen:
            continue
        seen.add(problem)
        match = _EXPANSION.match(problem.path)
        if match is None:
            order.append(problem)
            continue
        key = (match.group(1), match.group(3), problem.rule)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(match.group(2))
    unique: list[Problem] = []
    for item in order:
        if isinstance(item, Problem):
            unique.append(item)
            continue
        where, rest, rule = item
        ids = groups[item]
        named = ids[0] if len(ids) == 1 else f"{ids[0]} and {len(ids) - 1} more"
        unique.append(Problem(f"{where}({named}){rest}", rule))
    return unique
