"""Alembic environment: migrations always run on the app's own keyed connection."""

from alembic import context

from desktop.models.storage.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - guarded: we never run alembic against a URL
    raise RuntimeError("VKS CĐS migrations run only through desktop.models.storage.db.upgrade()")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
