"""The wire protocols the emulator speaks, as botocore's service models define them.

Every request is a ``POST /``; which service and operation it is for comes from the request:

* AWS JSON (SageMaker, CloudWatch Logs, EventBridge: 1.1; SQS: 1.0, which the pinned botocore
  speaks instead of SQS's old query protocol): the ``X-Amz-Target`` header,
  ``<targetPrefix>.<Operation>``, with a JSON body and a JSON answer; an error is
  ``{"__type": code, "message": ...}``.
* AWS query (STS): a form-encoded body with ``Action`` and ``Version``, the service being the
  one the SigV4 credential scope of the ``Authorization`` header names (``.../us-east-1/sts/
  aws4_request``); the answer is XML, ``<ActionResponse><ActionResult>...`` with a
  ``ResponseMetadata``, and an error is an ``ErrorResponse`` (Type, Code, Message, RequestId),
  as STS answers: ``<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>
  <Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>
  <RequestId>...</RequestId></ErrorResponse>`` (a field report, jlevers/selling-partner-api#278).
  Request parameters are flattened the way botocore's ``QuerySerializer`` writes them
  (``Tags.member.1.Key``), and read back here by walking the operation's input shape.

A service's protocol, target prefix, signing name, JSON version and XML namespace are read from
botocore's model, so a service is served by naming it in ``state.SERVICES``.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import itertools
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from aiohttp import web
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape
from botocore.utils import parse_timestamp

from emulator import errors
from emulator.state import OPERATIONS, SERVICES, Handler, Params, Response
from runner.validation import service_model

# Request ids look like AWS's (a UUID), unique per process: a random prefix and a counter,
# several times cheaper than a uuid4 per response.
_REQUEST_ID_PREFIX = str(uuid.uuid4())[:24]
_request_serial = itertools.count()
# One encoder for every JSON response (json.dumps with options builds a new one per call).
# Responses are trees of fresh dicts and lists, never cyclic, so the cycle check is skipped.
_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False)


def request_id() -> str:
    return f"{_REQUEST_ID_PREFIX}{next(_request_serial) % 2**48:012x}"


# --- the two protocols ---------------------------------------------------------------------


class JsonWire:
    """AWS JSON 1.0/1.1: bodies are the parameters and the answer as they are."""

    def __init__(self, json_version: str) -> None:
        self.content_type = f"application/x-amz-json-{json_version}"

    def params(self, operation: OperationModel, raw: bytes) -> Any:
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            raise errors.AwsError(
                "SerializationException", "Request body is not valid JSON"
            ) from None

    def answer(self, operation: OperationModel, body: Response) -> web.Response:
        return self._respond(_ENCODER.encode(body).encode(), 200)

    def error(self, error: errors.AwsError) -> web.Response:
        body = {"__type": error.code, "message": error.message}
        response = self._respond(_ENCODER.encode(body).encode(), error.status)
        if error.query_code is not None:
            fault = "Receiver" if error.status >= 500 else "Sender"
            response.headers["x-amzn-query-error"] = f"{error.query_code};{fault}"
        return response

    def _respond(self, body: bytes, status: int) -> web.Response:
        return web.Response(
            body=body,
            status=status,
            content_type=self.content_type,
            headers={"x-amzn-RequestId": request_id()},
        )


# The common errors as the query protocol spells them (AWS's "Common Errors" of every query API
# reference: ValidationError, Throttling, InvalidAction, ExpiredToken, InvalidClientTokenId).
_QUERY_CODES = {
    "ValidationException": "ValidationError",
    "ThrottlingException": "Throttling",
    "UnknownOperationException": "InvalidAction",
    "ExpiredTokenException": "ExpiredToken",
    "UnrecognizedClientException": "InvalidClientTokenId",
}


class QueryWire:
    """The AWS query protocol: form-encoded parameters in, XML out."""

    content_type = "text/xml"

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    def params(self, operation: OperationModel, raw: bytes) -> Params:
        shape = operation.input_shape
        form = read_form(raw)
        return _read_structure(form, shape, "") if isinstance(shape, StructureShape) else {}

    def answer(self, operation: OperationModel, body: Response) -> web.Response:
        name = operation.name
        shape = operation.output_shape
        result_wrapper = shape.serialization.get("resultWrapper") if shape is not None else None
        inner = _xml_members(body, shape) if isinstance(shape, StructureShape) else ""
        result = f"<{result_wrapper}>{inner}</{result_wrapper}>" if result_wrapper else inner
        answer_id = request_id()
        xml = (
            f'<{name}Response xmlns="{self.namespace}">{result}'
            f"<ResponseMetadata><RequestId>{answer_id}</RequestId></ResponseMetadata>"
            f"</{name}Response>"
        )
        return self._respond(xml, 200, answer_id)

    def error(self, error: errors.AwsError) -> web.Response:
        code = _QUERY_CODES.get(error.code, error.code)
        party = "Receiver" if error.status >= 500 else "Sender"
        answer_id = request_id()
        xml = (
            f'<ErrorResponse xmlns="{self.namespace}"><Error><Type>{party}</Type>'
            f"<Code>{escape(code)}</Code><Message>{escape(error.message)}</Message></Error>"
            f"<RequestId>{answer_id}</RequestId></ErrorResponse>"
        )
        return self._respond(xml, error.status, answer_id)

    def _respond(self, xml: str, status: int, answer_id: str) -> web.Response:
        return web.Response(
            body=xml.encode(),
            status=status,
            content_type=self.content_type,
            headers={"x-amzn-RequestId": answer_id},
        )


Wire = JsonWire | QueryWire


# --- services and routing ------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    """One served service: its botocore name and how requests for it travel."""

    name: str
    wire: Wire
    operations: Mapping[str, Handler]

    def operation_model(self, operation: str) -> OperationModel:
        return service_model(self.name).operation_model(operation)


@dataclass(frozen=True)
class Route:
    """Where a request goes: the service and the operation (a registered one)."""

    service: Service
    operation: str
    handler: Handler


class Unroutable(Exception):
    """The request names no operation the emulator serves; ``error`` is the answer, in
    ``wire``'s format."""

    def __init__(self, wire: Wire, error: errors.AwsError) -> None:
        super().__init__(error.message)
        self.wire = wire
        self.error = error


