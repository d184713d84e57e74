"""Indexes that migrations add to tables already full of rows, without stopping the site's writes.

A plain CREATE INDEX holds a lock on its table that stops every write for as long as it reads the
table (~1.2 s for 1.1M votes, feed.0009). PostgreSQL's CREATE INDEX CONCURRENTLY takes none that
stops writes, at a price: it reads the table twice and waits for the transactions running, it
cannot run inside a transaction (its migration says `atomic = False`, and core.schema.migrate
applies such a migration on its own), and one interrupted (SIGTERM from a deploy, a lost
connection) leaves an *invalid* index of its name: unused by the planner, still kept up by every
write, and unrecorded, so the next run's CREATE INDEX would fail on the name being taken. SQLite
has no CONCURRENTLY (and one writer at a time anyway): the plain index."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db import migrations

log = logging.getLogger(__name__)


def index_state(connection: Any, table: str, name: str) -> bool | None:
    """None when the database has no index `name`; else whether it is valid (False only on
    PostgreSQL: the leftover of an interrupted concurrent build). `table` is the index's."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            return True if name in connection.introspection.get_constraints(cursor, table) else None
        cursor.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)",
            [connection.ops.quote_name(name)],
        )
        found = cursor.fetchone()
    return None if found is None else bool(found[0])


class AddIndexConcurrently(migrations.AddIndex):
    """AddIndex, built on PostgreSQL CONCURRENTLY, that can run again. The state, and so the schema,
    is AddIndex's: a database that applied its migration as a plain AddIndex has what it makes, and
    the migration it is in must say `atomic = False`.

    A run killed during a concurrent build leaves an invalid index of the name, unrecorded: the next
    run drops it and builds again; a valid one (killed after the build, before the record) is kept.

    `concurrent_from`: the rows from which the table gets its index concurrently (0, the default:
    always, without counting them); a smaller one gets the plain index, locked for less time than a
    concurrent build takes. `analyze`: ANALYZE the table after the build (PostgreSQL), for an index
    over columns its migration has just filled, whose statistics the planner has from before."""

    def __init__(self, model_name: str, index: Any, concurrent_from: int = 0, analyze: bool = False) -> None:
        super().__init__(model_name, index)
        self.concurrent_from, self.analyze = concurrent_from, analyze

    def deconstruct(self) -> tuple[str, Sequence[Any], dict[str, Any]]:
        name, args, kwargs = super().deconstruct()
        if self.concurrent_from:
            kwargs["concurrent_from"] = self.concurrent_from
        if self.analyze:
            kwargs["analyze"] = True
        return name, args, kwargs

    def _how(self, schema_editor: Any, model: Any) -> dict[str, Any]:
        """The keyword arguments of the editor's add_index/remove_index: {"concurrently": True}
        where the build is concurrent, none elsewhere (only PostgreSQL's editor takes it)."""
        if schema_editor.connection.vendor != "postgresql":
            return {}
        if self.concurrent_from > 0:
            connection, table = schema_editor.connection, model._meta.db_table
            if table not in connection.introspection.table_names():
                return {}  # `sqlmigrate` on a database not migrated yet: a new table has no rows
            if model._default_manager.using(connection.alias).count() < self.concurrent_from:
                return {}
        return {"concurrently": True}

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        connection = schema_editor.connection
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(connection.alias, model):
            return
        state = index_state(connection, model._meta.db_table, self.index.name)
        if state:
            return
        how = self._how(schema_editor, model)
        if state is False:
            log.warning("index %s: left invalid by an interrupted build, built again", self.index.name)
            schema_editor.remove_index(model, self.index, **how)
        if how:
            log.info("index %s on %s: built concurrently", self.index.name, model._meta.db_table)
        schema_editor.add_index(model, self.index, **how)
        if self.analyze and connection.vendor == "postgresql":
            schema_editor.execute(f"ANALYZE {schema_editor.quote_name(model._meta.db_table)}")

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        connection = schema_editor.connection
        model = from_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(connection.alias, model):
            return
        if index_state(connection, model._meta.db_table, self.index.name) is None:
            return  # a run stopped before the build, or one undone already
        schema_editor.remove_index(model, self.index, **self._how(schema_editor, model))
