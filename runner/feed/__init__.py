"""The change feed: SageMaker's state-change events, from EventBridge through an SQS queue.

AWS's own orchestrator follows SageMaker jobs this way (Step Functions ``.sync``: events plus
Describe); a List sweep on an account with a long history pages through all of it. Three parts:

    changes    the events' format, typed ``Change`` values, and their order (dedupe, reorder)
    setup      ``setup_feed``/``teardown_feed``: the queue, the rule, its target, the policy
    consumer   ``FeedConsumer``: long-polls the queue, yields new changes, reports its health

The feed knows nothing of the Runner: a caller says which (kind, name) it follows and decides
what a change means (wake a poll, settle a job after its Describe). Polling stays the safety
net: the consumer's ``health`` says when the feed is quiet or unhealthy.
"""

from __future__ import annotations

from runner.config import DEFAULT_FEED_QUEUE as DEFAULT_QUEUE
from runner.feed.changes import DETAIL_TYPES, Change, ChangeOrder, MalformedEvent, parse_change
from runner.feed.consumer import FeedConsumer, FeedHealth, FeedState
from runner.feed.setup import FeedReport, Step, setup_feed, teardown_feed

__all__ = [
    "DEFAULT_QUEUE",
    "DETAIL_TYPES",
    "Change",
    "ChangeOrder",
    "FeedConsumer",
    "FeedHealth",
    "FeedReport",
    "FeedState",
    "MalformedEvent",
    "Step",
    "parse_change",
    "setup_feed",
    "teardown_feed",
]
