"""Copy a whole site from its database to another one: `paperfeed copydb --to URL`, the way a lab
moves from SQLite to PostgreSQL (and back, which falls out of the same code).

Boundary: every table of every installed model is copied row by row with its primary keys, in one
transaction on each side: the source is read in one snapshot (on SQLite that transaction also keeps
writers out until the copy ends), the target commits all or nothing, so a crash or Ctrl-C leaves it
as it was and the same command runs again. The target's schema is brought to this version's first,
as `paperfeed init` does. What is derived is not copied: Django's migration records (the target's
own migrations write them), the cache table, and the search indexes, which live beside the database
under PAPERFEED_HOME and follow PaperChange ids, preserved here, so indexes built from the source
stay valid for the target and `paperfeed index` has nothing or little to do.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import DataError, IntegrityError, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.functions import Cast

from paperfeed.core.commands import database_name, first_line
from paperfeed.core.failpoints import failpoint
from paperfeed.core.progress import Progress
from paperfeed.core.schema import migrate, schema_mismatch

log = logging.getLogger("paperfeed.core.dbcopy")

SOURCE = "default"
TARGET = "copydb_target"
BATCH = 2000

# Tables of the source that are not copied, and why (the summary and --json say so).
NOT_COPIED = {"django_migrations": "the target's migrations record their own"}
# Database caches (rate-limit counters among them) start empty on the target.
CACHE_TABLES = [c["LOCATION"] for c in settings.CACHES.values() if c["BACKEND"].endswith(".DatabaseCache")]
NOT_COPIED |= dict.fromkeys(CACHE_TABLES, "a cache: filled again as the site is used")
# Rows the target's migrations create for themselves (post_migrate) and other rows point at by id
# (permissions, the admin log): the target's are replaced by the source's, ids and all.
MIGRATION_MADE = {"django_content_type", "auth_permission"}


class CopyError(Exception):
    """A copy that cannot start or could not finish; the message says what to do."""


class SameDatabase(CopyError):
    """The target is the source (another spelling of its URL or path): a mistake in the command's
    arguments, found only once both are connected, before either is touched."""


@dataclass
class TableCount:
    table: str
    source: int
    copied: int = 0


@dataclass
class CopyReport:
    source: str
    target: str
    tables: list[TableCount]
    not_copied: dict[str, str]
    sequences: int = 0
    seconds: float = 0.0
    replaced: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "tables": {t.table: {"source": t.source, "copied": t.copied} for t in self.tables},
            "rows": sum(t.copied for t in self.tables),
            "sequences": self.sequences,
            "not_copied": self.not_copied,
            "replaced": self.replaced,
            "seconds": round(self.seconds, 1),
        }


def connect_target(url: str, alias: str = TARGET) -> str:
    """Register the database at `url` as connection `alias` (settings as DATABASE_URL would give)."""
    from paperfeed.settings import database_from_url

    db = database_from_url(url, setting="--to")
    if db["ENGINE"] == "django.db.backends.sqlite3":
        Path(db["NAME"]).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    connections.configure_settings({**connections.settings, alias: db})
    connections.settings[alias] = db
    return alias


def copied_models() -> list[type[models.Model]]:
    """Every model with a table of its own (auto-created many-to-many tables too), each after the
    models its foreign keys point at, so rows arrive in an order no constraint objects to."""
    found = {
        m._meta.db_table: m
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy and not m._meta.swapped
    }
    ordered: dict[str, type[models.Model]] = {}

    def visit(model: type[models.Model], path: tuple[str, ...]) -> None:
        table = model._meta.db_table
        if table in ordered or table in path:  # done, or a cycle (constraints are deferred anyway)
            return
        for f in model._meta.local_concrete_fields:
            if f.remote_field is not None and f.remote_field.model is not model:
                parent = f.remote_field.model._meta.concrete_model
                if parent is not None and parent._meta.db_table in found:
                    visit(parent, (*path, table))
        ordered[table] = model

    for table in sorted(found):
        visit(found[table], ())
    return list(ordered.values())


def copy_database(
    target: str = TARGET,
    *,
    replace: bool = False,
    batch: int = BATCH,
    progress: Callable[[int, int], Progress] | None = None,
) -> CopyReport:
    """Copy every row of the configured database into `target` (a connection alias)."""
    started = time.monotonic()
    src, dst = connections[SOURCE], connections[target]
    _refuse_same_database(src, dst)
    if why := schema_mismatch(SOURCE):
        raise CopyError(
            f"the source is not at this version's schema: {why}; run `paperfeed init` on it "
            "(with the site stopped) and copy again"
        )
    migrate(target)
    model_list = copied_models()
    report = CopyReport(
        source=database_name(src.settings_dict),
        target=database_name(dst.settings_dict),
        tables=[],
        not_copied=_not_copied(src, model_list),
        replaced=replace,
    )
    with transaction.atomic(using=SOURCE), transaction.atomic(using=target):
        if src.vendor == "postgresql":  # one snapshot for every table (SQLite's transaction is one)
            with src.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        counts = [TableCount(m._meta.db_table, _count(m, SOURCE)) for m in model_list]
        report.tables = counts
        _make_room(dst, model_list, replace)
        total = sum(c.source for c in counts)
        bar = progress(total, len(model_list)) if progress else None
        try:
            for model, count in zip(model_list, counts, strict=True):
                begun = time.monotonic()
                try:
                    for n in _copy_table(model, src, dst, batch):
                        count.copied += n
                        if bar is not None:
                            bar.update(n, table=count.table)
                        failpoint("copydb.batch")
                except DataError as e:
                    # What SQLite let through and PostgreSQL refuses: text longer than its column,
                    # a NUL character in text.
                    raise CopyError(
                        f"the target refused a row of {count.table} ({first_line(e)}); nothing was "
                        "committed to the target: correct that row in the source and copy again"
                    ) from None
                log.info(
                    "copied %s: %d rows in %.1f s",
                    count.table,
                    count.copied,
                    time.monotonic() - begun,
                    extra={"table": count.table, "rows": count.copied},
                )
        finally:
            if bar is not None:
                bar.close()
        report.sequences = _carry_sequences(src, dst, model_list)
        _verify(dst, model_list, counts)
        log.info("checked: every foreign key holds, every table has the source's row count; committing")
    log.info("committed; updating the target's statistics (ANALYZE)")
    with dst.cursor() as cur:  # fresh statistics, or PostgreSQL plans the first queries blind
        cur.execute("ANALYZE")
    report.seconds = time.monotonic() - started
    return report


def _identity(conn: BaseDatabaseWrapper) -> tuple[Any, ...]:
    if conn.vendor == "sqlite":
        return ("sqlite", str(Path(conn.settings_dict["NAME"]).expanduser().resolve()))
    with conn.cursor() as cur:
        # Host names differ for one server (localhost, 127.0.0.1, a DNS name); its start time does not.
        cur.execute("SELECT current_database(), pg_postmaster_start_time(), inet_server_port()")
        return ("postgresql", *cur.fetchone())


def _refuse_same_database(src: BaseDatabaseWrapper, dst: BaseDatabaseWrapper) -> None:
    if _identity(src) == _identity(dst):
        raise SameDatabase(
            f"--to names the database this site already uses ({database_name(dst.settings_dict)}); "
            "nothing was changed: name another database as the target"
        )


def _not_copied(src: BaseDatabaseWrapper, model_list: list[type[models.Model]]) -> dict[str, str]:
    known = {m._meta.db_table for m in model_list}
    out = {}
    for table in sorted(src.introspection.table_names()):
        if table in NOT_COPIED:
            out[table] = NOT_COPIED[table]
        elif table not in known:
            out[table] = "no model of this version reads it"
    return out


def _count(model: type[models.Model], using: str) -> int:
    return model._base_manager.using(using).count()


def _make_room(dst: BaseDatabaseWrapper, model_list: list[type[models.Model]], replace: bool) -> None:
    """Refuse a target holding a site unless told to replace it; then empty what will be copied."""
    alias = dst.alias
    if not replace:
        held = [
            (m._meta.db_table, n)
            for m in model_list
            if m._meta.db_table not in MIGRATION_MADE and (n := _count(m, alias))
        ]
        if held:
            shown = ", ".join(f"{t} ({n} rows)" for t, n in held[:3]) + (" …" if len(held) > 3 else "")
            raise CopyError(
                f"the target already holds data: {shown}; copy into an empty database, or pass "
                "--replace to empty the target first (its rows are deleted)"
            )
    tables = [m._meta.db_table for m in reversed(model_list)] + CACHE_TABLES
    qn = dst.ops.quote_name
    with dst.cursor() as cur:
        if dst.vendor == "postgresql":
            cur.execute(f"TRUNCATE {', '.join(qn(t) for t in tables)} RESTART IDENTITY")
        else:
            for t in tables:
                cur.execute(f"DELETE FROM {qn(t)}")  # noqa: S608  # nosec B608 (names from the models)


def _copy_table(
    model: type[models.Model], src: BaseDatabaseWrapper, dst: BaseDatabaseWrapper, batch: int
) -> Iterator[int]:
    """Copy one table in batches, yielding each batch's row count."""
    fields = list(model._meta.local_concrete_fields)
    # JSON travels as its text: parsed and dumped again, a JSON null would come out as SQL NULL.
    columns = [
        Cast(f.attname, models.TextField()) if isinstance(f, models.JSONField) else f.attname for f in fields
    ]
    rows = (
        model._base_manager.using(src.alias).order_by("pk").values_list(*columns).iterator(chunk_size=batch)
    )
    prep = [_preparer(f, dst) for f in fields]
    qn = dst.ops.quote_name
    names = ", ".join(qn(_column(f)) for f in fields)
    table = qn(model._meta.db_table)
    with dst.cursor() as cur:
        if dst.vendor == "postgresql":
            # psycopg's own cursor (Django's has no COPY): its errors as Django's, as everywhere else.
            with dst.wrap_database_errors, cur.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for chunk in _chunks(rows, batch, prep):
                    for row in chunk:
                        copy.write_row(row)
                    yield len(chunk)
        else:
            sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608  # nosec B608
            for chunk in _chunks(rows, batch, prep):
                cur.executemany(sql, chunk)
                yield len(chunk)


