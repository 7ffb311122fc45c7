"""attendance-hub plugin for MyConcern, a school safeguarding system: the hub raises concerns
in it (unexplained absence of a looked-after child, CME, roll removals) and reads their status.

The hub finds this plugin through the `attendance_hub.plugins` entry point `myconcern`.
"""

from __future__ import annotations

from .adapter import MyConcernAdapter, MyConcernConfig

__version__ = "0.1.0"

__all__ = ["MyConcernAdapter", "MyConcernConfig", "__version__"]
