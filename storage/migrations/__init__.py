"""Alembic migrations for ``storage.schema`` (``cds-service db upgrade``)."""
