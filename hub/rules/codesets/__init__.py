"""Attendance code sets as data files (one TOML file per code set), loaded by hub.rules.codes."""
