"""The SIMS emulator as a vendor would behave: credentials, paging, limits, replays, standalone."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import socket
import sys
from typing import TYPE_CHECKING, Any

import aiohttp

from hub_sims.emulator import PAGE_SIZE, seed_synthetic_school

if TYPE_CHECKING:
    from conftest import SimsRig

API = "/ssli01/Attendance/V3/Schools/6799999/SessionAttendances"


async def token(rig: SimsRig, secret: str | None = None) -> tuple[int, dict[str, Any]]:
    form = {
        "grant_type": "client_credentials",
        "client_id": rig.state.client_id,
        "client_secret": secret or rig.state.client_secret,
    }
    async with rig.session.post(f"{rig.base_url}/connect/token", data=form) as resp:
        return resp.status, await resp.json()


def headers(rig: SimsRig, bearer: str, key: str | None = None) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {bearer}",
        "Ocp-Apim-Subscription-Key": key or rig.state.subscription_key,
    }


async def test_token_endpoint_issues_bearer_tokens_and_refuses_a_wrong_secret(
    rig: SimsRig,
) -> None:
    status, body = await token(rig)
    assert status == 200 and body["token_type"] == "Bearer" and body["expires_in"] > 0
    status, body = await token(rig, secret="wrong")
    assert (status, body) == (400, {"error": "invalid_client"})


async def test_token_endpoint_accepts_http_basic_client_authentication(rig: SimsRig) -> None:
    pair = f"{rig.state.client_id}:{rig.state.client_secret}".encode()
    async with rig.session.post(
        f"{rig.base_url}/connect/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(pair).decode()},
    ) as resp:
        assert resp.status == 200


async def test_api_needs_both_the_subscription_key_and_a_token(rig: SimsRig) -> None:
    _, body = await token(rig)
    params = {"startDate": "2026-01-01", "endDate": "2026-01-31"}
    url = rig.base_url + API
    async with rig.session.get(
        url, params=params, headers=headers(rig, body["access_token"], "nope")
    ) as resp:
        assert resp.status == 401 and "subscription key" in (await resp.text())
    async with rig.session.get(url, params=params, headers=headers(rig, "not-a-token")) as resp:
        assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    async with rig.session.get(
        url, params=params, headers=headers(rig, body["access_token"])
    ) as resp:
        assert resp.status == 200


async def test_pages_hold_1000_records_with_a_continuation_link(rig: SimsRig) -> None:
    days = [dt.date(2026, 1, 5) + dt.timedelta(days=n) for n in range(5)]
    seed_synthetic_school(rig.state, learners=150, days=days)  # 1,500 marks
    _, body = await token(rig)
    url: str | None = rig.base_url + API
    params: dict[str, str] | None = {"startDate": "2026-01-01", "endDate": "2026-01-31"}
    sizes = []
    while url is not None:
        async with rig.session.get(
            url, params=params, headers=headers(rig, body["access_token"])
        ) as resp:
            page = await resp.json()
        sizes.append(len(page["value"]))
        url, params = page.get("@odata.nextLink"), None
    assert sizes == [PAGE_SIZE, 500]


async def read_all(rig: SimsRig, bearer: str, params: dict[str, str]) -> list[dict[str, Any]]:
    url: str | None = rig.base_url + API
    query: dict[str, str] | None = params
    rows: list[dict[str, Any]] = []
    while url is not None:
        async with rig.session.get(url, params=query, headers=headers(rig, bearer)) as resp:
            page = await resp.json()
        rows.extend(page["value"])
        url, query = page.get("@odata.nextLink"), None
    return rows


async def test_paging_is_ordered_by_change_time_and_sees_changes_made_between_pages(
    rig: SimsRig,
) -> None:
    """The listing's order is (LastUpdated, AttendanceID); a mark amended while a client pages
    through moves to the end (a later LastUpdated), so the client still sees it, once more."""
    days = [dt.date(2026, 1, 5) + dt.timedelta(days=n) for n in range(5)]
    seed_synthetic_school(rig.state, learners=150, days=days)  # 1,500 marks
    _, body = await token(rig)
    bearer = body["access_token"]
    params = {"startDate": "2026-01-01", "endDate": "2026-01-31"}
    async with rig.session.get(
        rig.base_url + API, params=params, headers=headers(rig, bearer)
    ) as r:
        first = await r.json()
    first_ids = [row["AttendanceID"] for row in first["value"]]
    amended = next(iter(rig.state.marks.values()))  # on the first page: the oldest change
    assert amended.attendance_id in first_ids
    rig.state.add_mark(amended.upn, amended.date, amended.session, "L")
    rest = await read_all_from(rig, bearer, first["@odata.nextLink"])
    ids = first_ids + [row["AttendanceID"] for row in rest]
    assert len(ids) == 1_501 and ids.count(amended.attendance_id) == 2
    assert rest[-1]["AttendanceMark"] == "L"
    # Order: (LastUpdated, AttendanceID) ascending, across the whole listing.
    keys = [(row["LastUpdated"], row["AttendanceID"]) for row in first["value"] + rest]
    assert keys[:PAGE_SIZE] == sorted(keys[:PAGE_SIZE]) and keys[PAGE_SIZE:] == sorted(
        keys[PAGE_SIZE:]
    )
    # modifiedSince: only what changed strictly after it.
    since = {**params, "modifiedSince": first["value"][-1]["LastUpdated"]}
    later = await read_all(rig, bearer, since)
    assert [row["AttendanceID"] for row in later] == [row["AttendanceID"] for row in rest]


async def read_all_from(rig: SimsRig, bearer: str, url: str | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while url is not None:
        async with rig.session.get(url, headers=headers(rig, bearer)) as resp:
            page = await resp.json()
        rows.extend(page["value"])
        url = page.get("@odata.nextLink")
    return rows


async def test_at_most_90_days_per_attendance_query(rig: SimsRig) -> None:
    _, body = await token(rig)
    async with rig.session.get(
        rig.base_url + API,
        params={"startDate": "2026-01-01", "endDate": "2026-04-01"},
        headers=headers(rig, body["access_token"]),
    ) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "DateRangeTooLarge"


async def test_a_replayed_write_returns_the_first_answer_without_writing_again(
    rig: SimsRig,
) -> None:
    (learner,) = seed_synthetic_school(rig.state, learners=1)
    _, body = await token(rig)
    record = {
        "UPN": learner.upn,
        "AttendanceDate": "2026-01-05",
        "SessionName": "AM",
        "AttendanceMark": "/",
    }
    answers = []
    for _ in range(2):
        async with rig.session.post(
            rig.base_url + API,
            json={"SessionAttendances": [record, {**record, "AttendanceMark": "??"}]},
            headers={**headers(rig, body["access_token"]), "Idempotency-Key": "k-1"},
        ) as resp:
            answers.append(await resp.json())
    assert answers[0] == answers[1]
    assert [r["status"] for r in answers[0]["results"]] == ["Accepted", "Rejected"]
    assert rig.state.applied_writes == 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_runs_standalone_from_the_command_line() -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub_sims.emulator",
        "--port",
        str(port),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):  # up to ~20 s for the interpreter to start
                try:
                    async with session.get(f"http://127.0.0.1:{port}/_emulator/state") as resp:
                        state = await resp.json()
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("the standalone emulator never answered")
        assert state["school_id"] == "6799999"
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 20)
