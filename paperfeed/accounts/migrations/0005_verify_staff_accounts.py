"""Superusers and staff made before createsuperuser counted their address as verified stayed
unverified (no link is mailed to them) until `paperfeed users verify NAME`: they could not vote,
comment or submit. Their addresses were typed by an operator or given by one, so they count as
verified now. Backwards it changes nothing: which of them were verified before is not known."""

from django.db import migrations
from django.db.models import Q


def verify_staff(apps, schema_editor):
    # The database being migrated, not "default": `paperfeed copydb` migrates its target this way.
    db = schema_editor.connection.alias
    # The plain manager: `objects` here is today's AccountManager (use_in_migrations), whose update
    # copies the standing to the votes through today's models and the default database.
    users = apps.get_model("accounts", "User")._base_manager.using(db)
    Vote = apps.get_model("feed", "Vote")
    staff = users.filter(Q(is_superuser=True) | Q(is_staff=True), email_verified=False)
    changed = list(staff.values_list("pk", flat=True))
    users.filter(pk__in=changed).update(email_verified=True)
    # A vote carries its voter's standing (Vote.voter_joined: date_joined while the account counts
    # toward trending), copied here as Vote.objects.follow_voters does.
    counting = users.filter(pk__in=changed, is_active=True, suspended_at__isnull=True)
    for pk, joined in counting.values_list("pk", "date_joined"):
        Vote.objects.using(db).filter(user_id=pk).update(voter_joined=joined)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0004_user_suspended_at"),
        ("feed", "0004_vote_voter_joined"),
    ]

    operations = [migrations.RunPython(verify_staff, migrations.RunPython.noop)]
