"""papers.citations: BibTeX, RIS and CSL-JSON of stored papers; escaping and citation keys."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from paperfeed.papers import citations
from paperfeed.papers.citations import bibtex_text, latex_escape
from paperfeed.papers.models import Paper
from tests.sitedata import load_papers

pytestmark = pytest.mark.django_db


def _paper(**fields: object) -> Paper:
    (p,) = load_papers(1)
    for k, v in fields.items():
        setattr(p, k, v)
    return p


VASWANI = [
    {
        "name": "Ashish Vaswani",
        "keyname": "Vaswani",
        "forenames": "Ashish",
        "suffix": "",
        "key": "ashish-vaswani",
    },
    {"name": "Noam Shazeer", "keyname": "Shazeer", "forenames": "Noam", "suffix": "", "key": "noam-shazeer"},
]


def test_every_special_character_is_escaped_and_non_ascii_kept() -> None:
    assert latex_escape(r"50% & $5 #1 a_b ~x ^y {z} \w é") == (
        r"50\% \& \$5 \#1 a\_b \textasciitilde{}x \textasciicircum{}y "
        r"\textbraceleft{}z\textbraceright{} \textbackslash{}w é"
    )


def test_a_title_keeps_safe_math_and_escapes_the_rest() -> None:
    # arXiv's own escapes (R\&D, 50\%) are the characters; an accent is decoded to UTF-8.
    assert bibtex_text(r"R\&D at 50\% in Schr\"odinger's $O(n^2)$ world") == (
        r"R\&D at 50\% in Schrödinger's {$O(n^2)$} world"
    )
    # Math whose braces do not balance, or with a bare %, would break the file: escaped instead.
    assert bibtex_text("a $x}$ b") == r"a \$x\textbraceright{}\$ b"
    assert "{$" not in bibtex_text("cost $50%$ down")
    # Every brace in the output is balanced, whatever the input.
    for text in ["}{", "{{{", r"\}", "$}$ {", r"\emph{x", "%#&_~^\\"]:
        out = bibtex_text(text, title=True)
        depth = 0
        for ch in out:
            depth += {"{": 1, "}": -1}.get(ch, 0)
            assert depth >= 0, (text, out)
        assert depth == 0, (text, out)


def test_capitals_that_matter_are_protected_in_titles_only() -> None:
    title = "BERT and GPT-4 beat LLaMA on iPhone: A Study"
    assert bibtex_text(title, title=True) == "{BERT} and {GPT-4} beat {LLaMA} on {iPhone}: A Study"
    assert bibtex_text(title) == title
    assert bibtex_text(r"\emph{Deep} learning", title=True) == "Deep learning"


def test_bibtex_entry_of_a_preprint_and_of_a_published_paper() -> None:
    p = _paper(
        title="Attention Is All You Need",
        authors=VASWANI,
        published=dt.datetime(2017, 6, 12, tzinfo=dt.UTC),
        journal_ref="",
        doi="",
    )
    text = citations.export([p], "bibtex")
    assert text.startswith("@misc{vaswani2017attention,\n")
    assert "  author = {Vaswani, Ashish and Shazeer, Noam},\n" in text
    assert "  month = jun,\n" in text and "  year = {2017},\n" in text
    assert f"  eprint = {{{p.arxiv_id}}},\n  archivePrefix = {{arXiv}},\n" in text
    assert f"  primaryClass = {{{p.primary_category_id}}},\n" in text
    assert text.rstrip().endswith(f"url = {{https://arxiv.org/abs/{p.arxiv_id}}}\n}}")
    p.journal_ref, p.doi = "Adv. Neural Inf. Process. Syst. 30 (2017) 5998-6008 & more", "10.5555/3295222_1"
    text = citations.export([p], "bibtex")
    assert text.startswith("@article{vaswani2017attention,")
    assert r"journal = {Adv. Neural Inf. Process. Syst. 30 (2017) 5998-6008 \& more}" in text
    assert r"doi = {10.5555/3295222\_1}" in text


def test_names_that_would_split_or_merge_are_braced() -> None:
    p = _paper(
        authors=[
            {"name": "ATLAS Collaboration", "keyname": "ATLAS Collaboration", "forenames": "", "suffix": ""},
            {"name": "Anna Smith and Jones", "keyname": "Smith and Jones", "forenames": "Anna", "suffix": ""},
            {"name": "John Doe Jr", "keyname": "Doe", "forenames": "John", "suffix": "Jr"},
        ]
    )
    text = citations.export([p], "bibtex")
    assert "author = {{ATLAS Collaboration} and {Smith and Jones}, Anna and Doe, Jr, John}" in text


def test_keys_are_unique_within_an_export() -> None:
    papers = load_papers(4)
    for p in papers:
        p.authors, p.title = VASWANI, "On the Attention of Models"
        p.published = dt.datetime(2017, 1, 1, tzinfo=dt.UTC)
    papers[3].authors = [{"name": "Élodie Müller", "keyname": "Müller", "forenames": "Élodie"}]
    keys = citations.citation_keys(papers)
    assert keys == [
        "vaswani2017attention",
        "vaswani2017attentiona",
        "vaswani2017attentionb",
        "muller2017attention",
    ]
    text = citations.export(papers, "bibtex")
    assert re.findall(r"^@\w+\{([^,]+),", text, re.M) == keys
    # Past z: two letters.
    many = citations.citation_keys([papers[0]] * 30)
    assert len(set(many)) == 30 and many[27] == "vaswani2017attentionaa"


def test_ris_and_csl_json_are_plain_text() -> None:
    p = _paper(
        title=r"Fast $\alpha$-tests for Schr\"odinger",
        authors=VASWANI,
        published=dt.datetime(2017, 6, 12, tzinfo=dt.UTC),
        doi="10.1000/xyz",
        journal_ref="",
    )
    ris = citations.export([p], "ris")
    lines = ris.splitlines()
    assert lines[0] == "TY  - UNPB" and lines[-1] == "ER  -"
    assert "TI  - Fast α-tests for Schrödinger" in lines  # noqa: RUF001
    assert "AU  - Vaswani, Ashish" in lines and f"AN  - arXiv:{p.arxiv_id}" in lines
    assert "DA  - 2017/06/12" in lines and "DO  - 10.1000/xyz" in lines
    assert all(re.match(r"^[A-Z][A-Z0-9]  - ", line) or line == "ER  -" for line in lines)
    (item,) = json.loads(citations.export([p], "csl-json"))
    assert item["id"] == "vaswani2017fast" and item["type"] == "article"
    assert item["title"] == "Fast α-tests for Schrödinger"  # noqa: RUF001
    assert item["author"][0] == {"family": "Vaswani", "given": "Ashish"}
    assert item["issued"] == {"date-parts": [[2017, 6, 12]]}
    assert item["DOI"] == "10.1000/xyz" and item["number"] == f"arXiv:{p.arxiv_id}"


def _dates(p: Paper) -> tuple[str | None, str | None, str | None, list[list[int]]]:
    """(BibTeX year and month, RIS PY and DA) and CSL-JSON's `issued` date-parts of one paper."""
    bib = citations.export([p], "bibtex")
    year = re.search(r"^  year = \{(\d+)\},$", bib, re.M)
    month = re.search(r"^  month = (\w+),$", bib, re.M)
    ris = dict(line.split("  - ", 1) for line in citations.export([p], "ris").splitlines() if "  - " in line)
    (item,) = json.loads(citations.export([p], "csl-json"))
    bibtex = f"{year[1] if year else ''} {month[1] if month else ''}".strip() or None
    return bibtex, ris.get("PY"), ris.get("DA"), item["issued"]["date-parts"]


