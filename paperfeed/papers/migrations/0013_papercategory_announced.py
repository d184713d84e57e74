"""A category's listings by day, cross-lists too: each listing gets its paper's `announced`, and an
index (category, announced, paper) reads a category's newest listings from its end
(PaperCategory.objects.of_newest). Only the primary listings had one, (primary_category, announced) on
the papers, so cross-lists came by id and a backfill of old papers hid the newer ones.

Not one transaction: the column is added, then filled in batches of listings by id, each batch its own
transaction with progress in the log, so a large table is not locked whole while it fills; on
PostgreSQL a table of CONCURRENT_FROM listings or more gets the index CONCURRENTLY, taking no lock
that stops writes (core.indexes.AddIndexConcurrently). Every step can run again: a migration stopped
part way (SIGTERM, a lost connection) finishes on the next run, an index an interrupted concurrent
build left invalid is dropped and built again. PostgreSQL then analyzes the table, whose new column
the planner has no statistics of."""

import logging

from django.db import migrations, models, transaction

from paperfeed.core.indexes import AddIndexConcurrently

BATCH = 20_000  # listings per transaction of the fill
CONCURRENT_FROM = 100_000  # listings from which PostgreSQL builds the index without blocking writes
INDEX = models.Index(fields=["category", "announced", "paper"], name="papercat_cat_announced")
FIELD = models.DateField(null=True, blank=True, editable=False)

log = logging.getLogger(__name__)


def _column(apps, schema_editor):  # type: ignore[no-untyped-def]
    """The listings' model (as the state before the column has it), the column's field, and whether
    the table has the column now."""
    model = apps.get_model("papers", "PaperCategory")
    field = FIELD.clone()
    field.set_attributes_from_name("announced")
    field.model = model
    connection, table = schema_editor.connection, model._meta.db_table
    columns: set[str] = set()
    # No table: `sqlmigrate` asked on a database not migrated yet, which shows what one would run.
    if table in connection.introspection.table_names():
        with connection.cursor() as cur:
            columns = {c.name for c in connection.introspection.get_table_description(cur, table)}
    return model, field, field.column in columns


def add_column(apps, schema_editor):  # type: ignore[no-untyped-def]
    model, field, there = _column(apps, schema_editor)
    if not there:  # else added by a run stopped before its end
        schema_editor.add_field(model, field)


def remove_column(apps, schema_editor):  # type: ignore[no-untyped-def]
    model, field, there = _column(apps, schema_editor)
    if there:
        schema_editor.remove_field(model, field)


def fill_days(apps, schema_editor):  # type: ignore[no-untyped-def]
    connection = schema_editor.connection
    listings = apps.get_model("papers", "PaperCategory")
    papers = apps.get_model("papers", "Paper")
    qn = connection.ops.quote_name
    table, paper_table = qn(listings._meta.db_table), qn(papers._meta.db_table)
    # By ranges of the listings' own ids (their primary key): each batch an index range, however
    # sparse the ids. A correlated subquery, which both databases run as a look-up by primary key.
    sql = (
        f"UPDATE {table} SET announced = (SELECT p.announced FROM {paper_table} p WHERE p.id = {table}.paper_id)"  # noqa: S608  # nosec B608
        f" WHERE {table}.id > %s AND {table}.id <= %s"
    )
    rows = listings.objects.using(connection.alias)
    total = rows.count()
    last = rows.order_by("-id").values_list("id", flat=True).first() or 0
    done = start = 0
    while start < last:
        ends = rows.filter(id__gt=start).order_by("id").values_list("id", flat=True)[BATCH - 1 : BATCH]
        end = ends[0] if ends else last
        with transaction.atomic(using=connection.alias), connection.cursor() as cur:
            cur.execute(sql, [start, end])
            done += cur.rowcount
        start = end
        log.info("listings' days: %d of %d listings", done, total)


class Migration(migrations.Migration):
    # Each batch of the fill commits on its own, and PostgreSQL builds an index CONCURRENTLY only
    # outside a transaction. Every step below is one that can run again.
    atomic = False

    dependencies = [("papers", "0012_title_digest_braces")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddField(model_name="papercategory", name="announced", field=FIELD)],
            database_operations=[
                migrations.RunPython(add_column, remove_column),
            ],
        ),
        migrations.RunPython(fill_days, migrations.RunPython.noop),
        AddIndexConcurrently(
            model_name="papercategory", index=INDEX, concurrent_from=CONCURRENT_FROM, analyze=True
        ),
    ]
