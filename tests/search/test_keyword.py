"""The keyword leg on an in-memory tantivy index (no database)."""

import datetime as dt
from pathlib import Path

import pytest

from paperfeed.search import text
from paperfeed.search.keyword import SCHEMA_VERSION, Filters, KeywordDoc, KeywordIndex, layout_version
from paperfeed.search.query import parse
from tests.search.hostile import FTS_3C

DOCS = [
    KeywordDoc(
        1,
        "Speculative decoding for fast inference",
        "A draft model proposes tokens.",
        ["Ada Lovelace"],
        ["ada-lovelace"],
        ["cs.CL"],
        dt.date(2025, 3, 1),
    ),
    KeywordDoc(
        2,
        "Multi-agent debate",
        "Agents argue; we don't stop them.",
        ["Alan Turing"],
        ["alan-turing"],
        ["cs.AI", "cs.CL"],
        dt.date(2025, 4, 1),
    ),
    KeywordDoc(
        3,
        "A C++ library",
        "Benchmarks on Ubuntu 20.04 show speed.",
        ["Grace Hopper"],
        ["grace-hopper"],
        ["cs.SE"],
        dt.date(2025, 5, 1),
    ),
    KeywordDoc(
        4,
        "Private inference",
        "We keep the secret key hidden. A survey of decoding.",
        ["Ada Lovelace", "Alan Turing"],
        ["ada-lovelace", "alan-turing"],
        ["cs.CR"],
        dt.date(2025, 6, 1),
    ),
    KeywordDoc(
        5,
        "Agents that plan",
        "Multi agent planning with state space models.",
        ["Edsger Dijkstra"],
        ["edsger-dijkstra"],
        ["cs.AI"],
        dt.date(2025, 7, 1),
    ),
]


@pytest.fixture(scope="module")
def index() -> KeywordIndex:
    ki = KeywordIndex(None)
    ki.upsert(DOCS)
    ki.commit()
    return ki


def ids(index: KeywordIndex, q: str, filters: Filters | None = None, **kw: object) -> list[int]:
    hits, _ = index.search(parse(q), filters or Filters(), 10, **kw)  # type: ignore[arg-type]
    return [p for p, _ in hits]


@pytest.mark.parametrize(
    ("query", "expected"),
    [("multi-agent", 2), ("don't", 2), ("C++", 3), ("20.04", 3), ("speculative decoding", 1)],
)
def test_tricky_words_find_their_paper_first(index: KeywordIndex, query: str, expected: int) -> None:
    assert ids(index, query)[0] == expected


def test_long_field_names_are_fields_and_unknown_ones_words(index: KeywordIndex) -> None:
    assert ids(index, "title:secret") == []  # "secret" is only in paper 4's abstract
    assert ids(index, "title:private") == ids(index, "ti:private") == [4]
    assert ids(index, "foo:secret") == [4]  # no field: the words "foo" and "secret"


def test_fielded_phrases_and_exclusion(index: KeywordIndex) -> None:
    assert ids(index, "ti:decoding") == [1]
    assert set(ids(index, "abs:decoding")) == {4}
    assert set(ids(index, "au:lovelace")) == {1, 4}
    assert ids(index, 'au:"alan turing" ti:inference') == [4]
    assert ids(index, '"multi agent"') == [5, 2] or ids(index, '"multi agent"') == [2, 5]
    assert 4 not in ids(index, "decoding -survey")
    assert ids(index, 'decoding -"secret key"') == [1]
    assert ids(index, "cat:cs.CL agents") == [2]


def test_filters(index: KeywordIndex) -> None:
    assert ids(index, "agents", Filters(categories=("cs.AI",))) == [5, 2] or ids(
        index, "agents", Filters(categories=("cs.AI",))
    ) == [2, 5]
    assert ids(index, "agent", Filters(since=dt.date(2025, 5, 1))) == [5]
    assert ids(index, "decoding", Filters(until=dt.date(2025, 3, 31))) == [1]
    assert set(ids(index, "inference", Filters(author="ada-lovelace"))) == {1, 4}
    assert set(ids(index, "inference", Filters(author="Alan Turing"))) == {4}
    assert ids(index, "", Filters(categories=("cs.AI",))) == [5, 2]  # no words: newest first