def _column(f: models.Field[Any, Any]) -> str:
    assert f.column is not None  # every concrete field has one
    return f.column


Preparer = Callable[[Any], Any] | None


def _preparer(f: models.Field[Any, Any], dst: BaseDatabaseWrapper) -> Preparer:
    """How a value read through the ORM is written to the target: datetimes, dates, booleans,
    UUIDs and binaries as its backend stores them; text and numbers (and JSON text) as they are."""
    if isinstance(f, models.JSONField):
        return None
    kind = (f.target_field if f.is_relation else f).get_internal_type()  # type: ignore[attr-defined]
    if kind in _AS_IS:
        return None
    return lambda value: f.get_db_prep_save(value, connection=dst)


# Values of these types need no conversion on either backend: str, int, float or None.
_AS_IS = {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
    "FloatField",
    "CharField",
    "TextField",
    "SlugField",
    "EmailField",
    "URLField",
}


def _chunks(
    rows: Iterable[tuple[Any, ...]], size: int, prep: list[Preparer]
) -> Iterator[list[tuple[Any, ...]]]:
    convert = [(i, p) for i, p in enumerate(prep) if p is not None]
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        if convert:
            values = list(row)
            for i, p in convert:
                values[i] = p(values[i])
            row = tuple(values)
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _carry_sequences(
    src: BaseDatabaseWrapper, dst: BaseDatabaseWrapper, model_list: list[type[models.Model]]
) -> int:
    """Start each id counter of the target where the source's stands (or past the largest copied
    id): new rows get fresh ids, and an id the source gave a row since deleted is not given again
    (PaperChange ids are the search indexes' watermarks)."""
    used = _last_ids(src, model_list)
    qn = dst.ops.quote_name
    n = 0
    with dst.cursor() as cur:
        for model in model_list:
            pk = model._meta.pk
            if not isinstance(pk, models.AutoField):
                continue
            table = model._meta.db_table
            cur.execute(f"SELECT MAX({qn(_column(pk))}) FROM {qn(table)}")  # noqa: S608  # nosec B608
            last = max(cur.fetchone()[0] or 0, used.get(table, 0))
            if dst.vendor == "postgresql":
                cur.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, %s), %s, %s)",
                    [qn(table), pk.column, max(last, 1), last > 0],
                )
            else:
                cur.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [last, table])
                if cur.rowcount == 0 and last > 0:
                    cur.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, last])
            n += 1
    return n


