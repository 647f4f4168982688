"""``runner.models``: SageMaker's model is read once, whoever asks for it."""

from __future__ import annotations

from runner.config import AwsTarget, RunnerConfig
from runner.models import shared_loader
from runner.session import AssumedRoleProvider, ClientPool, make_session
from runner.validation import service_model


async def test_clients_validation_and_paging_share_one_loaded_model() -> None:
    config = RunnerConfig(
        aws=AwsTarget(
            region="us-east-1",
            endpoint_url="http://127.0.0.1:9",
            static_credentials=("AKIDEXAMPLE", "secret"),
        )
    )
    pool = ClientPool(config)
    try:
        client = await pool.client("sagemaker")
        # botocore's ServiceModel wraps the loaded JSON: one object, not a parse per session.
        loaded = client.meta.service_model._service_description
        assert loaded is service_model("sagemaker")._service_description
    finally:
        await pool.close()


def test_the_session_that_assumes_a_role_reads_through_the_same_loader() -> None:
    role = "arn:aws:iam::123456789012:role/r"
    session = make_session(AwsTarget(region="us-east-1", assume_role_arn=role))
    provider = session.get_component("credential_provider").providers[0]
    assert isinstance(provider, AssumedRoleProvider)
    assert session.get_component("data_loader") is shared_loader()
    assert provider._base.get_component("data_loader") is shared_loader()