def test_by_date_orders_newest_first(index: KeywordIndex) -> None:
    assert ids(index, "agent decoding", by_date=True) == [5, 4, 2, 1]


def test_upsert_replaces_and_delete_removes(index: KeywordIndex) -> None:
    ki = KeywordIndex(None)
    ki.upsert(DOCS)
    ki.commit()
    ki.upsert([KeywordDoc(3, "A Rust library", "No more old words.", [], [], ["cs.SE"], None)])
    ki.delete([1])
    ki.commit()
    assert ki.num_docs == 4
    assert ids(ki, "C++") == [] and ids(ki, "rust") == [3] and ids(ki, "speculative") == []


def test_matching_applies_required_excluded_and_filters(index: KeywordIndex) -> None:
    assert index.matching(parse("anything"), Filters(), [1, 2, 3]) == {1, 2, 3}
    assert index.matching(parse("x -survey"), Filters(), [1, 4]) == {1}
    assert index.matching(parse('"state space"'), Filters(), [1, 2, 5]) == {5}
    assert index.matching(parse("x"), Filters(categories=("cs.CL",)), [1, 2, 3]) == {1, 2}


@pytest.mark.parametrize("query", [*FTS_3C, "\ud800"])  # and a lone surrogate, in-process
def test_hostile_input_never_raises(index: KeywordIndex, query: str) -> None:
    index.search(parse(query), Filters(), 10)


def test_an_index_of_another_schema_is_refused_and_told_by_its_fields(tmp_path: Path) -> None:
    import tantivy

    b = tantivy.SchemaBuilder()
    b.add_text_field("old")
    tantivy.Index(b.build(), path=str(tmp_path))
    with pytest.raises(ValueError, match="schema does not match"):
        KeywordIndex(tmp_path)
    assert layout_version(["id", "body", "title", "abstract", "authors", "cat", "akey", "day"]) == 1
    assert layout_version(["id", "body", "words"]) == 2
    assert SCHEMA_VERSION == 4  # British spellings indexed as American ones (4: -ae-, -oe-, grey, ...)


def test_a_rare_word_is_respelt_as_the_most_frequent_near_one() -> None:
    def doc(pk: int, title: str) -> KeywordDoc:
        return KeywordDoc(pk, title, "", [], [], ["cs.LG"], dt.date(2025, 1, 1))

    ki = KeywordIndex(None)
    titles = (
        ["A transformer for vision"] * 20
        + ["Transformers for vision"] * 10
        + ["Transforms of signals"] * 6
        + ["Diffusion models"] * 8
    )
    titles += ["Graph networks"] * 3 + ["A transfromer typo"] + ["Statistical inference"] * 6
    ki.upsert(doc(i, t) for i, t in enumerate(titles, 1))
    ki.commit()
    assert ki.respelling("transfromer") == "transformer"  # in one paper, "transform" in 36
    assert ki.respelling("difusion") == "diffusion"  # in none
    assert ki.respelling("Difusion") == "Diffusion" and ki.respelling("DIFUSION") == "DIFFUSION"
    # An edit of the word as typed: the stems ("infeernc", "infer") are 3 edits apart.
    assert ki.respelling("infeernce") == "inference"
    assert ki.respelling("trnasfromer") == "transformer"  # two edits: through the stems
    assert ki.respelling("transformer") is None  # common: no misspelling
    assert ki.respelling("grpah") is None  # "graph" is in only 3 papers: too rare to suggest
    for word in ("zzzz", "abc", "x-ray", "c3po", "", "transformer" * 3):
        assert ki.respelling(word) is None, word
    # Two edits of the stem only when it is long enough: "modxx" is two from "model".
    assert ki.respelling("modxx") is None
    ki.upsert([doc(100 + i, "Graph networks") for i in range(5)])
    ki.commit()  # a commit re-reads the term dictionary
    assert ki.respelling("grpah") == "graph"


