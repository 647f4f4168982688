"""Before a launch writes anything: where the batch runs, and as whom.

One region per batch, decided once (``smrun.launcher.manifest``): ``--region``, else the
manifest's, else the AWS chain's, which is read here the way the AWS SDKs read it:
``AWS_REGION`` (the variable every AWS SDK but botocore's older versions reads first), then
``AWS_DEFAULT_REGION`` and the profile's ``region`` (botocore's ``region`` config variable).

Credentials are resolved with botocore's own provider chain (environment, shared files,
``AWS_PROFILE``, web identity, container and instance metadata), so that a launch without
them stops with one message, exit 2, before the journal exists, instead of one "Unable to
locate credentials" per entry. Nothing is sent to AWS here: a role to assume needs the
chain's credentials, which is what is checked.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import botocore.session
from botocore.exceptions import BotoCoreError

__all__ = ["NO_REGION", "chain_region", "credentials_problem"]

# The one problem of a batch without a region (``region: <this>``), however many entries
# need one.
NO_REGION = (
    "is not given: use --region, set region: in the manifest, or set AWS_REGION or "
    "AWS_DEFAULT_REGION (every job of a batch runs in that one region)"
)


def _session(profile: str | None) -> botocore.session.Session:
    session = botocore.session.get_session()
    if profile:
        session.set_config_variable("profile", profile)
    return session


def chain_region(
    environ: Mapping[str, str] | None = None, profile: str | None = None
) -> str | None:
    """The region the AWS chain gives, or None."""
    env = os.environ if environ is None else environ
    if env.get("AWS_REGION"):
        return env["AWS_REGION"]
    try:
        region = _session(profile).get_config_variable("region")
    except BotoCoreError:
        return None
    return str(region) if region else None


def credentials_problem(
    profile: str | None = None,
    otherwise: str = "use --local to run against the local emulator",
) -> str | None:
    """Why the AWS chain has no credentials to sign with, or None when it has some;
    ``otherwise``: what else the user can do."""
    try:
        credentials = _session(profile).get_credentials()
    except BotoCoreError as error:
        return f"AWS credentials could not be loaded: {error}"
    if credentials is None:
        return (
            "no AWS credentials found (environment, ~/.aws, AWS_PROFILE, web identity or "
            f"instance role): configure them, or {otherwise}"
        )
    return None
