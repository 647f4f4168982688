"""Built-in algorithm names -> their registry image for a region.

v1 let ``algorithm_name`` name a SageMaker built-in algorithm by its display name ("K-Means",
"Linear Learner", ...; any case) or by its repository name ("kmeans", "linear-learner"), and
looked the image up with the SageMaker Python SDK's image-URI tables. Those tables are carried
over here as data: which registry account serves each algorithm in each region.

Sources (facts, not code): the SageMaker Python SDK's ``image_uri_config`` (``kmeans.json``,
``xgboost.json``, ...) and its unit tests of them (``tests/unit/sagemaker/image_uris``:
``test_algos.py``, ``test_xgboost.py``), which list every region the SDK serves the
algorithms in. Most algorithms are tagged ``:1``; XGBoost is served as the open-source
framework image ``sagemaker-xgboost`` with a version tag (the old ``xgboost:1`` image is
deprecated).

A name that is not a built-in is not ours to resolve: ``builtin_image`` returns None and the
component sends it as ``AlgorithmName`` (an own or marketplace algorithm resource).
"""

from __future__ import annotations

from collections.abc import Mapping

from components.common.inputs import InputError

XGBOOST_VERSION = "1.7-1"  # the newest the SDK's tables carry in every one of its regions

# Algorithms that share one registry account per region (the SDK's test_algos.py groups).
_TABULAR: Mapping[str, str] = {
    "af-south-1": "455444449433",
    "ap-east-1": "286214385809",
    "ap-northeast-1": "351501993468",
    "ap-northeast-2": "835164637446",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "991648021394",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "475088953585",
    "ap-southeast-2": "712309505854",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "469771592824",
    "cn-north-1": "390948362332",
    "cn-northwest-1": "387376663083",
    "eu-central-1": "664544806723",
    "eu-central-2": "680994064768",
    "eu-north-1": "669576153137",
    "eu-south-1": "257386234256",
    "eu-south-2": "104374241257",
    "eu-west-1": "438346466558",
    "eu-west-2": "644912444149",
    "eu-west-3": "749696950732",
    "il-central-1": "898809789911",
    "me-central-1": "272398656194",
    "me-south-1": "249704162688",
    "sa-east-1": "855470959533",
    "us-east-1": "382416733822",
    "us-east-2": "404615174143",
    "us-gov-east-1": "237065988967",
    "us-gov-west-1": "226302683700",
    "us-iso-east-1": "490574956308",
    "us-isob-east-1": "765400339828",
    "us-west-1": "632365934929",
    "us-west-2": "174872318107",
}
_VISION_TEXT: Mapping[str, str] = {
    "af-south-1": "455444449433",
    "ap-east-1": "286214385809",
    "ap-northeast-1": "501404015308",
    "ap-northeast-2": "306986355934",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "991648021394",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "475088953585",
    "ap-southeast-2": "544295431143",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "469771592824",
    "cn-north-1": "390948362332",
    "cn-northwest-1": "387376663083",
    "eu-central-1": "813361260812",
    "eu-central-2": "680994064768",
    "eu-north-1": "669576153137",
    "eu-south-1": "257386234256",
    "eu-south-2": "104374241257",
    "eu-west-1": "685385470294",
    "eu-west-2": "644912444149",
    "eu-west-3": "749696950732",
    "il-central-1": "898809789911",
    "me-central-1": "272398656194",
    "me-south-1": "249704162688",
    "sa-east-1": "855470959533",
    "us-east-1": "811284229777",
    "us-east-2": "825641698319",
    "us-gov-east-1": "237065988967",
    "us-gov-west-1": "226302683700",
    "us-iso-east-1": "490574956308",
    "us-isob-east-1": "765400339828",
    "us-west-1": "632365934929",
    "us-west-2": "433757028032",
}
_DEEPAR: Mapping[str, str] = {
    "af-south-1": "455444449433",
    "ap-east-1": "286214385809",
    "ap-northeast-1": "633353088612",
    "ap-northeast-2": "204372634319",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "991648021394",
    "ap-southeast-1": "475088953585",
    "ap-southeast-2": "514117268639",
    "ca-central-1": "469771592824",
    "cn-north-1": "390948362332",
    "cn-northwest-1": "387376663083",
    "eu-central-1": "495149712605",
    "eu-north-1": "669576153137",
    "eu-south-1": "257386234256",
    "eu-west-1": "224300973850",
    "eu-west-2": "644912444149",
    "eu-west-3": "749696950732",
    "me-south-1": "249704162688",
    "sa-east-1": "855470959533",
    "us-east-1": "522234722520",
    "us-east-2": "566113047672",
    "us-gov-west-1": "226302683700",
    "us-iso-east-1": "490574956308",
    "us-isob-east-1": "765400339828",
    "us-west-1": "632365934929",
    "us-west-2": "156387875391",
}
_LDA: Mapping[str, str] = {
    "ap-northeast-1": "258307448986",
    "ap-northeast-2": "293181348795",
    "ap-south-1": "991648021394",
    "ap-southeast-1": "475088953585",
    "ap-southeast-2": "297031611018",
    "ca-central-1": "469771592824",
    "eu-central-1": "353608530281",
    "eu-west-1": "999678624901",
    "eu-west-2": "644912444149",
    "us-east-1": "766337827248",
    "us-east-2": "999911452149",
    "us-gov-west-1": "226302683700",
    "us-iso-east-1": "490574956308",
    "us-isob-east-1": "765400339828",
    "us-west-1": "632365934929",
    "us-west-2": "266724342769",
}
# The framework accounts (sagemaker-xgboost, sagemaker-scikit-learn share them).
_FRAMEWORK: Mapping[str, str] = {
    "af-south-1": "510948584623",
    "ap-east-1": "651117190479",
    "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "720646828776",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "341280168497",
    "cn-north-1": "450853457545",
    "cn-northwest-1": "451049120500",
    "eu-central-1": "492215442770",
    "eu-central-2": "680994064768",
    "eu-north-1": "662702820516",
    "eu-south-1": "978288397137",
    "eu-south-2": "104374241257",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "il-central-1": "898809789911",
    "me-central-1": "272398656194",
    "me-south-1": "801668240914",
    "sa-east-1": "737474898029",
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-gov-east-1": "237065988967",
    "us-gov-west-1": "414596584902",
    "us-iso-east-1": "833128469047",
    "us-isob-east-1": "281123927165",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
}

