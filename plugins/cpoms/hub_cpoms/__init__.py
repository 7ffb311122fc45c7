"""attendance-hub plugin for CPOMS, a school safeguarding system: the hub raises incidents
in it (unexplained absence of a looked-after child, CME, roll removals) and reads their status.

The hub finds this plugin through the `attendance_hub.plugins` entry point `cpoms`.
"""

from __future__ import annotations

from .adapter import CpomsAdapter, CpomsConfig

__version__ = "0.1.0"

__all__ = ["CpomsAdapter", "CpomsConfig", "__version__"]
