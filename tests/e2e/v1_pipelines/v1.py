# ruff: noqa: PLR0917, B006  (v1 wrote them so: kfp reads parameters and their defaults from the signature)
"""The v1 project's own pipelines, as v1 wrote them for kfp 1.8, with only the component file
paths changed to ours. Run by kfp 1.8's Python (a throwaway virtualenv, never a dependency of
this project)::

    python v1.py OUT_DIR        (V1_COMPONENTS_DIR: another components directory)

compiles each to ``OUT_DIR/<name>.yaml`` (an Argo workflow) and exits 0, or prints what failed.
The module imports under kfp 2 as well: the tests there annotate each pipeline's parameters
(kfp 2 requires annotations; nothing else changes) and compile and run them.

Sources (kubeflow/pipelines, before the SageMaker components were removed in 714159d07d):
``components/aws/sagemaker/tests/integration_tests/resources/definition/*.py`` (the
integration tests: create model, create/update endpoint, batch transform, training, HPO,
processing, workteam, Ground Truth) and, from before 4c097171c1,
``samples/contrib/aws-samples/mnist-kmeans-sagemaker/mnist-classification-pipeline.py`` (process
-> HPO -> training from the best hyperparameters -> model -> deploy and batch transform, all
chained by ``.output``) and ``ground_truth_pipeline_demo/mini-image-classification-pipeline.py``
(workteam ``.output`` -> two labeling jobs -> training on their manifests). One pipeline is
new: the mnist flow inside ``dsl.ExitHandler`` with our cleanup, as a v1 user would add it.
"""

import copy
import json
import os
import sys
import traceback
from pathlib import Path

from kfp import components, dsl

# v1 loaded "../../model/component.yaml"; ours are in the repository's components/.
COMPONENTS = os.environ.get("V1_COMPONENTS_DIR") or str(Path(__file__).parents[3] / "components")


def load(name):
    return components.load_component_from_file(f"{COMPONENTS}/{name}/component.yaml")


sagemaker_model_op = load("model")
sagemaker_deploy_op = load("deploy")
sagemaker_batch_transform_op = load("batch_transform")
sagemaker_train_op = load("train")
sagemaker_hpo_op = load("hyperparameter_tuning")
sagemaker_process_op = load("process")
sagemaker_workteam_op = load("workteam")
sagemaker_gt_op = load("ground_truth")
sagemaker_cleanup_op = load("cleanup")


# --- the integration tests' definitions ----------------------------------------------------


def create_model_pipeline(
    region="",
    endpoint_url="",
    image="",
    model_name="",
    model_artifact_url="",
    network_isolation="",
    role="",
):
    sagemaker_model_op(
        region=region,
        endpoint_url=endpoint_url,
        model_name=model_name,
        image=image,
        model_artifact_url=model_artifact_url,
        network_isolation=network_isolation,
        role=role,
    )


def create_endpoint_pipeline(
    region="",
    endpoint_url="",
    image="",
    model_name="",
    endpoint_config_name="",
    endpoint_name="",
    model_artifact_url="",
    variant_name_1="",
    instance_type_1="",
    initial_instance_count_1="",
    initial_variant_weight_1="",
    network_isolation="",
    role="",
):
    create_model = sagemaker_model_op(
        region=region,
        endpoint_url=endpoint_url,
        model_name=model_name,
        image=image,
        model_artifact_url=model_artifact_url,
        network_isolation=network_isolation,
        role=role,
    )
    sagemaker_deploy_op(
        region=region,
        endpoint_url=endpoint_url,
        endpoint_config_name=endpoint_config_name,
        endpoint_name=endpoint_name,
        model_name_1=create_model.output,
        variant_name_1=variant_name_1,
        instance_type_1=instance_type_1,
        initial_instance_count_1=initial_instance_count_1,
        initial_variant_weight_1=initial_variant_weight_1,
    )
    dsl.get_pipeline_conf().set_image_pull_policy(policy="Always")


