"""`hub new-plugin`: name validation, and a generated plugin that installs, is discovered through
its entry point, and passes the conformance kit as generated."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hub.scaffold import ScaffoldError, generate, render, validate_name
from hub.testing import checks

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HUB = BIN / "hub"
DIST = "attendance-hub-demo-vendor"


def run_hub(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HUB), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize(
    "name",
    ["", "a", "Acme", "1acme", "acme-mis", "acme mis", "acme.mis", "a" * 32, "acme__mis", "acme_"],
)
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(ScaffoldError):
        validate_name(name)


def test_installed_plugin_names_are_refused() -> None:
    with pytest.raises(ScaffoldError, match="already installed"):
        validate_name("cpoms")


def test_names_are_derived_from_the_slug() -> None:
    names = validate_name("demo_vendor")
    assert names.package == "hub_demo_vendor"
    assert names.dist == DIST
    assert names.class_prefix == "DemoVendor"


def test_an_unknown_placeholder_is_an_error() -> None:
    with pytest.raises(KeyError, match="nope"):
        render("x {{nope}}", {"name": "acme"})


def test_cli_refuses_a_bad_name_with_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_hub("new-plugin", "Not-A-Slug", "--dir", str(tmp_path / "out"))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not a slug" in result.stderr
    assert not (tmp_path / "out").exists()


def test_cli_refuses_an_existing_directory(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    result = run_hub("new-plugin", "acme", "--dir", str(tmp_path / "taken"))
    assert result.returncode == 2
    assert "already exists" in result.stderr
    assert list((tmp_path / "taken").iterdir()) == []


def test_default_directory_is_named_after_the_distribution(tmp_path: Path) -> None:
    result = run_hub("new-plugin", "acme", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "attendance-hub-acme" / "hub_acme" / "adapter.py").is_file()


def test_generated_files_are_complete_and_fully_rendered(tmp_path: Path) -> None:
    target, files = generate("demo_vendor", tmp_path / "plugin")
    expected = {
        "pyproject.toml",
        "README.md",
        "CHANGELOG.md",
        "quality.yaml",
        "tests/test_conformance.py",
        *(f"hub_demo_vendor/{m}.py" for m in ("__init__", "plugin", "adapter", "client")),
        *(f"hub_demo_vendor/{m}.py" for m in ("mapping", "emulator")),
        "hub_demo_vendor/py.typed",
    }
    assert {p.as_posix() for p in files} == expected
    for relative in files:
        text = (target / relative).read_text(encoding="utf-8")
        assert "{{" not in text, relative
    pyproject = (target / "pyproject.toml").read_text(encoding="utf-8")
    assert f'name = "{DIST}"' in pyproject
    assert '[project.entry-points."attendance_hub.plugins"]' in pyproject
    assert 'demo_vendor = "hub_demo_vendor.plugin"' in pyproject
    assert '"attendance-hub-contracts' in pyproject
    for relative in files:
        if relative.suffix == ".py":
            compile((target / relative).read_text(encoding="utf-8"), str(relative), "exec")


def _kit_tests_expected() -> int:
    """Kit tests that run (not skipped) for an adapter declaring read_marks and write_marks."""
    general = 4  # manifest, config schema, check() with good and rejected credentials
    per_stream = 4  # records, incremental, interrupted, empty last page
    faults = 2 * len(checks.FAULTS)  # read_marks and write_marks
    return general + per_stream + faults + 1 + 1  # idempotency, log hygiene


@pytest.mark.slow
def test_generated_plugin_installs_and_passes_the_conformance_kit(tmp_path: Path) -> None:
    pytest.importorskip("hatchling", reason="editable installs need hatchling in the venv")
    target = tmp_path / DIST
    created = run_hub("new-plugin", "demo_vendor", "--dir", str(target))
    assert created.returncode == 0, created.stderr
    python = str(BIN / "python")
    install = [python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
    try:
        installed = subprocess.run(
            [*install, "-e", str(target)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert installed.returncode == 0, installed.stdout + installed.stderr

        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        kit = subprocess.run(
            [python, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider"],
            cwd=target,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env=env,
        )
        assert kit.returncode == 0, kit.stdout[-4000:] + kit.stderr[-2000:]
        summary = re.search(r"(\d+) passed", kit.stdout)
        assert summary is not None, kit.stdout[-2000:]
        assert int(summary.group(1)) == _kit_tests_expected(), kit.stdout[-2000:]
        assert " failed" not in kit.stdout

        listed = run_hub("plugins", "list", "--json", cwd=tmp_path)
        assert listed.returncode == 0, listed.stderr
        inventory = {item["name"]: item for item in json.loads(listed.stdout)}
        demo = inventory["demo_vendor"]
        assert demo["status"] == "loaded", demo
        assert demo["adapters"] == ["demo_vendor"]
        assert demo["distribution"] == DIST
    finally:
        subprocess.run(
            [python, "-m", "pip", "uninstall", "-y", "-q", DIST],
            capture_output=True,
            timeout=120,
            check=False,
        )
