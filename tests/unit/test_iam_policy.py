"""The documented IAM policies (docs/iam/) grant every AWS operation the code can call and
nothing else; iam:PassRole only for the SageMaker execution role.

"The operations the code can call" are derived from the code, not listed by hand: every AWS call
site in the modules an entry point can reach (its imports, followed name by name), with its
operation a literal or a ``JobKind`` fact (``kind.describe``, ``kind.stop_operation``, ...) that
is expanded over every kind. A call site whose operation is neither fails this test, naming it,
so a new kind of call cannot slip past the policy.

Operation -> IAM action where the two differ is ``support.iam``'s; actions a call needs besides
its own: a SageMaker Create* with ``Tags`` also needs
``sagemaker:AddTags`` (AccessDenied without it: aws/aws-cdk#32294, the Step Functions
CreateTrainingJob task's role); SQS CreateQueue with ``tags`` needs ``sqs:TagQueue`` and
EventBridge PutRule with ``Tags`` needs ``events:TagResource`` (as their API references are
remembered: no fetched source confirmed these two here; drop them if IAM says otherwise).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from runner.kinds import KINDS
from support.iam import authorized_as

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("runner", "smrun", "components")
POLICIES = ROOT / "docs" / "iam"
SERVICES = {"sagemaker", "logs", "sts", "sqs", "events"}
# The IAM service prefix of each botocore service name.
PREFIX = {"sagemaker": "sagemaker", "logs": "logs", "sts": "sts", "sqs": "sqs", "events": "events"}
# Actions an operation needs besides its own (when it sends tags, as the runner always does).
ALSO_NEEDS = {
    ("sqs", "CreateQueue"): {"sqs:TagQueue"},
    ("events", "PutRule"): {"events:TagResource"},
}
# JobKind attributes that name an operation, by the attribute a call site reads.
KIND_FACTS = {
    "create": lambda kind: [kind.create],
    "describe": lambda kind: [kind.describe],
    "stop_operation": lambda kind: [kind.stop_operation],
    "delete_operation": lambda kind: [kind.delete_operation],
    "list_operation": lambda kind: [
        kind.list_operation,
        kind.children.list_operation if kind.children else None,
    ],
}
# Call sites whose operation is a local variable, with the kind facts it is chosen from (read
# the function: runner/core.py sends a kind's Stop, or Delete for an endpoint it was creating).
CHOSEN_FROM = {
    ("runner.core", "operation"): ("stop_operation", "delete_operation"),
    ("runner.session", "operation"): (),  # AwsCaller.sagemaker forwards its callers' operation
}
# Methods of AwsCaller (runner.session) and the kinds' Caller that make an AWS call.
CALLERS_WITH_SERVICE = {"call", "pages", "paginate"}
# ``caller.sagemaker(op)``, ``caller.create(op)`` (a Create through the shutdown's gate), and
# ``call(op)``: a kind's Caller (``runner.kinds.Caller``).
SAGEMAKER_CALLERS = {("sagemaker", ast.Attribute), ("create", ast.Attribute), ("call", ast.Name)}


@cache
def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


@cache
def tree(module: str) -> ast.Module:
    return ast.parse(modules()[module].read_text(encoding="utf-8"))


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    is_package = modules()[module].name == "__init__.py"
    base = module.split(".")[: len(module.split(".")) - node.level + is_package]
    return ".".join([*base, *([node.module] if node.module else [])])


@cache
def home_of(module: str, name: str) -> str:
    """The module that defines ``name`` imported from ``module`` (a package's re-export, or
    the runner's lazy facade, followed to its source)."""
    if f"{module}.{name}" in modules():
        return f"{module}.{name}"
    if module == "runner":
        import runner

        homes: dict[str, str] = runner._HOMES
        if name in homes:
            return homes[name]
    for node in tree(module).body:  # a package's re-exports are at its top level
        if isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            for alias in node.names:
                if (alias.asname or alias.name) == name and source in modules():
                    return home_of(source, alias.name)
    return module


@cache
def imports(module: str) -> tuple[str, ...]:
    return tuple(_imports(module))


def _imports(module: str) -> Iterator[str]:
    for node in ast.walk(tree(module)):  # at any depth: a function's own imports count
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in modules())
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            if source in modules():
                yield from (home_of(source, alias.name) for alias in node.names)


