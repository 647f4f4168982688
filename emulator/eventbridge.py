"""Amazon EventBridge's default event bus: rules, SQS targets, PutEvents, and the delivery of
SageMaker's own events (``sagemaker_events``) to the queues rules name.

Over EventBridge's JSON 1.1 protocol (``X-Amz-Target: AWSEvents.PutRule``). From the
EventBridge API Reference:

* PutRule creates or updates a rule (its ARN ``arn:aws:events:<region>:<account>:rule/<name>``)
  and needs an ``EventPattern`` or a ``ScheduleExpression``; a bad pattern is
  ``InvalidEventPatternException`` (``patterns``).
* DescribeRule, PutTargets, RemoveTargets and ListTargetsByRule of a missing rule, and any call
  on a bus other than ``default``, are ``ResourceNotFoundException`` ("Rule <name> does not
  exist on EventBus default.").
* DeleteRule of a rule that still has targets is a ``ValidationException`` ("Rule can't be
  deleted since it has targets."); of a missing rule it succeeds ("If you call delete rule
  multiple times for the same rule, all calls will succeed").
* PutTargets allows 5 targets per rule (``LimitExceededException``), and answers per-entry
  failures in ``FailedEntries``; PutEvents takes 1 to 10 entries, refuses a ``Source`` in the
  ``aws.`` namespace per entry (``NotAuthorizedForSourceException``) and a ``Detail`` that is not
  a JSON object (``MalformedDetail``).

Only SQS targets are delivered to (others are accepted and counted as undeliverable), and only
when the queue's policy lets EventBridge send (``policies``). A target's ``Input`` replaces the
event as the message body and ``InputPath`` (``$.detail``-style) selects part of it.

Events are published lazily: nothing runs in the background, and every SQS or EventBridge
request first publishes what SageMaker's jobs and endpoints did since the last one
(``catch_up``), each event stamped with and routed at the moment it happened, so that what a
consumer sees is what a real-time feed would have given it.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emulator import errors, patterns, policies, sqs
from emulator.state import Emulator, Params, Response, operation

if TYPE_CHECKING:
    from emulator.sagemaker_events import Feed

MAX_TARGETS = 5
MAX_PUT_EVENTS = 10
DEFAULT_BUS = "default"


@dataclass(eq=False)
class Rule:
    name: str
    arn: str
    pattern_text: str | None
    pattern: dict[str, Any] | None
    schedule: str | None
    state: str
    description: str | None
    role_arn: str | None
    targets: dict[str, Params] = field(default_factory=dict)  # by Id, in the order put


def _rule_not_found(name: str) -> errors.AwsError:
    return errors.AwsError(
        "ResourceNotFoundException", f"Rule {name} does not exist on EventBus {DEFAULT_BUS}."
    )


def _check_bus(params: Params) -> None:
    bus = params.get("EventBusName", DEFAULT_BUS)
    if bus != DEFAULT_BUS and not bus.endswith(f":event-bus/{DEFAULT_BUS}"):
        raise errors.AwsError("ResourceNotFoundException", f"Event bus {bus} does not exist.")


class EventBus:
    """The account's default bus: its rules, and counts of what it published and delivered."""

    def __init__(self, em: Emulator) -> None:
        from emulator.sagemaker_events import Feed

        self.em = em
        self.rules: dict[str, Rule] = {}
        self.feed: Feed = Feed(em)
        self.counts: Counter[str] = Counter()
        self.published: Counter[str] = Counter()  # by detail-type

    def rule(self, name: str) -> Rule:
        rule = self.rules.get(name)
        if rule is None:
            raise _rule_not_found(name)
        return rule

    def catch_up(self) -> None:
        """Publish every SageMaker event that has happened by now and is not published yet."""
        for event, at in self.feed.events_until(self.em.now()):
            self.put(event, at)

    def next_due(self, now: float) -> float | None:
        """When the next SageMaker event will happen (maybe earlier: a caller looks again)."""
        upcoming = self.feed.next_event_after(now)
        return None if upcoming is None else upcoming + self.em.config.events.delay_s

    def put(self, event: dict[str, Any], at: float) -> None:
        """Route ``event``, which happened at ``at``, to every enabled rule it matches."""
        self.counts["published"] += 1
        self.published[event["detail-type"]] += 1
        for rule in self.rules.values():
            if rule.state != "ENABLED" or rule.pattern is None:
                continue
            if patterns.matches(rule.pattern, event):
                self.counts["matched"] += 1
                for target in rule.targets.values():
                    self._deliver(rule, target, event, at)

    def _deliver(self, rule: Rule, target: Params, event: dict[str, Any], at: float) -> None:
        queue = self.em.sqs.by_arn(target["Arn"])
        context = {"aws:SourceArn": rule.arn, "aws:SourceAccount": self.em.config.account_id}
        if queue is None or not policies.allows_events(
            queue.attributes.get("Policy"), queue.arn, context
        ):
            self.counts["undeliverable"] += 1
            return
        body = _target_input(target, event)
        arrivals = self.em.config.events.arrivals(at)
        for arrival in arrivals:
            sqs.enqueue(self.em, queue, body, visible_at=arrival, sender=policies.EVENTS_PRINCIPAL)
        self.counts["delivered"] += len(arrivals)
        self.counts["duplicated"] += len(arrivals) - 1

    def stats(self) -> dict[str, Any]:
        return {
            "published": self.counts["published"],
            "matched": self.counts["matched"],
            "delivered": self.counts["delivered"],
            "duplicated": self.counts["duplicated"],
            "undeliverable": self.counts["undeliverable"],
            "by_detail_type": dict(self.published),
            "delivery": self.em.config.events.describe(),
        }


