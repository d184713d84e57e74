"""search() and similar() over the real store and indexes, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paperfeed.papers.models import Paper
from paperfeed.papers.records import AuthorName, PaperRecord
from paperfeed.search import services
from paperfeed.search.indexing import Indexer
from paperfeed.search.services import search, similar
from tests.search.conftest import ingest, records

pytestmark = pytest.mark.django_db


def ids(res: services.SearchResults) -> list[str]:
    return [h.arxiv_id for h in res.hits]


@pytest.mark.parametrize("mode", ["hybrid", "keyword", "semantic"])
def test_speculative_decoding_first_in_every_mode(indexed: dict[str, Any], mode: str) -> None:
    res = search("speculative decoding", mode=mode)
    assert ids(res)[0] == "2503.00001" and not res.degraded and not res.message


def test_semantic_leg_finds_meaning_without_the_words(indexed: dict[str, Any]) -> None:
    res = search("making LLM text generation faster", mode="semantic", limit=3)
    assert {"2503.00001", "2503.00007"} <= set(ids(res))
    hybrid = search("making LLM text generation faster", limit=3)
    assert "semantic" in hybrid.hits[0].legs


@pytest.mark.parametrize(
    ("query", "expected"),
    [("multi-agent", "2503.00002"), ("don't", "2503.00003"), ("C++", "2503.00004"), ("20.04", "2503.00004")],
)
def test_tricky_words(indexed: dict[str, Any], query: str, expected: str) -> None:
    assert ids(search(query, mode="keyword"))[0] == expected
    assert expected in ids(search(query))


def test_unknown_field_is_words_and_highlights_are_escaped(indexed: dict[str, Any]) -> None:
    res = search("foo:secret", mode="keyword")
    assert ids(res) == ["2503.00005"] and "unknown field foo: searched as words" in res.message
    assert "<mark>secret</mark>" in res.hits[0].snippet_html
    Paper.objects.filter(arxiv_id="2503.00005").update(abstract="<script>alert(1)</script> the secret & more")
    hit = search("secret", mode="keyword").hits[0]
    assert hit.snippet_html == "&lt;script&gt;alert(1)&lt;/script&gt; the <mark>secret</mark> &amp; more"


def test_highlights_leave_tex_whole(indexed: dict[str, Any]) -> None:
    Paper.objects.filter(arxiv_id="2503.00005").update(
        abstract="A secret sharing scheme with $\\mathrm{secret}_k$ shares. " + "Filler words. " * 40
    )
    hit = search("secret", mode="keyword").hits[0]
    assert hit.snippet_html.startswith(
        "A <mark>secret</mark> sharing scheme with $\\mathrm{secret}_k$ shares."
    )


def test_snippets_show_the_tex_outside_formulas_as_text(indexed: dict[str, Any]) -> None:
    # As the paper page shows the abstract (tex.prose): \\textbf{…} and \\% were shown raw.
    Paper.objects.filter(arxiv_id="2503.00005").update(
        abstract=r"We keep \textbf{the secret} 40\% safer with $\mathrm{secret}_k$ \& more."
    )
    hit = search("secret", mode="keyword").hits[0]
    assert (
        hit.snippet_html == r"We keep the <mark>secret</mark> 40% safer with $\mathrm{secret}_k$ &amp; more."
    )


def test_filters_syntax_and_sorts(indexed: dict[str, Any]) -> None:
    assert set(ids(search("inference", category="cs.CL", mode="keyword"))) == {"2503.00001", "2503.00007"}
    # Hybrid adds the nearest papers by meaning after the keyword matches, within the filters.
    assert ids(search("inference cat:cs.LG")) == ["2503.00007", "2503.00008"]
    assert ids(search("inference cat:cs.LG", mode="keyword")) == ["2503.00007"]
    assert ids(search("models", since="2025-07-01", until="2025-07-31")) == ["2503.00006"]
    assert set(ids(search("inference", author="ada-lovelace"))) == {"2503.00005", "2503.00007"}
    assert set(ids(search("inference", author="ada-lovelace", mode="keyword"))) == {"2503.00007"}
    assert set(ids(search("au:lovelace"))) == {"2503.00005", "2503.00007"}
    assert "2503.00001" not in ids(search("inference -draft"))
    by_date = ids(search("models inference", sort="date", mode="keyword"))
    assert by_date == sorted(by_date, reverse=True)
    only_filter = search("", category="cs.CL")
    assert ids(only_filter) == ["2503.00007", "2503.00003", "2503.00002", "2503.00001"]


def test_sorted_by_date_every_word_is_required_when_any_paper_has_them_all(indexed: dict[str, Any]) -> None:
    # By relevance the nearest papers by meaning follow the match; by date they would come first.
    by_relevance = ids(search("speculative decoding"))
    assert by_relevance[0] == "2503.00001" and len(by_relevance) > 1
    newest = search("speculative decoding", sort="date")
    # Still as many matches as by relevance; the sorted list says how many of them it holds.
    assert ids(newest) == ["2503.00001"] and newest.total == len(by_relevance) and newest.listed == 1
    assert newest.summary == f"{len(by_relevance)} matches (sorted by date: the 1 with every word)"
    none_has_both = search("diffusion speculative", sort="date", mode="keyword")
    assert set(ids(none_has_both)) == {"2503.00001", "2503.00006"}
    assert none_has_both.message == "no paper has all of the words; showing the closest matches"


def test_a_query_that_is_a_name_finds_that_persons_papers_first(indexed: dict[str, Any]) -> None:
    about = PaperRecord(
        arxiv_id="2503.00009",
        title="Notes on the analytical engine",
        abstract="Lovelace's notes, read again: what Lovelace wrote about the engine.",
        authors=[AuthorName("Babbage", "Charles")],
        categories=["cs.GL"],
        announced=dt.date(2025, 10, 1),
    )
    ingest([about])
    Indexer().run(semantic=False)
    for mode in ("keyword", "hybrid"):
        assert set(ids(search("Ada Lovelace", mode=mode))[:2]) == {"2503.00005", "2503.00007"}, mode
    assert "2503.00009" in ids(search("Lovelace", mode="keyword"))  # a word alone still finds the text


def test_votes_sort_is_a_hook_another_app_fills(
    indexed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(services.SORTS, "votes", raising=False)  # the feed registers it at start-up
    assert "votes" not in services.SORTS and search("models", sort="votes").message.startswith("unknown sort")
    target = Paper.objects.get(arxiv_id="2503.00008").pk
    services.register_sort("votes", lambda pks: {pk: (10 if pk == target else 0) for pk in pks})
    try:
        assert ids(search("models", sort="votes"))[0] == "2503.00008"
    finally:
        services.SORTS.pop("votes")


def test_messages_instead_of_errors(indexed: dict[str, Any]) -> None:
    assert search("").message == "type some words to search for"
    assert search("the of ?!").message.startswith("nothing to search for")
    assert search("zzzqqq", mode="keyword").message == "no paper matches"
    assert search("x", mode="nope").message.startswith("unknown mode")
    relaxed = search('"decoding speculative"')
    assert ids(relaxed)[0] == "2503.00001" and "exact phrases" in relaxed.message
    # The keyword leg alone finds the words too: a phrase relaxed whole was one term, no paper's.
    keyword = search('"decoding speculative"', mode="keyword")
    assert ids(keyword) == ["2503.00001"] and "exact phrases" in keyword.message
    # Neither the phrase nor its words: said once, not "showing papers with their words" over none.
    assert search('"zzzqqq xxyyzz', mode="keyword").message == "no paper matches"


def test_paging_and_limits(indexed: dict[str, Any]) -> None:
    everything = ids(search("models", limit=100, mode="keyword"))
    page = ids(search("models", limit=2, offset=1, mode="keyword"))
    assert page == everything[1:3]
    assert search("models", limit=10**9).limit == services.MAX_LIMIT


class HeldEmbedder:
    """The real embedder behind a gate: a semantic leg stays stuck until the test opens it, however
    fast or slow the machine (a fixed delay could end before the search looks, or after)."""

    def __init__(self) -> None:
        from paperfeed.search.embedding import default_embedder

        self.inner, self.gate = default_embedder(), threading.Event()

    def encode(self, texts: list[str]) -> Any:
        self.gate.wait(timeout=600)  # bounded: a failed test must not leave the pool thread stuck
        return self.inner.encode(texts)


def test_a_slow_semantic_leg_degrades_to_keyword_only(
    indexed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldEmbedder()
    eng = services.Engine(embedder=held)
    services.use_engine(eng)
    monkeypatch.setenv("PAPERFEED_SEARCH_SEMANTIC_BUDGET_MS", "100")
    try:
        res = search("speculative decoding")
        assert res.degraded and "slow" in res.message and ids(res)[0] == "2503.00001"
        assert all("semantic" not in h.legs for h in res.hits)
        again = search("speculative decoding")  # the stuck leg still runs: no second one waits behind it
        assert again.degraded and "busy" in again.message
    finally:
        held.gate.set()
    while eng._busy.is_set():
        time.sleep(0.05)
    # Back to a budget a loaded machine keeps: 100 ms was for the stuck leg, not for a sound one.
    monkeypatch.setenv("PAPERFEED_SEARCH_SEMANTIC_BUDGET_MS", "600000")
    sound = search("speculative decoding")
    assert not sound.degraded and any("semantic" in h.legs for h in sound.hits)


def test_papers_not_embedded_yet_are_found_by_keyword(db: None, home: Any) -> None:
    ingest(records())
    Indexer().run(semantic=False)
    res = search("speculative decoding")
    assert ids(res)[0] == "2503.00001" and not res.degraded
    assert search("faster generation", mode="semantic").message.startswith("no paper has an embedding")


def test_similar_to_one_paper_and_to_a_set(indexed: dict[str, Any]) -> None:
    one = similar("2503.00001", limit=3)
    assert "2503.00001" not in ids(one) and ids(one)[0] == "2503.00007"
    both = similar(["2503.00001", "2503.00006"], limit=7)
    assert set(ids(both)) == {p[0] for p in __import__("tests.search.conftest").search.conftest.PAPERS} - {
        "2503.00001",
        "2503.00006",
    }
    assert similar("9999.99999").message == "no such paper"


def test_similar_and_search_take_several_categories_in_any_spelling(
    indexed: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # similar took one --category (a second replaced the first); search took it repeated only.
    def found(command: str, *args: str) -> set[str]:
        call_command(command, *args, "--limit", "10", "--json")
        return {r["id"] for r in json.loads(capsys.readouterr().out)["results"]}

    for command, first in (("similar", "2503.00001"), ("search", "fast models")):
        forms = [
            found(command, first, "--category", "cs.CV", "--category", "cs.MS"),
            found(command, first, "--category", "cs.CV,cs.MS"),
            found(command, first, "--categories", "cs.cv, cs.MS"),
        ]
        assert forms[0] == forms[1] == forms[2] == {"2503.00004", "2503.00006"}, (command, forms)
        assert found(command, first, "--category", "cs.CV") == {"2503.00006"}, command


def test_similar_takes_an_id_in_any_form_arxiv_writes_it(
    indexed: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # `paperfeed similar arXiv:2503.00001` (or ...v2, or its abs URL) said "not stored" of a stored paper.
    want = ids(similar("2503.00001", limit=3))
    for form in ("arXiv:2503.00001", "2503.00001v2", "https://arxiv.org/abs/2503.00001v1", " 2503.00001 "):
        assert ids(similar(form, limit=3)) == want, form
    call_command("similar", "arXiv:2503.00001v2", "--limit", "3", "--json")
    assert [r["id"] for r in json.loads(capsys.readouterr().out)["results"]] == want
    # Text that is no id says so; a limit out of range is refused (the command line's one limit type).
    with pytest.raises(CommandError, match="not an arXiv identifier: 'garbage'"):
        call_command("similar", "garbage")
    with pytest.raises(CommandError, match=r"not stored: 2512\.00001"):
        call_command("similar", "2512.00001")
    for limit in ("0", "101"):
        with pytest.raises(CommandError, match="--limit: must be a whole number from 1 to 100"):
            call_command("similar", "2503.00001", "--limit", limit)


def test_index_is_incremental_and_follows_changes(indexed: dict[str, Any]) -> None:
    assert indexed["keyword"]["indexed"] == 8 and indexed["embeddings"]["embedded"] == 8
    again = Indexer().run()
    assert again["keyword"]["indexed"] == 0 and again["embeddings"]["embedded"] == 0
    recs = records()
    recs[5].title = "Protein folding with transformers"
    recs[5].abstract = "Attention predicts protein structure."
    ingest([recs[5]])
    with __import__("paperfeed.papers.services", fromlist=["Ingestor"]).Ingestor("test") as ing:
        ing.delete("2503.00002")
    after = Indexer().run()
    assert after["keyword"]["indexed"] == 1 and after["keyword"]["removed"] == 1
    assert after["embeddings"]["embedded"] == 1 and after["embeddings"]["removed"] == 1
    assert after["vectors"] == {**after["vectors"], "added": 1, "removed": 1, "vectors": 7}
    assert ids(search("protein folding"))[0] == "2503.00006"
    assert "2503.00006" not in ids(search("diffusion segmentation", mode="keyword"))
    assert "2503.00002" not in ids(search("multi-agent debate"))


@pytest.mark.timeout(120)  # 1,500 examples: ~3 s quiet but 25 s at load 7
@pytest.mark.slow
def test_any_query_gives_results_or_a_message(indexed: dict[str, Any]) -> None:
    @settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        q=st.text(),
        mode=st.sampled_from(services.MODES),
        sort=st.sampled_from(["relevance", "date"]),
        category=st.one_of(st.none(), st.text(max_size=12)),
        author=st.one_of(st.none(), st.text(max_size=20)),
        since=st.one_of(st.none(), st.text(max_size=12)),
    )
    def check(
        q: str, mode: str, sort: str, category: str | None, author: str | None, since: str | None
    ) -> None:
        res = search(q, mode=mode, sort=sort, category=category, author=author, since=since, limit=5)
        assert res.hits or res.message or res.total == 0
        for h in res.hits:
            assert "<script" not in h.snippet_html

    check()
    for q in [
        '"hello',
        "hello AND",
        "NEAR(",
        "*",
        "-x",
        "col:x",
        "^x",
        '""',
        "x" * 10_000,
        "\x00",
        "\ud800",
        "'; DROP TABLE papers_paper; --",
        "%",
        "_",
    ]:
        search(q)


def test_a_serving_engine_sees_what_another_indexer_commits(indexed: dict[str, Any]) -> None:
    eng = services.engine()
    assert ids(search("protein folding", mode="keyword")) == []
    recs = records()
    recs[0].arxiv_id, recs[0].title, recs[0].abstract = (
        "2503.00099",
        "Protein folding",
        "Structure prediction.",
    )
    ingest([recs[0]])
    Indexer().run()  # its own index instances, like `paperfeed index` in another process
    assert services.engine() is eng
    assert ids(search("protein folding", mode="keyword")) == ["2503.00099"]
    assert eng.vectors.row_of(Paper.objects.get(arxiv_id="2503.00099").pk) is not None


def test_old_author_keys_and_spellings_find_the_authors_papers(db: None, home: Any) -> None:
    # `au:` matched only the names in the index: a key from before a re-key (kept as an AuthorAlias,
    # whose author pages redirect) or the spelling it came from found nothing.
    from paperfeed.papers.models import Author, AuthorAlias

    recs = records()[:2]
    recs[0].authors = [AuthorName("Kaiser", "Łukasz")]
    recs[1].authors = [AuthorName("Müller", "Hans"), AuthorName("Du", "Yilun")]
    ingest(recs)
    Indexer().run(semantic=False)
    AuthorAlias.objects.create(key="ukasz-kaiser", author=Author.objects.get(key="lukasz-kaiser"))
    AuthorAlias.objects.create(key="hans-m-uller", author=Author.objects.get(key="hans-muller"))

    def found(query: str, **kw: Any) -> list[str]:
        return ids(search(query, mode="keyword", **kw))

    kaiser, muller = ["2503.00001"], ["2503.00002"]
    for query in (
        "au:ukasz-kaiser",
        'au:"ukasz kaiser"',
        "au:lukasz-kaiser",
        'au:"łukasz kaiser"',
        "au:łukasz",
    ):
        assert found(query) == kaiser, query
    for query in ("au:hans-m-uller", "au:HANS-M-ULLER", 'debate au:"hans muller"', "au:müller"):
        assert found(query) == muller, query
    assert found("au:ukasz-kaiser -au:hans-m-uller") == kaiser
    assert found("language -au:ukasz-kaiser") == muller
    assert found("", author="ukasz-kaiser") == kaiser  # --author takes an old key too
    assert found("au:ukasz-hopper") == found("au:m-uller") == []  # only the keys a name had
    # A key no author can have is no match, not a database error (PostgreSQL refuses a NUL in text):
    # hypothesis found --author "\x00" on PostgreSQL.
    assert found("", author="\x00") == found("", author="k" * 201) == found("", author="kai\x00ser") == []
    assert Author.objects.current_keys(["\x00", "", "k" * 201, "ukasz-kaiser"]) == {
        "ukasz-kaiser": "lukasz-kaiser"
    }


def test_hybrid_flags_results_found_by_meaning_alone_and_weakly(indexed: dict[str, Any]) -> None:
    # Hybrid search fills its page with the nearest papers by meaning, however far: nothing told
    # them from the matches.
    res = search("speculative decoding", limit=8)
    by_id = {h.arxiv_id: h for h in res.hits}
    first = by_id["2503.00001"]  # has the words: never flagged, however it ranks by meaning
    assert "keyword" in first.legs and not first.is_weak_meaning
    unrelated = by_id["2503.00006"]  # image segmentation: found by meaning alone, far from the query
    assert set(unrelated.legs) == {"semantic"} and unrelated.similarity is not None
    assert unrelated.similarity < services.WEAK_SIMILARITY and unrelated.is_weak_meaning
    # A paper found by meaning alone but close to the query is not flagged.
    close = {h.arxiv_id: h for h in search("making LLM text generation faster", limit=8).hits}["2503.00001"]
    assert set(close.legs) == {"semantic"} and not close.is_weak_meaning
    # The cosine is the page's to judge by; the JSON keeps its shape.
    assert "similarity" not in first.as_json()


def test_a_suggestion_for_a_query_that_found_nothing_is_counted_only_when_it_might_find_nothing() -> None:
    from paperfeed.search.keyword import Filters
    from paperfeed.search.query import parse

    def finds_some(fixed: str, typed: str, filters: Filters | None = None) -> bool:
        return services._finds_some(parse(fixed), filters or Filters(), typed)

    # Words alone, a new one a single term (respelling picked it among terms in 5 papers or more).
    assert finds_some("diffusion", "difusion") and finds_some("Diffusion: models", "Difusion: modls")
    # A new word of several parts is a phrase, maybe in no paper; the others can restrict it.
    assert not finds_some("zero-knowledge", "zero-knowldge")
    assert not finds_some("ti:diffusion", "ti:difusion") and not finds_some(
        "diffusion -noise", "difusion -noise"
    )
    assert not finds_some("diffusion cat:cs.RO", "difusion cat:cs.RO")
    assert not finds_some("diffusion", "difusion", Filters(categories=("cs.RO",)))


def _titles_index(titles: list[str]) -> Any:
    """An in-memory keyword index of papers with these titles (ids from 1), in cs.LG."""
    from paperfeed.search.keyword import KeywordDoc, KeywordIndex

    ki = KeywordIndex(None)
    ki.upsert(KeywordDoc(i, t, "", [], [], ["cs.LG"], dt.date(2025, 1, 1)) for i, t in enumerate(titles, 1))
    ki.commit()
    return ki


def _offered(ki: Any, query: str) -> str | None:
    """The "did you mean" the search page offers for `query`, given what the query itself finds."""
    from paperfeed.search.keyword import Filters
    from paperfeed.search.query import parse

    _, found = ki.search(parse(query), Filters(), 1)
    return services._suggestion(ki, query, Filters(), found)


def test_a_suggestion_respells_each_word_next_to_the_query_s_other_words() -> None:
    from paperfeed.search.keyword import Filters

    titles = ["Situation awareness in driving"] * 12 + ["A legal citation graph"] * 6
    ki = _titles_index(titles)
    assert services._suggestion(ki, "Legal Sitation Graph", Filters(), 0) == "Legal Citation Graph"
    assert services._suggestion(ki, "Sitation awareness", Filters(), 0) == "Situation awareness"


def test_a_misspelling_whose_term_is_right_is_offered_though_it_finds_the_same_papers() -> None:
    from paperfeed.search.keyword import Filters
    from paperfeed.search.query import parse

    titles = ["Controlled generation of text"] * 30 + ["Controled decoding"] + ["Control of robots"] * 10
    titles += ["Controllable agents"] * 20 + ["Controllably steering models"]
    ki = _titles_index(titles)

    # The stemmed match already finds every "control" paper: the words as written tell the typo.
    _, typed = ki.search(parse("Controled robots"), Filters(), 1)
    _, meant = ki.search(parse("Controlled robots"), Filters(), 1)
    assert typed == meant
    assert _offered(ki, "Controled robots") == "Controlled robots"
    # A rare form that is spelt right is no misspelling of the frequent one.
    assert _offered(ki, "Controllably steering") is None and _offered(ki, "Controlled robots") is None


def test_no_suggestion_for_a_british_spelling_or_an_acronym_of_the_papers() -> None:
    from paperfeed.search.keyword import Filters
    from paperfeed.search.query import parse

    titles = ["Generalized planning with graphs"] * 30 + ["Generalised planning"] * 2
    titles += ["EGTM: event-guided tracking", "EGTM for drones"] + ["Gets better with scale"] * 60
    titles += ["Efficient inference"] * 20
    ki = _titles_index(titles)

    # Both spellings find all 32 papers; the British one is no typo of the American.
    assert ki.search(parse("Generalised planning"), Filters(), 1)[1] == 32
    assert _offered(ki, "Generalised planning") is None
    assert _offered(ki, "Generlaised planning") == "Generalised planning"
    # The acronym two papers use stays; the misspelt word beside it is respelt.
    assert _offered(ki, "EGTM: Event-guided Efficiant") == "EGTM: Event-guided Efficient"