def reachable(roots: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(imports(module))
    return seen


def _literal(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _call_sites(module: str) -> Iterator[tuple[str | None, ast.expr, ast.Call]]:
    """(service, operation expression, call) of each AWS call in ``module``."""
    for node in ast.walk(tree(module)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name in CALLERS_WITH_SERVICE and isinstance(func, ast.Attribute):
            service = _literal(node.args[0])
            if service in SERVICES and len(node.args) > 1:
                yield service, node.args[1], node
        elif (name, type(func)) in SAGEMAKER_CALLERS:
            yield "sagemaker", node.args[0], node


def _client_calls(module: str) -> Iterator[tuple[str, str]]:
    """Calls made on a botocore client held in a variable named for its service
    (``sts.assume_role(...)``), by the operation whose Python name the method is."""
    for node in ast.walk(tree(module)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in SERVICES
        ):
            service = node.func.value.id
            operation = _methods(service).get(node.func.attr)
            if operation is not None:
                yield service, operation


@cache
def _methods(service: str) -> dict[str, str]:
    """A client's method names -> the operations they call."""
    from botocore import xform_name
    from botocore.session import get_session

    model = get_session().get_service_model(service)
    return {xform_name(op): op for op in model.operation_names}


@cache
def _operations(roots: tuple[str, ...]) -> tuple[frozenset[tuple[str, str]], tuple[str, ...]]:
    found, underived = operations(list(roots))
    return frozenset(found), tuple(underived)


def operations(roots: list[str]) -> tuple[set[tuple[str, str]], list[str]]:
    """Every (service, operation) the code reachable from ``roots`` can call, and the call
    sites whose operation could not be derived."""
    found: set[tuple[str, str]] = set()
    underived: list[str] = []
    for module in sorted(reachable(roots)):
        found.update(_client_calls(module))
        for service, expression, call in _call_sites(module):
            assert service is not None
            literal = _literal(expression)
            if literal is not None:
                found.add((service, literal))
                continue
            facts = _facts_of(module, expression)
            if facts is None:
                underived.append(f"{module}:{call.lineno}: {ast.unparse(expression)}")
                continue
            for fact in facts:
                for kind in KINDS.values():
                    found.update((service, op) for op in KIND_FACTS[fact](kind) if op)
    return found, underived


def _facts_of(module: str, expression: ast.expr) -> tuple[str, ...] | None:
    if isinstance(expression, ast.Attribute) and expression.attr in KIND_FACTS:
        return (expression.attr,)
    if isinstance(expression, ast.Name):
        return CHOSEN_FROM.get((module, expression.id))
    return None


def actions_for(found: set[tuple[str, str]]) -> set[str]:
    actions: set[str] = set()
    for service, operation in found:
        actions.add(f"{PREFIX[service]}:{authorized_as(service, operation)}")
        actions.update(ALSO_NEEDS.get((service, operation), set()))
        tagged = [k for k in KINDS.values() if k.create == operation and k.takes_tags]
        if service == "sagemaker" and tagged:
            actions.add("sagemaker:AddTags")
    return actions


def granted(policy: dict[str, Any]) -> set[str]:
    actions: set[str] = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def load(name: str) -> dict[str, Any]:
    policy: dict[str, Any] = json.loads((POLICIES / name).read_text(encoding="utf-8"))
    assert policy["Version"] == "2012-10-17"
    return policy


ROLES = {
    "launcher-policy.json": ["smrun.cli", "smrun.__main__"],
    "component-policy.json": sorted(m for m in modules() if m.startswith("components.")),
}


def test_every_call_site_names_its_operation_so_it_can_be_derived() -> None:
    for roots in ROLES.values():
        _, underived = _operations(tuple(roots))
        assert not underived, f"extend KIND_FACTS/CHOSEN_FROM for: {underived}"


@pytest.mark.parametrize("policy", sorted(ROLES))
def test_the_policy_grants_what_the_code_calls_and_nothing_else(policy: str) -> None:
    found, _ = _operations(tuple(ROLES[policy]))
    wanted = actions_for(found) | {"iam:PassRole"}
    actions = granted(load(policy))
    assert not wanted - actions, f"{policy} does not grant {sorted(wanted - actions)}"
    assert not actions - wanted, f"{policy} grants what no code calls: {sorted(actions - wanted)}"
    assert all("*" not in action for action in actions), "no wildcard actions"


@pytest.mark.parametrize("policy", sorted(ROLES))
def test_pass_role_is_only_for_the_execution_role_and_only_to_sagemaker(policy: str) -> None:
    statements = [s for s in load(policy)["Statement"] if "iam:PassRole" in s["Action"]]
    assert len(statements) == 1
    (statement,) = statements
    assert statement["Action"] == ["iam:PassRole"] or statement["Action"] == "iam:PassRole"
    resources = statement["Resource"]
    resources = [resources] if isinstance(resources, str) else resources
    assert resources and all(r.startswith("arn:aws:iam::") and ":role/" in r for r in resources)
    assert all("*" not in r.partition(":role/")[2] for r in resources)
    condition = statement["Condition"]["StringEquals"]["iam:PassedToService"]
    assert condition == "sagemaker.amazonaws.com"


def test_only_calls_that_cannot_be_scoped_have_every_resource() -> None:
    for policy in ROLES:
        for statement in load(policy)["Statement"]:
            if statement["Resource"] == "*":
                assert all(
                    a.split(":")[1].startswith(("List", "Search")) for a in statement["Action"]
                ), statement.get("Sid")


def test_the_launcher_can_set_up_the_feed_and_a_component_only_read_it() -> None:
    launcher, component = (
        granted(load("launcher-policy.json")),
        granted(load("component-policy.json")),
    )
    assert {"events:PutRule", "sqs:CreateQueue"} <= launcher
    assert not {"events:PutRule", "sqs:CreateQueue"} & component
    assert "sqs:ReceiveMessage" in component
