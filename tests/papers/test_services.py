import datetime as dt
import functools
import gzip
import importlib
import json
import pickle
import sqlite3
from pathlib import Path

import pytest
from django.db import connection

from paperfeed.papers.models import Author, Authorship, Paper, PaperCategory, PaperChange, PaperLink
from paperfeed.papers.records import AuthorName, PaperRecord, Version
from paperfeed.papers.services import Ingestor, Prepared, prepare_for_storage
from paperfeed.papers.sources.snapshot import parse_line, parse_record, record_at, rereads_closed
from tests.papers.file_reads import file_reads
from tests.papers.test_models import days_off_their_papers
from tests.papers.test_snapshot import GOOD, TEX_NAMES

pytestmark = pytest.mark.django_db


def rec(arxiv_id: str = "2501.00001", **kw: object) -> PaperRecord:
    base: dict[str, object] = {
        "arxiv_id": arxiv_id,
        "title": "Speculative decoding",
        "abstract": "Code: https://github.com/a/b",
        "authors": [AuthorName("Doe", "Jane"), AuthorName("Roe", "Rick")],
        "categories": ["cs.CL", "cs.LG"],
    }
    base.update(kw)
    return PaperRecord(**base)  # type: ignore[arg-type]


def ingest(*records: PaperRecord, source: str = "test") -> dict[str, int]:
    with Ingestor(source, batch_size=2) as ing:
        ing.add_all(records)
    return dict(+ing.counts)


def test_create_then_rerun_changes_nothing() -> None:
    assert ingest(rec(), rec("2501.00002")) == {"created": 2}
    changes = PaperChange.objects.count()
    assert ingest(rec(), rec("2501.00002")) == {"unchanged": 2}
    assert PaperChange.objects.count() == changes
    p = Paper.objects.get(arxiv_id="2501.00001")
    assert p.category_codes() == ["cs.CL", "cs.LG"]
    assert p.primary_category_id == "cs.CL"
    assert [a["name"] for a in p.authors] == ["Jane Doe", "Rick Roe"]
    assert list(Authorship.objects.filter(paper=p).values_list("author__key", flat=True)) == [
        "jane-doe",
        "rick-roe",
    ]
    assert list(PaperLink.objects.filter(paper=p).values_list("kind", "url")) == [
        ("github", "https://github.com/a/b")
    ]
    assert Author.objects.count() == 2


def test_an_author_listed_twice_is_one_authorship_and_keeps_the_first_place() -> None:
    jane, rick = AuthorName("Doe", "Jane"), AuthorName("Roe", "Rick")
    assert ingest(rec(authors=[jane, rick, jane])) == {"created": 1}
    p = Paper.objects.get()
    assert list(Authorship.objects.filter(paper=p).values_list("author__key", "position")) == [
        ("jane-doe", 0),
        ("rick-roe", 1),
    ]
    assert [a["name"] for a in p.authors] == ["Jane Doe", "Rick Roe", "Jane Doe"]  # as arXiv lists them


def test_newer_version_replaces_and_older_never_does() -> None:
    ingest(rec(version=1))
    assert ingest(rec(version=2, abstract="v2 abstract", categories=["cs.AI"])) == {"updated": 1}
    p = Paper.objects.get()
    assert (p.version, p.abstract, p.category_codes()) == (2, "v2 abstract", ["cs.AI"])
    assert not PaperLink.objects.exists()
    assert ingest(rec(version=1)) == {"unchanged": 1}
    assert Paper.objects.get().version == 2


def test_a_source_that_knows_less_keeps_what_is_stored() -> None:
    v1 = Version(1, dt.datetime(2025, 1, 2, tzinfo=dt.UTC))
    ingest(
        rec(
            license="http://creativecommons.org/licenses/by/4.0/",
            versions=[v1],
            announced=dt.date(2025, 1, 3),
        )
    )
    assert ingest(rec()) == {"unchanged": 1}
    p = Paper.objects.get()
    assert p.license.endswith("by/4.0/") and p.announced == dt.date(2025, 1, 3) and p.versions