def update_endpoint_pipeline(
    region="",
    endpoint_url="",
    image="",
    model_name="",
    endpoint_config_name="",
    endpoint_name="",
    model_artifact_url="",
    variant_name_1="",
    instance_type_1="",
    instance_type_2="",
    initial_instance_count_1="",
    initial_variant_weight_1="",
    network_isolation="",
    role="",
    update_endpoint="",
):
    create_model = sagemaker_model_op(
        region=region,
        endpoint_url=endpoint_url,
        model_name=model_name,
        image=image,
        model_artifact_url=model_artifact_url,
        network_isolation=network_isolation,
        role=role,
    )
    deploy_model = sagemaker_deploy_op(
        region=region,
        endpoint_url=endpoint_url,
        endpoint_config_name=endpoint_config_name,
        endpoint_name=endpoint_name,
        model_name_1=create_model.output,
        variant_name_1=variant_name_1,
        instance_type_1=instance_type_1,
        initial_instance_count_1=initial_instance_count_1,
        initial_variant_weight_1=initial_variant_weight_1,
    )
    sagemaker_deploy_op(
        region=region,
        endpoint_url=endpoint_url,
        endpoint_config_name=endpoint_config_name,
        endpoint_name=deploy_model.output,
        model_name_1=create_model.output,
        variant_name_1=variant_name_1,
        instance_type_1=instance_type_2,
        initial_instance_count_1=initial_instance_count_1,
        initial_variant_weight_1=initial_variant_weight_1,
        update_endpoint=update_endpoint,
    )
    dsl.get_pipeline_conf().set_image_pull_policy(policy="Always")


def batch_transform_pipeline(
    region="",
    image="",
    model_name="",
    job_name="",
    model_artifact_url="",
    instance_type="",
    instance_count="",
    data_input="",
    data_type="",
    content_type="",
    compression_type="",
    output_location="",
    max_concurrent="",
    max_payload="",
    batch_strategy="",
    split_type="",
    network_isolation="",
    role="",
):
    create_model = sagemaker_model_op(
        region=region,
        model_name=model_name,
        image=image,
        model_artifact_url=model_artifact_url,
        network_isolation=network_isolation,
        role=role,
    )
    sagemaker_batch_transform_op(
        region=region,
        model_name=create_model.output,
        job_name=job_name,
        instance_type=instance_type,
        instance_count=instance_count,
        max_concurrent=max_concurrent,
        max_payload=max_payload,
        batch_strategy=batch_strategy,
        input_location=data_input,
        data_type=data_type,
        content_type=content_type,
        split_type=split_type,
        compression_type=compression_type,
        output_location=output_location,
    )


def training_pipeline(
    region="",
    endpoint_url="",
    image="",
    job_name="",
    training_input_mode="",
    hyperparameters="",
    channels="",
    instance_type="",
    instance_count="",
    volume_size="",
    max_run_time="",
    model_artifact_path="",
    output_encryption_key="",
    network_isolation="",
    traffic_encryption="",
    spot_instance="",
    max_wait_time="",
    checkpoint_config="",
    vpc_security_group_ids="",
    vpc_subnets="",
    assume_role="",
    role="",
):
    sagemaker_train_op(
        region=region,
        endpoint_url=endpoint_url,
        image=image,
        job_name=job_name,
        training_input_mode=training_input_mode,
        hyperparameters=hyperparameters,
        channels=channels,
        instance_type=instance_type,
        instance_count=instance_count,
        volume_size=volume_size,
        max_run_time=max_run_time,
        model_artifact_path=model_artifact_path,
        output_encryption_key=output_encryption_key,
        network_isolation=network_isolation,
        traffic_encryption=traffic_encryption,
        spot_instance=spot_instance,
        max_wait_time=max_wait_time,
        checkpoint_config=checkpoint_config,
        vpc_security_group_ids=vpc_security_group_ids,
        vpc_subnets=vpc_subnets,
        assume_role=assume_role,
        role=role,
    )


