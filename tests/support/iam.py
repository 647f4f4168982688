"""Operation -> IAM action, where the two differ: the policy test (tests/unit/test_iam_policy.py)
and its cross-check against what a launch calls (tests/integration/test_iam_calls.py).

The Service Authorization Reference ("Actions defined by Amazon SQS") authorizes SQS's batch
calls as their single-message actions.
"""

from __future__ import annotations

AUTHORIZED_AS = {
    ("sqs", "DeleteMessageBatch"): "DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "ChangeMessageVisibility",
}


def authorized_as(service: str, operation: str) -> str:
    """The IAM action name (without its service prefix) that allows ``operation``."""
    return AUTHORIZED_AS.get((service, operation), operation)
