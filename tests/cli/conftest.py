"""Run the real `hub` console script as a subprocess, in a scratch working directory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

HUB = Path(sys.executable).with_name("hub")

RunHub = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def hub_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    return env


@pytest.fixture
def run_hub(tmp_path: Path, hub_env: dict[str, str]) -> RunHub:
    def run(
        *args: str, env: dict[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(HUB), *args],
            cwd=tmp_path,
            env={**hub_env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run