@functools.cache
def _services() -> tuple[dict[str, Service], dict[str, Service]]:
    """The served JSON services by target prefix, and every served service by signing name."""
    by_target: dict[str, Service] = {}
    by_signing_name: dict[str, Service] = {}
    for name in SERVICES:
        model = service_model(name)
        if model.protocol == "json":
            wire: Wire = JsonWire(model.metadata.get("jsonVersion", "1.1"))
        elif model.protocol == "query":
            wire = QueryWire(model.metadata["xmlNamespace"])
        else:
            raise RuntimeError(f"the emulator does not speak {name}'s protocol {model.protocol}")
        service = by_signing_name[model.signing_name] = Service(name, wire, OPERATIONS[name])
        if isinstance(wire, JsonWire):
            by_target[model.metadata["targetPrefix"]] = service
    return by_target, by_signing_name


_DEFAULT_JSON = JsonWire("1.1")
_DEFAULT_QUERY = QueryWire("https://sts.amazonaws.com/doc/2011-06-15/")


def route(headers: Mapping[str, str], raw: bytes) -> Route:
    """The service and operation of a request, or ``Unroutable``."""
    by_target, by_signing_name = _services()
    target = headers.get("X-Amz-Target")
    if target:
        prefix, _, name = target.partition(".")
        service = by_target.get(prefix)
        handler = service.operations.get(name) if service else None
        if service is None or handler is None:
            wire = service.wire if service else _DEFAULT_JSON
            raise Unroutable(wire, errors.unknown_operation(target))
        return Route(service, name, handler)
    form = read_form(raw)
    action = form.get("Action", "")
    scope = credential_scope(headers.get("Authorization", ""))
    if scope is None:
        raise Unroutable(
            _DEFAULT_QUERY,
            errors.AwsError(
                "MissingAuthenticationToken", "Request is missing Authentication Token", 403
            ),
        )
    service = by_signing_name.get(scope[1])
    if service is None:
        raise Unroutable(
            _DEFAULT_QUERY,
            errors.AwsError(
                "InvalidAction", f"The emulator does not serve {scope[1]} (action {action!r})"
            ),
        )
    if isinstance(service.wire, JsonWire):  # a JSON service's request without its target
        raise Unroutable(service.wire, errors.unknown_operation(""))
    handler = service.operations.get(action)
    if handler is None:
        # An action STS does not have: InvalidAction, 400 (the Common Errors of AWS's query API
        # references). No AWS-recorded message was found; this is the one gaul/s3proxy's STS
        # stand-in answers with.
        version = form.get("Version", "")
        raise Unroutable(
            service.wire,
            errors.AwsError(
                "InvalidAction", f"Could not find operation {action} for version {version}"
            ),
        )
    return Route(service, action, handler)


