"""attendance-hub: an integration hub for school attendance, dual registration, roll deletions and CME."""

from __future__ import annotations

__version__ = "0.1.0"
