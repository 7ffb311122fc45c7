"""Errors the repositories raise when a request cannot be applied to the stored state."""

from __future__ import annotations


class StoreError(Exception):
    """Base class for storage errors callers are expected to handle."""


class NotFoundError(StoreError, LookupError):
    """The record asked for does not exist."""


class ConflictError(StoreError):
    """The record exists but is not in a state that allows the change."""
