"""Serving vendor emulators: in a test (loopback, a free port) or standalone from the shell.

runner, base_url = await serve_emulator(build_app())
try:
    ...  # talk to base_url
finally:
    await runner.cleanup()

# plugins/<vendor>/hub_<vendor>/emulator.py
if __name__ == "__main__":
    run_standalone(build_app)   # python -m hub_<vendor>.emulator --port 8081
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from aiohttp import web

__all__ = ["run_standalone", "serve_emulator"]

#: How long `runner.cleanup()` waits for requests still in flight (a TIMEOUT fault, say).
SHUTDOWN_TIMEOUT_SECONDS = 2.0


async def serve_emulator(
    app: web.Application, port: int = 0, *, host: str = "127.0.0.1"
) -> tuple[web.AppRunner, str]:
    """Start `app` on `host:port` (port 0: any free port); return the runner and base URL.

    The caller owns the runner and must `await runner.cleanup()`.
    """
    runner = web.AppRunner(app, shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_port = port
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            bound_port = int(address[1])
            break
    return runner, f"http://{host}:{bound_port}"


def run_standalone(
    app_factory: Callable[[], web.Application],
    argv: Sequence[str] | None = None,
    *,
    description: str = "Run a vendor emulator",
) -> None:
    """Parse ``--host`` / ``--port`` and serve the app until interrupted."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    args = parser.parse_args(argv)
    web.run_app(
        app_factory(), host=args.host, port=args.port, shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS
    )
