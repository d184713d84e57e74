"""Citations on the site and a library imported into a collection: feed.library, the export routes,
the import page and `paperfeed library import` / `paperfeed cite`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from paperfeed.feed import library, services
from paperfeed.feed.models import Collection, CollectionItem
from paperfeed.papers import citations
from paperfeed.papers.references import LibraryError
from tests.conftest import paperfeed
from tests.recs import conftest as recs_data
from tests.sitedata import load_papers, make_user

pytestmark = pytest.mark.django_db
catalogue = recs_data.catalogue  # papers "For you" can recommend


@pytest.fixture
def site() -> dict[str, Any]:
    papers = load_papers(6)
    alice, bob = make_user("alice"), make_user("bob")
    services.save_paper(alice, papers[0], "Reading list")
    private = services.save_paper(alice, papers[1], "Secret")
    private.public = False
    private.save()
    return {"papers": papers, "alice": alice, "bob": bob}


def _as(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


# --- export routes -----------------------------------------------------------------------------


def test_a_paper_in_each_format_and_the_cite_control(site: dict[str, Any]) -> None:
    p = site["papers"][0]
    for ext, media in [("bib", "application/x-bibtex"), ("ris", "application/x-research-info-systems")]:
        r = Client().get(f"/papers/{p.arxiv_id}.{ext}")
        assert r.status_code == 200 and r["Content-Type"] == f"{media}; charset=utf-8"
        assert r.content.decode() == citations.export([p], {"bib": "bibtex", "ris": "ris"}[ext])
    r = Client().get(f"/papers/{p.arxiv_id}v1.csl.json")  # a version names the paper
    assert json.loads(r.content)[0]["number"] == f"arXiv:{p.arxiv_id}"
    for url in ["/papers/2501.99999.bib", "/papers/2501.99999.csl.json", "/papers/nonsense.ris"]:
        assert Client().get(url).status_code == 404, url
    page = Client().get(f"/papers/{p.arxiv_id}").content.decode()
    assert f'<a href="/papers/{p.arxiv_id}.bib"' in page and f'<a href="/papers/{p.arxiv_id}.ris"' in page
    key = citations.citation_keys([p])[0]
    assert "<details><summary>BibTeX</summary><pre" in page and f"@misc{{{key}," in page


def test_metadata_is_escaped_on_the_page_and_in_the_file(site: dict[str, Any]) -> None:
    p = site["papers"][2]
    p.title = "<script>alert(1)</script> & 100% {odd"
    p.save()
    page = Client().get(f"/papers/{p.arxiv_id}").content.decode()
    assert "<script>alert(1)</script>" not in page
    bib = Client().get(f"/papers/{p.arxiv_id}.bib").content.decode()
    assert r"title = {<script>alert(1)</script> \& 100\% \textbraceleft{}odd}" in bib


def test_a_collection_exports_for_whoever_may_see_it(site: dict[str, Any]) -> None:
    alice, bob = site["alice"], site["bob"]
    r = Client().get("/users/alice/collections/reading-list.bib")
    assert r.status_code == 200 and site["papers"][0].arxiv_id in r.content.decode()
    assert 'filename="reading-list.bib"' in r["Content-Disposition"]
    for who in (Client(), _as(bob)):
        for ext in ("bib", "ris", "csl.json"):
            assert who.get(f"/users/alice/collections/secret.{ext}").status_code == 404
    mine = _as(alice).get("/users/alice/collections/secret.ris")
    assert mine.status_code == 200 and f"arXiv:{site['papers'][1].arxiv_id}" in mine.content.decode()
    assert Client().get("/users/alice/collections/nothing.bib").status_code == 404
    page = Client().get("/users/alice/collections/reading-list").content.decode()
    assert 'href="/users/alice/collections/reading-list.bib"' in page and "Import papers" not in page
    assert "Import papers into it" in _as(alice).get("/users/alice/collections/reading-list").content.decode()


def test_lists_link_to_an_export_of_their_papers(site: dict[str, Any]) -> None:
    papers = site["papers"]
    for p in papers[:3]:
        services.submit(p.arxiv_id, site["alice"], timezone.localdate())
    page = Client().get("/papers").content.decode()
    assert "Export this page's papers" in page
    href = page.split('class="muted export"')[1].split('href="')[1].split('"')[0].replace("&amp;", "&")
    assert href.startswith("/cite?ids=")
    bib = Client().get(href).content.decode()
    assert sorted(bib.count(f"eprint = {{{p.arxiv_id}}}") for p in papers[:3]) == [1, 1, 1]
    ids = ",".join([papers[1].arxiv_id, "2501.99999", papers[0].arxiv_id])
    r = Client().get(f"/cite?ids={ids}&format=csl-json")
    assert [i["number"] for i in json.loads(r.content)] == [
        f"arXiv:{papers[1].arxiv_id}",
        f"arXiv:{papers[0].arxiv_id}",
    ]
    assert Client().get("/cite?ids=2501.99999").status_code == 404
    for bad in [
        "/cite",
        "/cite?ids=nonsense",
        f"/cite?ids={ids}&format=endnote",
        "/cite?ids=" + "2501.00001," * 201,
    ]:
        assert Client().get(bad).status_code == 400, bad


# --- import ------------------------------------------------------------------------------------


def test_an_import_saves_the_matches_into_a_new_or_chosen_collection(site: dict[str, Any]) -> None:
    papers, bob = site["papers"], site["bob"]
    bib = citations.export(papers[:3], "bibtex") + "@misc{gone, eprint={2501.99999}}\n"
    done = library.import_library(bob, bib.encode(), name="lib.bib")
    assert done.collection.name == library.DEFAULT_COLLECTION and done.added == 3
    assert [o.paper.arxiv_id for o in done.matched] == [p.arxiv_id for p in papers[:3]]
    assert done.as_json()["unmatched"] == 1 and done.as_json()["entries"][3]["reason"].startswith(
        "arXiv 2501.99999"
    )
    again = library.import_library(
        bob, f"{papers[2].arxiv_id} {papers[3].arxiv_id}", collection=done.collection
    )
    assert again.added == 1 and again.collection == done.collection
    assert CollectionItem.objects.filter(collection=done.collection).count() == 4
    with pytest.raises(LibraryError, match="your own collections"):
        library.import_library(site["alice"], papers[0].arxiv_id, collection=done.collection)


def test_a_malformed_file_imports_nothing(site: dict[str, Any]) -> None:
    bob = site["bob"]
    good = citations.export(site["papers"][:2], "bibtex")
    with pytest.raises(LibraryError):
        library.import_library(bob, good + "@misc{broken, title = {", new_name="Half")
    assert (
        not Collection.objects.filter(user=bob).exists()
        and not CollectionItem.objects.filter(collection__user=bob).exists()
    )


def test_the_import_page(site: dict[str, Any]) -> None:
    papers, bob = site["papers"], site["bob"]
    assert Client().get("/library/import").status_code == 302  # to log in
    c = _as(bob)
    assert 'enctype="multipart/form-data"' in c.get("/library/import").content.decode()
    ris = citations.export(papers[:2], "ris") + "TY  - JOUR\nTI  - <b>Unknown</b> & co\nER  -\n"
    r = c.post(
        "/library/import", {"file": SimpleUploadedFile("mine.ris", ris.encode()), "new_name": "From Zotero"}
    )
    page = r.content.decode()
    assert r.status_code == 200 and "Imported into" in page and "From Zotero" in page
    assert "3 entries read: 2 found here (2 newly saved), 1 not found." in page
    assert "&lt;b&gt;Unknown&lt;/b&gt; &amp; co" in page and "<b>Unknown</b>" not in page
    assert "no paper here has this title" in page
    coll = Collection.objects.get(user=bob, name="From Zotero")
    # The form starts afresh, on the collection just made, so Import pressed again sends nothing twice.
    assert f'<option value="{coll.slug}" selected>From Zotero</option>' in page
    assert 'value="From Zotero"' not in page
    # Pasted ids into the chosen collection.
    r = c.post("/library/import", {"pasted": f"{papers[4].arxiv_id}\n<i>junk</i>", "collection": coll.slug})
    assert r.status_code == 200 and CollectionItem.objects.filter(collection=coll).count() == 3
    assert "&lt;i&gt;junk&lt;/i&gt;" in r.content.decode()
    assert '<textarea id="lib-pasted" name="pasted" rows="5"></textarea>' in r.content.decode()
    # Errors: the text pasted comes back, nothing is saved.
    r = c.post("/library/import", {"pasted": "@misc{x, title={", "collection": coll.slug})
    assert r.status_code == 400 and "Nothing was imported: not a valid BibTeX file" in r.content.decode()
    assert "@misc{x, title={</textarea>" in r.content.decode()
    # A file with nothing in it said only "found no entries to import", not that nothing was.
    r = c.post(
        "/library/import", {"file": SimpleUploadedFile("x.bib", b"garbage\x00\x01"), "collection": coll.slug}
    )
    assert r.status_code == 400 and "Nothing was imported: found no entries to import." in r.content.decode()
    assert c.post("/library/import", {}).status_code == 400
    assert (
        c.post("/library/import", {"pasted": papers[5].arxiv_id, "collection": "not-mine"}).status_code == 400
    )
    big = SimpleUploadedFile("big.bib", b"%" * (2 * 1024 * 1024 + 1))
    r = c.post("/library/import", {"file": big})
    assert r.status_code == 400 and "larger than 2 MB" in r.content.decode()
    assert CollectionItem.objects.filter(collection__user=bob).count() == 3


@pytest.mark.django_db(transaction=True)  # the recommendation profile follows saves after commit
def test_imported_papers_count_as_saved_for_recommendations(catalogue: dict[str, list[Any]]) -> None:
    from paperfeed.recs import services as recs

    reader = make_user("reader")
    diffusion = catalogue["diffusion"]
    done = library.import_library(reader, " ".join(p.arxiv_id for p in diffusion[:2]))
    assert done.added == 2
    got = recs.recommend(reader, limit=4)
    assert got and {r.paper.arxiv_id for r in got} <= {p.arxiv_id for p in diffusion[2:]}
    assert all("you saved" in r.reason for r in got)


# --- command line ------------------------------------------------------------------------------


def test_library_import_command(
    site: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str], settings: Any
) -> None:
    settings.BASE_URL = "https://papers.example.org"
    papers = site["papers"]
    f = tmp_path / "lib.bib"
    f.write_text(citations.export(papers[:2], "bibtex") + "@misc{gone, title={Nowhere}}\n")
    call_command("library", "import", "Bob", str(f), "--collection", "thesis", "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["collection"]["slug"] == "thesis" and (out["read"], out["matched"], out["added"]) == (3, 2, 2)
    # It was "/users/bob/collections/thesis", a path a script could not open without knowing the site.
    assert out["collection"]["url"] == "https://papers.example.org/users/bob/collections/thesis"
    assert out["entries"][2] == {
        "entry": "gone: Nowhere",
        "id": None,
        "by": None,
        "reason": "no paper here has this title",
    }
    call_command("library", "import", "bob", str(f), "--collection", "thesis")
    assert capsys.readouterr().out.startswith(
        "3 entries read: 2 found (0 newly saved to 'thesis'), 1 not found"
    )
    f.write_text("@misc{broken")
    with pytest.raises(CommandError, match=r"lib\.bib: not a valid BibTeX file: .*; nothing was imported"):
        call_command("library", "import", "bob", str(f))
    with pytest.raises(CommandError, match="no user 'nobody'"):
        call_command("library", "import", "nobody", str(f))
    with pytest.raises(CommandError, match="cannot read"):
        call_command("library", "import", "bob", str(tmp_path / "missing.bib"))


def test_cite_command(site: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    a, b = site["papers"][:2]
    call_command("cite", a.arxiv_id, f"https://arxiv.org/abs/{b.arxiv_id}v1")
    assert capsys.readouterr().out == citations.export([a, b], "bibtex").rstrip("\n") + "\n"
    call_command("cite", a.arxiv_id, "--format", "ris", "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["format"] == "ris" and out["ids"] == [a.arxiv_id] and out["citation"].startswith("TY  - ")
    with pytest.raises(CommandError, match=r"not stored: 2501\.99999"):
        call_command("cite", a.arxiv_id, "2501.99999")


def test_cite_argument_mistakes_are_one_line(cli_env: dict[str, str]) -> None:
    for args in (["cite"], ["cite", "2501.00001", "--format", "endnote"], ["cite", "nonsense"]):
        proc = paperfeed(*args, env=cli_env, check=False)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, (args, proc.stderr)


def test_search_results_link_to_an_export_of_the_page(search_home: Path) -> None:
    from paperfeed.search.indexing import Indexer

    papers = load_papers(12)
    Indexer().run(semantic=False)
    name = papers[0].authors[0]["name"]
    page = Client().get("/search", {"author": name, "mode": "keyword"}).content.decode()
    export = page.split('class="muted export"')[1].split("</p>")[0]
    assert export.startswith(">Export these results: ") and export.count("<a href=") == 3
    href = export.split('href="')[1].split('"')[0].replace("&amp;", "&")
    assert f"eprint = {{{papers[0].arxiv_id}}}" in Client().get(href).content.decode()
    assert (
        'class="muted export"'
        not in Client().get("/search", {"q": "zzzqqqxxx", "mode": "keyword"}).content.decode()
    )