def test_deleted_records_are_hidden_not_removed() -> None:
    ingest(rec(), rec("2501.00002"))
    with Ingestor("oai") as ing:
        ing.delete("2501.00001")
        ing.delete("2509.99999")  # never stored: nothing to do
    assert ing.counts["deleted"] == 1
    assert list(Paper.objects.active().values_list("arxiv_id", flat=True)) == ["2501.00002"]
    assert Paper.objects.get(arxiv_id="2501.00001").status == Paper.Status.DELETED
    assert ingest(rec()) == {"updated": 1}  # a later record brings it back
    assert Paper.objects.get(arxiv_id="2501.00001").status == Paper.Status.ACTIVE


def test_a_withdrawal_notice_withdraws_the_paper_and_a_later_version_restores_it() -> None:
    """arXiv withdraws a paper with a new version whose comments say so: it leaves every list (its
    page stays, marked), and a version after it brings the paper back."""
    ingest(rec(version=1, comments="12 pages"), rec("2501.00002", comments="Withdrawn from ICML 2025"))
    withdrawal = "This paper has been withdrawn by the author due to a crucial error in Lemma 2."
    assert ingest(rec(version=2, comments=withdrawal)) == {"updated": 1}
    assert Paper.objects.get(arxiv_id="2501.00001").status == Paper.Status.WITHDRAWN
    assert list(Paper.objects.active().values_list("arxiv_id", flat=True)) == ["2501.00002"]
    assert ingest(rec(version=3, comments="Fixed Lemma 2; 13 pages")) == {"updated": 1}
    assert Paper.objects.get(arxiv_id="2501.00001").status == Paper.Status.ACTIVE


@pytest.mark.parametrize(
    ("comments", "withdrawn"),
    [
        ("This paper has been withdrawn by the author(s)", True),
        (
            "This submission has been withdrawn by arXiv administrators due to inappropriate text overlap",
            True,
        ),
        ("Withdrawn.", True),
        ("withdrawn: duplicate of 2501.00003", True),
        ("The manuscript was withdrawn", True),
        ("This paper has been withdrawn from NeurIPS 2025; 9 pages", False),
        ("Accepted at ICLR; an earlier claim about withdrawal rates was corrected", False),
        ("", False),
        (None, False),
    ],
)
def test_which_comments_are_a_withdrawal_notice(comments: str | None, withdrawn: bool) -> None:
    assert rec(comments=comments).withdrawn is withdrawn


def test_duplicates_within_a_batch_keep_the_newest() -> None:
    with Ingestor("test", batch_size=100) as ing:
        ing.add(rec(version=2, abstract="two"))
        ing.add(rec(version=1, abstract="one"))
    assert Paper.objects.get().abstract == "two"


def test_checkpoint_commits_with_the_batch() -> None:
    from paperfeed.papers.services import state_get, state_put

    with Ingestor("oai") as ing:
        ing.add(rec())
        ing.flush(checkpoint=lambda: state_put("test", {"from": "2025-01-01"}))
    assert state_get("test") == {"from": "2025-01-01"}
    assert Paper.objects.count() == 1


def test_queryset_vocabulary() -> None:
    ingest(
        rec(announced=dt.date(2025, 1, 3)),
        rec("2501.00002", categories=["cs.CV"], authors=[AuthorName("Doe", "Jane")], abstract="No code."),
    )
    assert list(Paper.objects.announced_on(dt.date(2025, 1, 3)).values_list("arxiv_id", flat=True)) == [
        "2501.00001"
    ]
    assert Paper.objects.in_category("cs.LG").count() == 1
    assert Paper.objects.by_author("jane-doe").count() == 2
    assert Paper.objects.with_code().count() == 1


