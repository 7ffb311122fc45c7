"""attendance-hub plugin for SIMS (ESS), the school MIS: learners, roll, attendance marks.

The hub finds this plugin through the `attendance_hub.plugins` entry point `sims`.
"""

from __future__ import annotations

from .adapter import SimsAdapter, SimsConfig

__version__ = "0.1.0"

__all__ = ["SimsAdapter", "SimsConfig", "__version__"]
