"""The permissions of API tokens say "API token", as the admin does since 0006: Django names a
model's permissions once, when it first creates them, from the verbose name it had then, so a
database made before 0006 kept "Can add api token" where a new one says "Can add API token". Only
rows still carrying a default old name are renamed (a name changed by hand stays), so running it
again changes nothing; backwards gives them the old names again."""

from django.db import migrations

ACTIONS = ("add", "change", "delete", "view")


def _rename(apps, schema_editor, old: str, new: str) -> None:
    # The database being migrated, not "default": `paperfeed copydb` migrates its target this way.
    db = schema_editor.connection.alias
    Permission = apps.get_model("auth", "Permission")
    mine = Permission.objects.using(db).filter(content_type__app_label="accounts", content_type__model="apitoken")
    for action in ACTIONS:
        mine.filter(codename=f"{action}_apitoken", name=f"Can {action} {old}").update(name=f"Can {action} {new}")


def forwards(apps, schema_editor):
    _rename(apps, schema_editor, "api token", "API token")


def backwards(apps, schema_editor):
    _rename(apps, schema_editor, "API token", "api token")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_username_email_prefix_indexes"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
