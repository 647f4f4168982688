"""SageMaker - Private Workforce, as the v1 component had it, run through the runner core.

Creates a private work team of Amazon Cognito user groups: one member definition per group of
``user_groups`` (comma-separated), all of one ``user_pool`` and app client ``client_id``, as
SageMaker requires; ``sns_topic`` receives a notification when new tasks are available.
Output: ``workteam_arn``.

v1 behaviours kept: every v1 input and output; the team is named ``team_name``; the labeling
portal's sub-domain is logged. v1 defects fixed: a missing user pool, client or group is an
input error before anything is sent (v1 sent empty strings and let SageMaker refuse); a
restarted pod finds the team it created instead of failing on the existing name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import structlog

from components.common.app import ComponentInputs, ComponentRun, main
from components.common.inputs import InputError, InputProblem, csv_list
from components.common.spec import ComponentSpec, Input, Output, common_inputs

log = structlog.get_logger("components.workteam")

KIND = "workteam"  # the job kind whose request ``build_request`` builds

SPEC = ComponentSpec(
    module="workteam",
    display_name="SageMaker - Private Workforce",
    description="Private workforce in SageMaker",
    inputs=[
        *common_inputs(),
        Input("team_name", "String", None, "The name of your work team."),
        Input("description", "String", None, "A description of the work team."),
        Input(
            "user_pool",
            "String",
            "",
            "An identifier for a user pool. The user pool must be in the same region as the service that you are calling.",
        ),
        Input(
            "user_groups",
            "String",
            "",
            "A list of identifiers for user groups separated by commas.",
        ),
        Input(
            "client_id",
            "String",
            "",
            "An identifier for an application client. You must create the app client ID using Amazon Cognito.",
        ),
        Input(
            "sns_topic",
            "String",
            "",
            "The ARN for the SNS topic to which notifications should be published.",
        ),
    ],
    fields={
        "WorkteamName": "team_name",
        "Description": "description",
        "MemberDefinitions.CognitoMemberDefinition.UserPool": "user_pool",
        "MemberDefinitions.CognitoMemberDefinition.UserGroup": "user_groups",
        "MemberDefinitions.CognitoMemberDefinition.ClientId": "client_id",
        "NotificationConfiguration.NotificationTopicArn": "sns_topic",
        "Tags": "tags",
    },
    outputs=[Output("workteam_arn", "The ARN of the workteam.")],
)


def member_definitions(inputs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One Cognito member definition per user group, all of one user pool and app client."""
    pool, client = inputs["user_pool"].strip(), inputs["client_id"].strip()
    groups = csv_list(inputs["user_groups"])
    missing = [
        InputProblem(name, f"a private work team needs {what}")
        for name, what, given in (
            ("user_pool", "the Cognito user pool", pool),
            ("client_id", "the Cognito app client id", client),
            ("user_groups", "at least one user group", groups),
        )
        if not given
    ]
    if missing:
        raise InputError.of(missing)
    return [
        {"CognitoMemberDefinition": {"UserPool": pool, "UserGroup": group, "ClientId": client}}
        for group in groups
    ]


def build_request(run: ComponentInputs) -> dict[str, Any]:
    """CreateWorkteam from the inputs; ``InputError`` with every problem they have."""
    inputs, checks = run.inputs, run.checks
    name = inputs["team_name"].strip()
    if not name:
        checks.add("team_name", "must not be empty")
    request: dict[str, Any] = {
        "WorkteamName": name,
        "MemberDefinitions": checks.attempt(
            member_definitions, inputs, default=[], field="MemberDefinitions"
        ),
        "Description": inputs["description"],
        "Tags": run.user_tags(),
    }
    if inputs["sns_topic"]:
        request["NotificationConfiguration"] = {"NotificationTopicArn": inputs["sns_topic"]}
    return run.checked(KIND, request)


async def execute(run: ComponentRun) -> dict[str, Any]:
    outcome = await run.job(KIND, build_request(run))
    portal = outcome.description.get("SubDomain")
    if portal:
        log.info("workteam.portal", workteam=outcome.name, portal=f"https://{portal}")
    return {"workteam_arn": outcome.outputs["workteam_arn"]}


def run(argv: Sequence[str] | None = None) -> int:
    return main(SPEC, execute, argv, check=build_request)