def _last_ids(conn: BaseDatabaseWrapper, model_list: list[type[models.Model]]) -> dict[str, int]:
    """The last id each table's counter gave out, deleted rows included."""
    with conn.cursor() as cur:
        if conn.vendor == "sqlite":
            cur.execute("SELECT name, seq FROM sqlite_sequence")
            return {name: int(seq) for name, seq in cur.fetchall()}
        out = {}
        for model in model_list:
            pk = model._meta.pk
            if isinstance(pk, models.AutoField):
                cur.execute(
                    "SELECT pg_sequence_last_value(pg_get_serial_sequence(%s, %s)::regclass)",
                    [conn.ops.quote_name(model._meta.db_table), pk.column],
                )
                out[model._meta.db_table] = int(cur.fetchone()[0] or 0)
        return out


def _verify(dst: BaseDatabaseWrapper, model_list: list[type[models.Model]], counts: list[TableCount]) -> None:
    """Before the commit: every foreign key holds and every table has the source's row count."""
    try:
        dst.check_constraints()
    except IntegrityError as e:
        raise CopyError(
            f"the copied rows break a constraint ({first_line(e)}); nothing was committed to the target"
        ) from None
    wrong = [
        f"{c.table}: {c.source} in the source, {n} in the target"
        for m, c in zip(model_list, counts, strict=True)
        if (n := _count(m, dst.alias)) != c.source
    ]
    if wrong:
        raise CopyError(f"row counts differ ({'; '.join(wrong)}); nothing was committed to the target")
