"""Title keys (`titles.title_key`, through `tex.plain`) change with the TeX reading of 2026-12-02: a
group's braces are dropped ("Mus{é}e d'Arch{é}ologie" keyed as "mus e d arch ologie", now "musee d
archeologie"; "Allo{SR}" now "allosr") and a formula is found where the browser finds it
("${D}^{3}${ETOR}"): 3 of the 74,728 real titles. The stored digests are computed again, as 0008
computed them; only those that differ are written."""

import importlib

from django.db import migrations

_0008 = importlib.import_module("paperfeed.papers.migrations.0008_paper_title_digest")


class Migration(migrations.Migration):
    dependencies = [("papers", "0011_paper_paper_hidden")]

    operations = [
        migrations.RunPython(_0008.store_title_digests, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(_0008.analyze, migrations.RunPython.noop, elidable=True),
    ]
