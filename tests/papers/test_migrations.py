"""Data migrations over stored rows."""

from __future__ import annotations

import datetime as dt
import importlib
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from paperfeed.accounts.models import Follow
from paperfeed.core.indexes import AddIndexConcurrently, index_state
from paperfeed.digests.models import Subscriber
from paperfeed.papers.models import Author, Authorship, Category, Paper, PaperCategory, PaperChange
from tests.conftest import paperfeed
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
        rows = Authorship.objects.filter(paper_id=paper.pk).order_by("position")
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


def _old_key(name: str) -> str:
    """The key the rule before 0006 gave a name: NFKD, then everything not ASCII dropped."""
    import re
    import unicodedata

    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:200] or "unknown"


def _stored_before_0006(papers: Any, arxiv_id: str, names: list[str]) -> Any:
    """A paper as imports before 0006 stored it: its names keyed by the old rule. `papers` is Paper
    as of 0005 (the table then had fewer columns than the model has now)."""
    entries = []
    for name in names:
        fore, _, last = name.rpartition(" ")
        entries.append(
            {"name": name, "keyname": last, "forenames": fore, "suffix": "", "key": _old_key(name)}
        )
    paper = papers.objects.create(
        arxiv_id=arxiv_id, title="T", authors=entries, authors_text=", ".join(names)
    )
    distinct = list(dict.fromkeys(tuple(e.values()) for e in entries))
    for i, e in enumerate(distinct):
        author, _ = Author.objects.get_or_create(key=e[-1], defaults={"name": e[0]})
        Authorship.objects.create(paper_id=paper.pk, author=author, position=i)
    return paper


@pytest.mark.django_db(transaction=True)
def test_rekey_keeps_every_letter_merges_splits_aliases_and_carries_follows(migration_executor: Any) -> None:
    from paperfeed.papers.models import AuthorAlias

    executor = migration_executor
    executor.migrate([("papers", "0005_author_alias")])  # 0006 undone: its reverse changes nothing
    papers = executor.loader.project_state(("papers", "0005_author_alias")).apps.get_model("papers", "Paper")
    one = _stored_before_0006(papers, "2601.00011", ["Matthias Nießner", "Łukasz Kaiser", "Jane Doe"])
    # "Lukasz Kaiser" in ASCII from another source: the same key now, so one author.
    two = _stored_before_0006(papers, "2601.00012", ["Lukasz Kaiser", "Matthias Nießner"])
    # Two people in Greek and one in Chinese on one paper: all "unknown" before, one author row.
    three = _stored_before_0006(
        papers, "2601.00013", ["Γιώργος Παπαδόπουλος", "Jane Doe", "Νίκος Νικολάου", "张伟"]
    )
    ascii_kaiser = Author.objects.get(key="lukasz-kaiser").id
    niessner = Author.objects.get(key="matthias-niener").id
    assert Author.objects.get(key="unknown").authorships.count() == 3
    users = get_user_model().objects
    both = users.create_user("both", "both@example.org", "x" * 20)
    old_only = users.create_user("old", "old@example.org", "x" * 20)
    for user, key in ((both, "ukasz-kaiser"), (both, "lukasz-kaiser"), (old_only, "ukasz-kaiser")):
        Follow.objects.create(user=user, kind=Follow.Kind.AUTHOR, value=key)
    Follow.objects.create(user=old_only, kind=Follow.Kind.AUTHOR, value="matthias-niener")
    sub = Subscriber.objects.create(
        email="s@example.org", authors=["matthias-niener", "jane-doe", "ukasz-kaiser"]
    )
    before = PaperChange.objects.count()

    executor.loader.build_graph()
    executor.migrate([("papers", "0006_rekey_authors_keeping_every_letter")])

    # Nießner renamed in place (his row, his id); Łukasz merged into the ASCII row already there.
    assert Author.objects.get(key="matthias-niessner").id == niessner
    assert Author.objects.get(key="lukasz-kaiser").id == ascii_kaiser
    assert not Author.objects.filter(key__in=["matthias-niener", "ukasz-kaiser", "unknown"]).exists()
    for paper, keys in (
        (one, ["matthias-niessner", "lukasz-kaiser", "jane-doe"]),
        (two, ["lukasz-kaiser", "matthias-niessner"]),
        (three, ["γιώργος-παπαδόπουλος", "jane-doe", "νίκος-νικολάου", "张伟"]),
    ):
        rows = Authorship.objects.filter(paper_id=paper.pk).order_by("position")
        assert [(a.position, a.author.key) for a in rows] == list(enumerate(keys))
        paper.refresh_from_db()
        assert [a["key"] for a in paper.authors] == keys
    assert Author.objects.get(key="张伟").name == "张伟"
    assert dict(AuthorAlias.objects.values_list("key", "author__key")) == {
        "matthias-niener": "matthias-niessner",
        "ukasz-kaiser": "lukasz-kaiser",
    }
    assert set(PaperChange.objects.filter(id__gt=before).values_list("paper_id", flat=True)) == {
        one.id,
        two.id,
        three.id,
    }
    assert sorted(Follow.objects.values_list("user__username", "value")) == [
        ("both", "lukasz-kaiser"),
        ("old", "lukasz-kaiser"),
        ("old", "matthias-niessner"),
    ]
    sub.refresh_from_db()
    assert sub.authors == ["matthias-niessner", "jane-doe", "lukasz-kaiser"]
    # Run again (a rerun after a crash, or a database migrated twice by copydb): nothing changes.
    authors = sorted(Author.objects.values_list("id", "key"))
    migration = importlib.import_module("paperfeed.papers.migrations.0006_rekey_authors_keeping_every_letter")
    migration.rekey_authors(apps, SimpleNamespace(connection=connection))
    assert sorted(Author.objects.values_list("id", "key")) == authors
    assert AuthorAlias.objects.count() == 2 and PaperChange.objects.filter(id__gt=before).count() == 3


