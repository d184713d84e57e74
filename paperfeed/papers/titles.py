"""A title as a library import compares it, and the fixed-length digest of that a paper stores
(`Paper.title_digest`, indexed) so a title is found by an index lookup rather than a pass over every
stored title. No model imports here: migrations compute the digest with this same function.

Changing `title_key` changes every digest: it then needs a migration that stores them again (as
0008_paper_title_digest does, and 0012_title_digest_braces, 0014_title_digest_math)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from paperfeed.papers import tex

DIGEST_LENGTH = 32  # hex characters: 128 bits, no two keys of a catalogue share one by chance

_WORDS = re.compile(r"[^\W_]+")


def title_key(text: str) -> str:
    """A title as compared: TeX decoded, case and accents folded, only letters and digits, one space apart."""
    # TeX changes the words only through commands, math and groups (Mus{é}e, pro{A}ctive); without
    # them plain() is skipped (it is most of the cost: 5x over the snapshot's titles).
    if "\\" in text or "$" in text or "{" in text:
        text = tex.plain(text)
    folded = text.casefold()
    if not folded.isascii():
        # Folded again after NFKD: a title's own script O or double-struck R (typed as
        # characters) has no case, and keyed as "O" and "R".
        folded = "".join(c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c))
        folded = folded.casefold()
    return " ".join(_WORDS.findall(folded))


def key_digest(key: str) -> str:
    """The stored form of a title key; "" for the empty key (a title of no letters or digits,
    which nothing is matched by)."""
    if not key:
        return ""
    return hashlib.blake2b(key.encode(), digest_size=DIGEST_LENGTH // 2).hexdigest()


def title_digest(title: str) -> str:
    return key_digest(title_key(title))
