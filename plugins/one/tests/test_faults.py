"""Faults injected by the One emulator are classified into the SDK's errors, never a crash."""

from __future__ import annotations

from typing import Any

import pytest

from hub.sdk import AuthError, ContractViolation, RateLimited, TransientError
from hub.testing.faults import Fault
from hub_contracts import NotificationKind


async def test_wrong_api_key_is_an_auth_error(rig: Any) -> None:
    with pytest.raises(AuthError):
        await rig.adapter_with(api_key="not-the-key").check()


async def test_401_mid_run_is_an_auth_error(rig: Any) -> None:
    first = await rig.adapter.read_roll(None)
    rig.faults.configure([Fault.UNAUTHORIZED])
    with pytest.raises(AuthError):
        await rig.adapter.read_roll(first.next_cursor)


async def test_429_carries_the_retry_after_hint(rig: Any) -> None:
    rig.faults.configure([Fault.RATE_LIMIT], retry_after=2)
    with pytest.raises(RateLimited) as caught:
        await rig.adapter.send_return(rig.notification(NotificationKind.DELETION_RETURN), "k")
    assert caught.value.retry_after == 2.0
    assert rig.state.submissions == {}


async def test_a_fractional_retry_after_is_kept(rig: Any) -> None:
    rig.faults.configure([Fault.RATE_LIMIT], retry_after=0.25)
    with pytest.raises(RateLimited) as caught:
        await rig.adapter.read_roll(None)
    assert caught.value.retry_after == 0.25


@pytest.mark.parametrize("fault", [Fault.SERVER_ERROR, Fault.RESET, Fault.TIMEOUT])
async def test_transport_and_server_faults_are_transient(rig: Any, fault: Fault) -> None:
    # Three in a row: the HTTP client may itself resend once on a dropped keep-alive connection.
    rig.faults.configure([fault] * 3, timeout_seconds=5)  # the adapter gives up after 1 s
    with pytest.raises(TransientError):
        await rig.adapter.read_roll(None)


async def test_a_malformed_body_is_a_contract_violation(rig: Any) -> None:
    rig.faults.configure([Fault.MALFORMED])
    with pytest.raises(ContractViolation):
        await rig.adapter.read_placements(None)


async def test_a_truncated_body_is_transient_or_a_contract_violation(rig: Any) -> None:
    # Cut short under a Content-Length for the whole body: the transport may notice (transient)
    # or hand over half a JSON document (not JSON: a contract violation). Never a crash.
    rig.faults.configure([Fault.TRUNCATED])
    with pytest.raises((TransientError, ContractViolation)):
        await rig.adapter.read_roll(None)


async def test_a_lost_ack_is_retried_into_the_first_ack(rig: Any) -> None:
    note = rig.notification(NotificationKind.DELETION_RETURN)
    rig.faults.configure([Fault.TRUNCATED])
    # The handler ran (One filed the return) but the answer was cut short.
    with pytest.raises((TransientError, ContractViolation)):
        await rig.adapter.send_return(note, "k-truncated")
    receipt = await rig.adapter.send_return(note, "k-truncated")
    assert len(rig.state.submissions) == 1
    (filed,) = rig.state.submissions.values()
    assert receipt.external_ref == filed.ack["ack_id"]


async def test_a_burst_of_5xx_then_success(rig: Any) -> None:
    rig.faults.configure([Fault.SERVER_ERROR] * 3)
    for _ in range(3):
        with pytest.raises(TransientError):
            await rig.adapter.read_roll(None)
    page = await rig.adapter.read_roll(None)
    assert len(page.records) == 2


async def test_an_empty_last_page_ends_the_stream_cleanly(rig: Any) -> None:
    rig.faults.configure([Fault.EMPTY_LAST_PAGE])
    records: list[Any] = []
    cursor = None
    pages = []
    for _ in range(10):
        page = await rig.adapter.read_roll(cursor)
        records.extend(page.records)
        pages.append(len(page.records))
        cursor = page.next_cursor
        if not page.has_more:
            break
    assert pages == [2, 1, 1, 0]  # the guest enrolment on page 2 is left out
    assert len(records) == 4
    assert rig.faults.injected[Fault.EMPTY_LAST_PAGE.value] == 1