def hpo_pipeline(
    region="",
    job_name="",
    algorithm_name="",
    training_input_mode="",
    static_parameters="",
    integer_parameters="",
    channels="",
    categorical_parameters="",
    early_stopping_type="",
    max_parallel_jobs="",
    max_num_jobs="",
    metric_name="",
    metric_type="",
    hpo_strategy="",
    instance_type="",
    instance_count="",
    volume_size="",
    max_run_time="",
    output_location="",
    network_isolation="",
    max_wait_time="",
    role="",
):
    sagemaker_hpo_op(
        region=region,
        job_name=job_name,
        algorithm_name=algorithm_name,
        training_input_mode=training_input_mode,
        static_parameters=static_parameters,
        integer_parameters=integer_parameters,
        channels=channels,
        categorical_parameters=categorical_parameters,
        early_stopping_type=early_stopping_type,
        max_parallel_jobs=max_parallel_jobs,
        max_num_jobs=max_num_jobs,
        metric_name=metric_name,
        metric_type=metric_type,
        strategy=hpo_strategy,
        instance_type=instance_type,
        instance_count=instance_count,
        volume_size=volume_size,
        max_run_time=max_run_time,
        output_location=output_location,
        network_isolation=network_isolation,
        max_wait_time=max_wait_time,
        role=role,
    )


def processing_pipeline(
    region="",
    job_name="",
    image="",
    instance_type="",
    instance_count="",
    volume_size="",
    max_run_time="",
    environment={},
    container_entrypoint=[],
    container_arguments=[],
    input_config={},
    output_config={},
    network_isolation=False,
    role="",
    assume_role="",
):
    sagemaker_process_op(
        region=region,
        job_name=job_name,
        image=image,
        instance_type=instance_type,
        instance_count=instance_count,
        volume_size=volume_size,
        max_run_time=max_run_time,
        environment=environment,
        container_entrypoint=container_entrypoint,
        container_arguments=container_arguments,
        input_config=input_config,
        output_config=output_config,
        network_isolation=network_isolation,
        role=role,
        assume_role=assume_role,
    )


def workteam_test(
    region="", team_name="", description="", user_pool="", user_groups="", client_id=""
):
    sagemaker_workteam_op(
        region=region,
        team_name=team_name,
        description=description,
        user_pool=user_pool,
        user_groups=user_groups,
        client_id=client_id,
    )


def groundtruth_pipeline(
    region="",
    ground_truth_train_job_name="",
    ground_truth_label_attribute_name="",
    ground_truth_train_manifest_location="",
    ground_truth_output_location="",
    ground_truth_task_type="",
    ground_truth_worker_type="",
    ground_truth_label_category_config="",
    ground_truth_ui_template="",
    ground_truth_title="",
    ground_truth_description="",
    ground_truth_num_workers_per_object="",
    ground_truth_time_limit="",
    ground_truth_task_availibility="",
    ground_truth_max_concurrent_tasks="",
    role="",
    workteam_arn="",
):
    sagemaker_gt_op(
        region=region,
        role=role,
        job_name=ground_truth_train_job_name,
        label_attribute_name=ground_truth_label_attribute_name,
        manifest_location=ground_truth_train_manifest_location,
        output_location=ground_truth_output_location,
        task_type=ground_truth_task_type,
        worker_type=ground_truth_worker_type,
        workteam_arn=workteam_arn,
        label_category_config=ground_truth_label_category_config,
        ui_template=ground_truth_ui_template,
        title=ground_truth_title,
        description=ground_truth_description,
        num_workers_per_object=ground_truth_num_workers_per_object,
        time_limit=ground_truth_time_limit,
        task_availibility=ground_truth_task_availibility,
        max_concurrent_tasks=ground_truth_max_concurrent_tasks,
    )


# --- the samples -----------------------------------------------------------------------------


def training_input(input_name, s3_uri):
    return {
        "ChannelName": input_name,
        "DataSource": {"S3DataSource": {"S3Uri": s3_uri, "S3DataType": "S3Prefix"}},
    }


def processing_input(input_name, s3_uri, local_path):
    return {
        "InputName": input_name,
        "S3Input": {
            "S3Uri": s3_uri,
            "LocalPath": local_path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
        },
    }


def processing_output(output_name, s3_uri, local_path):
    return {
        "OutputName": output_name,
        "S3Output": {"S3Uri": s3_uri, "LocalPath": local_path, "S3UploadMode": "EndOfJob"},
    }