def _target_input(target: Params, event: dict[str, Any]) -> str:
    if "Input" in target:
        return str(target["Input"])
    path = target.get("InputPath")
    if path:
        value: Any = event
        for key in path.removeprefix("$").strip(".").split("."):
            value = value.get(key) if isinstance(value, dict) and key else value
        return json.dumps(value)
    return json.dumps(event)


def bus(em: Emulator) -> EventBus:
    em.bus.catch_up()
    return em.bus


# --- rules -----------------------------------------------------------------------------------


@operation("events", "PutRule")
def put_rule(em: Emulator, params: Params) -> Response:
    _check_bus(params)
    pattern_text, schedule = params.get("EventPattern"), params.get("ScheduleExpression")
    if not pattern_text and not schedule:
        raise errors.validation_error(
            "Parameter(s) EventPattern or ScheduleExpression must be specified."
        )
    pattern = patterns.parse(pattern_text) if pattern_text else None
    events_bus = bus(em)
    name = params["Name"]
    arn = f"arn:aws:events:{em.config.region}:{em.config.account_id}:rule/{name}"
    previous = events_bus.rules.get(name)
    events_bus.rules[name] = Rule(
        name=name,
        arn=arn,
        pattern_text=pattern_text,
        pattern=pattern,
        schedule=schedule,
        state=params.get("State", "ENABLED"),
        description=params.get("Description"),
        role_arn=params.get("RoleArn"),
        targets=previous.targets if previous else {},
    )
    if params.get("Tags"):
        em.tags[arn] = {tag["Key"]: tag["Value"] for tag in params["Tags"]}
    return {"RuleArn": arn}


def _rule_answer(em: Emulator, rule: Rule) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "Name": rule.name,
        "Arn": rule.arn,
        "State": rule.state,
        "EventBusName": DEFAULT_BUS,
    }
    optional = {
        "EventPattern": rule.pattern_text,
        "ScheduleExpression": rule.schedule,
        "Description": rule.description,
        "RoleArn": rule.role_arn,
    }
    answer.update({key: value for key, value in optional.items() if value is not None})
    return answer


@operation("events", "DescribeRule")
def describe_rule(em: Emulator, params: Params) -> Response:
    _check_bus(params)
    rule = bus(em).rule(params["Name"])
    return {**_rule_answer(em, rule), "CreatedBy": em.config.account_id}


@operation("events", "DeleteRule")
def delete_rule(em: Emulator, params: Params) -> Response:
    _check_bus(params)
    events_bus = bus(em)
    rule = events_bus.rules.get(params["Name"])
    if rule is None:
        return {}
    if rule.targets:
        raise errors.validation_error("Rule can't be deleted since it has targets.")
    del events_bus.rules[rule.name]
    em.tags.pop(rule.arn, None)
    return {}


@operation("events", "ListTagsForResource")
def list_tags_for_resource(em: Emulator, params: Params) -> Response:
    """A rule's tags by its ARN (``smrun events teardown`` reads them to know the rule is
    smrun's); an ARN naming no rule is ResourceNotFoundException, as EventBridge answers."""
    arn = params["ResourceARN"]
    rule = next((rule for rule in bus(em).rules.values() if rule.arn == arn), None)
    if rule is None:
        raise _rule_not_found(arn.rpartition("/")[2])
    return {"Tags": [{"Key": k, "Value": v} for k, v in em.tags.get(arn, {}).items()]}


