"""Amazon SQS standard queues: what a consumer of SageMaker's events through EventBridge needs.

Over SQS's JSON 1.0 protocol (``X-Amz-Target: AmazonSQS.ReceiveMessage``), the one the pinned
botocore speaks (its model's metadata: ``protocol: json``, ``awsQueryCompatible``); errors
carry their old query codes as SQS sends them (``errors``). Behaviour, from the SQS API
Reference and Developer Guide:

* CreateQueue returns the existing queue's URL when the name and every attribute given match,
  and fails with ``QueueNameExists`` (query code ``QueueAlreadyExists``) when an attribute
  differs; a name deleted less than 60 seconds ago is refused with ``QueueDeletedRecently``
  ("you must wait 60 seconds after deleting a queue before you can create another queue with
  the same name").
* ReceiveMessage returns up to ``MaxNumberOfMessages`` (1 to 10) visible messages; each
  received message becomes invisible for the request's ``VisibilityTimeout`` or the queue's,
  gets a new receipt handle and a higher ``ApproximateReceiveCount``. With ``WaitTimeSeconds``
  (0 to 20, default the queue's ``ReceiveMessageWaitTimeSeconds``) it long-polls: it answers as
  soon as a message is visible, or empty when the wait ends.
* DeleteMessage needs the latest receipt handle: an older one of the same message succeeds
  without deleting it ("otherwise, the request succeeds, but the message will not be
  deleted"); a handle that is not one is ``ReceiptHandleIsInvalid``.
* ChangeMessageVisibility on a message that is not in flight is ``MessageNotInflight``;
  a timeout of 0 makes it visible at once.
* Batch calls take 1 to 10 entries with distinct ids of at most 80 alphanumerics, hyphens and
  underscores (``EmptyBatchRequest``, ``TooManyEntriesInBatchRequest``,
  ``BatchEntryIdsNotDistinct``, ``InvalidBatchEntryId``); per-entry failures go in ``Failed``.
* A missing queue is ``QueueDoesNotExist``, query code
  ``AWS.SimpleQueueService.NonExistentQueue``, "The specified queue does not exist."

Queue URLs are ``http://<the host the client called>/<account>/<name>`` (as moto and
ElasticMQ answer locally; AWS's are ``https://sqs.<region>.amazonaws.com/<account>/<name>``):
a queue is found by its URL's last two path segments, whatever the host.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import contextvars
import hashlib
import itertools
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from emulator import errors
from emulator.state import Emulator, Params, Response, awaiting_operation, operation

# The host clients reach the emulator at (set per request by the server): queue URLs name it.
HOST: contextvars.ContextVar[str] = contextvars.ContextVar("sqs_host", default="127.0.0.1")

DELETED_NAME_WAIT = 60.0
MAX_BATCH = 10
MAX_WAIT_SECONDS = 20
MAX_VISIBILITY_TIMEOUT = 43_200
_BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")

# Settable attributes and their defaults (CreateQueue's API reference).
DEFAULT_ATTRIBUTES = {
    "DelaySeconds": "0",
    "MaximumMessageSize": "262144",
    "MessageRetentionPeriod": "345600",
    "ReceiveMessageWaitTimeSeconds": "0",
    "VisibilityTimeout": "30",
}
_SETTABLE = (*DEFAULT_ATTRIBUTES, "Policy", "RedrivePolicy", "RedriveAllowPolicy")
_RANGES = {
    "DelaySeconds": (0, 900),
    "MaximumMessageSize": (1024, 1_048_576),
    "MessageRetentionPeriod": (60, 1_209_600),
    "ReceiveMessageWaitTimeSeconds": (0, MAX_WAIT_SECONDS),
    "VisibilityTimeout": (0, MAX_VISIBILITY_TIMEOUT),
}
_COMPUTED = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
)
_SYSTEM_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "SentTimestamp",
    "SenderId",
)


def queue_does_not_exist() -> errors.AwsError:
    return errors.AwsError(
        "QueueDoesNotExist",
        "The specified queue does not exist.",
        query_code="AWS.SimpleQueueService.NonExistentQueue",
    )


def _invalid_parameter(message: str) -> errors.AwsError:
    return errors.AwsError("InvalidParameterValue", message, query_code="InvalidParameterValue")


def _receipt_handle_invalid(handle: str) -> errors.AwsError:
    return errors.AwsError(
        "ReceiptHandleIsInvalid",
        f'The input receipt handle "{handle}" is not a valid receipt handle.',
        query_code="ReceiptHandleIsInvalid",
    )


@dataclass(eq=False)
class Message:
    """One message: its body, when it becomes visible, and who received it how often."""

    message_id: str
    body: str
    sent_at: float
    visible_at: float
    sender: str
    receive_count: int = 0
    first_received_at: float | None = None
    receipt: str = ""  # the latest receipt handle
    delivered: bool = False  # it has been visible once (no longer "delayed")


@dataclass(eq=False)
class Queue:
    name: str
    url_path: str  # "/<account>/<name>"
    arn: str
    created_at: float
    attributes: dict[str, str]
    modified_at: float = 0.0
    messages: dict[str, Message] = field(default_factory=dict)  # by id, in sending order
    _changed: asyncio.Event | None = field(default=None, repr=False)

    def attribute(self, name: str) -> int:
        return int(self.attributes.get(name, DEFAULT_ATTRIBUTES[name]))

    def put(self, message: Message) -> None:
        self.messages[message.message_id] = message
        self.changed()

    def changed(self) -> None:
        """Wake the long polls waiting on this queue."""
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def change_event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def expire(self, now: float) -> None:
        """Drop the messages older than the retention period."""
        oldest = now - self.attribute("MessageRetentionPeriod")
        for message_id in [m.message_id for m in self.messages.values() if m.sent_at < oldest]:
            del self.messages[message_id]

    def visible(self, now: float) -> list[Message]:
        ready = [m for m in self.messages.values() if m.visible_at <= now]
        ready.sort(key=lambda m: m.visible_at)
        return ready

    def next_visible_at(self, now: float) -> float | None:
        later = [m.visible_at for m in self.messages.values() if m.visible_at > now]
        return min(later, default=None)

    def counts(self, now: float) -> dict[str, int]:
        visible = in_flight = delayed = 0
        for message in self.messages.values():
            if message.visible_at <= now:
                visible += 1
            elif message.receive_count:
                in_flight += 1
            else:
                delayed += 1
        return {
            "ApproximateNumberOfMessages": visible,
            "ApproximateNumberOfMessagesNotVisible": in_flight,
            "ApproximateNumberOfMessagesDelayed": delayed,
        }


class Queues:
    """The account's queues, by name, and the names deleted lately."""

    def __init__(self, em: Emulator) -> None:
        self.em = em
        self.by_name: dict[str, Queue] = {}
        self.deleted_at: dict[str, float] = {}
        self._handles = itertools.count(1)
        self.closing = False  # the server is stopping: long polls answer at once

    def close(self) -> None:
        """End every long poll now (empty), so that a server stops without waiting out their
        WaitTimeSeconds for clients that are gone."""
        self.closing = True
        for queue in self.by_name.values():
            queue.changed()

    def schedule_changed(self) -> None:
        """Jobs or endpoints changed what they will publish (one was created, stopped,
        updated): every long poll looks again and sleeps until the new next event, so that it
        answers as soon as that event's message is visible, as SQS's does."""
        for queue in self.by_name.values():
            queue.changed()

    def url(self, queue: Queue) -> str:
        return f"http://{HOST.get()}{queue.url_path}"

    def arn(self, name: str) -> str:
        return f"arn:aws:sqs:{self.em.config.region}:{self.em.config.account_id}:{name}"

    def by_url(self, url: str) -> Queue:
        parts = url.rstrip("/").rsplit("/", 2)
        if len(parts) < 3 or parts[-2] != self.em.config.account_id:
            raise queue_does_not_exist()
        queue = self.by_name.get(parts[-1])
        if queue is None:
            raise queue_does_not_exist()
        return queue

    def by_arn(self, arn: str) -> Queue | None:
        prefix, _, name = arn.rpartition(":")
        queue = self.by_name.get(name)
        return queue if queue is not None and prefix == queue.arn.rpartition(":")[0] else None

    def receipt(self, queue: Queue, message: Message) -> str:
        raw = f"{queue.name}:{message.message_id}:{next(self._handles)}:{uuid.uuid4().hex}"
        return base64.b64encode(raw.encode()).decode()

    def message_of(self, queue: Queue, handle: str) -> Message | None:
        """The message a receipt handle is for (None if it is gone); ``ReceiptHandleIsInvalid``
        when ``handle`` is not a handle of this queue."""
        try:
            name, message_id, _serial, _nonce = (
                base64.b64decode(handle, validate=True).decode().split(":")
            )
        except ValueError:
            raise _receipt_handle_invalid(handle) from None
        if name != queue.name:
            raise _receipt_handle_invalid(handle)
        return queue.messages.get(message_id)


