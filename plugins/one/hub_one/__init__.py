"""attendance-hub plugin for Capita/ESS One, the local authority's pupil system.

The hub reads One's roll and EOTAS placements and delivers statutory returns and notices to it.
The hub finds this plugin through the `attendance_hub.plugins` entry point `one`.
"""

from __future__ import annotations

from .adapter import OneAdapter, OneConfig

__version__ = "0.1.0"

__all__ = ["OneAdapter", "OneConfig", "__version__"]
