"""PostgreSQL gives each unique or indexed varchar column a second index ("…_like", with
varchar_pattern_ops) that only serves LIKE 'prefix%' and startswith. Nothing queries Paper.arxiv_id
or Author.key that way: both are looked up by equality (their unique indexes stay), and the admin's
search is icontains, UPPER(…) LIKE '%…%', which no btree index serves. At 74,728 papers the two took
9.7 MB and were written on every import's inserts, for no query. Other databases have no such index.

An AlterField that changes either column's type makes Django create the index again: drop it there too.
"""

from django.db import migrations

UNUSED = [("Paper", "arxiv_id"), ("Author", "key")]


def _fields(apps):  # type: ignore[no-untyped-def]
    for model_name, field_name in UNUSED:
        model = apps.get_model("papers", model_name)
        yield model, model._meta.get_field(field_name)


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for model, field in _fields(apps):
        name = schema_editor._create_index_name(model._meta.db_table, [field.column], suffix="_like")
        schema_editor.execute(schema_editor._delete_index_sql(model, name))


def restore(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for model, field in _fields(apps):
        schema_editor.execute(schema_editor._create_like_index_sql(model, field))


class Migration(migrations.Migration):
    dependencies = [("papers", "0002_drop_class_codes")]

    operations = [migrations.RunPython(drop, restore)]
