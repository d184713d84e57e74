from paperfeed.search import text


def test_words_users_type_become_the_terms_the_index_holds() -> None:
    assert text.tokens("Multi-Agent systems") == ["multi", "agent", "system"]
    assert text.tokens("don't") == text.tokens("dont") == ["dont"]
    assert text.tokens("don\u2019t") == ["dont"]
    assert text.tokens("C++ and C#") == ["cpp", "csharp"]
    assert text.tokens("Ubuntu 20.04 LTS") == ["ubuntu", "20.04", "lts"]
    assert text.tokens("Müller ÉCOLE") == ["muller", "ecol"]
    assert text.tokens("the of and") == []
    assert text.tokens("Speculative decoding", stem=False) == ["speculative", "decoding"]


def test_spans_give_original_offsets_and_index_terms() -> None:
    s = "Don't use C++ for multi-agent work"
    got = [(s[a:b], t) for a, b, t in text.spans(s)]
    assert got == [
        ("Don't", "dont"),
        ("use", "use"),
        ("C++", "cpp"),
        ("for", ""),
        ("multi", "multi"),
        ("agent", "agent"),
        ("work", "work"),
    ]


def test_edit_distance_counts_swaps_as_one_and_stops_past_its_limit() -> None:
    assert text.edit_distance("transfrom", "transform") == 1  # two letters swapped
    assert text.edit_distance("lern", "learn") == 1
    assert text.edit_distance("difus", "diffus") == 1
    assert text.edit_distance("grpah", "graph") == 1
    assert text.edit_distance("modl", "model") == 1
    assert text.edit_distance("abcdef", "abxyef") == 2
    assert text.edit_distance("kitten", "sitting", 1) == 2  # over the limit: limit + 1
    assert text.edit_distance("a", "abcd") == 3


def test_a_respelt_stem_is_given_back_as_a_word_like_the_one_typed() -> None:
    for typed, term, word in [
        ("transfromer", "transform", "transformer"),
        ("lerning", "learn", "learning"),
        ("difusion", "diffus", "diffusion"),
        ("modles", "model", "models"),
        ("atention", "attent", "attention"),
        ("Netwroks", "network", "networks"),
    ]:
        assert text.spelled(term, typed) == word
        assert text.term_of(word) == term


def test_edits_change_every_letter_the_first_too() -> None:
    edits = text.edits("rtansformer")
    assert "transformer" in edits  # the first two swapped
    assert {"transformer", "ransformer", "tgransformer"} <= set(text.edits("gransformer"))
    assert "grtansformer" in edits and "rtansformer" not in edits
    assert edits == sorted(set(edits))
    assert {"bc", "bac", "xbc", "xabc", "abcx"} <= set(text.edits("abc"))


def test_a_typo_costs_less_when_it_is_a_common_one() -> None:
    costs = text.weighted_edits("populims")
    assert costs["populism"] == text.SWAP_COST < costs["populisms"] == text.EDIT_COST
    costs = text.weighted_edits("dditing")
    # d and e are neighbouring keys, d and a not; either way the first letter is changed.
    assert costs["editing"] == text.NEAR_COST + text.FIRST_COST < costs["additing"]
    assert text.weighted_edits("rtansformer")["transformer"] == text.SWAP_COST  # the first two swapped
    assert text.weighted_edits("modell")["model"] == text.NEAR_COST  # a doubled letter
    assert set(text.weighted_edits("abc")) == set(text.edits("abc"))


def test_a_typo_run_costs_what_its_typos_cost_one_by_one() -> None:
    # One edit away, the cost weighted_edits gives, or less when two cheap slips make the same word
    # ("rtransformer": the first two swapped and an r doubled, 2.5, under a letter added first, 3.0).
    for word in ("transformer", "populims", "dditing", "modell", "ab"):
        for edit, cost in text.weighted_edits(word).items():
            assert text.typo_cost(word, edit) <= cost, (word, edit)
            if not edit.endswith(word):
                assert text.typo_cost(word, edit) == cost, (word, edit)
    assert text.typo_cost("rtansformer", "transformer") == text.SWAP_COST
    assert text.typo_cost("ransfomer", "transformer") == 2 * text.EDIT_COST + text.FIRST_COST
    assert text.typo_cost("ransfomer", "random") > text.typo_cost("ransfomer", "transformer")
    assert text.typo_cost("transformer", "transformer") == 0
    # Over the limit: some cost over it, found early.
    assert text.typo_cost("ransfomer", "random", limit=3.0) > 3.0
    assert text.typo_cost("abc", "abcdefgh", limit=3.0) > 3.0


def test_edit_distance_from_the_start_of_a_word() -> None:
    assert text.edit_distance("bonvolutin", "convolut") == 3
    assert text.edit_distance("bonvolutinal", "convolut", prefix=True) == 1
    assert text.edit_distance("ransfomer", "transform", prefix=True) == 2
    assert text.edit_distance("abcdef", "xyz", 1, prefix=True) == 2