def queues(em: Emulator) -> Queues:
    return em.sqs


# --- queues ----------------------------------------------------------------------------------


def _attribute_problems(attributes: dict[str, str]) -> None:
    for name, value in attributes.items():
        if name not in _SETTABLE:
            raise errors.AwsError(
                "InvalidAttributeName",
                f"Unknown Attribute {name}.",
                query_code="InvalidAttributeName",
            )
        if name in _RANGES:
            low, high = _RANGES[name]
            if not value.isdigit() or not low <= int(value) <= high:
                raise errors.AwsError(
                    "InvalidAttributeValue",
                    f"Invalid value for the parameter {name}.",
                    query_code="InvalidAttributeValue",
                )


@operation("sqs", "CreateQueue")
def create_queue(em: Emulator, params: Params) -> Response:
    name = params["QueueName"]
    attributes = dict(params.get("Attributes") or {})
    if not _QUEUE_NAME.match(name):
        raise _invalid_parameter(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
        )
    if name.endswith(".fifo") or attributes.get("FifoQueue") == "true":
        raise _invalid_parameter("The emulator serves standard queues only, not FIFO queues.")
    _attribute_problems(attributes)
    store, now = queues(em), em.now()
    existing = store.by_name.get(name)
    if existing is not None:
        if any(
            existing.attributes.get(key, DEFAULT_ATTRIBUTES.get(key)) != value
            for key, value in attributes.items()
        ):
            raise errors.AwsError(
                "QueueNameExists",
                "A queue already exists with the same name and a different value for attribute(s)"
                f" {', '.join(sorted(attributes))}",
                query_code="QueueAlreadyExists",
            )
        return {"QueueUrl": store.url(existing)}
    deleted = store.deleted_at.get(name)
    if deleted is not None and now - deleted < DELETED_NAME_WAIT:
        raise errors.AwsError(
            "QueueDeletedRecently",
            "You must wait 60 seconds after deleting a queue before you can create another queue "
            "with the same name.",
            query_code="AWS.SimpleQueueService.QueueDeletedRecently",
        )
    queue = Queue(
        name=name,
        url_path=f"/{em.config.account_id}/{name}",
        arn=store.arn(name),
        created_at=now,
        modified_at=now,
        attributes=attributes,
    )
    store.by_name[name] = queue
    if params.get("tags"):
        em.tags[queue.arn] = dict(params["tags"])
    return {"QueueUrl": store.url(queue)}


