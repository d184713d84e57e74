"""Data migrations over stored rows."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection

from paperfeed.papers.models import Category, PaperCategory
from tests.sitedata import load_papers

pytestmark = pytest.mark.django_db


def test_stored_class_codes_are_dropped_and_arxiv_categories_kept() -> None:
    paper = load_papers(1)[0]
    for code in ("68T05,", "I.2.6;", "learning"):
        PaperCategory.objects.create(paper=paper, category=Category.objects.create(code=code), position=9)
    kept = set(paper.category_codes())
    migration = importlib.import_module("paperfeed.papers.migrations.0002_drop_class_codes")
    Category.objects.update_or_create(code="cs.CL", defaults={"name": ""})  # stored before names were known
    # The function reads only the schema editor's connection: the database it migrates.
    migration.drop_class_codes(apps, SimpleNamespace(connection=connection))
    assert not Category.objects.filter(code__in=["68T05,", "I.2.6;", "learning"]).exists()
    paper.refresh_from_db()
    assert (
        set(paper.category_codes()) == kept - {"68T05,", "I.2.6;", "learning"} and paper.primary_category_id
    )
    assert Category.objects.get(code="cs.CL").name == "Computation and Language"


@pytest.mark.skipif(not settings.IS_POSTGRES, reason="only PostgreSQL makes pattern_ops indexes")
def test_no_like_index_on_arxiv_ids_and_author_keys_which_no_query_reads_by_prefix() -> None:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT tablename, indexdef FROM pg_indexes WHERE tablename IN ('papers_paper', 'papers_author')"
        )
        indexes = cur.fetchall()
    assert not [i for i in indexes if "pattern_ops" in i[1]], indexes
    # Their unique indexes stay: the look-ups by id and by key are equalities.
    for table, column in (("papers_paper", "arxiv_id"), ("papers_author", "key")):
        assert any(t == table and "UNIQUE" in d and f"({column})" in d for t, d in indexes), indexes