def credential_scope(authorization: str) -> tuple[str, str] | None:
    """(access key id, service) of a SigV4 ``Authorization`` header: its ``Credential=`` is
    ``<key>/<date>/<region>/<service>/aws4_request``. None when the request is not signed."""
    start = authorization.find("Credential=")
    if start < 0:
        return None
    credential = authorization[start + len("Credential=") :].split(",", 1)[0].strip()
    parts = credential.split("/")
    if len(parts) != 5:
        return None
    return parts[0], parts[3]


def access_key_of(authorization: str) -> str | None:
    scope = credential_scope(authorization)
    return scope[0] if scope else None


# --- query parameters in -------------------------------------------------------------------


def read_form(raw: bytes) -> dict[str, str]:
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


def _wire_name(shape: Shape, default: str) -> str:
    name = shape.serialization.get("name")
    return str(name) if name else default


def _read_structure(form: Mapping[str, str], shape: StructureShape, prefix: str) -> Params:
    params: Params = {}
    for member, member_shape in shape.members.items():
        name = _wire_name(member_shape, member)
        key = f"{prefix}.{name}" if prefix else name
        if _present(form, key):
            params[member] = _read(form, member_shape, key)
    return params


def _present(form: Mapping[str, str], key: str) -> bool:
    dotted = key + "."
    return key in form or any(name.startswith(dotted) for name in form)


def _read(form: Mapping[str, str], shape: Shape, key: str) -> Any:
    if isinstance(shape, StructureShape):
        return _read_structure(form, shape, key)
    if isinstance(shape, ListShape):
        if form.get(key) == "":
            return []
        flattened = shape.serialization.get("flattened")
        prefix = key if flattened else f"{key}.{_wire_name(shape.member, 'member')}"
        items = []
        for index in itertools.count(1):
            item_key = f"{prefix}.{index}"
            if not _present(form, item_key):
                break
            items.append(_read(form, shape.member, item_key))
        return items
    if isinstance(shape, MapShape):
        prefix = key if shape.serialization.get("flattened") else f"{key}.entry"
        key_name, value_name = _wire_name(shape.key, "key"), _wire_name(shape.value, "value")
        entries: dict[str, Any] = {}
        for index in itertools.count(1):
            entry = f"{prefix}.{index}"
            if f"{entry}.{key_name}" not in form:
                break
            entries[form[f"{entry}.{key_name}"]] = _read(form, shape.value, f"{entry}.{value_name}")
        return entries
    return _scalar(form[key], shape)


_PARSERS: dict[str, Callable[[str], Any]] = {
    "integer": int,
    "long": int,
    "float": float,
    "double": float,
    "timestamp": lambda text: parse_timestamp(text).timestamp(),
    "blob": base64.b64decode,
}


def _scalar(text: str, shape: Shape) -> Any:
    """A form value as the type its shape has; a value that is not one is left as text, for the
    request validation to report in the field's name."""
    kind = shape.type_name
    parser = _PARSERS.get(kind)
    if parser is not None:
        try:
            return parser(text)
        except ValueError:
            return text
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    return text


# --- query answers out ---------------------------------------------------------------------


def _xml_members(value: Mapping[str, Any], shape: StructureShape) -> str:
    out = []
    for member, item in value.items():
        member_shape = shape.members[member]
        if item is None:
            continue
        name = _wire_name(member_shape, member)
        out.append(_xml(item, member_shape, name))
    return "".join(out)


def _xml(value: Any, shape: Shape, name: str) -> str:
    if isinstance(shape, StructureShape):
        return f"<{name}>{_xml_members(value, shape)}</{name}>"
    if isinstance(shape, ListShape):
        member_name = _wire_name(shape.member, "member")
        items = "".join(_xml(item, shape.member, member_name) for item in value)
        return items if shape.serialization.get("flattened") else f"<{name}>{items}</{name}>"
    if isinstance(shape, MapShape):
        key_name, value_name = _wire_name(shape.key, "key"), _wire_name(shape.value, "value")
        entries = "".join(
            f"<entry><{key_name}>{escape(str(k))}</{key_name}>"
            f"{_xml(v, shape.value, value_name)}</entry>"
            for k, v in value.items()
        )
        return f"<{name}>{entries}</{name}>"
    return f"<{name}>{escape(_text(value, shape))}</{name}>"


def _text(value: Any, shape: Shape) -> str:
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        # ISO 8601 in UTC with milliseconds, as STS writes Expiration (2011-07-15T23:28:33.359Z).
        moment = dt.datetime.fromtimestamp(float(value), dt.UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if kind == "blob":
        return base64.b64encode(value).decode()
    return str(value)