@operation("sqs", "GetQueueUrl")
def get_queue_url(em: Emulator, params: Params) -> Response:
    owner = params.get("QueueOwnerAWSAccountId")
    queue = queues(em).by_name.get(params["QueueName"])
    if queue is None or (owner is not None and owner != em.config.account_id):
        raise queue_does_not_exist()
    return {"QueueUrl": queues(em).url(queue)}


@operation("sqs", "ListQueues")
def list_queues(em: Emulator, params: Params) -> Response:
    store = queues(em)
    prefix = params.get("QueueNamePrefix", "")
    urls = [store.url(q) for name, q in sorted(store.by_name.items()) if name.startswith(prefix)]
    return {"QueueUrls": urls[:1000]} if urls else {}


@operation("sqs", "ListQueueTags")
def list_queue_tags(em: Emulator, params: Params) -> Response:
    """The queue's tags (``smrun events teardown`` reads them to know the queue is smrun's);
    SQS leaves ``Tags`` out of the answer when there are none."""
    tags = em.tags.get(queues(em).by_url(params["QueueUrl"]).arn)
    return {"Tags": dict(tags)} if tags else {}


@operation("sqs", "DeleteQueue")
def delete_queue(em: Emulator, params: Params) -> Response:
    store = queues(em)
    queue = store.by_url(params["QueueUrl"])
    del store.by_name[queue.name]
    store.deleted_at[queue.name] = em.now()
    em.tags.pop(queue.arn, None)
    queue.changed()
    return {}


