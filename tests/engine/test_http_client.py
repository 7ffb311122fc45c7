"""The core's HttpClient reads whole bodies, however they arrive, and caps their size."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web

from hub.engine.http import ConnectionHttpClient
from hub.sdk import ContractViolation, PermanentError


async def _server(body: bytes) -> tuple[web.AppRunner, str]:
    async def big(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        for i in range(0, len(body), 7_919):  # many small writes: the client sees many chunks
            await resp.write(body[i : i + 7_919])
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_get("/big", big)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


async def test_large_streamed_body_is_read_whole_and_oversize_refused() -> None:
    body = bytes(range(256)) * 4_000  # ~1 MB
    runner, base = await _server(body)
    try:
        async with aiohttp.ClientSession() as session:
            client = ConnectionHttpClient(
                session, connection_name="t", allowed_hosts=(), base_url=base
            )
            resp = await client.request("GET", f"{base}/big")
            assert resp.body == body
            small = ConnectionHttpClient(
                session,
                connection_name="t",
                allowed_hosts=(),
                base_url=base,
                max_response_bytes=100_000,
            )
            with pytest.raises(ContractViolation, match="more than 100000 bytes"):
                await small.request("GET", f"{base}/big")
            with pytest.raises(PermanentError, match="not in the adapter's allowed hosts"):
                await client.request("GET", "http://192.0.2.1/elsewhere")
    finally:
        await runner.cleanup()
