"""Whether a queue's policy lets EventBridge send to it.

EventBridge delivers to an SQS target only when the queue's resource policy allows the service
principal ``events.amazonaws.com`` the action ``sqs:SendMessage`` on the queue, usually with an
``ArnEquals aws:SourceArn`` condition naming the rule (EventBridge User Guide, "Using
resource-based policies for Amazon EventBridge", section "Amazon SQS permissions"; without it the
target's invocations fail). IAM's evaluation logic applies: an explicit Deny wins, then an
Allow, else denied. Conditions understood: ``ArnEquals``/``ArnLike``/``StringEquals``/
``StringLike`` (and their ``IfExists`` forms are not) on ``aws:SourceArn`` and
``aws:SourceAccount``; a statement with any other condition is taken not to apply.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from typing import Any

EVENTS_PRINCIPAL = "events.amazonaws.com"
_OPERATORS = {
    "ArnEquals": False,
    "StringEquals": False,
    "ArnLike": True,
    "StringLike": True,
}


def allows_events(policy_text: str | None, queue_arn: str, context: Mapping[str, str]) -> bool:
    """Whether ``policy_text`` lets EventBridge SendMessage to ``queue_arn``, for a request
    whose condition keys are ``context`` (``aws:SourceArn``: the rule, ``aws:SourceAccount``)."""
    if not policy_text:
        return False
    try:
        policy = json.loads(policy_text)
    except ValueError:
        return False
    statements = policy.get("Statement", []) if isinstance(policy, dict) else []
    if isinstance(statements, dict):
        statements = [statements]
    applying = [s for s in statements if isinstance(s, dict) and _applies(s, queue_arn, context)]
    if any(s.get("Effect") == "Deny" for s in applying):
        return False
    return any(s.get("Effect") == "Allow" for s in applying)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _applies(statement: dict[str, Any], queue_arn: str, context: Mapping[str, str]) -> bool:
    return (
        _principal_matches(statement.get("Principal"))
        and any(
            fnmatch.fnmatchcase("sqs:sendmessage", str(action).lower())
            for action in _listed(statement.get("Action", []))
        )
        and any(
            fnmatch.fnmatchcase(queue_arn, str(resource))
            for resource in _listed(statement.get("Resource", "*"))
        )
        and _conditions_hold(statement.get("Condition", {}), context)
    )


def _principal_matches(principal: Any) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    return "*" in _listed(principal.get("AWS", [])) or EVENTS_PRINCIPAL in _listed(
        principal.get("Service", [])
    )


def _conditions_hold(conditions: Any, context: Mapping[str, str]) -> bool:
    if not isinstance(conditions, dict):
        return False
    for operator_name, tests in conditions.items():
        if operator_name not in _OPERATORS or not isinstance(tests, dict):
            return False
        like = _OPERATORS[operator_name]
        for key, expected in tests.items():
            actual = context.get(key)
            if actual is None:
                return False
            if not any(
                fnmatch.fnmatchcase(actual, str(one)) if like else actual == one
                for one in _listed(expected)
            ):
                return False
    return True
