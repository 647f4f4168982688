"""Private work teams, which labeling jobs send their tasks to.

A work team has no life of its own: it is created, described, listed, updated and deleted at
once. What SageMaker checks is kept: a team's members are either Amazon Cognito user groups
(all of one user pool and app client) or OIDC groups, never both, and a name is used once.
The team belongs to a private workforce (``default`` unless ``WorkforceName`` says otherwise),
which the emulator does not model beyond its ARN and sub-domain.

A missing work team is a ``ValidationException``, as SageMaker answers for most of its
non-job resources; the service model lists no not-found error for these operations.
``ListLabelingJobsForWorkteam`` is the exception: its model and API reference list
``ResourceNotFound`` ("Resource being access is not found.") for a work team that is not there.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Any

from emulator import errors
from emulator.jobs import LABELING, Job, describe
from emulator.lifecycle import tag_dict
from emulator.listing import Listed, list_page
from emulator.state import Emulator, Params, Response, operation

DEFAULT_WORKFORCE = "default"
_UPDATABLE = (
    "MemberDefinitions",
    "Description",
    "NotificationConfiguration",
    "WorkerAccessConfiguration",
)


@dataclass(eq=False)
class Workteam:
    """One private work team: its settings as last written, and when."""

    name: str
    arn: str
    workforce_arn: str
    sub_domain: str
    settings: Params  # MemberDefinitions, Description, NotificationConfiguration, ...
    created_at: float
    updated_at: float
    tags: dict[str, str]

    def describe(self) -> dict[str, Any]:
        """The ``Workteam`` structure of DescribeWorkteam and ListWorkteams."""
        team: dict[str, Any] = {
            "WorkteamName": self.name,
            "MemberDefinitions": self.settings["MemberDefinitions"],
            "WorkteamArn": self.arn,
            "WorkforceArn": self.workforce_arn,
            "ProductListingIds": [],
            "Description": self.settings["Description"],
            "SubDomain": self.sub_domain,
            "CreateDate": self.created_at,
            "LastUpdatedDate": self.updated_at,
        }
        for key in ("NotificationConfiguration", "WorkerAccessConfiguration"):
            if self.settings.get(key):
                team[key] = self.settings[key]
        return team


def _check_members(members: list[dict[str, Any]]) -> None:
    cognito = [m["CognitoMemberDefinition"] for m in members if m.get("CognitoMemberDefinition")]
    oidc = [m for m in members if m.get("OidcMemberDefinition")]
    if cognito and oidc:
        raise errors.validation_error(
            "MemberDefinitions must be all CognitoMemberDefinition or all OidcMemberDefinition, "
            "not both."
        )
    if not cognito and not oidc:
        raise errors.validation_error(
            "Each MemberDefinition must have a CognitoMemberDefinition or an OidcMemberDefinition."
        )
    if len({(c["UserPool"], c["ClientId"]) for c in cognito}) > 1:
        raise errors.validation_error(
            "All CognitoMemberDefinitions of a work team must have the same UserPool and ClientId."
        )


def find_workteam(em: Emulator, name: str) -> Workteam:
    team = em.workteams.get(name)
    if team is None:
        arn = em.arn("workteam/private-crowd", name)
        raise errors.validation_error(f"The work team {arn} does not exist.")
    return team


@operation("sagemaker", "CreateWorkteam")
def create_workteam(em: Emulator, params: Params) -> Response:
    name = params["WorkteamName"]
    arn = em.arn("workteam/private-crowd", name)
    if name in em.workteams:
        raise errors.resource_in_use(f"Work team {arn} already exists.")
    _check_members(params["MemberDefinitions"])
    workforce = params.get("WorkforceName") or DEFAULT_WORKFORCE
    workforce_arn = em.arn("workforce", workforce)
    digest = hashlib.sha256(workforce_arn.encode()).hexdigest()[:10]
    now = em.now()
    team = Workteam(
        name=name,
        arn=arn,
        workforce_arn=workforce_arn,
        sub_domain=f"{digest}.labeling.{em.config.region}.sagemaker.aws",
        settings={key: params[key] for key in _UPDATABLE if key in params},
        created_at=now,
        updated_at=now,
        tags=tag_dict(params.get("Tags")),
    )
    em.workteams[name] = team
    em.tags[arn] = team.tags
    return {"WorkteamArn": arn}


@operation("sagemaker", "DescribeWorkteam")
def describe_workteam(em: Emulator, params: Params) -> Response:
    return {"Workteam": find_workteam(em, params["WorkteamName"]).describe()}


@operation("sagemaker", "UpdateWorkteam")
def update_workteam(em: Emulator, params: Params) -> Response:
    team = find_workteam(em, params["WorkteamName"])
    if "MemberDefinitions" in params:
        _check_members(params["MemberDefinitions"])
    team.settings.update({key: params[key] for key in _UPDATABLE if key in params})
    team.updated_at = em.now()
    return {"Workteam": team.describe()}


@operation("sagemaker", "ListWorkteams")
def list_workteams(em: Emulator, params: Params) -> Response:
    # ListWorkteams sorts by creation date, oldest first, unless told otherwise.
    ordered = {**params, "SortOrder": params.get("SortOrder") or "Ascending"}
    items = [
        Listed(team.name, team.created_at, None, None, team.describe)
        for team in em.workteams.values()
    ]
    page, token = list_page(ordered, items, paging=em.config.paging, default_sort="CreateDate")
    response: Response = {"Workteams": page}
    if token:
        response["NextToken"] = token
    return response


@operation("sagemaker", "DeleteWorkteam")
def delete_workteam(em: Emulator, params: Params) -> Response:
    team = find_workteam(em, params["WorkteamName"])
    del em.workteams[team.name]
    em.tags.pop(team.arn, None)
    return {"Success": True}


def _job_for_workteam(em: Emulator, job: Job, record: dict[str, Any]) -> dict[str, Any]:
    """A ``LabelingJobForWorkteamSummary``: its counters are the job's own LabelCounters seen
    from the team's side (tasks in all, labeled by people, waiting for people)."""
    counters = record["LabelCounters"]
    task = job.request["HumanTaskConfig"]
    return {
        "LabelingJobName": job.name,
        "JobReferenceCode": record["JobReferenceCode"],
        "WorkRequesterAccountId": em.config.account_id,
        "CreationTime": job.created_at,
        "LabelCounters": {
            "HumanLabeled": counters["HumanLabeled"],
            "PendingHuman": counters["Unlabeled"],
            "Total": counters["TotalLabeled"]
            + counters["Unlabeled"]
            + counters["FailedNonRetryableError"],
        },
        "NumberOfHumanWorkersPerDataObject": task["NumberOfHumanWorkersPerDataObject"],
    }


@operation("sagemaker", "ListLabelingJobsForWorkteam")
def list_labeling_jobs_for_workteam(em: Emulator, params: Params) -> Response:
    """The labeling jobs whose ``HumanTaskConfig.WorkteamArn`` is the team's, oldest first
    unless told otherwise (the API reference: SortBy CreationTime, SortOrder Ascending by
    default). ``JobReferenceCodeContains`` matches regardless of case, as NameContains does."""
    arn = params["WorkteamArn"]
    if not any(team.arn == arn for team in em.workteams.values()):
        raise errors.resource_not_found()
    now = em.now()
    code_part = (params.get("JobReferenceCodeContains") or "").lower()
    items = []
    for job in em.jobs_of(LABELING.key).values():
        if not job.visible(now) or job.request["HumanTaskConfig"]["WorkteamArn"] != arn:
            continue
        record = describe(job, now)
        if code_part not in record["JobReferenceCode"].lower():
            continue
        items.append(
            Listed(
                job.name,
                job.created_at,
                None,
                None,
                functools.partial(_job_for_workteam, em, job, record),
            )
        )
    page, token = list_page(params, items, default_order="Ascending")
    response: Response = {"LabelingJobSummaryList": page}
    if token:
        response["NextToken"] = token
    return response
