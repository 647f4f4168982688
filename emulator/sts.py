"""STS: who the caller is (GetCallerIdentity) and temporary credentials for a role (AssumeRole).

The account has one long-term identity, the IAM user ``emulator``: any access key the emulator did
not issue signs as it (signatures are not checked). Credentials issued by AssumeRole sign as the
assumed-role session; on every service a request signed with them must carry their session
token (else ``InvalidClientTokenId``/``UnrecognizedClientException``) and be made before they
expire (else ``ExpiredToken``/``ExpiredTokenException``), on the emulator's clock.

AssumeRole follows AWS's API reference (docs.aws.amazon.com/STS/latest/APIReference/
API_AssumeRole.html) and answers AWS recorded:

* ``RoleSessionName`` is 2-64 characters of ``[\\w+=,.@-]``, ``DurationSeconds`` 900-43200
  (botocore's model; the request validation reports them).
* ``DurationSeconds`` may not exceed the role's maximum session duration (IAM's default is one
  hour; ``EmulatorConfig.role_max_session_seconds``), nor one hour when the caller is itself an
  assumed-role session (role chaining), with the messages users report from AWS ("The requested
  DurationSeconds exceeds the MaxSessionDuration set for this role.", kreuzwerker/awsu#27; "...
  exceeds the 1 hour session limit for roles assumed by role chaining.", prowler#7721).
* A ``RoleArn`` that is not ``arn:<partition>:<service>:<region>:<account>:<resource>`` with a
  partition, service and resource is a ``ValidationError`` "<arn> is invalid" (AWS's answers as
  recorded in localstack's AWS-validated snapshot tests/aws/services/sts/test_sts.snapshot.json).
  That the account must be 12 digits, and that anything but a ``role/`` resource is refused with
  ``AccessDenied``, is the emulator's reading: no source settles those.
* A role matching one of ``EmulatorConfig.denied_roles`` is refused with AWS's ``AccessDenied``
  message ("User: <caller> is not authorized to perform: sts:AssumeRole on resource: <role>").

Issued credentials last ``DurationSeconds`` (default 3600), or ``EmulatorConfig.
credential_seconds`` when set: an emulator-only setting, so that tests can see credentials
expire within seconds (AWS itself refuses less than 900). The ``aws-like`` profile puts no quota
on STS: AWS publishes none for these calls that was found (its security blog describes token
buckets per API without figures).
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import secrets
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass

from emulator import errors
from emulator.protocols import access_key_of
from emulator.state import Emulator, Params, Response, operation

DEFAULT_USER = "emulator"
DEFAULT_DURATION = 3600  # AssumeRole's default DurationSeconds
CHAINED_MAX_DURATION = 3600  # role chaining's limit


@dataclass(frozen=True)
class IssuedCredentials:
    """Temporary credentials AssumeRole issued, and the session they sign as."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expires_at: float
    assumed_role_arn: str  # arn:aws:sts::<account>:assumed-role/<role>/<session>
    assumed_role_id: str  # AROA...:<session>
    account: str


# The issued credentials the request being answered was signed with (None: the default user).
# The server sets it per request; each request is its own task, so it is the request's own.
CALLER: ContextVar[IssuedCredentials | None] = ContextVar("emulator_caller", default=None)


def authenticate(em: Emulator, headers: Mapping[str, str]) -> IssuedCredentials | None:
    """The issued credentials a request is signed with, checked; None for any other key."""
    if not em.credentials:
        return None
    key = access_key_of(headers.get("Authorization", ""))
    issued = em.credentials.get(key) if key else None
    if issued is None:
        return None
    if headers.get("X-Amz-Security-Token") != issued.session_token:
        raise errors.invalid_token()
    if em.now() >= issued.expires_at:
        raise errors.expired_token()
    return issued


