"""Alembic environment and revisions for the hub's schema (run through ``hub.store.migrate``)."""
