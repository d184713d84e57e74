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
