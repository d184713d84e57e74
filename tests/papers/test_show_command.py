"""`paperfeed show ID` in this process: the version asked for against the one stored."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from paperfeed.papers.models import Paper
from tests.sitedata import load_papers

pytestmark = pytest.mark.django_db


def _show(capsys, *args: str) -> str:  # type: ignore[no-untyped-def]
    call_command("show", *args)
    return capsys.readouterr().out


def test_a_version_other_than_the_stored_one_is_named(capsys) -> None:  # type: ignore[no-untyped-def]
    (paper,) = load_papers(1)
    Paper.objects.filter(pk=paper.pk).update(version=3)
    ident = paper.arxiv_id
    assert _show(capsys, ident).startswith(f"{ident}v3  [")
    assert "Note:" not in _show(capsys, f"{ident}v3")
    newer = _show(capsys, f"{ident}v7")
    assert newer.startswith(f"{ident}v3  [")  # what is shown is what is stored, never the asked-for v7
    assert newer.rstrip().endswith(
        f"Note: You asked for v7; the newest version here is v3. arXiv may have a newer one: "
        f"https://arxiv.org/abs/{ident}v7"
    )
    call_command("show", f"{ident}v1", "--json")
    assert json.loads(capsys.readouterr().out)["note"] == (
        f"This shows v3, the latest; v1 is at https://arxiv.org/abs/{ident}v1"
    )


def test_an_unrecorded_version_is_said_so(capsys) -> None:  # type: ignore[no-untyped-def]
    (paper,) = load_papers(1)
    Paper.objects.filter(pk=paper.pk).update(version=None)
    out = _show(capsys, f"{paper.arxiv_id}v7")
    assert out.startswith(f"{paper.arxiv_id} (version not recorded)  [") and "v?" not in out
    assert f"This shows the paper as stored here; v7 is at https://arxiv.org/abs/{paper.arxiv_id}v7" in out


def test_arxivs_comments_are_kept_beside_the_discussions_count(capsys) -> None:  # type: ignore[no-untyped-def]
    from paperfeed.feed import services as feed
    from tests.sitedata import make_user

    (paper,) = load_papers(1)
    Paper.objects.filter(pk=paper.pk).update(
        comments="12 pages, accepted at ACL 2025", journal_ref="Proc. ACL 2025", doi="10.1/x"
    )
    feed.add_comment(make_user("reader"), paper, "a first take")
    call_command("show", paper.arxiv_id, "--json")
    shown = json.loads(capsys.readouterr().out)
    # The feed's count was merged over arXiv's field of the same name: the authors' note was lost.
    assert shown["comments"] == "12 pages, accepted at ACL 2025" and shown["numComments"] == 1
    text = _show(capsys, paper.arxiv_id)
    assert "\nComments: 12 pages, accepted at ACL 2025\nJournal-ref: Proc. ACL 2025\nDOI: 10.1/x\n" in text


def test_the_title_and_abstract_are_in_plain_characters_and_json_keeps_the_tex(  # type: ignore[no-untyped-def]
    capsys, monkeypatch
) -> None:
    (paper,) = load_papers(1)
    title = r"Self--Supervised ``Zero-Shot'' M\textsuperscript{4}Fuse for Schr\"odinger"
    abstract = (
        "We reach $\\mathcal{O}(n^2)$ at 5\\textperthousand\nof the cost, \\textbf{86\\%} faster\n"
        "than~\\cite{x}.\n  A second paragraph \\method{} with\n\\texttt{\\textless EOS\\textgreater} tokens."
    )
    Paper.objects.filter(pk=paper.pk).update(title=title, abstract=abstract)
    monkeypatch.delenv("COLUMNS", raising=False)  # piped: a paragraph a line
    lines = _show(capsys, paper.arxiv_id).splitlines()
    assert lines[1] == "Self–Supervised “Zero-Shot” M⁴Fuse for Schrödinger"  # noqa: RUF001
    # arXiv's hard wraps joined, its paragraphs kept apart.
    start = lines.index("We reach O(n²) at 5‰ of the cost, 86% faster than.")
    assert lines[start + 1 : start + 3] == ["", "A second paragraph method with <EOS> tokens."]
    # A terminal wraps them to its width, whole words to a line.
    monkeypatch.setenv("COLUMNS", "30")
    wrapped = _show(capsys, paper.arxiv_id).splitlines()
    assert wrapped[1:3] == ["Self–Supervised “Zero-Shot”", "M⁴Fuse for Schrödinger"]  # noqa: RUF001
    assert "We reach O(n²) at 5‰ of the" in wrapped
    call_command("show", paper.arxiv_id, "--json")
    shown = json.loads(capsys.readouterr().out)
    assert (shown["title"], shown["abstract"]) == (title, abstract)