def test_a_listing_reads_each_papers_categories_in_order_without_a_query_per_paper(
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    ingest(
        rec("2501.00001", categories=["cs.CL", "cs.LG", "stat.ML"]),
        rec("2501.00002", categories=["cs.LG", "cs.AI"]),
        rec("2501.00003", categories=["math.OC"]),
    )
    papers = list(Paper.objects.filter(arxiv_id__startswith="2501.").order_by("arxiv_id").for_listing())
    with django_assert_num_queries(0):
        codes = [p.category_codes() for p in papers]
    assert codes == [["cs.CL", "cs.LG", "stat.ML"], ["cs.LG", "cs.AI"], ["math.OC"]]
    # A paper fetched alone still answers, with one query.
    alone = Paper.objects.get(arxiv_id="2501.00002")
    with django_assert_num_queries(1):
        assert alone.category_codes() == ["cs.LG", "cs.AI"]


def test_a_category_lists_its_primary_and_cross_listed_papers_once_without_join_and_distinct() -> None:
    ingest(
        rec("2501.00001", categories=["cs.CL", "cs.LG"]),
        rec("2501.00002", categories=["cs.LG", "cs.CL"]),
        rec("2501.00003", categories=["cs.CV"]),
    )
    ids = lambda code: sorted(Paper.objects.in_category(code).values_list("arxiv_id", flat=True))  # noqa: E731
    assert ids("cs.CL") == ids("cs.LG") == ["2501.00001", "2501.00002"]
    assert ids("cs.CV") == ["2501.00003"] and ids("math.PR") == []
    # A semi-join on the category's rows: joining every category row of every paper and then
    # DISTINCT sorted a whole category on PostgreSQL (78-278 ms for a cs.CV page at 74,728 papers).
    sql = str(Paper.objects.in_category("cs.CL").order_by("-announced").query)
    assert "DISTINCT" not in sql and "JOIN" not in sql


def test_sqlite_asks_for_a_large_categorys_papers_by_exists_and_lists_the_same_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from paperfeed.papers import models

    ingest(
        rec("2501.00001", categories=["cs.CL", "cs.LG"], announced=dt.date(2025, 1, 3)),
        rec("2501.00002", categories=["cs.LG", "cs.CL"], announced=dt.date(2025, 1, 6)),
        rec("2501.00003", categories=["cs.CV"], announced=dt.date(2025, 1, 7)),
    )

    def newest_first(code: str) -> list[str]:
        qs = Paper.objects.active().in_category(code).order_by("-announced", "-arxiv_id")
        return list(qs.values_list("arxiv_id", flat=True))

    small = {code: newest_first(code) for code in ("cs.CL", "cs.CV", "math.PR")}
    monkeypatch.setattr(models, "SQLITE_EXISTS_FROM", 1)  # cs.CL and cs.LG are large now, cs.CV is not
    assert (
        {code: newest_first(code) for code in small}
        == small
        == {
            "cs.CL": ["2501.00002", "2501.00001"],
            "cs.CV": ["2501.00003"],
            "math.PR": [],
        }
    )
    sqlite = connection.vendor == "sqlite"
    large = Paper.objects.active().in_category("cs.CL").order_by("-announced")
    assert ("EXISTS" in str(large.query)) == sqlite  # PostgreSQL plans the IN as the same semi-join
    assert "EXISTS" not in str(Paper.objects.in_category("cs.CV").query)
    if sqlite:  # the point of it: the newest papers come off the `announced` index, not a sort of all
        plan = large.values_list("announced", flat=True)[:1].explain()
        assert "papers_paper_announced" in plan and "TEMP B-TREE" not in plan, plan


def _snapshot_line(**changes: object) -> bytes:
    return json.dumps(GOOD | changes).encode()


def _prepared(line: bytes) -> Prepared:
    """As the import's producer process makes and ships it: through a pickle."""
    item = prepare_for_storage(parse_line(line), "snapshot", functools.partial(parse_line, line))
    shipped = pickle.loads(pickle.dumps(item))  # noqa: S301  (our own object, as the pipe carries it)
    assert isinstance(shipped, Prepared)
    return shipped


def _stored(arxiv_id: str) -> dict[str, object]:
    paper = Paper.objects.get(arxiv_id=arxiv_id).as_json()
    return {k: v for k, v in paper.items() if k not in ("id", "abs_url", "pdf_url")}


def test_into_an_empty_table_a_record_ships_without_its_line_and_is_read_again_if_needed(
    tmp_path: Path,
) -> None:
    command = importlib.import_module("paperfeed.papers.management.commands.import")
    path = tmp_path / "s.jsonl"
    lines = [_snapshot_line(id="0704.0001"), _snapshot_line(id="0704.0002")]
    lines.append(_snapshot_line(id="0704.0001", title="A second title"))
    path.write_bytes(b"\n".join([lines[0], b"", *lines[1:]]) + b"\n")

    def shipped(fresh: bool) -> list[Prepared]:
        items = [item for _, item, _ in command._prepared(path, fresh)]
        return pickle.loads(pickle.dumps(items))  # noqa: S301  (as the pipe carries them)

    # Each id's first record goes with its place in the file; a repeated id (stored by then) and
    # every record into a table that had papers go with their line.
    assert [p.rebuild.func for p in shipped(True)] == [record_at, record_at, parse_line]  # type: ignore[attr-defined]
    assert {p.rebuild.func for p in shipped(False)} == {parse_line}  # type: ignore[attr-defined]
    assert [p.rebuild() for p in shipped(True)] == [parse_line(line) for line in lines]

    # Another process stored 0704.0002 meanwhile: its record is read again from its line (4).
    with Ingestor("snapshot") as ing:
        ing.add(parse_line(lines[1]))
    with rereads_closed(), Ingestor("snapshot", batch_size=1) as ing:
        for item in shipped(True):
            ing.add(item)
    assert dict(+ing.counts) == {"created": 1, "unchanged": 1, "updated": 1}
    assert Paper.objects.get(arxiv_id="0704.0001").title == "A second title"


def test_many_papers_stored_meanwhile_are_read_again_in_one_pass_over_the_file(tmp_path: Path) -> None:
    command = importlib.import_module("paperfeed.papers.management.commands.import")
    path = tmp_path / "s.jsonl.gz"
    lines = [_snapshot_line(id=f"0704.{i:04d}") for i in range(1, 401)]
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    items = pickle.loads(pickle.dumps([item for _, item, _ in command._prepared(path, True)]))  # noqa: S301
    # Another import stored them all between the check for an empty table and these batches.
    with Ingestor("snapshot") as ing:
        ing.add_all(parse_line(line) for line in lines)
    with rereads_closed(), file_reads(path) as reads, Ingestor("snapshot", batch_size=50) as ing:
        for item in items:
            ing.add(item)
    assert dict(+ing.counts) == {"unchanged": 400}
    assert reads["opens"] == 1


def test_the_change_log_stores_its_time_as_the_orm_does() -> None:
    # The import's rows carried "+00:00" on SQLite (the driver's adapter), the harvest's did not.
    with Ingestor("snapshot") as ing:
        ing.add(parse_line(_snapshot_line(id="0704.0001")))
    PaperChange.objects.create(paper=Paper.objects.get())
    with connection.cursor() as cur:
        cur.execute("SELECT CAST(at AS TEXT) FROM papers_paperchange ORDER BY id")
        imported, created = (str(row[0])[19:].lstrip(".0123456789") for row in cur.fetchall())
    assert imported == created


def test_a_prepared_line_stores_what_its_record_stores_and_updates_from_the_line() -> None:
    line = _snapshot_line(id="0704.0001", abstract="Code at https://github.com/a/b and www.x.org.")
    with Ingestor("snapshot") as ing:
        ing.add(_prepared(line))
        ing.add(parse_line(line.replace(b"0704.0001", b"0704.0002")))
    assert dict(+ing.counts) == {"created": 2}
    assert _stored("0704.0001") == _stored("0704.0002")
    assert _stored("0704.0001")["links"] == [
        {"kind": "github", "url": "https://github.com/a/b", "source": "abstract"},
        {"kind": "project", "url": "https://www.x.org", "source": "abstract"},
    ]

    # Stored already: the record is rebuilt from the shipped line and merged as any record is.
    with Ingestor("snapshot") as ing:
        ing.add(_prepared(line))
    assert dict(+ing.counts) == {"unchanged": 1}
    edited = _snapshot_line(
        id="0704.0001", title="A new title", authors_parsed=[["Roe", "Rick", ""], ["Balázs", "C.", ""]]
    )
    with Ingestor("snapshot") as ing:
        ing.add(_prepared(edited))
    assert dict(+ing.counts) == {"updated": 1}
    paper = Paper.objects.get(arxiv_id="0704.0001")
    assert paper.title == "A new title" and paper.status == Paper.Status.ACTIVE
    assert list(Authorship.objects.filter(paper=paper).values_list("author__key", "position")) == [
        ("rick-roe", 0),
        ("c-balazs", 1),
    ]
    assert not PaperLink.objects.filter(paper=paper).exists()


def test_join_rows_beyond_one_statements_bound_values_are_all_stored() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's limit on bound values")
    connection.ensure_connection()
    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    # 21 values: a paper's row still fits; authorships (3 values each) go 7 to a statement.
    connection.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 21)
    try:
        names = [AuthorName(f"Name{i}", "A.") for i in range(16)]
        assert ingest(rec(authors=names), rec("2501.00002", authors=names[::-1])) == {"created": 2}
    finally:
        connection.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)
    first, second = Paper.objects.order_by("arxiv_id")
    keys = [f"a-name{i}" for i in range(16)]
    assert list(first.authorships.values_list("author__key", flat=True)) == keys
    assert list(second.authorships.values_list("author__key", flat=True)) == keys[::-1]
    assert Author.objects.count() == 16


