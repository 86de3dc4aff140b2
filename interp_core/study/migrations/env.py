"""Alembic environment for the study database, run programmatically by :func:`interp_core.study.storage.migrate`
(no alembic.ini): the caller hands over an open connection in ``config.attributes["connection"]``."""
from alembic import context

from interp_core.study.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run study migrations through interp_core.study.storage.migrate(url), which passes a connection.")
# Batch mode lets later migrations alter SQLite tables (it copies them, as SQLite has no ALTER COLUMN).
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
