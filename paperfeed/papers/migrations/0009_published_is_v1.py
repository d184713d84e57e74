"""A record whose version list started past v1 (v2, v3, ...) stored its first listed version's date
as `published`, v1's submission by the model's contract: the paper page, the API and citations then
dated the paper by a later version. Such dates are cleared here (the first announcement dates those
papers instead); a date a source gave for v1 itself (the API's <published>, OAI's <created>) differs
from every listed version's and is kept. Running it again finds nothing more."""

import datetime as dt
import logging

from django.db import migrations

BATCH = 5000

log = logging.getLogger(__name__)


def _first_listed(versions):  # type: ignore[no-untyped-def]
    """(number, date) of the lowest-numbered readable version, or None."""
    listed = []
    for v in versions or []:
        try:
            listed.append((int(v["version"]), dt.datetime.fromisoformat(str(v["date"]))))
        except (KeyError, TypeError, ValueError):
            continue
    return min(listed, default=None, key=lambda nv: nv[0])


def clear_later_published(apps, schema_editor):  # type: ignore[no-untyped-def]
    papers = apps.get_model("papers", "Paper").objects.using(schema_editor.connection.alias)
    rows_after = papers.filter(published__isnull=False).order_by("id").values_list("id", "versions", "published")
    last, wrong = 0, []
    while rows := list(rows_after.filter(id__gt=last)[:BATCH]):
        last = rows[-1][0]
        for pk, versions, published in rows:
            first = _first_listed(versions)
            if first is not None and first[0] > 1 and first[1] == published:
                wrong.append(pk)
    for start in range(0, len(wrong), BATCH):
        papers.filter(id__in=wrong[start : start + BATCH]).update(published=None)
    log.info("published: cleared a later version's date on %d papers", len(wrong))


class Migration(migrations.Migration):
    dependencies = [("papers", "0008_paper_title_digest")]

    operations = [migrations.RunPython(clear_later_published, migrations.RunPython.noop, elidable=True)]
