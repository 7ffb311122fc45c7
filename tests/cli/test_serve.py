"""`hub run` and `hub demo` serve the API on the embedded default and stop cleanly."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

RunHub = Callable[..., subprocess.CompletedProcess[str]]
HUB = Path(sys.executable).with_name("hub")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_hub_run_serves_health_applies_migrations_and_stops_on_sigterm(
    tmp_path: Path, hub_env: dict[str, str]
) -> None:
    port = _free_port()
    env = {**hub_env, "HUB_API__PORT": str(port)}
    proc = subprocess.Popen(
        [str(HUB), "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "hub run never served /healthz"
                time.sleep(0.2)
        assert (status, body["status"]) == (200, "ok")
        status, body = _get(f"http://127.0.0.1:{port}/readyz")
        assert (status, body) == (200, {"status": "ready"})
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            assert b"hub_build_info" in resp.read()
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    events = [json.loads(line)["event"] for line in err.splitlines() if line.startswith("{")]
    assert "hub_started" in events and "hub_stopped" in events


def test_demo_no_serve_tells_the_story_and_exits_0(run_hub: RunHub, tmp_path: Path) -> None:
    result = run_hub("demo", "--no-serve", "--port", "0", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Found 4 adapter plugins" in out
    assert "learners" in out and "dual-registered" in out
    for event in ("(a)", "(b)", "(c)", "(d)", "(e)", "(f)", "(g)"):
        assert f"  {event} " in out, event
    assert "Wales reg 8(1)(h)" in out and "Wales reg 12(3)" in out
    assert "/healthz ok, /readyz ready" in out
    assert "Admin token" in out and "One — the LA: http://127.0.0.1:" in out
    assert (tmp_path / ".hub-demo" / "demo.db").exists()