@operation("sqs", "PurgeQueue")
def purge_queue(em: Emulator, params: Params) -> Response:
    queue = queues(em).by_url(params["QueueUrl"])
    queue.messages.clear()
    return {}


@operation("sqs", "GetQueueAttributes")
def get_queue_attributes(em: Emulator, params: Params) -> Response:
    queue = queues(em).by_url(params["QueueUrl"])
    now = em.now()
    asked = params.get("AttributeNames") or []
    known = {**DEFAULT_ATTRIBUTES, **queue.attributes}
    everything: dict[str, str] = {
        **known,
        **{key: str(value) for key, value in queue.counts(now).items()},
        "CreatedTimestamp": str(int(queue.created_at)),
        "LastModifiedTimestamp": str(int(queue.modified_at)),
        "QueueArn": queue.arn,
    }
    if "All" in asked:
        return {"Attributes": everything}
    unknown = [name for name in asked if name not in _SETTABLE and name not in _COMPUTED]
    if unknown:
        raise errors.AwsError(
            "InvalidAttributeName",
            f"Unknown Attribute {unknown[0]}.",
            query_code="InvalidAttributeName",
        )
    chosen = {name: everything[name] for name in asked if name in everything}
    return {"Attributes": chosen} if chosen else {}


@operation("sqs", "SetQueueAttributes")
def set_queue_attributes(em: Emulator, params: Params) -> Response:
    queue = queues(em).by_url(params["QueueUrl"])
    attributes = dict(params["Attributes"])
    _attribute_problems(attributes)
    for name, value in attributes.items():
        if value == "" and name in ("Policy", "RedrivePolicy", "RedriveAllowPolicy"):
            queue.attributes.pop(name, None)
        else:
            queue.attributes[name] = value
    queue.modified_at = em.now()
    return {}


# --- messages --------------------------------------------------------------------------------


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def enqueue(em: Emulator, queue: Queue, body: str, *, visible_at: float, sender: str) -> Message:
    """Put a message in ``queue``, visible from ``visible_at`` (EventBridge delivers here)."""
    message = Message(
        message_id=str(uuid.uuid4()),
        body=body,
        sent_at=min(em.now(), visible_at),
        visible_at=visible_at,
        sender=sender,
    )
    queue.put(message)
    return message


def _send_one(em: Emulator, queue: Queue, entry: Params) -> Response:
    body = entry["MessageBody"]
    if not body:
        raise errors.AwsError(
            "MissingParameter",
            "The request must contain the parameter MessageBody.",
            query_code="MissingParameter",
        )
    if len(body.encode()) > queue.attribute("MaximumMessageSize"):
        raise _invalid_parameter(
            "One or more parameters are invalid. Reason: Message must be shorter than "
            f"{queue.attribute('MaximumMessageSize')} bytes."
        )
    delay = entry.get("DelaySeconds", queue.attribute("DelaySeconds"))
    if not 0 <= delay <= 900:
        raise _invalid_parameter(
            f"Value {delay} for parameter DelaySeconds is invalid. Reason: must be between 0 "
            "and 900, if provided."
        )
    sender = em.config.account_id
    message = enqueue(em, queue, body, visible_at=em.now() + delay, sender=sender)
    return {"MessageId": message.message_id, "MD5OfMessageBody": _md5(body)}


