"""Data migrations over stored rows."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from paperfeed.accounts.models import Follow
from paperfeed.digests.models import Subscriber
from paperfeed.papers.models import Author, Authorship, Category, Paper, PaperCategory, PaperChange
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


def _raw_paper(arxiv_id: str, names: list[tuple[str, str, str]]) -> Paper:
    """A paper stored as imports before the decoding stored it: names, keys and line as written."""
    entries = [
        {"name": f"{fore} {key}", "keyname": key, "forenames": fore, "suffix": "", "key": slug}
        for key, fore, slug in names
    ]
    paper = Paper.objects.create(
        arxiv_id=arxiv_id, title="T", authors=entries, authors_text=", ".join(e["name"] for e in entries)
    )
    for i, e in enumerate(entries):
        author, _ = Author.objects.get_or_create(key=e["key"], defaults={"name": e["name"]})
        Authorship.objects.create(paper=paper, author=author, position=i)
    return paper


def test_stored_tex_names_are_decoded_and_authors_whose_keys_then_collide_merged() -> None:
    # The same person stored twice: as arXiv's TeX (an OAI harvest) and in Unicode (another source).
    raw = _raw_paper("2601.00001", [("Doe", "Jane", "jane-doe"), ('M\\"uller', "Hans", "hans-m-uller")])
    plain = _raw_paper("2601.00002", [("Müller", "Hans", "hans-muller"), ("Roe", "Rick", "rick-roe")])
    # Two raw spellings of one name, and one that just changes key.
    also = _raw_paper(
        "2601.00003",
        [
            ('M\\"{u}ller', "Hans", "hans-m-u-ller"),
            ("O\\'Brien", "Jos\\'e", "jos-e-o-brien"),
            ("Roe", "Rick", "rick-roe"),
        ],
    )
    kept_id = Author.objects.get(key="hans-muller").id
    users = get_user_model().objects
    both = users.create_user("both", "both@example.org", "x" * 20)
    old_only = users.create_user("old", "old@example.org", "x" * 20)
    for user, key in ((both, "hans-m-uller"), (both, "hans-muller"), (old_only, "hans-m-uller")):
        Follow.objects.create(user=user, kind=Follow.Kind.AUTHOR, value=key)
    Follow.objects.create(user=old_only, kind=Follow.Kind.AUTHOR, value="jos-e-o-brien")
    sub = Subscriber.objects.create(
        email="s@example.org", authors=["hans-m-u-ller", "hans-muller", "rick-roe", "jos-e-o-brien"]
    )
    before = PaperChange.objects.count()

    migration = importlib.import_module("paperfeed.papers.migrations.0004_decode_tex_author_names")
    migration.decode_author_names(apps, SimpleNamespace(connection=connection))

    assert not Author.objects.filter(name__contains="\\").exists()
    assert Author.objects.get(key="hans-muller").id == kept_id  # the Unicode row stays, the raw ones merged
    assert sorted(Author.objects.values_list("key", flat=True)) == [
        "hans-muller",
        "jane-doe",
        "jose-o-brien",
        "rick-roe",
    ]
    # Every paper keeps its order, each position pointing at the one author now.
    for paper, keys in (
        (raw, ["jane-doe", "hans-muller"]),
        (plain, ["hans-muller", "rick-roe"]),
        (also, ["hans-muller", "jose-o-brien", "rick-roe"]),
    ):
        rows = Authorship.objects.filter(paper=paper).order_by("position")
        assert [(a.position, a.author.key) for a in rows] == list(enumerate(keys))
        paper.refresh_from_db()
        assert [a["key"] for a in paper.authors] == keys
        assert "\\" not in paper.authors_text
    assert [a["name"] for a in also.authors] == ["Hans Müller", "José O'Brien", "Rick Roe"]
    assert also.authors_text == "Hans Müller, José O'Brien, Rick Roe"
    assert list(
        Paper.objects.by_author("hans-muller").order_by("arxiv_id").values_list("arxiv_id", flat=True)
    ) == [
        "2601.00001",
        "2601.00002",
        "2601.00003",
    ]
    # The search indexes hear of the two papers whose names changed, not of the one that did not.
    assert set(PaperChange.objects.filter(id__gt=before).values_list("paper_id", flat=True)) == {
        raw.id,
        also.id,
    }
    assert sorted(Follow.objects.values_list("user__username", "value")) == [
        ("both", "hans-muller"),
        ("old", "hans-muller"),
        ("old", "jose-o-brien"),
    ]
    sub.refresh_from_db()
    assert sub.authors == ["hans-muller", "rick-roe", "jose-o-brien"]
    # Run again (a rerun after a crash, or a database migrated twice by copydb): nothing changes.
    migration.decode_author_names(apps, SimpleNamespace(connection=connection))
    assert Author.objects.count() == 4 and PaperChange.objects.filter(id__gt=before).count() == 2
