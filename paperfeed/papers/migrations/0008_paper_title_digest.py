"""Library import matched a title by reading and keying every stored title (2.3 s at 75k papers) and
a DOI by LOWER(doi), which no index served. Papers now store their title's digest (`titles.title_digest`),
indexed, and LOWER(doi) has an index of its own, so both are index lookups.

The digests of stored papers are computed here in batches by id, with progress in the log; the
indexes are built after they are all written, and PostgreSQL then analyzes the table. Running it
again recomputes the same digests."""

import logging

import django.db.models.functions.text
from django.db import migrations, models

BATCH = 5000

log = logging.getLogger(__name__)


def store_title_digests(apps, schema_editor):  # type: ignore[no-untyped-def]
    from paperfeed.papers.titles import title_digest

    connection = schema_editor.connection
    model = apps.get_model("papers", "Paper")
    papers = model.objects.using(connection.alias)
    total = papers.count()
    qn = connection.ops.quote_name
    sql = f"UPDATE {qn(model._meta.db_table)} SET {qn('title_digest')} = %s WHERE {qn('id')} = %s"  # noqa: S608  # nosec B608
    rows_after = papers.order_by("id").values_list("id", "title", "title_digest")
    done = last = 0
    with connection.cursor() as cur:
        while rows := list(rows_after.filter(id__gt=last)[:BATCH]):
            last = rows[-1][0]
            changed = [(d, pk) for pk, title, old in rows if (d := title_digest(title)) != old]
            if changed:
                cur.executemany(sql, changed)
            done += len(rows)
            log.info("title digests: %d of %d papers", done, total)


def analyze(apps, schema_editor):  # type: ignore[no-untyped-def]
    """PostgreSQL: statistics of the new column and index. Without them the planner guesses that an
    IN of 900 digests matches every row and reads the table through (seen on 74,728 papers until
    autovacuum came round); SQLite's planner takes the index without statistics."""
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        table = apps.get_model("papers", "Paper")._meta.db_table
        with connection.cursor() as cur:
            cur.execute(f"ANALYZE {connection.ops.quote_name(table)}")


class Migration(migrations.Migration):
    dependencies = [("papers", "0007_alias_tex_author_keys")]

    operations = [
        migrations.AddField(
            model_name="paper",
            name="title_digest",
            field=models.CharField(blank=True, default="", editable=False, max_length=32),
        ),
        migrations.RunPython(store_title_digests, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="paper",
            index=models.Index(fields=["title_digest"], name="paper_title_digest"),
        ),
        migrations.AddIndex(
            model_name="paper",
            index=models.Index(django.db.models.functions.text.Lower("doi"), name="paper_doi_lower"),
        ),
        migrations.RunPython(analyze, migrations.RunPython.noop),
    ]
