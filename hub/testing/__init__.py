"""Testing tools for adapter plugins: the conformance kit (a pytest plugin) and emulator parts.

- `AdapterConformance` (`hub.testing.conformance`): the suite a plugin subclasses in its tests;
  `ConformanceFailure` is what a failed check raises (see `hub/testing/README.md`);
- `hub.testing.faults`: the fault catalogue (`Fault`, `FaultPlan`, `fault_middleware`,
  `add_control_routes`, `install_faults`, `honour_empty_last_page`) every emulator installs;
- `hub.testing.emulator`: `serve_emulator` (loopback, free port) and `run_standalone`.

The emulator parts run outside tests too (`hub demo`), so importing this package does not
import pytest: the conformance names are loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .emulator import run_standalone, serve_emulator
from .faults import (
    Fault,
    FaultPlan,
    add_control_routes,
    fault_middleware,
    honour_empty_last_page,
    install_faults,
)

if TYPE_CHECKING:
    from .conformance import AdapterConformance
    from .harness import ConformanceFailure

__all__ = [
    "AdapterConformance",
    "ConformanceFailure",
    "Fault",
    "FaultPlan",
    "add_control_routes",
    "fault_middleware",
    "honour_empty_last_page",
    "install_faults",
    "run_standalone",
    "serve_emulator",
]


def __getattr__(name: str) -> Any:
    if name == "AdapterConformance":
        from .conformance import AdapterConformance

        return AdapterConformance
    if name == "ConformanceFailure":
        from .harness import ConformanceFailure

        return ConformanceFailure
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
