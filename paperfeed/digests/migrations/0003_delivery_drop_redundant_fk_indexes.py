"""The outbox's foreign keys lose their single-column indexes: uniq_delivery (digest, subscriber) and
delivery_subscriber (subscriber, digest) lead with the same columns, and Delivery grows by a row per
subscriber per digest. Only the indexes are dropped: altering the fields in the database would drop
and re-add (re-validate) both foreign keys, a scan of the whole outbox under a lock."""

import django.db.models.deletion
from django.db import migrations, models

INDEXES = {
    "digests_delivery_digest_id_595dba02": "digest_id",
    "digests_delivery_subscriber_id_461c9d9d": "subscriber_id",
}


class Migration(migrations.Migration):
    dependencies = [
        ("digests", "0002_mailto_unsubscribe"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="delivery",
                    name="digest",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="deliveries",
                        to="digests.digest",
                    ),
                ),
                migrations.AlterField(
                    model_name="delivery",
                    name="subscriber",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="deliveries",
                        to="digests.subscriber",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX "{name}" ON "digests_delivery" ("{column}")',
                )
                for name, column in INDEXES.items()
            ],
        ),
    ]