def _at(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d, 15, 30, tzinfo=dt.UTC)


def _versions(*dates: tuple[int, dt.datetime]) -> list[dict[str, object]]:
    return [{"version": n, "date": when.isoformat(), "size": "1kb"} for n, when in dates]


def test_the_date_cited_is_v1_s_else_the_first_announcement_never_a_later_version_s() -> None:
    v1, v2, v3 = _at(2017, 6, 12), _at(2017, 12, 6), _at(2019, 3, 2)
    announced = dt.date(2017, 6, 13)
    both = {"arxiv_id": "1706.03762", "announced": announced}
    # v1 known: its date, in every format.
    p = _paper(**both, published=v1, updated=v3, version=3, versions=_versions((1, v1), (2, v2), (3, v3)))
    assert _dates(p) == ("2017 jun", "2017", "2017/06/12", [[2017, 6, 12]])
    # v1's date stored only in the version list.
    p = _paper(**both, published=None, updated=v3, version=3, versions=_versions((1, v1), (3, v3)))
    assert _dates(p) == ("2017 jun", "2017", "2017/06/12", [[2017, 6, 12]])
    # No v1 date: the first announcement (BibTeX and RIS gave the year alone), not the update's.
    p = _paper(**both, published=None, updated=v3, version=3, versions=[])
    assert _dates(p) == ("2017 jun", "2017", "2017/06/13", [[2017, 6, 13]])
    # A version list starting past v1: the first announcement, not v2's date.
    p = _paper(**both, published=None, updated=v3, version=3, versions=_versions((2, v2), (3, v3)))
    assert _dates(p) == ("2017 jun", "2017", "2017/06/13", [[2017, 6, 13]])
    # The update of a paper whose latest version is v1 is v1's.
    p = _paper(arxiv_id="1706.03762", announced=None, published=None, updated=v1, version=1, versions=[])
    assert _dates(p) == ("2017 jun", "2017", "2017/06/12", [[2017, 6, 12]])
    # Nothing but a later version's date: the year the new-style id names, no month.
    p = _paper(arxiv_id="1706.03762", announced=None, published=None, updated=v3, version=3, versions=[])
    assert _dates(p) == ("2017", "2017", None, [[2017]])


def test_an_unreadable_version_list_is_passed_over() -> None:
    p = _paper(
        arxiv_id="1706.03762",
        announced=dt.date(2017, 6, 13),
        published=None,
        versions=[{"version": "one", "date": "2017-06-12"}, {"date": "yesterday"}, "v1", {"version": 1}],
    )
    assert _dates(p) == ("2017 jun", "2017", "2017/06/13", [[2017, 6, 13]])


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown citation format"):
        citations.export([], "endnote")
