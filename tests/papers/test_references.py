"""papers.references: BibTeX, RIS and pasted ids read and matched to stored papers."""

from __future__ import annotations

import pytest

from paperfeed.papers import citations, references
from paperfeed.papers.models import Paper
from paperfeed.papers.references import LibraryError, read, read_bibtex, read_pasted, read_ris
from tests.sitedata import load_papers

pytestmark = pytest.mark.django_db


def _found(text: str | bytes, name: str = "") -> list[tuple[str | None, str]]:
    return [
        (o.paper.arxiv_id if o.paper else None, o.how or o.reason) for o in references.match(read(text, name))
    ]


@pytest.mark.parametrize("fmt", ["bibtex", "ris"])
def test_an_export_imported_again_finds_the_same_papers(fmt: str) -> None:
    papers = load_papers(8)
    text = citations.export(papers, fmt)
    assert _found(text.encode()) == [(p.arxiv_id, "arXiv id") for p in papers]


def test_entries_are_matched_by_eprint_url_note_doi_then_title() -> None:
    a, b, c, d, e, f = load_papers(6)
    Paper.objects.filter(pk=e.pk).update(doi="10.1103/PhysRevD.76.013009")
    Paper.objects.filter(pk=f.pk).update(title=r"Schr\"odinger   meets {BERT}: the $\alpha$ test")
    bib = f"""
    Text outside entries is a comment.
    @string{{ax = "arXiv"}}
    @misc{{one, title = {{Whatever}}, eprint = {{{a.arxiv_id}v2}}, archivePrefix = ax}}
    @article{{two, title = "Other", url = {{https://arxiv.org/abs/{b.arxiv_id}}}}}
    @inproceedings{{three, note = {{Preprint arXiv:{c.arxiv_id}}}, year = 2025}}
    @misc{{four, doi = {{10.48550/arXiv.{d.arxiv_id}}}}}
    @article{{five, doi = {{https://doi.org/10.1103/physrevd.76.013009}}, title = {{X}}}}
    @article{{six, title = {{SCHRÖDINGER Meets BERT -- the \u03b1 test}}}}
    @comment{{ @misc{{ignored, eprint={{{a.arxiv_id}}}}} }}
    """
    assert _found(bib, "lib.bib") == [
        (a.arxiv_id, "arXiv id"),
        (b.arxiv_id, "arXiv id"),
        (c.arxiv_id, "arXiv id"),
        (d.arxiv_id, "arXiv id"),
        (e.arxiv_id, "DOI"),
        (f.arxiv_id, "title"),
    ]


def test_unmatched_entries_say_why() -> None:
    (a,) = load_papers(1)
    bib = f"""
    @misc{{gone, eprint = {{2501.99999}}, title = {{Not here}}}}
    @misc{{nodoi, doi = {{10.1000/none}}}}
    @misc{{empty, year = 2020}}
    @misc{{dup, title = {{{a.title}}}}}
    """
    Paper.objects.create(arxiv_id="2501.00002", title=a.title.upper())  # the same title, twice stored
    assert _found(bib) == [
        (None, "arXiv 2501.99999 is not stored here; no paper here has this title"),
        (None, "no paper here has the DOI 10.1000/none"),
        (None, "no arXiv id, DOI or title in the entry"),
        (None, "2 papers here have this title: add its arXiv id or DOI"),
    ]


def test_pasted_ids_urls_and_dois() -> None:
    a, b, c = load_papers(3)
    text = (
        f"{a.arxiv_id}\nhttps://arxiv.org/pdf/{b.arxiv_id}v1, arXiv:{c.arxiv_id}; "
        f"doi:10.48550/arXiv.{a.arxiv_id} hello"
    )
    refs = read_pasted(text)
    assert [r.arxiv_ids for r in refs] == [[a.arxiv_id], [b.arxiv_id], [c.arxiv_id], [a.arxiv_id], []]
    assert refs[-1].problem == "not an arXiv id, arXiv URL or DOI"
    assert read_pasted("https://doi.org/10.1000/ABC.1")[0].dois == ["10.1000/abc.1"]
    # Brackets around an id are not part of it; an entry is named as it was pasted.
    wrapped, junk = read_pasted(f"<https://arxiv.org/abs/{a.arxiv_id}> <i>junk</i>")
    assert wrapped.arxiv_ids == [a.arxiv_id] and wrapped.label == f"<https://arxiv.org/abs/{a.arxiv_id}>"
    assert junk.label == "<i>junk</i>" and junk.problem


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("@misc{a, title = {open", 'line 1: a { or " is never closed'),
        ("@misc{a, title = {x}\n\n", "line 1: expected , or } in the entry 'a' (not closed?)"),
        ("@misc{a,\n title {x}}", "line 2: the field 'title' of 'a' has no ="),
        ("@misc{a, title = undefinedmacro}", "unknown @string 'undefinedmacro'"),
        ("@misc a", "@misc is not followed by { or ("),
    ],
)
def test_a_malformed_bibtex_file_is_refused_with_its_line(text: str, message: str) -> None:
    with pytest.raises(LibraryError, match=r"^not a valid BibTeX file: ") as e:
        read_bibtex(text)
    assert message in str(e.value)


