"""Alembic environment of the control-plane store: run by `bx_platform.control.store.upgrade_database`,
which hands it an open connection (no alembic.ini, no URL in a file)."""

from alembic import context

from bx_platform.control.store import VERSION_TABLE, metadata


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("the control-plane migrations run online only: bx_platform.control.store.upgrade_database")
run_migrations_online()
