"""Alembic migrations of the cloud's schema (run by `kentongan-cloud init-db` and at start)."""
