"""digests.render's text helpers: shortening and the text part's wrapping."""

from __future__ import annotations

from paperfeed.digests.render import TEXT_WIDTH, clean, wrapped


def test_a_shortened_text_ends_at_a_word() -> None:
    # "…we argue that su…" read as a typo in every digest's abstract.
    assert clean("we argue that such tools lack", 20) == "we argue that such…"
    assert clean("first, second", 10) == "first…"  # no dangling comma
    assert clean("x" * 30, 10) == "x" * 9 + "…"  # one long word is cut where it reaches the limit
    assert clean("short\x00 text\u202e", 20) == "short text"  # controls and bidi overrides go first
    for limit in (10, 70, 400):
        assert len(clean("word " * 200, limit)) <= limit


def test_wrapping_breaks_at_spaces_and_keeps_an_address_whole() -> None:
    url = "https://papers.example.org/papers/2503.12821?" + "x" * 80
    text = wrapped("Vision-Language models " * 8 + url, "* ", "  ")
    lines = text.splitlines()
    assert lines[0].startswith("* Vision-Language") and all(line.startswith("  ") for line in lines[1:])
    assert f"  {url}" in lines and all(len(line) <= TEXT_WIDTH for line in lines if url not in line)
