"""The search page, the API and the CLI say the same thing about a search: its count (or that there
is none to give), a filter they cannot apply, and where a long query was cut."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from paperfeed.papers.records import PaperRecord
from paperfeed.search import services

pytestmark = pytest.mark.django_db


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    call_command("search", *args, "--json")
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def cards(html: str) -> list[str]:
    return re.findall(r'<li class="card"[^>]*>.*?href="/papers/([^"]+)"', html, re.S)


def count_line(html: str) -> str:
    found = re.search(r'<p class="muted">([^<]*)</p>\s*<ol class="cards">', html)
    return found.group(1) if found else ""


def test_every_page_and_sort_of_the_site_and_api_give_one_count_and_the_pages_add_up(
    many: list[PaperRecord],
) -> None:
    c = Client()
    seen: list[str] = []
    lines = set()
    page = 1
    while True:
        html = c.get("/search", {"q": "diffusion", "page": page}).content.decode()
        seen += cards(html)
        lines.add(count_line(html).split(" · ")[0])
        if 'rel="next"' not in html:
            break
        page += 1
    total = services.search("diffusion").total
    assert lines == {f"{total} matches"}
    assert len(seen) == len(set(seen)) == total  # the last page is reachable, and nothing repeats
    for sort in ("date", "votes"):
        html = c.get("/search", {"q": "diffusion", "sort": sort}).content.decode()
        assert count_line(html) == f"{total} matches", sort
    for params in ({"p": 0}, {"p": 5}, {"p": 2, "sort": "date"}):
        r = c.get("/api/papers/search", {"q": "diffusion", **params})
        assert r.headers["X-Total-Count"] == str(total), params
        assert r.headers["X-Search-Summary"] == f"{total} matches", params


def test_a_page_past_the_last_says_so_and_links_the_last(many: list[PaperRecord]) -> None:
    # It said "the list ends at 26" and then "No papers match “diffusion”", which they do.
    c = Client()
    total = services.search("diffusion").total
    last = -(-total // 20)
    r = c.get("/search", {"q": "diffusion", "page": last + 3})
    html = r.content.decode()
    assert r.status_code == 200 and cards(html) == []
    assert "No papers match" not in html
    assert f"Page {last + 3} is past the end of these results." in html
    assert f'href="?q=diffusion&amp;page={last}">Go to the last page ({last})</a>' in html
    assert cards(c.get("/search", {"q": "diffusion", "page": last}).content.decode())
    nothing = c.get("/search", {"q": "zzyzx quintessentially", "mode": "keyword", "page": 3}).content.decode()
    assert "No papers match" in nothing and "past the end" not in nothing  # no list at all


def test_semantic_mode_says_top_n_by_meaning_everywhere(
    many: list[PaperRecord], capsys: pytest.CaptureFixture[str]
) -> None:
    top = f"top {services.LEG_DEPTH} by meaning"
    html = Client().get("/search", {"q": "diffusion", "mode": "semantic"}).content.decode()
    assert count_line(html) == top and " matches" not in html
    r = Client().get("/api/papers/search", {"q": "diffusion", "mode": "semantic"})
    assert r.headers["X-Search-Summary"] == top and "X-Total-Count" not in r.headers
    out = cli(capsys, "diffusion", "--mode", "semantic")
    assert out["summary"] == top and out["counted"] is False
    call_command("search", "diffusion", "--mode", "semantic", "--limit", "2")
    assert capsys.readouterr().out.startswith(f"{top} (semantic, ")


def test_the_cli_names_each_result_by_its_arxiv_id_not_the_databases_row(
    many: list[PaperRecord], capsys: pytest.CaptureFixture[str]
) -> None:
    out = cli(capsys, "diffusion", "--limit", "5")
    assert len(out["results"]) == 5
    for r in out["results"]:
        assert r["id"] in {p.arxiv_id for p in many}
        assert not {"paper_id", "paperId"} & set(r), r


def test_the_cli_count_line_says_which_results_its_limit_shows(
    many: list[PaperRecord], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its line said "(the first 1000 are listed)" above the 20 results it listed.
    monkeypatch.setattr(services, "MAX_LISTED", 10)
    monkeypatch.delenv("COLUMNS", raising=False)  # piped: one line a result (a shell's COLUMNS wraps)
    total = services.search("diffusion").total
    assert total > 10
    call_command("search", "diffusion", "--limit", "3")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{total} matches (1-3 shown; --offset N lists more, up to the first 10) (")
    assert [line.split(".")[0].strip() for line in lines if re.match(r" *\d+\. ", line)] == ["1", "2", "3"]
    call_command("search", "diffusion", "--limit", "3", "--offset", "4")
    assert capsys.readouterr().out.startswith(f"{total} matches (5-7 shown; --offset N lists more, up to")
    # The site's pages do go through the first 10, and say so; the JSON keeps the same numbers.
    html = Client().get("/search", {"q": "diffusion"}).content.decode()
    assert count_line(html) == f"{total} matches (the first 10 are listed)"
    out = cli(capsys, "diffusion", "--limit", "3")
    assert (out["total"], out["listed"], out["limit"], len(out["results"])) == (total, 10, 3, 3)


def test_a_query_of_stop_words_says_so_and_lists_nothing(
    many: list[PaperRecord], capsys: pytest.CaptureFixture[str]
) -> None:
    assert any(" and " in r.abstract for r in many)  # what a match in the database's text would find
    r = Client().get("/search", {"q": "AND"})
    html = r.content.decode()
    assert r.status_code == 200 and "only stop words" in html
    assert not cards(html) and "match" not in html.replace("No papers match", "")
    assert "the search index has none" not in html
    assert Client().get("/api/papers/search", {"q": "AND"}).json() == []
    # The command line takes it for a usage mistake: nothing was searched.
    with pytest.raises(CommandError, match="only stop words") as refused:
        cli(capsys, "AND")
    assert refused.value.returncode == 2


def test_malformed_syntax_gets_the_same_words_on_the_page_and_the_cli(
    many: list[PaperRecord], capsys: pytest.CaptureFixture[str]
) -> None:
    # "(((" and "ti:" were searched as words: the latter matched every title with "Ti" in it.
    said = "nothing to search for: only stop words or punctuation; ti: had nothing after it"
    html = Client().get("/search", {"q": "((( ti:"}).content.decode()
    assert said in html and not cards(html)
    assert Client().get("/api/papers/search", {"q": "((( ti:"}).json() == []
    with pytest.raises(CommandError, match=re.escape(said)) as refused:
        cli(capsys, "((( ti:")
    assert refused.value.returncode == 2
    # Beside words it is left out, and the answer says so.
    out = cli(capsys, "diffusion ti:")
    assert out["results"] and "ti: had nothing after it and was left out" in out["message"]
    assert out["total"] == cli(capsys, "diffusion")["total"]
    html = Client().get("/search", {"q": "diffusion ti:"}).content.decode()
    assert "ti: had nothing after it and was left out" in html and cards(html)


def test_parts_of_a_query_left_out_are_listed_by_the_cli_the_api_and_the_page(
    many: list[PaperRecord], capsys: pytest.CaptureFixture[str]
) -> None:
    # They were left out without a word (`-cat:` and a malformed category) or only in the message.
    q = 'diffusion ((( -cat:cs.CL cat:c++ "" ti:'
    dropped = ["(((", "-cat:cs.CL", "cat:c++", '""', "ti:"]
    out = cli(capsys, q)
    assert out["parsed"]["dropped"] == dropped and out["results"]
    assert out["total"] == cli(capsys, "diffusion")["total"]  # the rest searched as if alone
    assert cli(capsys, "diffusion")["parsed"]["dropped"] == []
    said = "left out: ((( (no letter or digit), -cat:cs.CL (a category cannot be excluded), cat:c++ (not a"
    assert said in out["message"] and "ti: had nothing after it" in out["message"]
    r = Client().get("/api/papers/search", {"q": q})
    assert r.status_code == 200 and r.json()
    assert json.loads(r["X-Search-Dropped"]) == dropped
    assert "X-Search-Dropped" not in Client().get("/api/papers/search", {"q": "diffusion"})
    # Any text is a valid header: ASCII, a JSON string each.
    r = Client().get("/api/papers/search", {"q": "diffusion «—» -cat:ü"})
    assert json.loads(r["X-Search-Dropped"]) == ["«—»", "-cat:ü"] and r["X-Search-Dropped"].isascii()
    html = Client().get("/search", {"q": q}).content.decode()
    assert "left out: ((( (no letter or digit), -cat:cs.CL (a category cannot be excluded)" in html
    assert cards(html)
    doc = Client().get("/api/openapi.json").json()
    assert "X-Search-Dropped" in doc["paths"]["/api/papers/search"]["get"]["responses"]["200"]["headers"]


def test_the_category_select_offers_cross_listed_categories_and_keeps_the_one_asked_for(
    many: list[PaperRecord],
) -> None:
    html = Client().get("/search", {"q": "diffusion", "category": "cs.LG"}).content.decode()
    assert "<option selected>cs.LG</option>" in html  # only ever cross-listed in these papers
    assert cards(html)
    html = Client().get("/search", {"q": "diffusion", "category": "cs.lg"}).content.decode()
    assert "<option selected>cs.LG</option>" in html and cards(html)  # codes in any case
    # One no paper has is kept too: the page says it is unknown, and the form still asks for it.
    html = Client().get("/search", {"q": "diffusion", "category": "cs.XX"}).content.decode()
    assert "<option selected>cs.XX</option>" in html


def test_an_invalid_date_is_an_error_not_an_unfiltered_search(
    indexed: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    r = Client().get("/search", {"q": "diffusion", "since": "2026-99-01"})
    html = r.content.decode()
    assert r.status_code == 400 and "invalid From date: 2026-99-01 (use YYYY-MM-DD)" in html
    assert 'value="diffusion"' in html and not cards(html)  # the form kept, no misleading results
    r = Client().get("/search", {"q": "diffusion", "since": "2025-08-01", "until": "2025-07-01"})
    assert r.status_code == 400 and "the From date (2025-08-01) is after the To date (2025-07-01)" in (
        r.content.decode()
    )
    # Both fields are checked, and a good one stays in the form beside a bad one.
    r = Client().get("/search", {"q": "diffusion", "since": "2025-07-01", "until": "July"})
    html = r.content.decode()
    assert r.status_code == 400 and "invalid To date: July (use YYYY-MM-DD)" in html
    assert 'name="since" value="2025-07-01"' in html and not cards(html)
    # The command line reads its dates with the type every command shares (core.commands.iso_date).
    with pytest.raises(CommandError, match=r"--since: not a date \(YYYY-MM-DD\): '2026-99-01'"):
        call_command("search", "diffusion", "--since", "2026-99-01")
    with pytest.raises(CommandError, match=r"--until: not a date \(YYYY-MM-DD\): 'July'"):
        call_command("search", "diffusion", "--until", "July")
    assert Client().get("/api/papers/search", {"q": "diffusion", "since": "2026-99-01"}).status_code == 422
    # A good date still filters.
    assert [h["id"] for h in cli(capsys, "diffusion", "--since", "2025-07-01")["results"]][:1] == [
        "2503.00006"
    ]


def test_an_unknown_category_is_named_not_blamed_on_the_query(
    indexed: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    r = Client().get("/search", {"q": "diffusion", "category": "cs.XX"})
    html = r.content.decode()
    assert r.status_code == 400 and "No such category: “cs.XX”" in html and "No papers match" not in html
    with pytest.raises(CommandError, match=r"No such category: “zz\.ZZ”"):
        call_command("search", "diffusion", "--category", "zz.ZZ")
    api = Client().get("/api/papers/search", {"q": "diffusion", "category": "cs.XX"})
    assert api.status_code == 400 and api.json()["error"].startswith("No such category: “cs.XX”")
    in_query = Client().get("/api/papers/search", {"q": "diffusion cat:cs.XX"})
    assert in_query.status_code == 400 and "No such category: “cs.XX”" in in_query.json()["error"]
    # A batch answers every line (each saying why it could not be searched), then fails.
    batch = tmp_path / "queries.txt"
    batch.write_text("diffusion\nmodels\n")
    with pytest.raises(CommandError, match="2 of the queries could not be searched"):
        call_command("search", "--batch", str(batch), "--category", "zz.ZZ", "--json")
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [a["error"][:26] for a in answers] == ["No such category: “zz.ZZ” "] * 2
    # Known to arXiv though no paper here has it: a filter that matches nothing, said as such.
    assert cli(capsys, "diffusion", "--category", "math.PR")["message"] == "no paper matches"


def test_a_long_query_is_cut_at_the_same_length_everywhere(
    indexed: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # The one word that finds anything stands past the cut.
    long = "zzqx " * 120 + "diffusion"
    assert len(long) > 600
    html = Client().get("/search", {"q": long, "mode": "keyword"}).content.decode()
    assert "Only the first 500 characters were searched." in html and not cards(html)
    assert Client().get("/api/papers/search", {"q": long, "mode": "keyword"}).json() == []
    out = cli(capsys, long, "--mode", "keyword")
    assert out["results"] == [] and out["parsed"]["truncated"] is True
    assert "the query was cut to its first 500 characters" in out["message"]
    assert cli(capsys, long[-300:], "--mode", "keyword")["results"]  # the word alone is found


def test_a_misspelt_query_gets_a_suggestion_on_the_page_the_api_and_the_cli(
    many: list[PaperRecord], capsys: pytest.CaptureFixture[str]
) -> None:
    out = cli(capsys, "difusion", "--mode", "keyword")
    assert out["total"] == 0 and out["suggestion"] == "diffusion"
    assert cli(capsys, "grpah colouring")["suggestion"] == "graph colouring"  # hybrid too
    assert cli(capsys, "diffusion")["suggestion"] is None  # spelt right
    # Only when the respelt query finds more: no diffusion paper is in cs.RO.
    assert cli(capsys, "difusion", "--category", "cs.RO")["suggestion"] is None
    # Names, categories, phrases and excluded words are kept as typed.
    assert cli(capsys, 'au:difusion "difusion" -difusion')["suggestion"] is None
    call_command("search", "difusion", "--mode", "keyword")
    assert "did you mean: diffusion" in capsys.readouterr().out
    # The page links the respelt query, escaped, with the other parameters kept (not the page).
    q = "Difusion <b>x</b>"
    html = (
        Client()
        .get("/search", {"q": q, "mode": "keyword", "category": "cs.CV", "page": "2"})
        .content.decode()
    )
    link = re.search(r'Did you mean: <a href="([^"]+)" rel="nofollow">([^<]*)</a>', html)
    assert link and link.group(2) == "Diffusion &lt;b&gt;x&lt;/b&gt;" and "<b>x</b>" not in html
    params = dict(re.findall(r"[?&](\w+)=([^&]*)", link.group(1).replace("&amp;", "&")))
    assert params == {"q": "Diffusion+%3Cb%3Ex%3C%2Fb%3E", "mode": "keyword", "category": "cs.CV"}
    assert "Did you mean" not in Client().get("/search", {"q": "diffusion"}).content.decode()
    # The API says it in a header, as it says what was left out; in the OpenAPI document too.
    r = Client().get("/api/papers/search", {"q": "difusion", "mode": "keyword"})
    assert r.status_code == 200 and json.loads(r["X-Search-Suggestion"]) == "diffusion"
    r = Client().get("/api/papers/search", {"q": "Difusion «x»", "mode": "keyword"})
    assert json.loads(r["X-Search-Suggestion"]) == "Diffusion «x»" and r["X-Search-Suggestion"].isascii()
    assert "X-Search-Suggestion" not in Client().get("/api/papers/search", {"q": "diffusion"})
    doc = Client().get("/api/openapi.json").json()
    assert "X-Search-Suggestion" in doc["paths"]["/api/papers/search"]["get"]["responses"]["200"]["headers"]


def test_typos_in_the_first_letter_and_in_joined_words_get_a_suggestion_but_names_do_not(
    many: list[PaperRecord], capsys: pytest.CaptureFixture[str]
) -> None:
    def suggestion(q: str, *args: str) -> str | None:
        found: str | None = cli(capsys, q, "--mode", "keyword", *args)["suggestion"]
        return found

    assert suggestion("ciffusion") == "diffusion"  # finds nothing: the respelt query is not counted
    assert suggestion("Idffusion auctions") == "Diffusion auctions"  # finds some: counted, finds more
    assert suggestion("oicture graphs") is None  # no term near it
    assert suggestion("diffusion: zero-knowledge") is None  # spelt right
    assert suggestion("Diffusoin: zero-knowldge") == "Diffusion: zero-knowledge"
    assert suggestion("eRlational auctions") == "relational auctions"
    # Names, categories, phrases and excluded words are still kept as typed.
    assert suggestion('au:ciffusion "ciffusion" -ciffusion') is None
    assert suggestion("ciffusion cat:cs.CV") == "diffusion cat:cs.CV"  # counted: the category could
    assert suggestion("ciffusion cat:cs.RO") is None  # hold none, and cs.RO does
    assert suggestion("ciffusion", "--category", "cs.RO") is None
    # A respelt ti: word is a required clause: counted, and offered only when it finds some.
    assert suggestion("ti:ciffusion models") == "ti:diffusion models"
    assert suggestion("ti:ciffusion databases") is None  # no diffusion paper has "databases"
    assert suggestion("DiffusionNet") is None  # a capital inside a word: a name


def test_long_field_names_work_and_unknown_ones_are_said_everywhere(
    many: list[PaperRecord], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "title:diffusion")["total"] == cli(capsys, "ti:diffusion")["total"] == 25
    out = cli(capsys, "foo:diffusion")
    assert out["parsed"]["unknown_fields"] == ["foo:"] and out["results"]
    assert "unknown field foo: searched as words" in out["message"]
    html = Client().get("/search", {"q": "foo:diffusion"}).content.decode()
    assert "unknown field foo: searched as words" in html and cards(html)
    # The API said nothing of it: a header as the pieces left out have, each name once.
    r = Client().get("/api/papers/search", {"q": "foo:diffusion Bar:models foo:x"})
    assert r.status_code == 200 and r.json()
    assert json.loads(r["X-Search-Unknown-Fields"]) == ["foo:", "bar:"] and "X-Search-Dropped" not in r
    assert "X-Search-Unknown-Fields" not in Client().get("/api/papers/search", {"q": "ti:diffusion"})
    doc = Client().get("/api/openapi.json").json()
    headers = doc["paths"]["/api/papers/search"]["get"]["responses"]["200"]["headers"]
    assert "X-Search-Unknown-Fields" in headers


# A title as arXiv writes it, TeX and all; a terminal runs no KaTeX.
TEX_TITLE = r"Speculative decoding--with ``draft'' models at $\alpha^2$ and 1\textperthousand"
TEX_PLAIN = "Speculative decoding–with “draft” models at α² and 1‰"  # noqa: RUF001


def test_the_cli_spells_a_titles_tex_in_plain_characters_and_json_keeps_it(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from paperfeed.search.indexing import Indexer
    from tests.search.conftest import ingest, records

    monkeypatch.delenv("COLUMNS", raising=False)  # piped: one line a result
    ingest([replace(r, title=TEX_TITLE) if r.arxiv_id == "2503.00001" else r for r in records()])
    Indexer().run()
    call_command("search", "speculative decoding", "--mode", "keyword")
    listed = capsys.readouterr().out
    assert f"2503.00001  {TEX_PLAIN}" in listed and "\\alpha" not in listed and "``" not in listed
    # --json keeps arXiv's title, and the page's typeset one beside it.
    (hit,) = [
        h
        for h in cli(capsys, "speculative decoding", "--mode", "keyword")["results"]
        if h["id"] == "2503.00001"
    ]
    assert hit["title"] == TEX_TITLE
    assert hit["titleHtml"].startswith(
        "<mark>Speculative</mark> <mark>decoding</mark>\u2013with \u201cdraft\u201d"
    )
    call_command("similar", "2503.00007", "--limit", "8")
    near = capsys.readouterr().out
    assert f"2503.00001  {TEX_PLAIN}  [similarity " in near and "$" not in near
    call_command("similar", "2503.00007", "--limit", "8", "--json")
    assert TEX_TITLE in [r["title"] for r in json.loads(capsys.readouterr().out)["results"]]