def _page(items: list[Any], params: Params, key: str) -> Response:
    limit = params.get("Limit", 100)
    start = int(params["NextToken"]) if str(params.get("NextToken", "")).isdigit() else 0
    page: Response = {key: items[start : start + limit]}
    if start + limit < len(items):
        page["NextToken"] = str(start + limit)
    return page


@operation("events", "ListRules")
def list_rules(em: Emulator, params: Params) -> Response:
    _check_bus(params)
    prefix = params.get("NamePrefix", "")
    rules = [
        _rule_answer(em, rule)
        for name, rule in sorted(bus(em).rules.items())
        if name.startswith(prefix)
    ]
    return _page(rules, params, "Rules")


@operation("events", "EnableRule")
def enable_rule(em: Emulator, params: Params) -> Response:
    _check_bus(params)
    bus(em).rule(params["Name"]).state = "ENABLED"
    return {}


@operation("events", "DisableRule")
def disable_rule(em: Emulator, params: Params) -> Response:
    _check_bus(params)
    bus(em).rule(params["Name"]).state = "DISABLED"
    return {}


# --- targets ---------------------------------------------------------------------------------


@operation("events", "PutTargets")
def put_targets(em: Emulator, params: Params) -> Response:
    _check_bus(params)
    rule = bus(em).rule(params["Rule"])
    targets = params["Targets"]
    ids = {target["Id"] for target in targets} | set(rule.targets)
    if len(ids) > MAX_TARGETS:
        raise errors.AwsError(
            "LimitExceededException",
            f"The requested resource exceeds the maximum number allowed (rule {rule.name} may "
            f"have at most {MAX_TARGETS} targets).",
        )
    for target in targets:
        rule.targets[target["Id"]] = dict(target)
    return {"FailedEntryCount": 0, "FailedEntries": []}


@operation("events", "RemoveTargets")
def remove_targets(em: Emulator, params: Params) -> Response:
    _check_bus(params)
    rule = bus(em).rule(params["Rule"])
    failed = []
    for target_id in params["Ids"]:
        if rule.targets.pop(target_id, None) is None:
            failed.append(
                {
                    "TargetId": target_id,
                    "ErrorCode": "ResourceNotFoundException",
                    "ErrorMessage": f"Target {target_id} does not exist on rule {rule.name}.",
                }
            )
    return {"FailedEntryCount": len(failed), "FailedEntries": failed}


@operation("events", "ListTargetsByRule")
def list_targets_by_rule(em: Emulator, params: Params) -> Response:
    _check_bus(params)
    rule = bus(em).rule(params["Rule"])
    return _page(list(rule.targets.values()), params, "Targets")


# --- custom events ---------------------------------------------------------------------------


def _entry_failure(entry: Params) -> tuple[str, str] | None:
    for key in ("Source", "DetailType", "Detail"):
        if not entry.get(key):
            return "InvalidArgument", f"Parameter {key} is not valid. Reason: it is missing."
    if str(entry["Source"]).startswith("aws."):
        return (
            "NotAuthorizedForSourceException",
            "Not authorized for the source.",
        )
    try:
        detail = json.loads(entry["Detail"])
    except ValueError:
        detail = None
    if not isinstance(detail, dict):
        return "MalformedDetail", "Detail is malformed."
    return None


@operation("events", "PutEvents")
def put_events(em: Emulator, params: Params) -> Response:
    entries = params["Entries"]
    if not 1 <= len(entries) <= MAX_PUT_EVENTS:
        raise errors.validation_error(
            f"1 validation error detected: Value '{len(entries)}' at 'entries' failed to satisfy "
            f"constraint: Member must have length less than or equal to {MAX_PUT_EVENTS}"
        )
    events_bus = bus(em)
    answers: list[dict[str, Any]] = []
    for entry in entries:
        failure = _entry_failure(entry)
        if failure is not None or entry.get("EventBusName", DEFAULT_BUS) != DEFAULT_BUS:
            code, message = failure or ("ResourceNotFoundException", "Event bus does not exist.")
            answers.append({"ErrorCode": code, "ErrorMessage": message})
            continue
        from emulator.sagemaker_events import envelope

        at = em.now() if entry.get("Time") is None else float(entry["Time"])
        event = envelope(
            em,
            source=entry["Source"],
            detail_type=entry["DetailType"],
            resources=list(entry.get("Resources") or []),
            detail=json.loads(entry["Detail"]),
            at=at,
        )
        events_bus.put(event, em.now())
        answers.append({"EventId": event["id"]})
    failed = sum(1 for answer in answers if "ErrorCode" in answer)
    return {"FailedEntryCount": failed, "Entries": answers}