def test_tex_names_are_stored_decoded_and_meet_their_unicode_spelling() -> None:
    unicode_spelling = rec("2501.00009", authors=[AuthorName("Stütz", "Peter")])
    assert ingest(parse_record(TEX_NAMES), unicode_spelling) == {"created": 2}
    stored = Paper.objects.get(arxiv_id="2510.02569")
    assert [a["name"] for a in stored.authors] == [
        "Tolúlọpé Ògúnrèmí",
        "Peter Stütz",
        "Ajinkya Umesh Mulik",
        "Sathyanarayanan N. Aakur",
        "Nguyễn",
    ]
    assert not Author.objects.filter(name__contains="\\").exists()
    assert list(
        Paper.objects.by_author("peter-stutz").order_by("arxiv_id").values_list("arxiv_id", flat=True)
    ) == [
        "2501.00009",
        "2510.02569",
    ]
    assert Author.objects.get(key="tolulope-ogunremi").name == "Tolúlọpé Ògúnrèmí"


def test_an_import_and_a_new_version_with_another_title_store_the_title_digest() -> None:
    from paperfeed.papers.references import Reference, match
    from paperfeed.papers.titles import title_digest

    def found(title: str) -> list[str | None]:
        return [o.paper.arxiv_id if o.paper else None for o in match([Reference("r", title=title)])]

    with Ingestor("snapshot") as ing:
        # As `paperfeed import` ships a record from its reader process: a row prepared there.
        ing.add(prepare_for_storage(rec(version=1), "snapshot"))
        ing.add(rec("2501.00002", title=r"Schr\"odinger's {BERT}"))
    assert dict(Paper.objects.values_list("arxiv_id", "title_digest")) == {
        "2501.00001": title_digest("Speculative decoding"),
        "2501.00002": title_digest("Schrödinger's BERT"),
    }
    assert found("speculative DECODING") == ["2501.00001"]
    assert ingest(rec(version=2, title="Speculative decoding, revised")) == {"updated": 1}
    assert Paper.objects.get(arxiv_id="2501.00001").title_digest == title_digest(
        "Speculative decoding revised"
    )
    assert found("Speculative decoding: revised") == ["2501.00001"] and found("Speculative decoding") == [
        None
    ]


