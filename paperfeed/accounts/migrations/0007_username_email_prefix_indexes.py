"""The admin's account search matches the start of a username or an email address in any case
(UserQuerySet.starting: `lower(col) LIKE 'prefix%'`). The unique indexes on lower(username) and
lower(email) serve equality only: PostgreSQL uses a btree for LIKE 'prefix%' only with a pattern
operator class (or the C collation), so each gets an index with `text_pattern_ops`. Other databases
have no operator classes (SQLite scans its small table), so nothing is made there, and the model's
Meta does not name them (it would make them on every database).
"""

from django.db import migrations

INDEXES = [("user_username_prefix", "username"), ("user_email_prefix", "email")]


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in INDEXES:
        schema_editor.execute(f'CREATE INDEX "{name}" ON "accounts_user" (lower("{column}") text_pattern_ops)')


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("accounts", "0006_alter_apitoken_options")]

    operations = [migrations.RunPython(create, drop)]