def test_a_typo_in_the_first_letter_or_before_a_short_stem_is_respelt_too() -> None:
    def doc(pk: int, title: str) -> KeywordDoc:
        return KeywordDoc(pk, title, "", [], [], ["cs.LG"], dt.date(2025, 1, 1))

    ki = KeywordIndex(None)
    titles = (
        ["A transformer for vision"] * 20
        + ["Transformers for vision"] * 10
        + ["Regularization of networks"] * 6
    )
    titles += ["Writing assistants"] * 6 + ["Language models"] * 8 + ["Stained slides"] * 6
    ki.upsert(doc(i, t) for i, t in enumerate(titles, 1))
    # Three papers by someone whose name is one edit from "aiming", which titles have.
    he = [
        KeywordDoc(200 + i, "Residual learning", "", ["Kaiming He"], ["kaiming-he"], [], None)
        for i in range(3)
    ]
    ki.upsert([*(doc(100 + i, "Aiming higher") for i in range(6)), *he])
    ki.commit()
    for typed in (
        "rtansformer",  # the first two letters swapped
        "gransformer",  # the first letter changed
        "ransformer",  # dropped
        "ytransformer",  # one added before it
        "ytansformer",  # two edits, one of them in the first letter
    ):
        assert ki.respelling(typed) == "transformer", typed
    assert ki.respelling("Gransformer") == "Transformer"
    # The edit's stem is far shorter than the word: "regularization" -> "regular", "writing" -> "write".
    assert ki.respelling("regulariztion") == "regularization"
    assert ki.respelling("regularizaton") == "regularization"
    assert ki.respelling("writnig") == "writing"
    # Each part of a word joined by punctuation is respelt on its own; the punctuation stays.
    assert ki.respelling("Lnaguage-Models:") == "Language-Models:"
    assert ki.respelling("vision/lnaguage") == "vision/language"
    # Spelt right (however rare), or a name: left alone.
    for word in ("transformer", "regularization", "writing", "Languages:", "x-ray", "vision-language"):
        assert ki.respelling(word) is None, word
    # A capital inside a word marks a name: "StainNet" is not respelt as "Stainnet" would be.
    assert ki.respelling("Stainnet") and ki.respelling("StainNet") is None
    assert ki.respelling("TRANSFROMER") == "TRANSFORMER"  # capitals throughout are no name
    # The name of the authors of more than RESPELL_RARE papers is no typo either (nor "Aiming").
    assert ki.respelling("Kaiming") is None and ki.respelling("Aimimg") == "Aiming"


def _titled(titles: list[str]) -> KeywordIndex:
    """An index of papers with these titles (no abstract, authors or other field)."""
    ki = KeywordIndex(None)
    ki.upsert(KeywordDoc(i, t, "", [], [], ["cs.LG"], dt.date(2025, 1, 1)) for i, t in enumerate(titles, 1))
    ki.commit()
    return ki


def _spelling_corpus() -> KeywordIndex:
    """Near words of unequal frequency: the more frequent is the wrong pick for each typo below."""
    titles = ["Situation awareness in driving"] * 12 + ["A legal citation graph"] * 6
    titles += ["Populism and the press"] * 6 + ["Page turning robots"] * 20 + ["Token pruning for speed"] * 6
    titles += ["Additional results"] * 30 + ["Photo editing tools"] * 6
    titles += (
        ["A transformer for vision"] * 20 + ["Transformers for vision"] * 10 + ["Architecture search"] * 6
    )
    return _titled(titles)


def _terms(query: str) -> list[str]:
    """The context services._suggestion gives respelling: the query's terms in order."""
    return [t for w in parse(query).words for t in text.tokens(w)]


def test_the_likeliest_near_word_wins_not_the_most_frequent() -> None:
    ki = _spelling_corpus()
    # Two letters swapped is the likelier typo: "populism", not "populisms" (one stem, one count).
    assert ki.respelling("Populims:") == "Populism:"
    # "turning" is in more papers, but "Purning" is "pruning" with two letters swapped, and
    # "turning" would need its first letter changed.
    assert ki.respelling("Purning") == "Pruning"
    assert ki.respelling("Purning", context=_terms("Token Purning for")) == "Pruning"


def test_the_neighbouring_words_of_the_query_choose_between_near_words() -> None:
    ki = _spelling_corpus()
    # Alone, the more frequent word; between "legal" and "graph", the one that stands there.
    assert ki.respelling("Sitation") == "Situation"
    assert ki.respelling("Sitation", context=_terms("Legal Sitation Graph")) == "Citation"
    # "additional" is in five times as many papers, but "photo editing" is what is written.
    assert ki.respelling("Dditing", context=_terms("Photo Dditing with")) == "Editing"
    # Without the phrase too: no paper spells "additing", and "additional" is a dearer typo.
    assert ki.respelling("Dditing", context=_terms("with Dditing photo")) == "Editing"


