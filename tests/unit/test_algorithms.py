"""Built-in algorithm names resolve to the SageMaker SDK's registry images, as v1 resolved them."""

from __future__ import annotations

import re

import pytest

from components.common.algorithms import (
    DISPLAY_NAMES,
    IMAGES,
    XGBOOST_VERSION,
    builtin_image,
    repository_of,
)
from components.common.inputs import InputError

# The commercial regions the SDK's tables serve every algorithm but DeepAR and LDA in.
COMMERCIAL = [
    "af-south-1",
    "ap-east-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ca-central-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
]
IMAGE_URI = re.compile(
    r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.(amazonaws\.com|amazonaws\.com\.cn|c2s\.ic\.gov"
    r"|sc2s\.sgov\.gov)/([a-z0-9-]+):([0-9.-]+)$"
)


@pytest.mark.parametrize(
    ("name", "region", "image"),
    [
        ("K-Means", "us-east-1", "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"),
        ("k-means", "us-west-2", "174872318107.dkr.ecr.us-west-2.amazonaws.com/kmeans:1"),
        (
            "  Linear   Learner ",
            "eu-west-1",
            "438346466558.dkr.ecr.eu-west-1.amazonaws.com/linear-learner:1",
        ),
        ("BlazingText", "us-east-1", "811284229777.dkr.ecr.us-east-1.amazonaws.com/blazingtext:1"),
        (
            "DeepAR Forecasting",
            "us-east-2",
            "566113047672.dkr.ecr.us-east-2.amazonaws.com/forecasting-deepar:1",
        ),
        (
            "Factorization Machines",
            "ap-northeast-1",
            "351501993468.dkr.ecr.ap-northeast-1.amazonaws.com/factorization-machines:1",
        ),
        (
            "Image Classification",
            "eu-central-1",
            "813361260812.dkr.ecr.eu-central-1.amazonaws.com/image-classification:1",
        ),
        (
            "IP Insights",
            "ca-central-1",
            "469771592824.dkr.ecr.ca-central-1.amazonaws.com/ipinsights:1",
        ),
        ("K-Nearest Neighbors", "us-east-1", "382416733822.dkr.ecr.us-east-1.amazonaws.com/knn:1"),
        ("k-NN", "us-east-1", "382416733822.dkr.ecr.us-east-1.amazonaws.com/knn:1"),
        ("LDA", "us-east-1", "766337827248.dkr.ecr.us-east-1.amazonaws.com/lda:1"),
        ("Neural Topic Model", "sa-east-1", "855470959533.dkr.ecr.sa-east-1.amazonaws.com/ntm:1"),
        ("Object2Vec", "me-south-1", "249704162688.dkr.ecr.me-south-1.amazonaws.com/object2vec:1"),
        (
            "Object Detection",
            "ap-southeast-2",
            "544295431143.dkr.ecr.ap-southeast-2.amazonaws.com/object-detection:1",
        ),
        ("PCA", "eu-north-1", "669576153137.dkr.ecr.eu-north-1.amazonaws.com/pca:1"),
        (
            "Random Cut Forest",
            "us-west-1",
            "632365934929.dkr.ecr.us-west-1.amazonaws.com/randomcutforest:1",
        ),
        (
            "Semantic Segmentation",
            "il-central-1",
            "898809789911.dkr.ecr.il-central-1.amazonaws.com/semantic-segmentation:1",
        ),
        (
            "Sequence to Sequence",
            "us-west-2",
            "433757028032.dkr.ecr.us-west-2.amazonaws.com/seq2seq:1",
        ),
        ("seq2seq modeling", "us-west-2", "433757028032.dkr.ecr.us-west-2.amazonaws.com/seq2seq:1"),
        (
            "XGBoost",
            "us-east-1",
            f"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:{XGBOOST_VERSION}",
        ),
        (
            "xgboost",
            "eu-west-2",
            f"764974769150.dkr.ecr.eu-west-2.amazonaws.com/sagemaker-xgboost:{XGBOOST_VERSION}",
        ),
        # v1 also took the repository names.
        ("kmeans", "us-east-1", "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"),
        (
            "Linear-Learner",
            "us-east-1",
            "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1",
        ),
        # Other partitions: their own registry domains.
        ("K-Means", "cn-north-1", "390948362332.dkr.ecr.cn-north-1.amazonaws.com.cn/kmeans:1"),
        ("PCA", "us-gov-west-1", "226302683700.dkr.ecr.us-gov-west-1.amazonaws.com/pca:1"),
        ("PCA", "us-iso-east-1", "490574956308.dkr.ecr.us-iso-east-1.c2s.ic.gov/pca:1"),
        ("PCA", "us-isob-east-1", "765400339828.dkr.ecr.us-isob-east-1.sc2s.sgov.gov/pca:1"),
    ],
)
def test_builtin_names_resolve_to_the_region_image(name: str, region: str, image: str) -> None:
    assert builtin_image(name, region) == image


@pytest.mark.parametrize(
    "name",
    [
        "my-own-algorithm",
        "arn:aws:sagemaker:us-east-1:123456789012:algorithm/mine",
        "kmeans-v2",
        "",
    ],
)
def test_other_names_are_not_built_in(name: str) -> None:
    assert builtin_image(name, "us-east-1") is None
    assert builtin_image(name, "nowhere-1") is None  # the region only matters for built-ins


def test_a_region_without_the_algorithm_is_an_input_error() -> None:
    with pytest.raises(InputError) as caught:
        builtin_image("LDA", "eu-west-3")
    assert caught.value.name == "algorithm_name"
    assert "'LDA'" in str(caught.value) and "'eu-west-3'" in str(caught.value)
    with pytest.raises(InputError, match="mars-north-1"):
        builtin_image("K-Means", "mars-north-1")


def test_every_display_name_of_v1_is_known() -> None:
    v1_names = {
        "blazingtext", "deepar forecasting", "factorization machines", "image classification",
        "ip insights", "k-means", "k-nearest neighbors", "k-nn", "lda", "linear learner",
        "neural topic model", "object2vec", "object detection", "pca", "random cut forest",
        "semantic segmentation", "sequence to sequence", "seq2seq modeling", "xgboost",
    }  # fmt: skip
    assert set(DISPLAY_NAMES) == v1_names
    assert all(repository_of(name) in IMAGES for name in v1_names)


@pytest.mark.parametrize("repository", sorted(IMAGES))
def test_every_algorithm_is_served_in_the_main_commercial_regions(repository: str) -> None:
    _, accounts = IMAGES[repository]
    main_regions = {"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2",
                    "eu-central-1", "ap-northeast-1", "ap-northeast-2", "ap-south-1",
                    "ap-southeast-1", "ap-southeast-2", "ca-central-1"}  # fmt: skip
    assert main_regions <= set(accounts)
    if repository not in ("lda", "forecasting-deepar"):
        assert set(COMMERCIAL) <= set(accounts), set(COMMERCIAL) - set(accounts)


@pytest.mark.parametrize("repository", sorted(IMAGES))
def test_every_image_is_well_formed(repository: str) -> None:
    tag, accounts = IMAGES[repository]
    name = next(n for n, r in DISPLAY_NAMES.items() if r == repository)
    for region in accounts:
        image = builtin_image(name, region)
        assert image is not None
        match = IMAGE_URI.match(image)
        assert match, image
        assert match.group(2) == region and match.group(4) == repository and match.group(5) == tag