def _estimated_rows(table: str) -> float:
    # ANALYZE writes pg_class.reltuples in its own transaction's view (the test's rows are counted
    # as live): the planner's row estimate, whatever earlier tests left there before.
    with connection.cursor() as cur:
        cur.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        return float(cur.fetchone()[0])


def test_a_bulk_load_refreshes_postgresqls_statistics(monkeypatch: pytest.MonkeyPatch) -> None:
    from paperfeed.papers import services
    from paperfeed.papers.signals import papers_ingested

    monkeypatch.setattr(services, "ANALYZE_AFTER", 4)
    counts = ingest(*(rec(f"2501.0000{i}") for i in range(1, 5)))
    assert counts == {"created": 4}
    if connection.vendor != "postgresql":
        assert not services.refresh_statistics(counts=counts)
        return
    assert not services.refresh_statistics(counts={"created": 3, "updated": 40})
    # Through the signal the import, harvest and fetch commands send at the end of a run.
    papers_ingested.send(sender=None, counts=counts)
    assert _estimated_rows("papers_paper") == 4


def _days(arxiv_id: str) -> dict[str, dt.date | None]:
    return dict(
        PaperCategory.objects.filter(paper__arxiv_id=arxiv_id).values_list("category_id", "announced")
    )


def test_imported_listings_carry_their_papers_day_through_updates_withdrawals_and_deletions() -> None:
    """PaperCategory.announced, the day of_newest reads a category's listings by, written by the
    import's own inserts and updates, whichever way a paper comes or goes."""
    day, earlier = dt.date(2025, 1, 10), dt.date(2025, 1, 8)
    # Created from a record, and from a snapshot line as the import's producer ships it.
    with Ingestor("snapshot") as ing:
        ing.add(rec(announced=day))
        ing.add(_prepared(_snapshot_line(id="0704.0001", _listing_dates=["2007-04-03", "2007-04-02"])))
    assert _days("2501.00001") == {"cs.CL": day, "cs.LG": day}
    assert set(_days("0704.0001").values()) == {dt.date(2007, 4, 2)}
    # Announced earlier than stored (the feed's exact day for an estimate): listings rewritten with it.
    three = ["cs.CL", "cs.LG", "cs.AI"]
    assert ingest(rec(announced=earlier, categories=three)) == {"updated": 1}
    assert _days("2501.00001") == {"cs.CL": earlier, "cs.LG": earlier, "cs.AI": earlier}
    # A later day does not replace the first announcement, nor does the paper's day leave its listings
    # when it is withdrawn, deleted by OAI, or brought back.
    withdrawal = "This paper has been withdrawn by the author due to a crucial error."
    assert ingest(rec(version=2, announced=day, categories=three, comments=withdrawal)) == {"updated": 1}
    assert Paper.objects.get(arxiv_id="2501.00001").status == Paper.Status.WITHDRAWN
    with Ingestor("oai") as ing:
        ing.delete("2501.00001")
    assert ing.counts["deleted"] == 1
    assert _days("2501.00001") == {"cs.CL": earlier, "cs.LG": earlier, "cs.AI": earlier}
    assert ingest(rec(version=3, announced=day, categories=three, comments="Fixed")) == {"updated": 1}
    assert Paper.objects.get(arxiv_id="2501.00001").status == Paper.Status.ACTIVE
    assert _days("2501.00001") == {"cs.CL": earlier, "cs.LG": earlier, "cs.AI": earlier}
    # A paper not yet announced has no day to give, and gets one when announced.
    ingest(rec("2501.00002"))
    assert _days("2501.00002") == {"cs.CL": None, "cs.LG": None}
    ingest(rec("2501.00002", announced=day))
    assert _days("2501.00002") == {"cs.CL": day, "cs.LG": day}
    assert days_off_their_papers() == []


def test_a_backfill_of_old_papers_hides_no_newer_cross_lists() -> None:
    """An import of an old snapshot after the recent papers adds the old ones last: a category's
    newest listings by day are still the recent ones, cross-lists among them (they came by id, and
    the backfill's took their places)."""
    recent = [
        rec(f"2607.{i:05d}", categories=["cs.LG", "cs.CL"], announced=dt.date(2026, 7, 1 + i))
        for i in range(3)
    ]
    recent.append(rec("2607.00009", categories=["cs.CL"], announced=dt.date(2026, 6, 20)))
    ingest(*recent)
    ingest(
        *(
            rec(f"2501.{i:05d}", categories=["cs.LG", "cs.CL"], announced=dt.date(2025, 1, 2))
            for i in range(10)
        )
    )
    newest = PaperCategory.objects.of_newest(["cs.CL"], 4).values_list("paper__arxiv_id", flat=True)
    assert set(newest) == {"2607.00000", "2607.00001", "2607.00002", "2607.00009"}
    listed = PaperCategory.objects.of_newest(["cs.CL"], 5).values_list("paper__arxiv_id", flat=True)
    assert len(set(listed) - {"2607.00000", "2607.00001", "2607.00002", "2607.00009"}) == 1
