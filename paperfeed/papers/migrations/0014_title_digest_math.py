"""Title keys (`titles.title_key`, through `tex.plain`) change with plain's reading of math of
2026-12-03: a fraction, an accent, a relation or an arrow was keyed by its command's name
("$\\frac{\\mathbb{F}_{p^m}[u]}{\\langle u^t \\rangle}$" as "fracf p m u langle u t rangle", now
"f p m u u t"; "$O(n\\log n)$" as "o nlog n", now "o n log n"; "$\\bf{D^3}$QE" as "bfd3qe", now
"d3qe"); and a key is folded again after NFKD, so that plain's 𝒪 and ℝ key as "o" and "r" as the
letters did. 8 of the 74,728 real titles. The stored digests are computed again, as 0008 computed
them; only those that differ are written."""

import importlib

from django.db import migrations

_0008 = importlib.import_module("paperfeed.papers.migrations.0008_paper_title_digest")


class Migration(migrations.Migration):
    dependencies = [("papers", "0013_papercategory_announced")]

    operations = [
        migrations.RunPython(_0008.store_title_digests, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(_0008.analyze, migrations.RunPython.noop, elidable=True),
    ]