def mnist_steps(role_arn, bucket_name):
    region = "us-east-1"
    instance_type = "ml.m5.2xlarge"
    train_image = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
    hpo_channels = [
        training_input("train", f"s3://{bucket_name}/mnist_kmeans_example/train_data"),
        training_input("test", f"s3://{bucket_name}/mnist_kmeans_example/test_data"),
    ]
    train_channels = [
        training_input("train", f"s3://{bucket_name}/mnist_kmeans_example/train_data")
    ]
    train_output_location = f"s3://{bucket_name}/mnist_kmeans_example/output"
    process = sagemaker_process_op(
        role=role_arn,
        region=region,
        image="763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:1.5.0-cpu-py36-ubuntu16.04",
        instance_type=instance_type,
        container_entrypoint=["python", "/opt/ml/processing/code/kmeans_preprocessing.py"],
        input_config=[
            processing_input(
                "mnist_tar",
                "s3://sagemaker-sample-files/datasets/image/MNIST/mnist.pkl.gz",
                "/opt/ml/processing/input",
            ),
            processing_input(
                "source_code",
                f"s3://{bucket_name}/mnist_kmeans_example/processing_code/kmeans_preprocessing.py",
                "/opt/ml/processing/code",
            ),
        ],
        output_config=[
            processing_output(
                "train_data",
                f"s3://{bucket_name}/mnist_kmeans_example/",
                "/opt/ml/processing/output_train/",
            ),
            processing_output(
                "test_data",
                f"s3://{bucket_name}/mnist_kmeans_example/",
                "/opt/ml/processing/output_test/",
            ),
            processing_output(
                "valid_data",
                f"s3://{bucket_name}/mnist_kmeans_example/input/",
                "/opt/ml/processing/output_valid/",
            ),
        ],
    )
    hpo = sagemaker_hpo_op(
        region=region,
        image=train_image,
        metric_name="test:msd",
        metric_type="Minimize",
        static_parameters={"k": "10", "feature_dim": "784"},
        integer_parameters=[
            {"Name": "mini_batch_size", "MinValue": "500", "MaxValue": "600"},
            {"Name": "extra_center_factor", "MinValue": "10", "MaxValue": "20"},
        ],
        categorical_parameters=[{"Name": "init_method", "Values": ["random", "kmeans++"]}],
        channels=hpo_channels,
        output_location=train_output_location,
        instance_type=instance_type,
        max_num_jobs=3,
        max_parallel_jobs=2,
        role=role_arn,
    ).after(process)
    training = sagemaker_train_op(
        region=region,
        image=train_image,
        hyperparameters=hpo.outputs["best_hyperparameters"],
        channels=train_channels,
        instance_type=instance_type,
        model_artifact_path=train_output_location,
        role=role_arn,
    )
    create_model = sagemaker_model_op(
        region=region,
        model_name=training.outputs["job_name"],
        image=training.outputs["training_image"],
        model_artifact_url=training.outputs["model_artifact_url"],
        role=role_arn,
    )
    sagemaker_deploy_op(region=region, model_name_1=create_model.output)
    sagemaker_batch_transform_op(
        region=region,
        model_name=create_model.output,
        instance_type=instance_type,
        batch_strategy="MultiRecord",
        input_location=f"s3://{bucket_name}/mnist_kmeans_example/input",
        content_type="text/csv",
        split_type="Line",
        output_location=f"s3://{bucket_name}/mnist_kmeans_example/output",
    )


def mnist_classification(role_arn="", bucket_name=""):
    mnist_steps(role_arn, bucket_name)


def mnist_classification_with_cleanup(role_arn="", bucket_name=""):
    with dsl.ExitHandler(sagemaker_cleanup_op(region="us-east-1", include_endpoints=True)):
        mnist_steps(role_arn, bucket_name)


CHANNEL = {
    "ChannelName": "",
    "DataSource": {
        "S3DataSource": {
            "S3Uri": "",
            "S3DataType": "AugmentedManifestFile",
            "S3DataDistributionType": "FullyReplicated",
            "AttributeNames": ["source-ref", "category"],
        }
    },
    "ContentType": "application/x-recordio",
    "CompressionType": "None",
    "RecordWrapperType": "RecordIO",
}