def test_a_first_letter_typo_with_another_in_the_same_word_is_respelt() -> None:
    ki = _spelling_corpus()
    assert ki.respelling("xransfomer") == "transformer"  # the first letter changed, a letter dropped
    assert ki.respelling("Lrchitecure") == "Architecture"
    assert ki.respelling("zzqxvbnmlk") is None


def _two_typo_corpus() -> KeywordIndex:
    titles = ["Random forests"] * 40 + ["A transformer for vision"] * 20 + ["Convolutional networks"] * 8
    titles += ["Reinforcement learning"] * 10 + ["Reinforced concrete"] * 2 + ["A reinforcment typo"]
    titles += ["Statistical inference"] * 6 + ["Inferences from data"] * 3
    return _titled(titles)


def test_every_near_word_is_weighed_by_its_typos_however_it_was_found() -> None:
    ki = _two_typo_corpus()
    # "random" (its stem two edits from "ransfom", and in twice the papers) would need four typos
    # to be "ransfomer"; "transformer" two (its first letter dropped and an r).
    assert ki.respelling("ransfomer") == "transformer"
    assert ki.respelling("Ransfomer") == "Transformer"


def test_a_stem_three_edits_away_is_found_by_the_start_of_the_word() -> None:
    ki = _two_typo_corpus()
    # "bonvolutin" is three edits from "convolut", "bonvolutinal" two from "convolutional".
    assert ki.respelling("Bonvolutinal") == "Convolutional"


def test_the_word_is_given_as_the_papers_spell_it() -> None:
    ki = _two_typo_corpus()
    # The stem is right, the spelling the edit gives is not: the papers' likeliest one instead
    # (one paper has the misspelling, ten the word).
    assert ki.respelling("Qeinforcment") == "Reinforcement"
    # Among the papers' spellings, the form typed: the plural for a plural.
    assert ki.respelling("infeernces") == "inferences"
    assert ki.respelling("infeernce") == "inference"


def _broken_corpus() -> KeywordIndex:
    """Words whose sources broke some of them apart ("d istillation"), as real records do."""
    titles = ["Knowledge distillation for training"] * 1250 + ["Knowledge d istillation"] * 6
    titles += ["Rain forecasting"] * 20 + ["Dynamic games"] * 30 + ["Panic buttons"] * 8
    return _titled(titles)


def test_a_broken_off_end_of_a_word_is_no_word_to_suggest() -> None:
    ki = _broken_corpus()
    # "istillation" is one swap away and in 6 papers, but as much as FRAGMENT_RATE of "distillation"'s
    # 1,250 lose their d: the word meant is two typos away, and looked up though an edit was found.
    assert ki.respelling("istillaiton") == "distillation"
    assert ki.respelling("Istillaiton") == "Distillation"
    # A word of its own, however much rarer than the one it ends ("train"), is still one.
    assert ki.respelling("rian") == "rain"


def test_two_typos_at_the_start_of_a_word_are_respelt() -> None:
    ki = _broken_corpus()
    # Its first letter dropped and the next two swapped ("d" + "ynamic" -> "yanmic"), or changed
    # and a letter dropped after the next two.
    assert ki.respelling("Yanmic") == "Dynamic"
    assert ki.respelling("xynamc") == "dynamic"


def test_the_other_part_of_a_hyphenated_word_chooses_between_near_words() -> None:
    ki = _titled(["Gain control"] * 40 + ["Chain-of-Thought prompting"] * 12)
    # "gain" is nearer ("gh": g and h touch) and more frequent; "chain of thought" is the phrase.
    assert ki.respelling("Ghain") == "Gain"
    assert ki.respelling("Ghain-of-Thought", context=_terms("Ghain-of-Thought")) == "Chain-of-Thought"


def _right_stem_corpus() -> KeywordIndex:
    """Words the papers mostly spell right, a few wrong, and rare forms of frequent terms."""
    titles = ["Controlled generation"] * 30 + ["Controled generation"] + ["Control of robots"] * 10
    titles += ["Assistance for coding"] * 25 + ["Occurrence of events"] * 12 + ["Separately trained"] * 8
    titles += ["Controllable agents"] * 20 + ["Controllably steering models"]
    titles += ["Parametric models"] * 20 + ["Parameters counted"] * 20 + ["Parametrically fitted"]
    return _titled(titles)


