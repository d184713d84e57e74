"""papers.titles: the title key a library import compares, and the digest papers store of it."""

from __future__ import annotations

from paperfeed.papers import titles
from paperfeed.papers.titles import DIGEST_LENGTH, key_digest, title_digest, title_key


def test_the_digest_is_of_the_key_fixed_in_length_and_empty_for_a_title_of_no_words() -> None:
    tex = r"Schr\"odinger   meets {BERT}: the $\alpha$ test"
    assert (
        title_key(tex)
        == title_key("SCHRÖDINGER Meets BERT -- the \u03b1 test")
        == "schrodinger meets bert the \u03b1 test"
    )
    assert title_digest(tex) == key_digest("schrodinger meets bert the \u03b1 test")
    assert len(title_digest(tex)) == DIGEST_LENGTH and title_digest(tex) != title_digest(
        "Schrodinger meets BERT"
    )
    long = "word " * 2000  # longer than a PostgreSQL btree row may be: its digest is not
    assert len(title_digest(long)) == DIGEST_LENGTH
    assert title_digest("") == title_digest(" -- $ $ ") == key_digest("") == ""


def test_the_title_key_of_a_title_without_tex_skips_nothing_plain_would_change() -> None:
    # title_key skips tex.plain for titles with no command or math: for those it changes no word
    # (only ~, dashes and quotes, which are not letters): checked on the snapshot's titles.
    import itertools

    from paperfeed.papers import tex
    from paperfeed.papers.sources.snapshot import read_snapshot
    from tests.conftest import SNAPSHOT

    stored = [
        rec.title for _, rec, _ in itertools.islice(read_snapshot(SNAPSHOT), 3000) if hasattr(rec, "title")
    ]
    plain = [t for t in stored if "\\" not in t and "$" not in t]
    assert len(plain) > 2500
    for t in [*plain, "Cost~model -- ``quoted'' --- done", "Straße ÉCOLE"]:
        slow = " ".join(titles._WORDS.findall(_fold(tex.plain(t))))
        assert titles.title_key(t) == slow, t


def _fold(text: str) -> str:
    import unicodedata

    text = text.casefold()
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def test_a_group_s_braces_join_the_word_they_cut() -> None:
    # Mus{é}e keyed as "mus e" (3 of the 74,728 real titles changed key; migration 0012 stores them).
    assert title_key("Mus{é}e d'Arch{é}ologie") == title_key("Musée d'Archéologie") == "musee d archeologie"
    assert title_key("Allo{SR}$^2$: Rectifying") == "allosr2 rectifying"


def test_math_keys_by_its_letters_not_its_commands_names() -> None:
    # plain reads \mathcal{O} 𝒪 and \mathbb{R} ℝ, which have no case: keyed as the letters were.  # noqa: RUF003
    # A fraction, brackets and an operator name keyed as "fracf p m u langle u t rangle", "o nlog n"
    # (8 of the 74,728 real titles changed key; migration 0013 stores them).
    assert title_key(r"$\mathcal{O}(T)$ over $\mathbb{Z}_4$ in ${\mathbb R}^{12}$") == "o t over z4 in r12"
    assert title_key("𝒪(T) over ℤ₄") == title_key("O(T) over Z4")  # noqa: RUF001
    assert (
        title_key(r"Codes over $\frac{\mathbb{F}_{p^m}[u]}{\langle u^t \rangle}$") == "codes over f p m u u t"
    )
    assert title_key(r"Radial Attention: $O(n\log n)$") == "radial attention o n log n"
    assert title_key(r"$\bf{D^3}$QE: $\hat{u}$") == "d3qe u"
