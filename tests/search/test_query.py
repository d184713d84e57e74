import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paperfeed.search.query import (
    MAX_QUERY_CHARS,
    Clause,
    DatesReversed,
    InvalidFilter,
    date_range,
    parse,
    relaxed,
    respelt,
)


def test_syntax() -> None:
    q = parse('speculative ti:diffusion abs:"zero shot" au:lecun cat:cs.CL -survey -"large language"')
    assert q.words == ["speculative"]
    assert q.required == [
        Clause("diffusion", "title"),
        Clause("zero shot", "abstract", phrase=True),
        Clause("lecun", "authors"),
    ]
    assert q.excluded == [Clause("survey"), Clause("large language", phrase=True)]
    assert q.categories == ["cs.CL"]
    assert q.semantic_text == "speculative diffusion zero shot"


def test_unknown_fields_are_plain_words_never_filters_and_said() -> None:
    q = parse("foo:secret http://example.org")
    assert q.words == ["foo", "secret", "http", "//example.org"]
    assert not q.required and not q.categories and q.unknown_fields == ["foo:", "http:"]
    assert q.unknown_note == "unknown field foo:, http: searched as words (the fields are ti: au: abs: cat:)"
    assert q.as_json()["unknown_fields"] == ["foo:", "http:"] and q.dropped == []  # searched, not left out
    # A colon with a space after it is text, not a field: titles and replies are full of them.
    for raw in ("Re: speculative decoding", "BERT: pre-training of deep transformers", "note : x"):
        q = parse(raw)
        assert not q.unknown_fields and not q.required and not q.bare_fields and q.words, raw


def test_long_field_names_are_the_fields() -> None:
    q = parse('title:diffusion ABSTRACT:"zero shot" author:lecun authors:hinton category:cs.CL -Title:survey')
    assert q.required == [
        Clause("diffusion", "title"),
        Clause("zero shot", "abstract", phrase=True),
        Clause("lecun", "authors"),
        Clause("hinton", "authors"),
    ]
    assert q.categories == ["cs.CL"] and q.excluded == [Clause("survey", "title")]
    assert not q.words and not q.unknown_fields
    assert parse("diffusion title:").bare_fields == ["title:"]


def test_a_field_with_nothing_after_it_is_left_out_and_said() -> None:
    # `ti:` was the word "ti", searched for.
    for raw in ("((( ti:", "ti:", 'TI:""', "-ti:"):
        q = parse(raw)
        assert q.bare_fields == ["ti:"] and not q.required and not q.excluded, raw
        assert q.words in ([], ["((("]) and "ti:word" in q.bare_note, raw
    q = parse("diffusion au: cat:")
    assert q.words == ["diffusion"] and q.bare_fields == ["au:", "cat:"] and not q.categories
    assert q.bare_note.startswith("au:, cat: had nothing after it and was left out")
    assert parse("ti:x re: y").bare_fields == []  # `re` is no field: the word


def test_what_is_left_out_is_listed_as_typed_with_why() -> None:
    q = parse('graph ((( - | -cat:cs.CL cat:"cs.LG x.y.z" "" ti:"?!" -((( title:((( -ti: au:hinton')
    assert q.words == ["graph"] and not q.excluded and q.categories == ["cs.LG"]
    assert q.required == [Clause("hinton", "authors")]
    assert q.dropped == [
        "(((",
        "-",
        "|",
        "-cat:cs.CL",
        'cat:"cs.LG x.y.z"',
        '""',
        'ti:"?!"',
        "-(((",
        "title:(((",
        "-ti:",
    ]
    assert q.as_json()["dropped"] == q.dropped
    assert q.dropped_note.startswith("left out: ((( (no letter or digit), - (no letter or digit)")
    assert "-ti:" not in q.dropped_note and "ti:word" in q.bare_note  # said by bare_note
    assert parse("plain words, C++ and x-ray").dropped == []


def test_unbalanced_quote_runs_to_the_end_and_relaxes_to_words() -> None:
    q = parse('"state space model')
    assert q.required == [Clause("state space model", None, phrase=True)]
    loose = relaxed(q)
    assert loose is not None and loose.words == ["state", "space", "model"] and not loose.required
    assert relaxed(parse("plain words")) is None


def test_control_characters_surrogates_and_length() -> None:
    q = parse("a\x00b\ud800c\x1fd")
    assert q.words == ["a", "b", "c", "d"]
    long = parse("x " * 10_000)
    assert long.truncated and len(long.words) == MAX_QUERY_CHARS // 2


@settings(max_examples=2000, deadline=None)
@given(st.text())
def test_any_text_parses(raw: str) -> None:
    q = parse(raw)
    assert isinstance(q.semantic_text, str)
    assert all(c.text.strip() for c in [*q.required, *q.excluded])


def test_date_filters_name_the_parameter_at_fault() -> None:
    """One check for the service (CLI, API) and the search page, which words it with its own fields."""
    assert date_range(" 2025-07-01 ", "") == (dt.date(2025, 7, 1), None)
    assert date_range(dt.date(2025, 7, 1), dt.date(2025, 7, 1)) == (dt.date(2025, 7, 1),) * 2
    with pytest.raises(InvalidFilter, match=r"invalid until date 'July' \(use YYYY-MM-DD\)") as bad:
        date_range("2025-07-01", "July")
    assert (bad.value.param, bad.value.value) == ("until", "July")
    with pytest.raises(DatesReversed, match=r"since \(2025-08-01\) is after until \(2025-07-01\)") as rev:
        date_range("2025-08-01", "2025-07-01")
    assert (rev.value.since, rev.value.until) == (dt.date(2025, 8, 1), dt.date(2025, 7, 1))


def test_respelt_changes_free_words_and_title_or_abstract_words_only() -> None:
    fixes = {"difusion": "diffusion", "modles": "models", "grpah": "graph", "lecnu": "lecun"}
    raw = 'difusion ti:modles abs:grpah au:lecnu cat:cs.CV -difusion "difusion modles" foo:grpah Re: x'
    assert respelt(raw, fixes.get) == (
        'diffusion ti:models abs:graph au:lecnu cat:cs.CV -difusion "difusion modles" foo:grpah Re: x'
    )
    assert respelt("title:modles", fixes.get) == "title:models"
    assert respelt("au:lecnu graph", fixes.get) is None  # nothing to change