@operation("sqs", "SendMessage")
def send_message(em: Emulator, params: Params) -> Response:
    return _send_one(em, queues(em).by_url(params["QueueUrl"]), params)


@operation("sqs", "SendMessageBatch")
def send_message_batch(em: Emulator, params: Params) -> Response:
    queue = queues(em).by_url(params["QueueUrl"])
    return _batch(
        params["Entries"], "SendMessageBatchRequestEntry", lambda e: _send_one(em, queue, e)
    )


def _receive_now(em: Emulator, queue: Queue, params: Params) -> list[dict[str, Any]]:
    now = em.now()
    queue.expire(now)
    wanted = params.get("MaxNumberOfMessages", 1)
    timeout = params.get("VisibilityTimeout", queue.attribute("VisibilityTimeout"))
    names = set(params.get("MessageSystemAttributeNames") or []) | set(
        params.get("AttributeNames") or []
    )
    received = []
    for message in queue.visible(now)[:wanted]:
        message.receive_count += 1
        message.delivered = True
        if message.first_received_at is None:
            message.first_received_at = now
        message.visible_at = now + timeout
        message.receipt = queues(em).receipt(queue, message)
        received.append(_message_answer(message, names))
    return received


def _message_answer(message: Message, names: set[str]) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "MessageId": message.message_id,
        "ReceiptHandle": message.receipt,
        "MD5OfBody": _md5(message.body),
        "Body": message.body,
    }
    every = "All" in names
    values = {
        "ApproximateReceiveCount": str(message.receive_count),
        "ApproximateFirstReceiveTimestamp": str(int((message.first_received_at or 0) * 1000)),
        "SentTimestamp": str(int(message.sent_at * 1000)),
        "SenderId": message.sender,
    }
    attributes = {key: value for key, value in values.items() if every or key in names}
    if attributes:
        answer["Attributes"] = attributes
    return answer


def _check_receive(queue: Queue, params: Params) -> float:
    """The request's wait in seconds, after checking its numbers as SQS does."""
    wanted = params.get("MaxNumberOfMessages", 1)
    if not 1 <= wanted <= MAX_BATCH:
        raise _invalid_parameter(
            f"Value {wanted} for parameter MaxNumberOfMessages is invalid. Reason: Must be "
            "between 1 and 10, if provided."
        )
    timeout = params.get("VisibilityTimeout", 0)
    if not 0 <= timeout <= MAX_VISIBILITY_TIMEOUT:
        raise _invalid_parameter(
            f"Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Must be "
            f">= 0 and <= {MAX_VISIBILITY_TIMEOUT}, if provided."
        )
    wait = params.get("WaitTimeSeconds", queue.attribute("ReceiveMessageWaitTimeSeconds"))
    if not 0 <= wait <= MAX_WAIT_SECONDS:
        raise _invalid_parameter(
            f"Value {wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and "
            f"<= {MAX_WAIT_SECONDS}, if provided."
        )
    return float(wait)


@operation("sqs", "ReceiveMessage")
def receive_message(em: Emulator, params: Params) -> Response:
    """Without waiting (direct calls; the server long-polls with ``receive_message_waiting``)."""
    queue = queues(em).by_url(params["QueueUrl"])
    _check_receive(queue, params)
    em.bus.catch_up()
    received = _receive_now(em, queue, params)
    return {"Messages": received} if received else {}


@awaiting_operation("sqs", "ReceiveMessage")
async def receive_message_waiting(em: Emulator, params: Params) -> Response:
    """ReceiveMessage with its long poll: look, then sleep until a message may be visible (one
    is sent, an event is due, an invisible one times out) or the wait ends, and look again."""
    queue = queues(em).by_url(params["QueueUrl"])
    deadline = em.now() + _check_receive(queue, params)
    while True:
        em.bus.catch_up()
        queue = queues(em).by_url(params["QueueUrl"])  # it may have been deleted meanwhile
        received = _receive_now(em, queue, params)
        now = em.now()
        if received or now >= deadline or queues(em).closing:
            return {"Messages": received} if received else {}
        due = [deadline, queue.next_visible_at(now), em.bus.next_due(now)]
        wake = min(when for when in due if when is not None)
        changed = queue.change_event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), timeout=max(wake - now, 0.001))