def test_a_malformed_ris_file_is_refused() -> None:
    with pytest.raises(LibraryError, match="its last record has no end"):
        read_ris("TY  - JOUR\nTI  - x\n")
    with pytest.raises(LibraryError, match="line 1: AU outside a record"):
        read_ris("AU  - x\nER  -\n")
    with pytest.raises(LibraryError, match="line 2: a record starts before"):
        read_ris("TY  - JOUR\nTY  - JOUR\nER  -\n")
    # A wrapped value continues its field.
    (r,) = read_ris("TY  - JOUR\nTI  - A long\n  title\nUR  - https://arxiv.org/abs/2501.00001\nER  -\n")
    assert r.title == "A long title" and r.arxiv_ids == ["2501.00001"]


def test_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(LibraryError, match="larger than 2 MB"):
        read(b"@misc{a, note={" + b"x" * references.MAX_BYTES + b"}}")
    with pytest.raises(LibraryError, match="found no entries"):
        read("  \n")
    monkeypatch.setattr(references, "MAX_ENTRIES", 3)
    with pytest.raises(LibraryError, match="more than 3 entries"):
        read("2501.00001 2501.00002 2501.00003 2501.00004")
    assert len(read("2501.00001 2501.00002 2501.00003")) == 3


def test_a_latin1_file_and_a_byte_order_mark_are_read() -> None:
    (r,) = read("\ufeff@misc{k, title={Café}}".encode())
    assert r.title == "Café"
    (r,) = read("@misc{k, title={Café}}".encode("latin-1"))
    assert r.title == "Café"


def test_a_nul_or_control_character_in_an_entry_is_no_database_error() -> None:
    # PostgreSQL refuses a NUL in text (a DataError, not "no match"): a DOI, id or title carrying one
    # is matched like any other text that no stored paper has.
    bib = "@misc{a, doi = {10.1000/x\x00y}, title = {Nul\x00title}}\n@misc{b, eprint = {2501.0\x0001}}\n"
    assert [paper for paper, _ in _found(bib)] == [None, None]
    assert {paper for paper, _ in _found("10.1000/x\x00y\n")} == {None}


def test_matching_is_one_index_lookup_per_kind_never_a_pass_over_the_stored_papers() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from paperfeed.papers.references import Reference

    a, b, c, *_ = load_papers(12)
    Paper.objects.filter(pk=a.pk).update(doi="10.1000/ABC")
    refs = [
        Reference("id", arxiv_ids=[b.arxiv_id]),
        Reference("doi", dois=["10.1000/abc"]),
        Reference("title", title=c.title.upper()),
        Reference("none", title="Not a stored title"),
    ]
    with CaptureQueriesContext(connection) as queries:
        found = references.match(refs)
    assert [o.paper.pk if o.paper else None for o in found] == [b.pk, a.pk, c.pk, None]
    assert len(queries) == 3  # arXiv ids, DOIs, titles: one query each, whatever is stored
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # A table this small is read through by choice: forbid that, and a scan left means no
            # index could serve the query.
            cur.execute("SET LOCAL enable_seqscan = off")
            explain = "EXPLAIN "
        else:
            explain = "EXPLAIN QUERY PLAN "
        for q in queries:
            cur.execute(explain + q["sql"])
            plan = " ".join(str(row) for row in cur.fetchall())
            assert "Seq Scan" not in plan and "SCAN papers_paper" not in plan, (q["sql"], plan)
