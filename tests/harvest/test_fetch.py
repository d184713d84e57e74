"""H7 (the arXiv API client) and H8 (no code path pages through the API), against the fake arXiv
and the real recorded API answers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from paperfeed.papers.lookup import IDS_PER_REQUEST, api_params, fetch, lookup_records
from paperfeed.papers.models import Paper
from paperfeed.papers.sources.atom import ApiError, parse_api_feed
from paperfeed.papers.sources.http import ArxivClient, ArxivError, ArxivHTTPError
from paperfeed.papers.titles import title_digest
from tests.conftest import paperfeed
from tests.fakes.arxiv import FakeArxiv
from tests.harvest.conftest import cli_fake_env

API = "arxiv_protocol/query_api_atom"


def test_real_api_answers_parse(shared_data: Path) -> None:
    files = sorted((shared_data / API).glob("*.xml"))
    assert len(files) == 20
    for f in files:
        if "_id_abc_" in f.name:
            with pytest.raises(ApiError, match="incorrect id format for abc"):
                parse_api_feed(f.read_bytes())
            continue
        page = parse_api_feed(f.read_bytes())
        assert all(r.title and r.title != "Error" and r.categories for r in page.records), f.name
        if "_q_testing_" in f.name:
            assert page.total == 214881 and page.records
    one = parse_api_feed((shared_data / API / "arxivpy_id_1605.08386_s0_m100_199195aa31ad.xml").read_bytes())
    rec = one.records[0]
    assert (rec.arxiv_id, rec.version, rec.categories) == ("1605.08386", 1, ["math.CO", "math.ST"])
    assert [a.display for a in rec.authors] == ["Caprice Stanley", "Tobias Windisch"]
    assert rec.comments == "20 pages, 3 figures"
    empty = parse_api_feed((shared_data / API / "arxivpy_id_0000.0000_s0_m100_8b51d9633a68.xml").read_bytes())
    assert (empty.total, empty.records) == (0, [])
    old = parse_api_feed(
        (shared_data / API / "arxivpy_id_quant-ph_0201082v1_s0_m100_86989fe779ef.xml").read_bytes()
    )
    assert old.records[0].arxiv_id == "quant-ph/0201082"


@pytest.mark.django_db(transaction=True)
def test_fetch_stores_papers_and_names_unknown_ids(
    fake: FakeArxiv, client: ArxivClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERFEED_ARXIV_API", fake.url + "/api/query")
    ids = sorted(fake.records)[:3]
    papers, unknown, counts = fetch([*ids, "2501.99999"], client)
    assert sorted(papers) == ids and unknown == ["2501.99999"] and counts["created"] == 3
    stored = Paper.objects.get(arxiv_id=ids[0])
    assert stored.source == "api" and stored.title_digest == title_digest(stored.title) != ""
    assert fake.requests[-1].query["max_results"] == "4" and fake.requests[-1].query["start"] == "0"


@pytest.mark.django_db(transaction=True)
def test_fetch_papers_service(fake: FakeArxiv, scaled: float, monkeypatch: pytest.MonkeyPatch) -> None:
    from paperfeed.papers.lookup import UnknownPaper
    from paperfeed.papers.services import fetch_papers

    monkeypatch.setenv("PAPERFEED_ARXIV_API", fake.url + "/api/query")
    aid = sorted(fake.records)[0]
    assert fetch_papers([aid])[aid].arxiv_id == aid and Paper.objects.filter(arxiv_id=aid).exists()
    with pytest.raises(UnknownPaper, match=r"arXiv has no paper 2501\.99999"):
        fetch_papers(["2501.99999"])


def test_an_empty_page_despite_results_is_retried_then_fails(
    fake: FakeArxiv, client: ArxivClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERFEED_ARXIV_API", fake.url + "/api/query")
    aid = sorted(fake.records)[0]
    fake.api_empty_pages = 2
    found, _ = lookup_records([aid], client)
    assert [r.arxiv_id for r in found] == [aid] and len(fake.requests) == 3
    fake.api_empty_pages = 10
    with pytest.raises(ArxivError, match="empty page"):
        lookup_records([aid], client)
    assert len(fake.requests) == 3 + 4  # the first try and 3 retries


def test_an_error_entry_is_an_error_not_a_paper(
    fake: FakeArxiv, client: ArxivClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERFEED_ARXIV_API", fake.url + "/api/query")
    # `abc` never leaves this machine (ids are checked first); sent raw, the 400 error feed is raised.
    with pytest.raises(ValueError, match="not an arXiv identifier"):
        lookup_records(["abc"], client)
    with pytest.raises(ArxivHTTPError) as answer:
        client.get(fake.url + "/api/query", {"id_list": "abc", "start": "0", "max_results": "1"})
    assert answer.value.status == 400
    with pytest.raises(ApiError, match="incorrect id format for abc"):
        parse_api_feed(answer.value.body)


def test_no_code_path_pages_through_the_api(
    fake: FakeArxiv, client: ArxivClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """H8: look-ups are by id only, in slices far inside the API's limits; and nothing else in the
    code talks to the API (bulk loads come from a snapshot file, then OAI-PMH)."""
    monkeypatch.setenv("PAPERFEED_ARXIV_API", fake.url + "/api/query")
    ids = [f"2501.{i:05d}" for i in range(1, 251)]
    lookup_records(ids, client)
    assert len(fake.requests) == 3 and fake.violations == []
    for r in fake.requests:
        assert r.query["start"] == "0" and int(r.query["max_results"]) <= IDS_PER_REQUEST
        assert "search_query" not in r.query
    with pytest.raises(ValueError, match="larger than the arXiv API allows"):
        api_params([f"2501.{i:05d}" for i in range(2001)])
    root = Path(__file__).resolve().parents[2] / "paperfeed"
    users = {
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if re.search(r"PAPERFEED_ARXIV_API|max_results|search_query", p.read_text())
    }
    assert users == {"papers/lookup.py", "conf.py"}, users  # conf.py declares the setting


@pytest.mark.migrated
@pytest.mark.timeout(120)  # CLI children: ~5 s quiet, 34 s at load 7
@pytest.mark.database
def test_the_fetch_command(fake: FakeArxiv, cli_env: dict[str, str]) -> None:
    env = cli_fake_env(cli_env, fake)
    aid = sorted(fake.records)[0]
    out = json.loads(paperfeed("fetch", f"arXiv:{aid}v1", "--json", env=env).stdout)
    assert out["fetched"] == [aid] and out["papers"][0]["id"] == aid and out["created"] == 1
    bad = paperfeed("fetch", "2501.99999", env=env, check=False)
    assert bad.returncode != 0 and "arXiv has no paper 2501.99999" in bad.stderr
    junk = paperfeed("fetch", "abc", env=env, check=False)
    assert junk.returncode != 0 and "not an arXiv identifier" in junk.stderr