def ground_truth_test(
    region="us-west-2",
    team_name="ground-truth-demo-team",
    team_description="Team for mini image classification labeling job",
    user_pool="",
    user_groups="",
    client_id="",
    ground_truth_train_job_name="mini-image-classification-demo-train",
    ground_truth_validation_job_name="mini-image-classification-demo-validation",
    ground_truth_label_attribute_name="category",
    ground_truth_train_manifest_location="s3://your-bucket-name/mini-image-classification/ground-truth-demo/train.manifest",
    ground_truth_validation_manifest_location="s3://your-bucket-name/mini-image-classification/ground-truth-demo/validation.manifest",
    ground_truth_output_location="s3://your-bucket-name/mini-image-classification/ground-truth-demo/output",
    ground_truth_task_type="image classification",
    ground_truth_worker_type="private",
    ground_truth_label_category_config="s3://your-bucket-name/mini-image-classification/ground-truth-demo/class_labels.json",
    ground_truth_ui_template="s3://your-bucket-name/mini-image-classification/ground-truth-demo/instructions.template",
    ground_truth_title="Mini image classification",
    ground_truth_description="Test for Ground Truth KFP component",
    ground_truth_num_workers_per_object=1,
    ground_truth_time_limit=30,
    ground_truth_task_availibility=3600,
    ground_truth_max_concurrent_tasks=20,
    training_algorithm_name="image classification",
    training_input_mode="Pipe",
    training_hyperparameters={
        "num_classes": "2",
        "num_training_samples": "14",
        "mini_batch_size": "2",
    },
    training_output_location="s3://your-bucket-name/mini-image-classification/training-output",
    training_instance_type="ml.m5.2xlarge",
    training_instance_count=1,
    training_volume_size=50,
    training_max_run_time=3600,
    role_arn="",
):
    workteam = sagemaker_workteam_op(
        region=region,
        team_name=team_name,
        description=team_description,
        user_pool=user_pool,
        user_groups=user_groups,
        client_id=client_id,
    )
    labeled = {}
    for split, job_name, manifest in (
        ("train", ground_truth_train_job_name, ground_truth_train_manifest_location),
        ("validation", ground_truth_validation_job_name, ground_truth_validation_manifest_location),
    ):
        labeled[split] = sagemaker_gt_op(
            region=region,
            role=role_arn,
            job_name=job_name,
            label_attribute_name=ground_truth_label_attribute_name,
            manifest_location=manifest,
            output_location=ground_truth_output_location,
            task_type=ground_truth_task_type,
            worker_type=ground_truth_worker_type,
            workteam_arn=workteam.output,
            label_category_config=ground_truth_label_category_config,
            ui_template=ground_truth_ui_template,
            title=ground_truth_title,
            description=ground_truth_description,
            num_workers_per_object=ground_truth_num_workers_per_object,
            time_limit=ground_truth_time_limit,
            task_availibility=ground_truth_task_availibility,
            max_concurrent_tasks=ground_truth_max_concurrent_tasks,
        )
    channels = []
    for split, job in labeled.items():
        channel = copy.deepcopy(CHANNEL)
        channel["ChannelName"] = split
        channel["DataSource"]["S3DataSource"]["S3Uri"] = str(
            job.outputs["output_manifest_location"]
        )
        channels.append(channel)
    sagemaker_train_op(
        region=region,
        algorithm_name=training_algorithm_name,
        training_input_mode=training_input_mode,
        hyperparameters=training_hyperparameters,
        channels=json.dumps(channels),
        instance_type=training_instance_type,
        instance_count=training_instance_count,
        volume_size=training_volume_size,
        max_run_time=training_max_run_time,
        model_artifact_path=training_output_location,
        role=role_arn,
    )


