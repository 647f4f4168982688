"""The Create gate (runner.gate): what a shutdown does to a Create at each point of its life.

No clock is raced: each fake call waits on an event the test sets, and the gate is closed
while the call is known to be where the test wants it.
"""

from __future__ import annotations

import asyncio

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from runner.errors import AnswerUnknown, NotSent
from runner.gate import CreateGate, Wire


def throttled() -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Create")


async def test_a_create_waiting_for_its_budget_is_abandoned_when_the_gate_closes() -> None:
    gate = CreateGate()
    waiting, sent = asyncio.Event(), []

    async def call(wire: Wire) -> str:
        waiting.set()
        await asyncio.Event().wait()  # a token that never comes
        with wire.sending():
            sent.append(True)
        return "created"

    sending = asyncio.ensure_future(gate.send("CreateTrainingJob", call))
    await waiting.wait()
    gate.close()
    with pytest.raises(NotSent, match="not sent: shutting down"):
        await sending
    assert sent == []


async def test_a_create_on_the_wire_when_the_gate_closes_gets_its_answer() -> None:
    gate = CreateGate()
    on_wire, answer = asyncio.Event(), asyncio.Event()

    async def call(wire: Wire) -> str:
        with wire.sending():
            on_wire.set()
            await answer.wait()
        return "arn:created"

    sending = asyncio.ensure_future(gate.send("CreateTrainingJob", call))
    await on_wire.wait()
    gate.close()
    await asyncio.sleep(0)
    assert not sending.done()  # not abandoned: its answer names the job to stop
    answer.set()
    assert await sending == "arn:created"


async def test_a_create_retried_after_a_lost_answer_is_unknown_when_the_gate_closes() -> None:
    gate = CreateGate()
    retrying = asyncio.Event()

    async def call(wire: Wire) -> str:
        with pytest.raises(EndpointConnectionError), wire.sending():
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
        retrying.set()
        await asyncio.Event().wait()  # the back-off before the next attempt
        return "never"

    sending = asyncio.ensure_future(gate.send("CreateTrainingJob", call))
    await retrying.wait()
    gate.close()
    with pytest.raises(AnswerUnknown):
        await sending


async def test_a_create_that_was_only_throttled_was_never_made() -> None:
    gate = CreateGate()
    retrying = asyncio.Event()

    async def call(wire: Wire) -> str:
        with pytest.raises(ClientError), wire.sending():
            raise throttled()
        retrying.set()
        await asyncio.Event().wait()
        return "never"

    sending = asyncio.ensure_future(gate.send("CreateTrainingJob", call))
    await retrying.wait()
    gate.close()
    with pytest.raises(NotSent):
        await sending


async def test_a_retry_after_the_gate_closed_is_refused_before_it_is_sent() -> None:
    gate = CreateGate()
    attempts: list[int] = []

    async def call(wire: Wire) -> str:
        with wire.sending():
            attempts.append(1)
            gate.close()  # shutdown comes while the first attempt is on the wire
            raise ConnectionResetError()

    with pytest.raises(ConnectionResetError):
        await gate.send("CreateTrainingJob", call)
    later = Wire(gate, "CreateTrainingJob")
    with pytest.raises(NotSent), later.sending():
        attempts.append(2)
    assert attempts == [1]


async def test_a_closed_gate_refuses_at_once() -> None:
    gate = CreateGate()
    gate.close()

    async def call(wire: Wire) -> str:
        raise AssertionError("not called")

    with pytest.raises(NotSent):
        await gate.send("CreateTrainingJob", call)


async def test_a_caller_cancelled_while_its_abandoned_create_winds_down_is_cancelled() -> None:
    """The caller's own cancellation is never turned into a refusal: a task cancelled as it
    shuts down stops, and is not told "not sent" to go on with."""
    gate = CreateGate()
    waiting, winding, wound = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def call(wire: Wire) -> str:
        waiting.set()
        try:
            await asyncio.Event().wait()  # a token that never comes
        except asyncio.CancelledError:
            winding.set()
            await wound.wait()  # cleaning up when the caller is cancelled too
            raise
        return "created"

    sending = asyncio.ensure_future(gate.send("CreateTrainingJob", call))
    await waiting.wait()
    gate.close()
    await winding.wait()
    sending.cancel()
    wound.set()
    with pytest.raises(asyncio.CancelledError):
        await sending