def test_importing_again_after_the_rekey_changes_nothing() -> None:
    from paperfeed.papers.records import PaperRecord, parse_name
    from paperfeed.papers.services import Ingestor

    def record() -> PaperRecord:
        names = [parse_name(n) for n in ("Matthias Nießner", "Łukasz Kaiser", "张伟")]
        return PaperRecord("2601.00021", "T", "A", names, ["cs.CV"])

    with Ingestor("snapshot") as ing:
        ing.add(record())
    # Rewind to what an import before the new rule stored: the same paper under the old keys.
    paper = Paper.objects.get(arxiv_id="2601.00021")
    paper.authors = [{**e, "key": _old_key(e["name"])} for e in paper.authors]
    paper.save(update_fields=["authors"])
    for author in Author.objects.all():
        author.key = _old_key(author.name)
        author.save(update_fields=["key"])
    migration = importlib.import_module("paperfeed.papers.migrations.0006_rekey_authors_keeping_every_letter")
    migration.rekey_authors(apps, SimpleNamespace(connection=connection))
    authors = sorted(Author.objects.values_list("id", "key"))
    assert sorted(k for _, k in authors) == ["lukasz-kaiser", "matthias-niessner", "张伟"]

    with Ingestor("snapshot") as ing:
        ing.add(record())
    # The content hash covers the names, not their keys: the same record is no update.
    assert (ing.counts["updated"], ing.counts["unchanged"]) == (0, 1)
    assert sorted(Author.objects.values_list("id", "key")) == authors


# TeX as arXiv's metadata writes names (each spelling once stored raw, keyed by the slug of it), and
# the name 0004 decoded it to.
TEX_SPELLINGS = [
    'Hans M\\"uller', 'Hans M\\"{u}ller', 'Hans M{\\"u}ller', "{\\L}ukasz Kaiser", "\\L ukasz Kaiser",
    "Matthias Nie{\\ss}ner", "Jos\\'e Mart\\'{\\i}nez", "\\c{C}a\\u{g}lar G\\\"ul\\c{c}ehre",
    "Anders \\AA ngstr\\\"om", "Ond\\v{r}ej \\v Cert\\'ik", "Nguy\\~{\\^e}n Van",
    "Tol\\'ul\\d{o}p\\'e", "Tolúl\\d{o}pé",  # TeX beside Unicode, in the snapshot
]  # fmt: skip


def test_the_old_tex_keys_of_a_decoded_name_are_among_those_it_gives() -> None:
    from paperfeed.papers.records import slugify_name
    from paperfeed.papers.tex import decode_name

    migration = importlib.import_module("paperfeed.papers.migrations.0007_alias_tex_author_keys")
    for raw in TEX_SPELLINGS:
        old = slugify_name(raw)  # raw TeX is ASCII: slugged as it was before 0004
        assert old in migration.tex_keys(decode_name(raw)), (raw, old, migration.tex_keys(decode_name(raw)))
    assert migration.tex_keys("Bob Smith") == migration.tex_keys("张伟") == set()


