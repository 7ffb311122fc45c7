"""aiohttp application: /v1 API, webhooks, auth, health, metrics."""