def _batch(entries: list[Params], entry_name: str, run: Any) -> Response:
    """Run ``run`` on each entry of a batch call: the batch's own errors raise, each entry's go
    in ``Failed``."""
    if not entries:
        raise errors.AwsError(
            "EmptyBatchRequest",
            f"There should be at least one {entry_name} in the request.",
            query_code="AWS.SimpleQueueService.EmptyBatchRequest",
        )
    if len(entries) > MAX_BATCH:
        raise errors.AwsError(
            "TooManyEntriesInBatchRequest",
            f"Maximum number of entries per request are 10. You have sent {len(entries)}.",
            query_code="AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        )
    ids = [entry["Id"] for entry in entries]
    for entry_id in ids:
        if not _BATCH_ID.match(entry_id):
            raise errors.AwsError(
                "InvalidBatchEntryId",
                "A batch entry id can only contain alphanumeric characters, hyphens and "
                "underscores. It can be at most 80 letters long.",
                query_code="AWS.SimpleQueueService.InvalidBatchEntryId",
            )
    repeated = next((entry_id for entry_id in ids if ids.count(entry_id) > 1), None)
    if repeated is not None:
        raise errors.AwsError(
            "BatchEntryIdsNotDistinct",
            f"Id {repeated} repeated.",
            query_code="AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        )
    successful, failed = [], []
    for entry in entries:
        try:
            answer = run(entry)
        except errors.AwsError as error:
            failed.append(
                {
                    "Id": entry["Id"],
                    "SenderFault": error.status < 500,
                    "Code": error.query_code or error.code,
                    "Message": error.message,
                }
            )
        else:
            successful.append({"Id": entry["Id"], **answer})
    return {"Successful": successful, "Failed": failed}


def _delete_one(em: Emulator, queue: Queue, handle: str) -> Response:
    message = queues(em).message_of(queue, handle)
    if message is not None and message.receipt == handle:
        del queue.messages[message.message_id]
    return {}


@operation("sqs", "DeleteMessage")
def delete_message(em: Emulator, params: Params) -> Response:
    queue = queues(em).by_url(params["QueueUrl"])
    return _delete_one(em, queue, params["ReceiptHandle"])


@operation("sqs", "DeleteMessageBatch")
def delete_message_batch(em: Emulator, params: Params) -> Response:
    queue = queues(em).by_url(params["QueueUrl"])
    return _batch(
        params["Entries"],
        "DeleteMessageBatchRequestEntry",
        lambda entry: _delete_one(em, queue, entry["ReceiptHandle"]),
    )


def _change_visibility(em: Emulator, queue: Queue, handle: str, timeout: int) -> Response:
    if not 0 <= timeout <= MAX_VISIBILITY_TIMEOUT:
        raise _invalid_parameter(
            f"Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Must be "
            f">= 0 and <= {MAX_VISIBILITY_TIMEOUT}, if provided."
        )
    message = queues(em).message_of(queue, handle)
    now = em.now()
    if message is None or message.visible_at <= now or not message.receive_count:
        raise errors.AwsError(
            "MessageNotInflight",
            "The message referred to isn't in flight.",
            query_code="AWS.SimpleQueueService.MessageNotInflight",
        )
    message.visible_at = now + timeout
    if timeout == 0:
        queue.changed()
    return {}


@operation("sqs", "ChangeMessageVisibility")
def change_message_visibility(em: Emulator, params: Params) -> Response:
    queue = queues(em).by_url(params["QueueUrl"])
    return _change_visibility(em, queue, params["ReceiptHandle"], params["VisibilityTimeout"])


@operation("sqs", "ChangeMessageVisibilityBatch")
def change_message_visibility_batch(em: Emulator, params: Params) -> Response:
    queue = queues(em).by_url(params["QueueUrl"])
    return _batch(
        params["Entries"],
        "ChangeMessageVisibilityBatchRequestEntry",
        lambda entry: _change_visibility(
            em, queue, entry["ReceiptHandle"], entry.get("VisibilityTimeout", 0)
        ),
    )
