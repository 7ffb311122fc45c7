"""attendance-hub: attendance, dual registration, roll deletions and CME across systems."""

from __future__ import annotations

__version__ = "0.1.0"