def test_a_misspelt_word_whose_term_is_right_is_respelt_as_the_papers_write_it() -> None:
    ki = _right_stem_corpus()
    # "controled" is "control" to the index, in 41 papers; as written it is in one, "controlled" in 30.
    assert ki.respelling("Controled") == "Controlled"
    assert ki.respelling("Assistence") == "Assistance"
    assert ki.respelling("Occurence") == "Occurrence"  # its term "occur" is another than "occurr"
    assert ki.respelling("seperately") == "separately"
    assert ki.respelling("Controlled") is None and ki.respelling("Control") is None


def test_a_rare_form_of_a_frequent_word_is_no_misspelling() -> None:
    ki = _right_stem_corpus()
    # One paper writes each, against 20 for the form one letter away at the end: another form of
    # the word, correctly spelt, not a typo of it.
    assert ki.respelling("Controllably") is None
    assert ki.respelling("Parametrically") is None


def _british_corpus() -> KeywordIndex:
    """Papers in both spellings, American the commoner, some in capitals' acronyms."""
    titles = ["Generalized planning"] * 30 + ["Generalised planning"] * 2 + ["Colour constancy"] * 3
    titles += ["Color spaces"] * 10 + ["Optimisation of networks"] * 6 + ["Optimization of graphs"] * 8
    titles += ["Supervised learning", "Weak supervision"]
    titles += ["TRIAN: event tracking"] * 2 + ["Train better"] * 50 + ["Graph networks"] * 10
    titles += ["Paediatric oedema"] * 2 + ["Pediatric edema"] * 5
    titles += ["Greyscale maps"] * 3 + ["Grayscale maps"] * 4
    titles += ["Aerial imagery"] * 3 + ["Features learnt"] * 2 + ["Features learned"] * 7
    return _titled(titles)


def test_british_and_american_spellings_find_each_others_papers() -> None:
    ki = _british_corpus()

    def found(q: str) -> int:
        return ki.search(parse(q), Filters(), 50)[1]

    assert found("optimisation") == found("optimization") == 14
    assert found("Colour") == found("color") == 13
    assert found("generalised") == found("generalized") == 32
    assert found("supervised") == found("supervision") == 2  # an s that is no suffix's stays
    assert found("paediatric") == found("pediatric") == found("oedema") == found("edema") == 7
    assert found("greyscale") == found("grayscale") == 7
    assert found("learnt") == found("learned") == 10  # and "Supervised learning"
    assert found("aerial") == 3 and found("erial") == 0  # a prefix "ae" is no British "e"


def test_no_suggestion_only_changes_a_british_spelling_to_an_american_one() -> None:
    ki = _british_corpus()
    # "Generalised" is in 2 papers, "Generalized" in 30: the same word, so no misspelling.
    assert ki.respelling("Generalised") is None
    assert ki.respelling("generalized") is None and ki.respelling("Colour") is None
    assert ki.respelling("Paediatric") is None and ki.respelling("Greyscale") is None
    # A typo is respelt in the spelling typed, one slip away, not in the commoner one.
    assert ki.respelling("Generlaised") == "Generalised"
    assert ki.respelling("Generlaized") == "Generalized"
    assert ki.respelling("Optimisaton") == "Optimisation"
    assert ki.respelling("Optimizaton") == "Optimization"


def test_a_word_in_capitals_is_respelt_only_when_no_paper_has_it_and_for_one_slip() -> None:
    ki = _british_corpus()
    # "TRIAN" is two papers' acronym, "train" (50 papers) two letters swapped: in lower case a
    # typo, in capitals an acronym, left alone.
    assert ki.respelling("trian") == "train"
    assert ki.respelling("TRIAN") is None
    # No paper has "GRPAH", two letters swapped from "graph": respelt, in capitals.
    assert ki.respelling("GRPAH") == "GRAPH"
    # "gxaph" is a typo of "graph" in lower case, but x and r are far apart: in capitals it may be
    # any acronym, and is left as typed.
    assert ki.respelling("gxaph") == "graph"
    assert ki.respelling("GXAPH") is None