def _stable_id(prefix: str, *parts: str) -> str:
    """An IAM-style unique id (AIDA..., AROA...: 21 characters), the same for the same parts."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return prefix + base64.b32encode(digest).decode()[:17]


def _caller_arn(em: Emulator, session: IssuedCredentials | None) -> str:
    if session is not None:
        return session.assumed_role_arn
    return f"arn:aws:iam::{em.config.account_id}:user/{DEFAULT_USER}"


@operation("sts", "GetCallerIdentity")
def get_caller_identity(em: Emulator, params: Params) -> Response:
    session = CALLER.get()
    if session is not None:
        return {
            "UserId": session.assumed_role_id,
            "Account": session.account,
            "Arn": session.assumed_role_arn,
        }
    account = em.config.account_id
    return {
        "UserId": _stable_id("AIDA", account, DEFAULT_USER),
        "Account": account,
        "Arn": _caller_arn(em, None),
    }


@dataclass(frozen=True)
class _RoleArn:
    partition: str
    account: str
    resource: str

    @property
    def name(self) -> str:
        # A role with a path (role/team/name) is named by its last part in session ARNs.
        return self.resource.rsplit("/", 1)[-1]


def _parse_role_arn(arn: str) -> _RoleArn:
    parts = arn.split(":", 5)
    invalid = errors.AwsError("ValidationError", f"{arn} is invalid")
    if len(parts) != 6 or parts[0] != "arn":
        raise invalid
    _, partition, service, _region, account, resource = parts
    if not (partition and service and resource) or not (len(account) == 12 and account.isdigit()):
        raise invalid
    return _RoleArn(partition, account, resource)


def _check_allowed(
    em: Emulator, arn: str, role: _RoleArn, session: IssuedCredentials | None
) -> None:
    denied = any(fnmatch.fnmatchcase(arn, pattern) for pattern in em.config.denied_roles)
    if denied or not role.resource.startswith("role/"):
        raise errors.AwsError(
            "AccessDenied",
            f"User: {_caller_arn(em, session)} is not authorized to perform: sts:AssumeRole "
            f"on resource: {arn}",
            403,
        )


def _check_duration(em: Emulator, duration: int, session: IssuedCredentials | None) -> None:
    if session is not None and duration > CHAINED_MAX_DURATION:
        raise errors.AwsError(
            "ValidationError",
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed "
            "by role chaining.",
        )
    if duration > em.config.role_max_session_seconds:
        raise errors.AwsError(
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        )


@operation("sts", "AssumeRole")
def assume_role(em: Emulator, params: Params) -> Response:
    arn, session_name = params["RoleArn"], params["RoleSessionName"]
    role = _parse_role_arn(arn)
    caller = CALLER.get()
    _check_allowed(em, arn, role, caller)
    duration = params.get("DurationSeconds") or DEFAULT_DURATION
    _check_duration(em, duration, caller)
    lifetime = em.config.credential_seconds
    issued = IssuedCredentials(
        access_key_id="ASIA" + base64.b32encode(secrets.token_bytes(10)).decode(),
        secret_access_key=secrets.token_urlsafe(30),
        session_token="FwoGZXIvYXdzE" + secrets.token_urlsafe(180),
        expires_at=em.now() + (duration if lifetime is None else lifetime),
        assumed_role_arn=f"arn:{role.partition}:sts::{role.account}:assumed-role/"
        f"{role.name}/{session_name}",
        assumed_role_id=f"{_stable_id('AROA', arn)}:{session_name}",
        account=role.account,
    )
    em.credentials[issued.access_key_id] = issued
    response: Response = {
        "Credentials": {
            "AccessKeyId": issued.access_key_id,
            "SecretAccessKey": issued.secret_access_key,
            "SessionToken": issued.session_token,
            "Expiration": issued.expires_at,
        },
        "AssumedRoleUser": {
            "Arn": issued.assumed_role_arn,
            "AssumedRoleId": issued.assumed_role_id,
        },
    }
    if params.get("SourceIdentity"):
        response["SourceIdentity"] = params["SourceIdentity"]
    return response
