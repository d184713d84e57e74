from django.db import migrations, models


def mark_inactive_votes(apps, schema_editor):
    """Votes of accounts already deactivated: counted until now, left out from now on, as the votes
    of suspended accounts were (their flag becomes this one)."""
    Vote = apps.get_model("feed", "Vote")
    Vote.objects.filter(user__is_active=False).update(uncounted=True)


def unmark_inactive_votes(apps, schema_editor):
    """Back to the flag saying "suspended" only."""
    Vote = apps.get_model("feed", "Vote")
    Vote.objects.filter(user__suspended_at__isnull=True).update(uncounted=False)


class Migration(migrations.Migration):
    """Vote.suspended becomes Vote.uncounted: the voter is suspended or deactivated. The index is
    dropped before the column is renamed and made again after, as its condition names the column."""

    dependencies = [
        ("feed", "0005_vote_counted_paper_created_at"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="vote", name="vote_counted_paper"),
        migrations.RenameField(model_name="vote", old_name="suspended", new_name="uncounted"),
        migrations.RunPython(mark_inactive_votes, unmark_inactive_votes),
        migrations.AddIndex(
            model_name="vote",
            index=models.Index(
                condition=models.Q(("uncounted", False)),
                fields=["paper", "uncounted", "created_at"],
                name="vote_counted_paper",
            ),
        ),
    ]