def every_v1_connection(role_arn="", bucket_name=""):
    """New: each output-to-input connection v1 pipelines make, in one pipeline."""
    region, image = "us-east-1", "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
    channels = [training_input("train", f"s3://{bucket_name}/train")]
    hpo = sagemaker_hpo_op(
        region=region,
        image=image,
        metric_name="test:msd",
        metric_type="Minimize",
        static_parameters={"k": "10"},
        channels=channels,
        integer_parameters=[{"Name": "mini_batch_size", "MinValue": "500", "MaxValue": "600"}],
        output_location=f"s3://{bucket_name}/hpo",
        max_num_jobs=2,
        max_parallel_jobs=1,
        role=role_arn,
    )
    best_model = sagemaker_model_op(
        region=region,
        model_name=hpo.outputs["best_job_name"],
        image=hpo.outputs["training_image"],
        model_artifact_url=hpo.outputs["model_artifact_url"],
        role=role_arn,
    )
    training = sagemaker_train_op(
        region=region,
        image=image,
        hyperparameters=hpo.outputs["best_hyperparameters"],
        channels=channels,
        model_artifact_path=f"s3://{bucket_name}/train-output",
        role=role_arn,
    )
    model = sagemaker_model_op(
        region=region,
        model_name=training.outputs["job_name"],
        image=training.outputs["training_image"],
        model_artifact_url=training.outputs["model_artifact_url"],
        role=role_arn,
    )
    endpoint = sagemaker_deploy_op(
        region=region, model_name_1=model.output, model_name_2=best_model.output
    )
    sagemaker_deploy_op(
        region=region,
        endpoint_name=endpoint.output,
        model_name_1=best_model.output,
        update_endpoint=True,
    )
    sagemaker_batch_transform_op(
        region=region,
        model_name=model.output,
        input_location=f"s3://{bucket_name}/in",
        output_location=f"s3://{bucket_name}/out",
    )
    workteam = sagemaker_workteam_op(
        region=region,
        team_name="labelers",
        description="d",
        user_pool="us-east-1_AbCdEf123",
        user_groups="g",
        client_id="6vgq9ua1pv6klbbrlcmd7sl3fd",
    )
    sagemaker_gt_op(
        region=region,
        role=role_arn,
        manifest_location=f"s3://{bucket_name}/in.manifest",
        output_location=f"s3://{bucket_name}/labels",
        task_type="image classification",
        worker_type="private",
        workteam_arn=workteam.output,
        label_category_config=f"s3://{bucket_name}/labels.json",
        ui_template=f"s3://{bucket_name}/ui.template",
        title="t",
        description="d",
        num_workers_per_object=1,
        time_limit=30,
    )


# Each pipeline function and what v1 passed to @dsl.pipeline (applied by the SDK at hand).
PIPELINES = [
    (
        create_model_pipeline,
        dict(name="Create Model in SageMaker", description="SageMaker model component test"),
    ),
    (
        create_endpoint_pipeline,
        dict(
            name="Create Hosting Endpoint in SageMaker",
            description="SageMaker deploy component test",
        ),
    ),
    (
        update_endpoint_pipeline,
        dict(
            name="Create Hosting Endpoint in SageMaker",
            description="SageMaker deploy component test",
        ),
    ),
    (
        batch_transform_pipeline,
        dict(
            name="Batch Transform Job in SageMaker",
            description="SageMaker batch transform component test",
        ),
    ),
    (training_pipeline, dict(name="SageMaker Training", description="SageMaker training job test")),
    (
        hpo_pipeline,
        dict(name="SageMaker HyperParameter Tuning", description="SageMaker HPO job test"),
    ),
    (
        processing_pipeline,
        dict(name="SageMaker Processing", description="SageMaker processing job test"),
    ),
    (
        workteam_test,
        dict(
            name="SageMaker WorkTeam test pipeline", description="SageMaker WorkTeam test pipeline"
        ),
    ),
    (
        groundtruth_pipeline,
        dict(name="SageMaker GroundTruth image classification test pipeline", description="test"),
    ),
    (
        mnist_classification,
        dict(
            name="MNIST Classification pipeline",
            description="MNIST Classification using KMEANS in SageMaker",
        ),
    ),
    (
        mnist_classification_with_cleanup,
        dict(
            name="MNIST Classification pipeline with cleanup",
            description="the same, with an exit handler",
        ),
    ),
    (every_v1_connection, dict(name="Every v1 connection")),
    (
        ground_truth_test,
        dict(
            name="Ground Truth image classification test pipeline",
            description="SageMaker Ground Truth job test",
        ),
    ),
]


def main(out_dir):
    """kfp 1.8: compile every pipeline to an Argo workflow."""
    import kfp

    failed = 0
    for function, decorator in PIPELINES:
        try:
            pipeline = dsl.pipeline(**decorator)(function)
            kfp.compiler.Compiler().compile(pipeline, f"{out_dir}/{function.__name__}.yaml")
            print(f"compiled {function.__name__}")
        except Exception:
            failed += 1
            print(f"FAILED {function.__name__}", file=sys.stderr)
            traceback.print_exc()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
