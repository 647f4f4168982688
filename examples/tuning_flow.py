"""Tune k-means on MNIST, then serve the best model: the v1 HPO sample's flow on these components.

    hyperparameter tuning -> model (the best training job's artifact and image) -> deploy

all inside ``dsl.ExitHandler(cleanup)``: however the run ends, the cleanup stops the tuning
job (and with it its training jobs) if it is still running, and deletes an endpoint it left
half-created.

The data is laid out as the v1 sample left it in ``s3://<bucket_name>/mnist_kmeans_example/``
(``train_data/`` and ``test_data/``).

Compile to ``tuning_flow.yaml`` next to this file, or to the path given::

    python examples/tuning_flow.py [pipeline.yaml]

(No ``from __future__ import annotations`` here: kfp reads the pipeline's annotations.)
"""

import sys
from pathlib import Path

from kfp import compiler, dsl

import components

# SageMaker's built-in k-means in us-east-1 (other regions: algorithm_name="K-Means" resolves it).
KMEANS_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
PREFIX = "mnist_kmeans_example"

hyperparameter_tuning = components.load("hyperparameter_tuning")
create_model = components.load("model")
deploy = components.load("deploy")
cleanup = components.load("cleanup")


def channel(name: str, s3_uri: str) -> dict:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3Uri": s3_uri,
                "S3DataType": "S3Prefix",
                "S3DataDistributionType": "FullyReplicated",
            }
        },
        "CompressionType": "None",
        "RecordWrapperType": "None",
        "InputMode": "File",
    }


@dsl.pipeline(
    name="mnist-kmeans-tuning",
    description="Tune SageMaker's built-in k-means on MNIST and deploy the best model",
)
def tuning_flow(  # noqa: PLR0917 (kfp passes pipeline parameters positionally)
    role_arn: str,
    bucket_name: str,
    region: str = "us-east-1",
    endpoint_url: str = "",
    image: str = KMEANS_IMAGE,
    instance_type: str = "ml.m5.xlarge",
    max_num_jobs: int = 4,
    max_parallel_jobs: int = 2,
    tags: dict = {},  # noqa: B006 (kfp takes a pipeline parameter's default from the signature)
) -> None:
    aws = {"region": region, "endpoint_url": endpoint_url}
    stop_leftovers = cleanup(**aws, include_endpoints=True)
    with dsl.ExitHandler(stop_leftovers, name="tune-and-deploy"):
        tuning = hyperparameter_tuning(
            **aws,
            tags=tags,
            role=role_arn,
            image=image,
            metric_name="test:msd",
            metric_type="Minimize",
            static_parameters={"k": "10", "feature_dim": "784"},
            integer_parameters=[
                {"Name": "mini_batch_size", "MinValue": "500", "MaxValue": "600"},
                {"Name": "extra_center_factor", "MinValue": "10", "MaxValue": "20"},
            ],
            categorical_parameters=[{"Name": "init_method", "Values": ["random", "kmeans++"]}],
            channels=[
                channel("train", f"s3://{bucket_name}/{PREFIX}/train_data"),
                channel("test", f"s3://{bucket_name}/{PREFIX}/test_data"),
            ],
            output_location=f"s3://{bucket_name}/{PREFIX}/tuning_output",
            instance_type=instance_type,
            max_num_jobs=max_num_jobs,
            max_parallel_jobs=max_parallel_jobs,
        )
        model = create_model(
            **aws,
            tags=tags,
            # Named after the best training job: one model per run, found again on a retry.
            model_name=tuning.outputs["best_job_name"],
            role=role_arn,
            image=tuning.outputs["training_image"],
            model_artifact_url=tuning.outputs["model_artifact_url"],
        )
        deploy(
            **aws,
            tags=tags,
            model_name_1=model.outputs["model_name"],
            instance_type_1=instance_type,
        )


def main(argv: list[str]) -> Path:
    target = Path(argv[0]) if argv else Path(__file__).with_suffix(".yaml")
    compiler.Compiler().compile(tuning_flow, str(target))
    print(f"compiled to {target}")
    return target


if __name__ == "__main__":
    main(sys.argv[1:])
