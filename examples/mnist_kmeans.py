"""MNIST with SageMaker's built-in k-means: the v1 tutorial's flow on these components.

    train (k-means image) -> model -> deploy
                                   -> batch transform

all inside ``dsl.ExitHandler(cleanup)``: however the run ends, the cleanup stops whatever
SageMaker job of this run is still running, and deletes an endpoint it left half-created.

The data is laid out as the v1 sample left it in ``s3://<bucket_name>/mnist_kmeans_example/``
(``train_data/`` for training, ``input/`` CSV rows for the batch transform).

Compile to ``mnist_kmeans.yaml`` next to this file, or to the path given::

    python examples/mnist_kmeans.py [pipeline.yaml]

(No ``from __future__ import annotations`` here: kfp reads the pipeline's annotations.)
"""

import sys
from pathlib import Path

from kfp import compiler, dsl

import components

# SageMaker's built-in k-means in us-east-1 (other regions: algorithm_name="K-Means" resolves it).
KMEANS_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
PREFIX = "mnist_kmeans_example"

train = components.load("train")
create_model = components.load("model")
deploy = components.load("deploy")
batch_transform = components.load("batch_transform")
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
    name="mnist-kmeans",
    description="MNIST classification with SageMaker's built-in k-means: train, deploy, batch transform",
)
def mnist_kmeans(  # noqa: PLR0917 (kfp passes pipeline parameters positionally)
    role_arn: str,
    bucket_name: str,
    region: str = "us-east-1",
    endpoint_url: str = "",
    image: str = KMEANS_IMAGE,
    instance_type: str = "ml.m5.xlarge",
    tags: dict = {},  # noqa: B006 (kfp takes a pipeline parameter's default from the signature)
) -> None:
    aws = {"region": region, "endpoint_url": endpoint_url}
    stop_leftovers = cleanup(**aws, include_endpoints=True)
    with dsl.ExitHandler(stop_leftovers, name="mnist-kmeans"):
        training = train(
            **aws,
            tags=tags,
            role=role_arn,
            image=image,
            hyperparameters={"k": "10", "feature_dim": "784"},
            channels=[channel("train", f"s3://{bucket_name}/{PREFIX}/train_data")],
            instance_type=instance_type,
            model_artifact_path=f"s3://{bucket_name}/{PREFIX}/output",
        )
        model = create_model(
            **aws,
            tags=tags,
            # The model is named after its training job: one per run, found again on a retry.
            model_name=training.outputs["job_name"],
            role=role_arn,
            image=training.outputs["training_image"],
            model_artifact_url=training.outputs["model_artifact_url"],
        )
        deploy(
            **aws,
            tags=tags,
            model_name_1=model.outputs["model_name"],
            instance_type_1=instance_type,
        )
        batch_transform(
            **aws,
            tags=tags,
            model_name=model.outputs["model_name"],
            instance_type=instance_type,
            batch_strategy="MultiRecord",
            input_location=f"s3://{bucket_name}/{PREFIX}/input",
            content_type="text/csv",
            split_type="Line",
            output_location=f"s3://{bucket_name}/{PREFIX}/batch_output",
        )


def main(argv: list[str]) -> Path:
    target = Path(argv[0]) if argv else Path(__file__).with_suffix(".yaml")
    compiler.Compiler().compile(mnist_kmeans, str(target))
    print(f"compiled to {target}")
    return target


if __name__ == "__main__":
    main(sys.argv[1:])
