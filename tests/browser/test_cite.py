"""The Cite control of a paper page and the library import form in a real browser, with and without
JavaScript, each state through the accessibility audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from paperfeed.feed import services
from paperfeed.feed.models import CollectionItem
from paperfeed.papers import citations
from tests.browser.test_a11y import AUDIT
from tests.browser.test_for_you import log_in
from tests.sitedata import load_papers, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _audit(page: Any, problems: dict[str, list[str]], label: str) -> None:
    page.wait_for_load_state("networkidle")
    found = page.evaluate(AUDIT)
    if found:
        problems[label] = found


@pytest.mark.timeout(120)
@pytest.mark.parametrize("javascript", [True, False])
def test_cite_control_and_import_form(
    live_server: Any, browser: Any, tmp_path: Path, javascript: bool
) -> None:
    base = live_server.url
    papers = load_papers(4)
    reader = make_user("reader")
    services.save_paper(reader, papers[0], "Thesis")
    p = papers[1]
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=javascript)
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    problems: dict[str, list[str]] = {}

    # The Cite control: closed, then opened by its summary (a <details>: no script needed).
    page.goto(f"{base}/papers/{p.arxiv_id}")
    entry = page.locator("#cite pre.citation")
    assert not entry.is_visible()
    _audit(page, problems, "paper, Cite closed")
    page.get_by_text("BibTeX", exact=True).first.click()
    assert entry.is_visible()
    key = citations.citation_keys([p])[0]
    assert entry.inner_text().startswith(f"@misc{{{key},")
    _audit(page, problems, "paper, Cite open")
    links = page.locator("#cite a")
    assert links.count() == 3
    hrefs = [links.nth(i).get_attribute("href") for i in range(3)]
    assert hrefs == [
        f"/papers/{p.arxiv_id}.bib",
        f"/papers/{p.arxiv_id}.ris",
        f"/papers/{p.arxiv_id}.csl.json",
    ]
    # Each link's name says what it is: "BibTeX citation", not only "BibTeX" beside the summary's.
    assert page.get_by_role("link", name="BibTeX citation", exact=True).get_attribute("href") == hrefs[0]
    got = page.request.get(base + hrefs[0])
    assert got.status == 200 and got.text() == citations.export([p], "bibtex")

    # The import form: a .bib file with one paper stored here and one not, into the chosen collection.
    log_in(page, base, reader)
    page.goto(f"{base}/users/reader/collections/thesis")
    page.get_by_role("link", name="Import papers into it").click()
    assert page.locator("#lib-coll").input_value() == "thesis"
    _audit(page, problems, "import form")
    f = tmp_path / "library.bib"
    f.write_text(
        citations.export(papers[2:3], "bibtex") + "@misc{gone, title={<img src=x onerror=alert(1)>}}\n"
    )
    page.set_input_files("#lib-file", str(f))
    with page.expect_navigation():
        page.get_by_role("button", name="Import").click()
    assert "2 entries read: 1 found here (1 newly saved), 1 not found." in page.inner_text("#import-result")
    assert page.locator("#import-unmatched li").inner_text().startswith("gone: <img src=x onerror=alert(1)>")
    assert page.locator("#import-result img").count() == 0
    _audit(page, problems, "import done")
    assert CollectionItem.objects.filter(collection__user=reader, collection__slug="thesis").count() == 2

    # A malformed paste: the error is announced and tied to the fields, the text kept.
    page.fill("#lib-pasted", "@misc{broken, title = {")
    with page.expect_navigation():
        page.get_by_role("button", name="Import").click()
    assert page.get_by_role("alert").inner_text().startswith("Nothing was imported: not a valid BibTeX file")
    assert page.locator("#lib-pasted").input_value() == "@misc{broken, title = {"
    _audit(page, problems, "import error")
    ctx.close()
    assert problems == {}
