"""Conformance kit for adapter plugins (a pytest plugin)."""
