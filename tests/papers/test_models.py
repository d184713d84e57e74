"""Paper: its display helpers (unsaved papers), and the title digest every write keeps."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Value
from django.db.models.functions import Concat
from django.template import Context, Template
from django.test import Client

from paperfeed.papers.models import Category, Paper, PaperCategory
from paperfeed.papers.titles import title_digest


def test_author_line_names_six_and_counts_the_rest() -> None:
    def line(n: int) -> str:
        return Paper(authors=[{"name": f"A{i}", "key": f"a{i}"} for i in range(n)]).author_line

    assert line(0) == ""
    assert line(2) == "A0, A1"
    assert line(6) == "A0, A1, A2, A3, A4, A5"
    assert line(8) == "A0, A1, A2, A3, A4, A5 and 2 more"
    assert Paper(authors=[{"key": "nameless"}]).author_line == ""  # a record without a name


def test_title_html_is_the_escaped_title_with_its_typography() -> None:
    paper = Paper(title="Self--Supervised ``Zero-Shot'' <i>x</i> with $x--y$")
    assert paper.title_html == "Self\u2013Supervised \u201cZero-Shot\u201d &lt;i&gt;x&lt;/i&gt; with $x--y$"
    assert (
        str(Template("{{ p.title_html }}").render(Context({"p": paper}))) == paper.title_html
    )  # not escaped twice


def _digests() -> dict[str, str]:
    return dict(Paper.objects.values_list("arxiv_id", "title_digest"))


@pytest.mark.django_db
def test_save_and_the_orm_bulk_writes_keep_the_title_digest() -> None:
    paper = Paper.objects.create(arxiv_id="2601.00001", title="First $\\alpha$ title")
    assert _digests() == {"2601.00001": title_digest("First \u03b1 title")}
    paper.title = "Second title"
    paper.save(update_fields=["title"])  # the digest is saved with it, though not named
    assert _digests() == {"2601.00001": title_digest("Second title")}

    Paper.objects.filter(pk=paper.pk).update(title="Third title")
    assert _digests() == {"2601.00001": title_digest("Third title")}
    with pytest.raises(TypeError, match="title_digest"):
        Paper.objects.filter(pk=paper.pk).update(title=Concat("title", Value("!")))

    Paper.objects.bulk_create(Paper(arxiv_id=f"2601.0001{i}", title=f"Bulk {i}") for i in range(2))
    both = list(Paper.objects.filter(arxiv_id__startswith="2601.0001"))
    for p in both:
        p.title = p.title.upper()
    Paper.objects.bulk_update(both, ["title"])
    assert _digests() == {
        "2601.00001": title_digest("Third title"),
        "2601.00010": title_digest("BULK 0"),
        "2601.00011": title_digest("BULK 1"),
    }


@pytest.mark.django_db
def test_a_title_edited_in_the_admin_gets_its_digest(client: Client) -> None:
    from django.contrib.auth import get_user_model

    paper = Paper.objects.create(arxiv_id="2601.00001", title="Before")
    admin = get_user_model().objects.create_superuser("admin", "admin@example.org", "x" * 20)
    client.force_login(admin)
    url = f"/admin/papers/paper/{paper.pk}/change/"
    form = client.get(url).context["adminform"].form
    assert "title_digest" not in form.fields  # kept by the model, not typed
    data = {k: v for k, v in form.initial.items() if k in form.fields and v is not None}
    # (The admin refuses an empty JSON list: authors and versions as an imported paper has them.)
    data |= {"title": "After the edit", "authors": '[{"name": "A"}]', "versions": '[{"version": 1}]'}
    data |= {"links-TOTAL_FORMS": "0", "links-INITIAL_FORMS": "0"}
    r = client.post(url, data)
    assert r.status_code == 302, r.context["adminform"].form.errors if r.context else r
    assert _digests() == {"2601.00001": title_digest("After the edit")}


@pytest.mark.django_db
def test_of_newest_lists_every_category_of_each_codes_newest_papers_by_day() -> None:
    """The `n` papers of latest day whose primary category each code is, and the `n` last added to
    it (primary or cross-listed), each with all its listings: a busy category's papers take no place
    of a quiet one's, and old papers added last (a backfill) none of the newest's."""
    for code in ("cs.LG", "cs.CL", "cs.RO"):
        Category.objects.get_or_create(code=code)
    listed = [  # (day, categories): cs.LG is busy, cs.CL's papers are older, one cross-listed each way
        (1, ["cs.CL"]), (2, ["cs.CL", "cs.RO"]), (3, ["cs.LG"]), (4, ["cs.LG"]), (5, ["cs.LG", "cs.CL"]),
        (6, ["cs.LG"]), (None, ["cs.LG"]),  # not announced yet
    ]  # fmt: skip
    papers = []
    for i, (day, codes) in enumerate(listed):
        papers.append(
            Paper.objects.create(
                arxiv_id=f"2601.{i:05d}",
                title=f"Paper {i}",
                primary_category_id=codes[0],
                announced=dt.date(2026, 1, day) if day else None,
            )
        )
        PaperCategory.objects.bulk_create(
            PaperCategory(paper=papers[-1], category_id=c, position=pos) for pos, c in enumerate(codes)
        )
    # Backfilled last: two cs.LG papers of 2025, one cross-listed in cs.CL.
    for i, codes in enumerate([["cs.LG"], ["cs.LG", "cs.CL"]], len(papers)):
        papers.append(
            Paper.objects.create(
                arxiv_id=f"2501.{i:05d}",
                title=f"Old {i}",
                primary_category_id="cs.LG",
                announced=dt.date(2025, 1, 1),
            )
        )
        PaperCategory.objects.bulk_create(
            PaperCategory(paper=papers[-1], category_id=c, position=pos) for pos, c in enumerate(codes)
        )

    def found(codes: list[str], n: int) -> set[int]:
        return {
            papers.index(next(p for p in papers if p.pk == pk))
            for pk in PaperCategory.objects.of_newest(codes, n).values_list("paper_id", flat=True)
        }

    # cs.LG by day: 4 and 5 (not the backfill, nor the paper with no day); its last added: the backfill.
    assert found(["cs.LG"], 2) == {4, 5, 7, 8}
    # cs.CL by day: 0 and 1; its last added: the backfill's cross-list and 4's.
    assert found(["cs.CL"], 2) == {0, 1, 4, 8}
    assert found(["cs.LG", "cs.CL"], 1) == {5, 8, 1}
    rows = set(PaperCategory.objects.of_newest(["cs.CL"], 2).values_list("paper_id", "category_id"))
    assert {(papers[1].pk, "cs.RO"), (papers[4].pk, "cs.LG")} <= rows  # every listing of each
    assert not PaperCategory.objects.of_newest([], 2).exists()


def test_str_is_the_id_and_the_title_in_plain_characters() -> None:
    # Admin lists and logs showed the raw TeX ("GUI-C$^2$: {PvNeXt} \textbf{…}").
    paper = Paper(
        arxiv_id="2504.05075", title=r"GUI-C$^2$: {PvNeXt} with \textbf{$\alpha$-divergence} -- at $5 a run"
    )
    assert str(paper) == "2504.05075: GUI-C²: PvNeXt with \u03b1-divergence \u2013 at $5 a run"
    assert (
        str(Paper(arxiv_id="1", title="w " * 50)).endswith("…")
        and len(str(Paper(arxiv_id="1", title="w " * 50))) == 63
    )
