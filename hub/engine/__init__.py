"""Sync engine, outbox dispatcher, retries and dead letters."""
