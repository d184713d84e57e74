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
    cost = text.typo_cost
    assert cost("populims", "populism") == text.SWAP_COST < cost("populims", "populisms") == text.EDIT_COST
    # d and e are neighbouring keys, d and a not; either way the first letter is changed.
    assert cost("dditing", "editing") == text.NEAR_COST + text.FIRST_COST < cost("dditing", "additing")
    assert cost("rtansformer", "transformer") == text.SWAP_COST  # the first two swapped
    assert cost("modell", "model") == text.NEAR_COST  # a doubled letter


def test_a_key_beside_the_one_meant_or_a_like_sound_is_a_cheap_slip() -> None:
    cost = text.typo_cost
    # v and b touch, v and p do not.
    assert cost("vatch", "batch") == text.NEAR_COST + text.FIRST_COST < cost("vatch", "patch")
    assert text.neighbour_keys("v") == {"c", "b", "f", "g"} and text.neighbour_keys("-") == frozenset()
    # A key struck with the one before it, as with the one after it ("gh": g and h touch).
    assert cost("ghain", "gain") == cost("gaain", "gain") == text.NEAR_COST < cost("gpain", "gain")
    # Letters that sound alike, keys apart: c for k, s for z, y for i; not vowels for one another.
    assert cost("analyse", "analyze") == cost("karbon", "carbon") - text.FIRST_COST == text.NEAR_COST
    assert cost("rescoryng", "rescoring") == text.NEAR_COST < cost("rescoxing", "rescoring") == text.EDIT_COST
    assert cost("temperal", "temporal") == text.EDIT_COST


def test_a_typo_run_costs_its_typos_one_by_one() -> None:
    # Every edit of a word is one typo: priced at one of the prices, the dearest a changed first letter.
    prices = {text.SWAP_COST, text.NEAR_COST, text.EDIT_COST}
    prices |= {p + text.FIRST_COST for p in prices}
    for word in ("transformer", "populims", "dditing", "modell", "ab"):
        edits = text.edits(word)
        assert edits == sorted(set(edits)) and word not in edits
        for edit in edits:
            assert text.typo_cost(word, edit) in prices, (word, edit)
    # Two typos cost both: "ransfomer" is "transformer" with its first letter and an r left out.
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


def test_british_spellings_have_the_american_ones_terms() -> None:
    for british, american in [
        ("optimisation", "optimization"),
        ("Generalised", "generalized"),
        ("tokenisers", "tokenizers"),
        ("analyse", "analyze"),
        ("analysing", "analyzing"),
        ("colour", "color"),
        ("behavioural", "behavioral"),
        ("neighbourhoods", "neighborhoods"),
        ("unfavourable", "unfavorable"),
        ("centre", "center"),
        ("centred", "centered"),
        ("kilometres", "kilometers"),
        ("fibre", "fiber"),
        ("dialogue", "dialog"),
        ("catalogued", "cataloged"),
        ("licence", "license"),
        ("defences", "defenses"),
        ("judgement", "judgment"),
        ("artefacts", "artifacts"),
        ("programme", "program"),
        ("haemoglobin", "hemoglobin"),
        ("anaesthesia", "anesthesia"),
        ("paediatric", "pediatric"),
        ("orthopaedic", "orthopedic"),
        ("encyclopaedia", "encyclopedia"),
        ("oesophagus", "esophagus"),
        ("oestrogen", "estrogen"),
        ("manoeuvre", "maneuver"),
        ("manoeuvrability", "maneuverability"),
        ("foetus", "fetus"),
        ("diarrhoea", "diarrhea"),
        ("aetiology", "etiology"),
        ("leukaemia", "leukemia"),
        ("archaeology", "archeology"),
        ("grey", "gray"),
        ("greyscale", "grayscale"),
        ("fuelled", "fueled"),
        ("counsellors", "counselors"),
        ("skilful", "skillful"),
        ("mould", "mold"),
        ("sceptical", "skeptical"),
        ("learnt", "learned"),
        ("practised", "practiced"),
        ("sulphate", "sulfate"),
    ]:
        assert text.tokens(british) == text.tokens(american), british
        assert text.term_of(british) == text.term_of(american)
    assert text.stems(["optimisation", "colour"]) == text.stems(["optimization", "color"])
    # Author names are not stemmed, nor respelt: "Colour" may be someone's name.
    assert text.tokens("Colour", stem=False) == ["colour"]


def test_words_whose_s_or_our_or_re_is_no_suffix_keep_their_terms() -> None:
    # Each keeps the term it had, and so what it was found with: "supervised" is "supervision"'s
    # "supervis", "precise" "precision"'s "precis"; no rule makes them "-ize" words.
    for word, like in [
        ("supervised", "supervision"),
        ("precise", "precision"),
        ("revised", "revision"),
        ("promising", "promise"),
        ("pairwise", "pairwise"),
        ("noise", "noises"),
        ("raises", "raise"),
        ("arising", "arise"),
        ("surprising", "surprise"),
        ("exercises", "exercise"),
        ("analyses", "analyses"),  # also the plural of "analysis": not made "analyzes"
    ]:
        assert text.american(word) == word and text.term_of(word) == text.term_of(like), word
    for word in ("size", "prize", "seize", "hour", "four", "tour", "contour", "genre", "acre", "cluster"):
        assert text.american(word) == word
    # Nor an "ae" or "oe" not in a word named, an "ll" the stemmer undoes, or "sceptic" inside a word.
    for word in (
        *("aerial", "aerospace", "archaea", "gaelic", "israel", "michael", "rafael", "formulae", "algae"),
        *("phoenix", "goes", "does", "canoe", "shoes", "poet", "coefficient", "autoencoder", "toeplitz"),
        *("gastroesophageal", "susceptible", "oestreicher", "verigrey", "modelling", "labelled"),
    ):
        assert text.american(word) == word, word
    assert text.term_of("modelling") == text.term_of("modeling") and text.term_of("labelled") == "label"
    assert text.term_of("size") != text.term_of("sise")
    assert text.term_of("hour") != text.term_of("hor")
    # Only the -re words named: a swap typo of "-ter" stays one ("clustre" is no "cluster").
    assert text.american("clustre") == "clustre" and text.american("lustre") == "luster"


def test_same_word_is_true_of_spellings_only_not_of_typos() -> None:
    for a, b in [
        ("generalised", "generalized"),
        ("optimisation", "optimization"),
        ("colourised", "colorized"),
        ("centre", "center"),
        ("analysed", "analyzed"),
        ("dialogue", "dialog"),
        ("neighbours", "neighbors"),
        ("paediatric", "pediatric"),
        ("oesophageal", "esophageal"),
        ("greyscale", "grayscale"),
        ("counsellor", "counselor"),
    ]:
        assert text.same_word(a, b) and text.same_word(b, a), (a, b)
    for a, b in [
        ("generalized", "generalized"),
        ("controled", "controlled"),
        ("sentense", "sentence"),
        ("sorce", "source"),
        ("clustre", "cluster"),
        ("hor", "hour"),
        ("egtm", "gets"),
        ("aerial", "erial"),
        ("poet", "pet"),
        ("grew", "gray"),
    ]:
        assert not text.same_word(a, b), (a, b)
