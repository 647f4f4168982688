"""How AWS answers become Python values: botocore's parsers, with three changes made through the
hook botocore provides (the session's ``response_parser_factory`` component).

Timestamps are ``datetime`` in UTC (``service_timestamp``). Structures of the JSON protocols
(SageMaker, CloudWatch Logs, SQS, EventBridge) are parsed from a per-shape table of their
members. botocore's ``BaseJSONParser`` looks up every member's JSON name and handler on every
value; for a FilterLogEvents page that is ~8 us an event, the largest cost of following
10,000 jobs' logs. The table holds the same facts from the same model (each member's
``serialization`` name, and whether its type is one the JSON parser returns as it comes:
strings, numbers, booleans), and a member of any other type is still parsed by botocore's
handler. Bodies are decoded by orjson, twice as fast as ``json`` on a log page. What comes out
is what botocore's parser gives (``tests/unit/test_parsing.py`` compares the two on answers of
every shape the runner reads), but for an integer past 64 bits, a float here, which no AWS
shape carries (a long is 64 bits).
"""

from __future__ import annotations

import datetime as dt
import weakref
from typing import Any

import botocore.utils
import orjson
from aiobotocore.parsers import PROTOCOL_PARSERS, AioJSONParser, AioResponseParserFactory
from botocore.model import Shape, StructureShape

# Types the JSON protocol's parser returns unchanged (``ResponseParser._default_handle``).
AS_SENT = frozenset({"string", "integer", "long", "boolean", "float", "double"})

# (member name, JSON key, member shape or None when its value is taken as sent), per shape.
Members = tuple[tuple[str, str, Shape | None], ...]
_MEMBERS: weakref.WeakKeyDictionary[Shape, Members] = weakref.WeakKeyDictionary()
# The stubs leave out the parsers' private handlers that are overridden here.
_JSONParser: Any = AioJSONParser
_ParserFactory: Any = AioResponseParserFactory


def service_timestamp(value: Any) -> dt.datetime:
    """An answer's timestamp as an aware datetime in UTC.

    botocore's default parser (``botocore.utils.parse_timestamp``) gives every epoch timestamp
    (how the JSON protocols of SageMaker, Logs and SQS send them) a ``dateutil.tz.tzlocal()``
    of its own: about 400 bytes per datetime kept, ~7 KB for each job a runner follows, and
    slow comparisons. Here every timestamp is in ``datetime.UTC``; strings (the query
    protocol's ISO 8601) are read by botocore's parser first."""
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    try:
        return dt.datetime.fromtimestamp(float(value), dt.UTC)
    except (TypeError, ValueError):
        parsed: dt.datetime = botocore.utils.parse_timestamp(value)
    if parsed.tzinfo is None:  # AWS's ISO 8601 times are UTC
        return parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def members_of(shape: StructureShape) -> Members:
    """The table of ``shape``'s members, made once per shape object."""
    table = _MEMBERS.get(shape)
    if table is None:
        table = _MEMBERS[shape] = tuple(
            (
                name,
                member.serialization.get("name", name),
                None if member.type_name in AS_SENT else member,
            )
            for name, member in shape.members.items()
        )
    return table


class TableJSONParser(_JSONParser):  # type: ignore[misc]
    """aiobotocore's JSON-protocol parser, with bodies decoded by orjson and structures read
    through ``members_of``."""

    def _parse_body_as_json(self, body_contents: bytes) -> Any:
        # orjson reads the bytes as they came, ~2x json's speed on a log page (measured alone);
        # what it refuses (NaN, bad UTF-8, what is not JSON) goes to botocore's own, so the
        # outcome is its. A number past 64 bits it reads as a float (the module's note).
        if body_contents:
            try:
                return orjson.loads(body_contents)
            except orjson.JSONDecodeError:
                pass
        return super()._parse_body_as_json(body_contents)

    def _handle_structure(self, shape: StructureShape, value: Any) -> Any:
        if value is None or shape.is_document_type or shape.is_tagged_union:
            return super()._handle_structure(shape, value)
        parsed = {}
        for name, key, member in members_of(shape):
            raw = value.get(key)
            if raw is not None:
                parsed[name] = raw if member is None else self._parse_shape(member, raw)
        return parsed

    def _handle_list(self, shape: Any, node: Any) -> Any:
        item = shape.member
        if item.type_name != "structure" or item.is_document_type or item.is_tagged_union:
            return super()._handle_list(shape, node)
        table = members_of(item)
        if any(member is not None for _, _, member in table):
            return [
                None if value is None else self._handle_structure(item, value) for value in node
            ]
        # A list of flat structures (log events, log streams): one comprehension per item, or
        # the item itself when it is already what that would make (every key a member under
        # its own name, no null): most FilterLogEvents events, read at thousands a second.
        same = frozenset(name for name, key, _ in table if name == key)
        return [
            value
            if value is None or (value.keys() <= same and None not in value.values())
            else {name: raw for name, key, _ in table if (raw := value.get(key)) is not None}
            for value in node
        ]


class ParserFactory(_ParserFactory):  # type: ignore[misc]
    """aiobotocore's factory, giving ``TableJSONParser`` for the JSON protocol."""

    def create_parser(self, protocol_name: str) -> Any:
        parser_class: Any = PROTOCOL_PARSERS[protocol_name]
        if protocol_name == "json":
            parser_class = TableJSONParser
        return parser_class(**self._defaults)


def install(session: Any) -> None:
    """Parse ``session``'s answers as this module says (the component botocore's sessions
    create their parsers from; the AWS CLI sets its timestamp parser on the same one)."""
    factory = ParserFactory()
    factory.set_parser_defaults(timestamp_parser=service_timestamp)
    session.register_component("response_parser_factory", factory)
