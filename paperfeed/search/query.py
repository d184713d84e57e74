"""The search syntax, parsed by hand into data: user text never reaches a query language.

    speculative decoding          words: ranked by BM25 (any may match; more is better)
    "state space model"           a quoted phrase: must occur as written (title or abstract)
    ti:diffusion  abs:"zero shot" a word or phrase that must occur in the title / the abstract
    au:lecun  au:"yann lecun"     an author's name (or part of it), or key (an old one too), must match
    cat:cs.CL                     only papers in that category (several: any of them)
    -survey  -"large language"    papers with that word or phrase are left out

Their long names work too (`title:`, `abstract:`, `author:`/`authors:`, `category:`). Any other
`name:` directly before a word or quote is no field: `foo:bar` is the two words `foo` and `bar`, and
`unknown_fields` says so; `Re: x` or `BERT: pre-training` (a space after the colon) is plain text. An
unbalanced quote runs to the end of the query. Control characters and lone surrogates are spaces.
Lenient, and it says so: a field with nothing after it (`ti:` at the end, `au:""`) is left out with a
note (it was searched as the word "ti"); brackets and other punctuation are no words (there is no
grouping syntax), so `((( ti:` has nothing to search for, which every surface answers in words (the
command line with exit status 2). Each piece left out is listed as typed in `dropped` (the command
line's `parsed.dropped`, the API's `X-Search-Dropped`): a bare field, a piece with no letter or digit
(`(((`, a stray `-` or `|`), empty quotes, a category that is no category name or is excluded
(`-cat:cs.CL`: there is no excluding one).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Longer input is cut (with a message): no abstract-sized query is useful. The one limit: the site,
# the API and saved searches cut at it too.
MAX_QUERY_CHARS = 500
FIELDS = {"ti": "title", "abs": "abstract", "au": "authors", "cat": "category"}
# The names people type for them (as other search engines spell them).
ALIASES = {"title": "ti", "abstract": "abs", "author": "au", "authors": "au", "category": "cat"}

_CLEAN = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_PIECE = re.compile(
    r"""(?P<neg>-)?(?:(?P<field>[A-Za-z]+):)?(?:"(?P<phrase>[^"]*)(?:"|$)|(?P<word>[^\s"]+))""", re.UNICODE
)
_CATEGORY = re.compile(r"^[A-Za-z-]+(?:\.[A-Za-z-]+)?$")
_WORDY = re.compile(r"\w")  # a piece without a letter or digit is punctuation: no word to search
_BARE = "nothing after it"  # a bare field's reason, which its own note (bare_note) explains


@dataclass(frozen=True)
class Clause:
    text: str
    field: str | None = None  # "title" | "abstract" | "authors"; None: title or abstract
    phrase: bool = False
    # An "authors" clause: the current keys of the authors its text names as a key or spelled as a
    # name once was (AuthorAlias), filled in by the search service: those authors' papers match too.
    keys: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "field": self.field, "phrase": self.phrase}


@dataclass
class ParsedQuery:
    raw: str
    words: list[str] = field(default_factory=list)  # free words, ranked
    required: list[Clause] = field(default_factory=list)  # phrases and fielded terms
    excluded: list[Clause] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    truncated: bool = False
    bare_fields: list[str] = field(default_factory=list)  # "ti:" with nothing after it: left out
    # Every piece left out, as typed (bare fields too), with why: (text, reason).
    left_out: list[tuple[str, str]] = field(default_factory=list)
    unknown_fields: list[str] = field(default_factory=list)  # "foo:" of `foo:bar`: searched as words

    @property
    def unknown_note(self) -> str:
        """Which `name:` were no field, and what was done with them ("" when none)."""
        if not self.unknown_fields:
            return ""
        names = ", ".join(dict.fromkeys(self.unknown_fields))
        return f"unknown field {names} searched as words (the fields are ti: au: abs: cat:)"

    @property
    def bare_note(self) -> str:
        """What was left out for want of a value ("" when nothing was)."""
        if not self.bare_fields:
            return ""
        names = ", ".join(dict.fromkeys(self.bare_fields))
        example = self.bare_fields[0]
        return f'{names} had nothing after it and was left out (write {example}word or {example}"a phrase")'

    @property
    def dropped(self) -> list[str]:
        return [text for text, _ in self.left_out]

    @property
    def dropped_note(self) -> str:
        """What was left out besides bare fields (which `bare_note` explains), and why ("" if nothing)."""
        others = [f"{text} ({why})" for text, why in self.left_out if why != _BARE]
        return f"left out: {', '.join(others)}" if others else ""

    @property
    def semantic_text(self) -> str:
        """What the embedding leg reads: the words and the title/abstract clauses, not names."""
        parts = list(self.words) + [c.text for c in self.required if c.field != "authors"]
        return " ".join(parts).strip()

    @property
    def is_empty(self) -> bool:
        return not (self.words or self.required or self.categories)

    def as_json(self) -> dict[str, Any]:
        return {
            "words": self.words,
            "required": [c.as_json() for c in self.required],
            "excluded": [c.as_json() for c in self.excluded],
            "categories": self.categories,
            "truncated": self.truncated,
            "dropped": self.dropped,
            "unknown_fields": self.unknown_fields,
        }


def relaxed(parsed: ParsedQuery) -> ParsedQuery | None:
    """The query with its quoted phrases as plain words (for when no paper has them); None if it has
    none. Pasted prose quotes titles and terms; zero results would help nobody."""
    phrases = [c for c in parsed.required if c.field is None]
    if not phrases:
        return None
    return ParsedQuery(
        raw=parsed.raw,
        # Word by word: a phrase's text kept whole was looked up as one term, which no paper has.
        words=[*parsed.words, *(w for c in phrases for w in c.text.split())],
        required=[c for c in parsed.required if c.field is not None],
        excluded=parsed.excluded,
        categories=parsed.categories,
        truncated=parsed.truncated,
    )


def _field(name: str) -> str | None:
    """The field a typed name (`ti`, `TITLE`) stands for, or None."""
    name = name.lower()
    return FIELDS.get(ALIASES.get(name, name))


def respelt(raw: str, fix: Callable[[str], str | None]) -> str | None:
    """`raw` (as parse reads it) with its free words, and the words of ti:/abs:, replaced by what
    `fix` gives for them (None: kept); None when nothing changed. Names, categories, phrases and
    excluded words stay as typed: a name is no misspelling, and a phrase is quoted on purpose."""
    changed = False

    def one(m: re.Match[str]) -> str:
        nonlocal changed
        name, word = m.group("field"), m.group("word")
        if m.group("neg") or not word or (name and _field(name) not in ("title", "abstract")):
            return m.group(0)
        better = fix(word)
        if not better or better == word:
            return m.group(0)
        changed = True
        return m.group(0)[: m.start("word") - m.start()] + better

    out = _PIECE.sub(one, _CLEAN.sub(" ", raw)[:MAX_QUERY_CHARS])
    return " ".join(out.split()) if changed else None


def parse(raw: str) -> ParsedQuery:
    text = _CLEAN.sub(" ", raw if isinstance(raw, str) else str(raw))
    out = ParsedQuery(raw=text, truncated=len(text) > MAX_QUERY_CHARS)
    text = text[:MAX_QUERY_CHARS]
    for m in _PIECE.finditer(text):
        neg, name, phrase, word = m.group("neg"), m.group("field"), m.group("phrase"), m.group("word")
        typed = m.group(0)
        if name is None and word and word[-1] == ":" and _field(word[:-1]):
            out.bare_fields.append(word.lower())  # the regex could not give it a value: none follows
            out.left_out.append((typed, _BARE))
            continue
        fld = _field(name) if name else None
        if name and fld is None:
            out.unknown_fields.append(f"{name.lower()}:")
            # Not one of ours (e.g. `title:secret`, `http://x`): the whole piece is plain text.
            pieces = [name] if phrase is not None else [name, word]
            if neg:
                out.excluded += [Clause(p) for p in pieces if _WORDY.search(p)]
            else:
                out.words += [p for p in pieces if _WORDY.search(p)]
            if phrase is None:
                if not all(_WORDY.search(p) for p in pieces):
                    out.left_out.append((typed, "no letter or digit in part of it"))
                continue
        value = (phrase if phrase is not None else word or "").strip()
        if not value:
            if fld is not None:
                out.bare_fields.append(f"{name.lower()}:")
                out.left_out.append((typed, _BARE))
            elif phrase is not None:
                out.left_out.append((typed, "empty quotes"))
            continue
        if fld == "category":
            if neg:
                out.left_out.append((typed, "a category cannot be excluded"))
                continue
            names = value.split()
            out.categories += [c for c in names if _CATEGORY.match(c)]
            if not all(_CATEGORY.match(c) for c in names):
                out.left_out.append((typed, "not a category name such as cs.CL"))
            continue
        if not _WORDY.search(value):
            out.left_out.append((typed, "no letter or digit"))
            continue
        is_phrase = phrase is not None and len(value.split()) > 1
        if neg:
            out.excluded.append(Clause(value, fld, is_phrase))
        elif fld is not None or phrase is not None:
            out.required.append(Clause(value, fld, is_phrase))
        else:
            out.words.append(value)
    return out


# --- the filters given beside the query ------------------------------------------------------------


class InvalidFilter(ValueError):
    """A filter that cannot be applied as given; searching without it would answer another question.
    `param` names the parameter at fault ("since", "until", "category") and `value` what it was
    given, so that a form can say it with its own fields' names."""

    def __init__(self, message: str, param: str = "", value: str = "") -> None:
        super().__init__(message)
        self.param, self.value = param, value


class DatesReversed(InvalidFilter):
    """A since date after the until date: no paper could match both."""

    def __init__(self, since: dt.date, until: dt.date) -> None:
        super().__init__(f"since ({since}) is after until ({until})", "since", since.isoformat())
        self.since, self.until = since, until


def date_filter(value: dt.date | str | None, param: str) -> dt.date | None:
    """The `since` or `until` filter as a date (None when not given); InvalidFilter if it is none."""
    if value is None or isinstance(value, dt.date):
        return value
    if not str(value).strip():
        return None
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidFilter(
            f"invalid {param} date {str(value)[:40]!r} (use YYYY-MM-DD)", param, str(value).strip()
        ) from None


def date_range(
    since: dt.date | str | None, until: dt.date | str | None
) -> tuple[dt.date | None, dt.date | None]:
    """Both date filters checked: InvalidFilter for one that is not a date, DatesReversed for a
    since after the until."""
    first, last = date_filter(since, "since"), date_filter(until, "until")
    if first and last and first > last:
        raise DatesReversed(first, last)
    return first, last
