"""Faults injected by the MyConcern emulator are classified into the SDK's errors, and a
delivery retried after any of them creates exactly one concern."""

from __future__ import annotations

from typing import Any

import pytest

from hub.sdk import AuthError, ContractViolation, RateLimited, TransientError
from hub.testing.faults import Fault


async def test_a_rejected_token_is_an_auth_error(rig: Any) -> None:
    with pytest.raises(AuthError):
        await rig.adapter_with(api_token="not-the-token").check()
    with pytest.raises(AuthError):
        await rig.adapter_with(api_token="not-the-token").raise_concern(rig.alert(), "k")
    assert rig.state.concerns == {}


async def test_429_carries_the_retry_after_hint(rig: Any) -> None:
    rig.faults.configure([Fault.RATE_LIMIT], retry_after=3)
    with pytest.raises(RateLimited) as caught:
        await rig.adapter.raise_concern(rig.alert(), "k")
    assert caught.value.retry_after == 3.0


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault.SERVER_ERROR, (TransientError,)),
        (Fault.UNAUTHORIZED, (AuthError,)),
        (Fault.TIMEOUT, (TransientError,)),
        (Fault.MALFORMED, (ContractViolation,)),
        (Fault.TRUNCATED, (TransientError, ContractViolation)),
    ],
)
async def test_status_read_under_faults(
    rig: Any, fault: Fault, expected: tuple[type[Exception], ...]
) -> None:
    receipt = await rig.adapter.raise_concern(rig.alert(), "k")
    rig.faults.configure([fault] * 3, timeout_seconds=5)  # the adapter gives up after 1 s
    with pytest.raises(expected):
        await rig.adapter.concern_status(receipt.external_ref)


@pytest.mark.parametrize(
    "fault", [Fault.SERVER_ERROR, Fault.MALFORMED, Fault.TRUNCATED, Fault.RESET, Fault.TIMEOUT]
)
async def test_a_retry_after_a_fault_leaves_one_concern(rig: Any, fault: Fault) -> None:
    rig.faults.configure([fault] * 3, timeout_seconds=5)
    with pytest.raises((TransientError, ContractViolation)):
        await rig.adapter.raise_concern(rig.alert(), "retried-key")
    rig.faults.configure([])
    receipt = await rig.adapter.raise_concern(rig.alert(), "retried-key")
    (concern,) = rig.state.concerns.values()
    assert receipt.external_ref == concern["id"]


async def test_a_create_whose_answer_was_lost_is_found_by_the_retry(rig: Any) -> None:
    # The first attempt's POST was filed by MyConcern but its response never arrived.
    await rig.adapter.raise_concern(rig.alert(), "lost-answer")
    filed = next(iter(rig.state.concerns.values()))
    receipt = await rig.adapter_with().raise_concern(rig.alert(), "lost-answer")
    assert len(rig.state.concerns) == 1
    assert receipt.external_ref == filed["id"]
