"""Imports before papers.taxonomy stored the snapshot's MSC and ACM classes ("68T05,", "I.2.6;",
"learning") as categories, each with a page and a feed. Drop them (the papers keep their arXiv
categories), and name the real ones."""

from django.db import migrations


def drop_class_codes(apps, schema_editor):  # type: ignore[no-untyped-def]
    from paperfeed.papers.taxonomy import NAMES, is_category

    # The database being migrated, not "default": `paperfeed copydb` migrates its target this way.
    db = schema_editor.connection.alias
    categories = apps.get_model("papers", "Category").objects.using(db)
    paper_categories = apps.get_model("papers", "PaperCategory").objects.using(db)
    bogus = [c for c in categories.values_list("code", flat=True) if not is_category(c)]
    for start in range(0, len(bogus), 500):  # SQLite's bound-variable limit
        chunk = bogus[start : start + 500]
        paper_categories.filter(category_id__in=chunk).delete()
        categories.filter(code__in=chunk, primary_papers__isnull=True).delete()
    for cat in categories.filter(name="", code__in=list(NAMES)):
        cat.name = NAMES[cat.code]
        cat.save(using=db, update_fields=["name"])


class Migration(migrations.Migration):
    dependencies = [("papers", "0001_initial")]

    operations = [migrations.RunPython(drop_class_codes, migrations.RunPython.noop)]