# repository -> (tag, registry account per region)
IMAGES: Mapping[str, tuple[str, Mapping[str, str]]] = {
    "blazingtext": ("1", _VISION_TEXT),
    "factorization-machines": ("1", _TABULAR),
    "forecasting-deepar": ("1", _DEEPAR),
    "image-classification": ("1", _VISION_TEXT),
    "ipinsights": ("1", _TABULAR),
    "kmeans": ("1", _TABULAR),
    "knn": ("1", _TABULAR),
    "lda": ("1", _LDA),
    "linear-learner": ("1", _TABULAR),
    "ntm": ("1", _TABULAR),
    "object-detection": ("1", _VISION_TEXT),
    "object2vec": ("1", _TABULAR),
    "pca": ("1", _TABULAR),
    "randomcutforest": ("1", _TABULAR),
    "semantic-segmentation": ("1", _VISION_TEXT),
    "seq2seq": ("1", _VISION_TEXT),
    "sagemaker-xgboost": (XGBOOST_VERSION, _FRAMEWORK),
}

# v1's display names (lower case) -> repository.
DISPLAY_NAMES: Mapping[str, str] = {
    "blazingtext": "blazingtext",
    "deepar forecasting": "forecasting-deepar",
    "factorization machines": "factorization-machines",
    "image classification": "image-classification",
    "ip insights": "ipinsights",
    "k-means": "kmeans",
    "k-nearest neighbors": "knn",
    "k-nn": "knn",
    "lda": "lda",
    "linear learner": "linear-learner",
    "neural topic model": "ntm",
    "object2vec": "object2vec",
    "object detection": "object-detection",
    "pca": "pca",
    "random cut forest": "randomcutforest",
    "semantic segmentation": "semantic-segmentation",
    "sequence to sequence": "seq2seq",
    "seq2seq modeling": "seq2seq",
    "xgboost": "sagemaker-xgboost",
}
# v1 also took the repository names ("kmeans", "linear-learner"), as the SDK calls them.
_REPOSITORY_ALIASES: Mapping[str, str] = {
    repository: repository for repository in IMAGES if repository != "sagemaker-xgboost"
}


def repository_of(algorithm_name: str) -> str | None:
    """The registry repository of a built-in algorithm's display or repository name, or None."""
    key = " ".join(algorithm_name.lower().split())
    return DISPLAY_NAMES.get(key) or _REPOSITORY_ALIASES.get(key)


def dns_suffix(region: str) -> str:
    """The registry host's domain in the region's partition."""
    if region.startswith("cn-"):
        return "amazonaws.com.cn"
    if region.startswith("us-isob-"):
        return "sc2s.sgov.gov"
    if region.startswith("us-iso-"):
        return "c2s.ic.gov"
    return "amazonaws.com"


def builtin_image(algorithm_name: str, region: str) -> str | None:
    """The image of a SageMaker built-in algorithm by its display name, or None if not built in.

    Raises InputError when the algorithm is built in but not served in ``region``.
    """
    repository = repository_of(algorithm_name)
    if repository is None:
        return None
    tag, accounts = IMAGES[repository]
    region = region.strip()
    account = accounts.get(region)
    if account is None:
        raise InputError(
            "algorithm_name",
            f"the built-in algorithm {algorithm_name!r} has no image in region {region!r} "
            f"(known regions: {', '.join(sorted(accounts))}); give its image instead",
        )
    return f"{account}.dkr.ecr.{region}.{dns_suffix(region)}/{repository}:{tag}"
