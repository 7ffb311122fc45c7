"""Endpoint handlers, one module per area; each takes a validated `hub.api.context.Call`."""