def test_old_tex_keys_become_aliases_where_one_author_can_have_had_them(client: Client) -> None:
    # 0004 kept no alias: /authors/matthias-nie-ss-ner (a TeX key) answered 404 ever since.
    from paperfeed.papers.models import AuthorAlias

    Author.objects.create(key="matthias-niessner", name="Matthias Nießner")
    Author.objects.create(key="lukasz-kaiser", name="Łukasz Kaiser")
    Author.objects.create(key="l-ukasz-kaiser", name="L. Ukasz Kaiser")  # has that key: it stays theirs
    # Two authors whose TeX slugs alike (M\"uller, M\'uller): whose each was is unknown, neither gets it.
    Author.objects.create(key="hans-muller", name="Hans Müller")
    Author.objects.create(key="hans-muller-2", name="Hans Múller")
    Author.objects.create(key="jose-martinez", name="José Martínez")
    Author.objects.create(key="jose-martinez-2", name="Jose Martínez")
    migration = importlib.import_module("paperfeed.papers.migrations.0007_alias_tex_author_keys")
    migration.alias_tex_keys(apps, SimpleNamespace(connection=connection))
    made = dict(AuthorAlias.objects.values_list("key", "author__key"))
    # José's é in TeX is his alone; Jos\'e's \'{\i} and Jose's spell alike (jose-mart-i-nez).
    assert made == {
        "matthias-nie-ss-ner": "matthias-niessner",
        "jos-e-mart-inez": "jose-martinez",
        "jos-e-mart-i-nez": "jose-martinez",
        "jos-e-martinez": "jose-martinez",
    }
    migration.alias_tex_keys(apps, SimpleNamespace(connection=connection))  # again: nothing new
    assert dict(AuthorAlias.objects.values_list("key", "author__key")) == made
    page = client.get("/authors/matthias-nie-ss-ner?page=2")
    assert (page.status_code, page["Location"]) == (301, "/authors/matthias-niessner?page=2")
    assert client.get("/authors/l-ukasz-kaiser").status_code == 200
    assert client.get("/authors/hans-m-uller").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_stored_papers_get_their_title_digests_in_batches(
    migration_executor: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from paperfeed.papers.titles import title_digest

    executor = migration_executor
    before = ("papers", "0007_alias_tex_author_keys")
    executor.migrate([before])
    old = executor.loader.project_state(before).apps.get_model("papers", "Paper")
    titles = {
        "2601.00001": r"Schr\"odinger meets {BERT}",
        "2601.00002": "SCHRÖDINGER MEETS BERT",  # the same key: both get it, matching refuses the two
        "2601.00003": "x" * 5000,  # longer than a PostgreSQL btree row: the index holds its digest
        "2601.00004": "--",  # no words: no digest
        "2601.00005": "Plain",
    }
    for aid, title in titles.items():
        old.objects.create(arxiv_id=aid, title=title, authors=[], versions=[])
    migration = importlib.import_module("paperfeed.papers.migrations.0008_paper_title_digest")
    monkeypatch.setattr(migration, "BATCH", 2)

    executor.loader.build_graph()
    with caplog.at_level("INFO", logger=migration.__name__):
        executor.migrate([("papers", "0008_paper_title_digest")])

    stored = dict(Paper.objects.values_list("arxiv_id", "title_digest"))
    assert stored == {aid: title_digest(t) for aid, t in titles.items()}
    assert stored["2601.00001"] == stored["2601.00002"] != "" and stored["2601.00004"] == ""
    assert [r.getMessage() for r in caplog.records] == [
        "title digests: 2 of 5 papers",
        "title digests: 4 of 5 papers",
        "title digests: 5 of 5 papers",
    ]
    with connection.cursor() as cur:
        indexes = connection.introspection.get_constraints(cur, Paper._meta.db_table)
    assert indexes["paper_title_digest"]["columns"] == ["title_digest"] and "paper_doi_lower" in indexes
    if connection.vendor == "postgresql":  # analyzed: the planner knows the digests are distinct
        with connection.cursor() as cur:
            cur.execute(
                "SELECT n_distinct FROM pg_stats WHERE tablename = 'papers_paper' AND attname = %s",
                ["title_digest"],
            )
            assert cur.fetchall()
    # Run again (a rerun after a crash): the same digests.
    migration.store_title_digests(apps, SimpleNamespace(connection=connection))
    assert dict(Paper.objects.values_list("arxiv_id", "title_digest")) == stored


def _digests_after(
    executor: Any, before: str, after: str, stale: dict[str, tuple[str, str]]
) -> dict[str, str]:
    """The title digests stored once `after` ran on papers (id: (title, key)) stored at `before` with
    the digest of `key`, as the earlier migrations keyed them."""
    from paperfeed.papers.titles import key_digest

    executor.migrate([("papers", before)])
    old = executor.loader.project_state(("papers", before)).apps.get_model("papers", "Paper")
    for aid, (title, key) in stale.items():
        old.objects.create(arxiv_id=aid, title=title, title_digest=key_digest(key), authors=[], versions=[])
    executor.loader.build_graph()
    executor.migrate([("papers", after)])
    return dict(Paper.objects.values_list("arxiv_id", "title_digest"))


@pytest.mark.django_db(transaction=True)
def test_title_digests_keyed_before_braces_were_dropped_are_written_again(migration_executor: Any) -> None:
    from paperfeed.papers.titles import title_digest

    # As 0008 keyed them: "Mus{é}e" as "mus e" (a real title, 2506.04925), "Allo{SR}" as "allo sr".
    stale = {
        "2506.04925": ("Objects from the Mus{é}e d'Arch{é}ologie", "objects from the mus e d arch ologie"),
        "2604.19238": ("Allo{SR}$^2$: Rectifying", "allo sr 2 rectifying"),
        "2601.00005": ("Plain words", "plain words"),  # its digest is right already: not written
    }
    stored = _digests_after(migration_executor, "0011_paper_paper_hidden", "0012_title_digest_braces", stale)
    assert stored == {aid: title_digest(title) for aid, (title, _) in stale.items()}
    assert stored["2506.04925"] == title_digest("Objects from the Musée d'Archéologie")
    assert [p.arxiv_id for p in Paper.objects.filter(title_digest=title_digest("AlloSR² rectifying"))] == [
        "2604.19238"
    ]


@pytest.mark.django_db(transaction=True)
def test_title_digests_keyed_with_math_command_names_are_written_again(migration_executor: Any) -> None:
    from paperfeed.papers.titles import key_digest, title_digest

    # As 0012 keyed them (real titles): a fraction and brackets by their commands' names, \log glued.
    stale = {
        "2605.13020": (
            r"Skew Polycyclic Codes over $\frac{\mathbb{F}_{p^m}[u]}{\langle u^t \rangle}$",
            "skew polycyclic codes over fracf p m u langle u t rangle",
        ),
        "2506.19852": (
            r"Radial Attention: $O(n\log n)$ Sparse Attention",
            "radial attention o nlog n sparse attention",
        ),
        "2606.08750": (r"Codes over $\mathbb{Z}_4$", "codes over z4"),  # right already: not written
    }
    stored = _digests_after(migration_executor, "0012_title_digest_braces", "0014_title_digest_math", stale)
    assert stored == {aid: title_digest(title) for aid, (title, _) in stale.items()}
    assert stored["2605.13020"] == key_digest("skew polycyclic codes over f p m u u t")
    assert stored["2506.19852"] == title_digest("Radial Attention: O(n log n) Sparse Attention")
    assert stored["2606.08750"] == key_digest("codes over z4")


def test_a_later_version_s_date_stored_as_published_is_cleared() -> None:
    v1, v2, v3 = (dt.datetime(2025, m, 2, 10, tzinfo=dt.UTC) for m in (1, 3, 5))
    listed = [
        {"version": 2, "date": v2.isoformat(), "size": ""},
        {"version": 3, "date": v3.isoformat(), "size": ""},
    ]
    wrong, given, whole = load_papers(3)
    Paper.objects.filter(pk=wrong.pk).update(versions=listed, published=v2)  # as records filled it before
    Paper.objects.filter(pk=given.pk).update(versions=listed, published=v1)  # a source's own v1 date
    Paper.objects.filter(pk=whole.pk).update(versions=[{"version": 1, "date": v1.isoformat()}], published=v1)
    migration = importlib.import_module("paperfeed.papers.migrations.0009_published_is_v1")
    for _ in range(2):
        migration.clear_later_published(apps, SimpleNamespace(connection=connection))
        published = dict(
            Paper.objects.filter(pk__in=[wrong.pk, given.pk, whole.pk]).values_list("pk", "published")
        )
        assert published == {wrong.pk: None, given.pk: v1, whole.pk: v1}


def _day_index() -> bool | None:
    return index_state(connection, PaperCategory._meta.db_table, "papercat_cat_announced")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("concurrent_from", [0, 10**9])
def test_listings_get_their_papers_days_in_batches_and_an_index_by_day(
    migration_executor: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    concurrent_from: int,
) -> None:
    executor = migration_executor
    before = ("papers", "0012_title_digest_braces")
    executor.migrate([before])
    old = executor.loader.project_state(before).apps
    papers, listings, categories = (
        old.get_model("papers", m) for m in ("Paper", "PaperCategory", "Category")
    )
    for code in ("cs.CL", "cs.LG"):
        categories.objects.create(code=code)
    days = [dt.date(2026, 1, 1 + i) for i in range(4)] + [None]  # the last not announced yet
    for i, day in enumerate(days):
        paper = papers.objects.create(
            arxiv_id=f"2601.{i:05d}", title="T", authors=[], versions=[], announced=day
        )
        for pos, code in enumerate(["cs.CL", "cs.LG"][: 1 + i % 2]):
            listings.objects.create(paper=paper, category_id=code, position=pos)
    target = ("papers", "0013_papercategory_announced")
    migration = importlib.import_module("paperfeed.papers.migrations.0013_papercategory_announced")
    monkeypatch.setattr(migration, "BATCH", 3)
    [add_index] = [op for op in migration.Migration.operations if isinstance(op, AddIndexConcurrently)]
    monkeypatch.setattr(add_index, "concurrent_from", concurrent_from)

    executor.loader.build_graph()
    with (
        caplog.at_level("INFO", logger=migration.__name__),
        caplog.at_level("INFO", logger="paperfeed.core.indexes"),
    ):
        executor.migrate([target])

    expected = {
        (pc.paper_id, pc.category_id, pc.paper.announced)
        for pc in PaperCategory.objects.select_related("paper")
    }
    assert set(PaperCategory.objects.values_list("paper_id", "category_id", "announced")) == expected
    assert len(expected) == 7 and (None in {day for _, _, day in expected})
    logged = [r.getMessage() for r in caplog.records]
    assert logged[:3] == [f"listings' days: {n} of 7 listings" for n in (3, 6, 7)]
    concurrently = connection.vendor == "postgresql" and concurrent_from == 0
    assert (
        "index papercat_cat_announced on papers_papercategory: built concurrently" in logged
    ) == concurrently
    with connection.cursor() as cur:
        indexes = connection.introspection.get_constraints(cur, PaperCategory._meta.db_table)
    assert indexes["papercat_cat_announced"]["columns"] == ["category_id", "announced", "paper_id"]
    if connection.vendor == "postgresql":
        # A concurrent build interrupted (SIGTERM) leaves the index invalid: the next run builds it again.
        with connection.cursor() as cur:
            cur.execute(
                "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'papercat_cat_announced'::regclass"
            )
        assert _day_index() is False
    # Every step run again (a migration stopped part way): the same column, days and index.
    editor = SimpleNamespace(connection=connection)
    with connection.schema_editor(atomic=False) as schema_editor:
        migration.add_column(old, schema_editor)
        migration.fill_days(apps, editor)
        add_index.database_forwards(
            "papers",
            schema_editor,
            executor.loader.project_state(before),
            executor.loader.project_state(target),
        )
    assert set(PaperCategory.objects.values_list("paper_id", "category_id", "announced")) == expected
    assert _day_index() is True
    # Undone: no column, no index; and done again.
    executor.loader.build_graph()
    executor.migrate([before])
    with connection.cursor() as cur:
        columns = {
            c.name for c in connection.introspection.get_table_description(cur, PaperCategory._meta.db_table)
        }
    assert "announced" not in columns and _day_index() is None
    executor.loader.build_graph()
    executor.migrate([target])
    assert set(PaperCategory.objects.values_list("paper_id", "category_id", "announced")) == expected


def test_sqlmigrate_shows_the_listings_day_migration_on_a_database_not_migrated_yet(
    cli_env: dict[str, str],
) -> None:
    # Its steps look at the table (column there? rows enough for a concurrent build?), which an
    # empty database does not have yet: they answer as for a new, empty table.
    out = paperfeed("sqlmigrate", "papers", "0013", env=cli_env).stdout
    assert 'ALTER TABLE "papers_papercategory" ADD COLUMN "announced" date NULL;' in out
    assert (
        'CREATE INDEX "papercat_cat_announced" ON "papers_papercategory" '
        '("category_id", "announced", "paper_id");' in out
    )
    assert ('ANALYZE "papers_papercategory";' in out) == settings.IS_POSTGRES
    # Where the index is concurrent whatever the rows (feed 0009), PostgreSQL's SQL says so.
    votes = paperfeed("sqlmigrate", "feed", "0009", env=cli_env).stdout
    assert ("CREATE INDEX CONCURRENTLY" in votes) == settings.IS_POSTGRES
