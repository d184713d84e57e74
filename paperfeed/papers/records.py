"""The normalised form every source (snapshot, OAI-PMH, API, .abs) is parsed into before storage.

A `PaperRecord` carries what one source knows; None means "this source does not say", so merging a
record into a stored paper keeps what another source told us (an OAI record has no announcement
date; the snapshot has no license for many papers).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import operator
import re
import unicodedata
from dataclasses import dataclass, field, fields, replace
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from paperfeed.papers.arxiv_ids import parse_arxiv_id
from paperfeed.papers.taxonomy import is_category
from paperfeed.papers.tex import decode_name


class AuthorName(tuple[str, str, str, str, str]):
    """A parsed author name with its display form and page key, computed once.

    A tuple (not a dataclass): an import builds hundreds of thousands of these and ships them
    between processes, and a tuple is built, compared and pickled several times faster."""

    __slots__ = ()

    def __new__(cls, keyname: str, forenames: str = "", suffix: str = "") -> AuthorName:
        # Every source builds its names here, so this is where arXiv's TeX (M\"uller, {\L}ukasz)
        # becomes the letters a page, a key and a search see. Tested per part: nearly no name has one.
        if "\\" in keyname or "\\" in forenames or "\\" in suffix:
            keyname, forenames, suffix = decode_name(keyname), decode_name(forenames), decode_name(suffix)
        if forenames and keyname and not suffix:  # nearly every name: no generator to join
            display = f"{forenames} {keyname}"
        else:
            display = " ".join(p for p in (forenames, keyname, suffix) if p)
        return tuple.__new__(cls, (keyname, forenames, suffix, display, slugify_name(display)))

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt by tuple.__new__ directly: no Python call (and no re-slugging) per name on unpickling.
        return tuple.__new__, (AuthorName, tuple(self))

    def __repr__(self) -> str:
        return f"AuthorName({self.keyname!r}, {self.forenames!r}, {self.suffix!r})"

    @property
    def keyname(self) -> str:
        return self[0]

    @property
    def forenames(self) -> str:
        return self[1]

    @property
    def suffix(self) -> str:
        return self[2]

    @property
    def display(self) -> str:
        return self[3]

    @property
    def key(self) -> str:
        """Stable slug for an author page: accents folded, punctuation dropped, 'forenames keyname'."""
        return self[4]

    def as_json(self) -> dict[str, str]:
        return {"name": self[3], "keyname": self[0], "forenames": self[1], "suffix": self[2], "key": self[4]}


# "This paper has been withdrawn by the author(s)", "This submission has been withdrawn by arXiv
# administrators …", "Withdrawn." / "Withdrawn: …", but not "… withdrawn from ICML".
_WITHDRAWN = re.compile(
    r"(?:\b(?:this|the)\s+(?:paper|article|submission|manuscript|work|version|preprint)\s+"
    r"(?:has\s+been|is|was|is\s+being)\s+withdrawn|^\W*withdrawn\b)(?!\s+from\b)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Version:
    version: int
    date: dt.datetime
    size: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"version": self.version, "date": self.date.isoformat(), "size": self.size}


@dataclass
class PaperRecord:
    arxiv_id: str
    title: str
    abstract: str
    authors: list[AuthorName]
    categories: list[str]  # primary first
    authors_text: str = ""
    version: int | None = None
    comments: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    report_no: str | None = None
    license: str | None = None
    submitter: str | None = None
    versions: list[Version] | None = None
    published: dt.datetime | None = None
    updated: dt.datetime | None = None
    announced: dt.date | None = None
    deleted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    # Fields a source may not know; when it does not, the stored value is kept.
    MERGEABLE = (
        "version",
        "comments",
        "journal_ref",
        "doi",
        "report_no",
        "license",
        "submitter",
        "versions",
        "published",
        "updated",
        "announced",
    )

    @property
    def withdrawn(self) -> bool:
        """Whether this version is arXiv's withdrawal notice: a new version whose comments say the
        paper "has been withdrawn" (by its authors or arXiv's administrators; its abstract often
        stays). Withdrawn *from* a venue is not withdrawn from arXiv."""
        return bool(
            self.comments and "withdrawn" in self.comments.lower() and _WITHDRAWN.search(self.comments)
        )

    def __post_init__(self) -> None:
        ident = parse_arxiv_id(self.arxiv_id)
        self.arxiv_id = ident.id
        if ident.version and not self.version:
            self.version = ident.version
        self.title = clean_title(self.title)
        self.abstract = (self.abstract or "").strip()
        if not self.title:
            raise ValueError("record has no title")
        # The snapshot's category lists carry MSC and ACM classes too ("68T05,", "I.2.6;", the words
        # of a class's title): 4,881 tokens in 74,728 records. They must not become category pages.
        self.categories = list(dict.fromkeys(c for c in self.categories if c and is_category(c)))
        # Punctuation is not a person: arXiv's own parse of "GLM-V Team, :, Wenyi Hong" has an
        # author ":", which became one author page collecting every such paper.
        self.authors = [a for a in self.authors if _WORD.search(a[3])]
        if not self.authors_text:
            self.authors_text = ", ".join(a.display for a in self.authors)
        elif "\\" in self.authors_text:  # searched by name (au:) and shown in feeds: as the names are
            self.authors_text = decode_name(self.authors_text)
        if self.versions:
            self.versions = sorted(self.versions, key=lambda v: v.version)
            last = self.versions[-1]
            self.version = max(self.version or 0, last.version)
            # `published` is v1's submission: a list starting later (a look-up that saw only the
            # newer versions) has no date for it, and its first would date the paper too late.
            if self.published is None and self.versions[0].version == 1:
                self.published = self.versions[0].date
            self.updated = self.updated or last.date

    @property
    def primary_category(self) -> str | None:
        return self.categories[0] if self.categories else None

    def merged_with(self, stored: dict[str, Any]) -> PaperRecord:
        """This record with the fields it does not know taken from the stored paper's values."""
        changes = {
            k: stored[k] for k in self.MERGEABLE if getattr(self, k) is None and stored.get(k) is not None
        }
        # A source that knows only the day (OAI's <created>, the snapshot's update_date) stores it
        # as midnight UTC: that says nothing against a precise time of the same day from the API,
        # and replacing one with the other would make every harvest and look-up an "update".
        for k in self.extra.get("day_only", ()):
            mine, old = getattr(self, k), stored.get(k)
            if mine is not None and old is not None and old.astimezone(dt.UTC).date() == mine.date():
                changes[k] = old
        # The first announcement is the one we keep, and an estimate never replaces a known date.
        if (
            self.announced
            and stored.get("announced")
            and (stored["announced"] < self.announced or self.extra.get("announced_estimated"))
        ):
            changes["announced"] = stored["announced"]
        return replace(self, **changes) if changes else self

    def content_hash(self) -> str:
        """A digest of everything stored about the paper (cached: records are not mutated once built)."""
        cached: str | None = self.__dict__.get("_hash")
        if cached is None:
            # Fields joined by a separator no metadata contains; faster than serialising to JSON. The
            # fields are fetched at once and only the few that are not text converted: a Python step
            # per field cost as much as the digest of the whole text.
            parts = list(_HASHED_VALUES(self))
            parts[_AUTHORS_AT] = "\x1e".join([f"{a[0]}\x1d{a[1]}\x1d{a[2]}" for a in parts[_AUTHORS_AT]])
            parts[_CATEGORIES_AT] = " ".join(parts[_CATEGORIES_AT])
            if (versions := parts[_VERSIONS_AT]) is not None:
                parts[_VERSIONS_AT] = "\x1e".join(
                    [f"{v.version}\x1d{v.date.isoformat()}\x1d{v.size}" for v in versions]
                )
            parts = [p if type(p) is str else "\x00" if p is None else str(p) for p in parts]
            digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16)
            cached = self.__dict__["_hash"] = digest.hexdigest()
        return cached

    def distinct_authors(self) -> list[AuthorName]:
        """The names without repeats (a few records list an author twice), in order: cached."""
        cached: list[AuthorName] | None = self.__dict__.get("_distinct")
        if cached is None:
            cached = self.__dict__["_distinct"] = list(dict.fromkeys(self.authors))
        return cached

    def json_columns(self) -> tuple[str, str]:
        """The authors and versions columns as JSON text (cached), ready for an INSERT or a COPY."""
        cached: tuple[str, str] | None = self.__dict__.get("_json")
        if cached is None:
            # orjson: 3x faster than json.dumps here, and this runs once per paper of an import.
            authors = orjson.dumps([a.as_json() for a in self.authors]).decode()
            versions = orjson.dumps([v.as_json() for v in self.versions or []]).decode()
            cached = self.__dict__["_json"] = (authors, versions)
        return cached

    def links(self) -> list[Link]:
        cached: list[Link] | None = self.__dict__.get("_links")
        if cached is None:
            found = extract_links(self.abstract, "abstract") + extract_links(self.comments or "", "comments")
            cached = self.__dict__["_links"] = list({lk.url.lower(): lk for lk in reversed(found)}.values())[
                ::-1
            ]
        return cached


# The announcement date is left out: it is kept by the merge rules above and set directly from the
# announcement feed, so a stored hash must not go stale when only that date changes (Ingestor
# compares it on its own).
_HASHED = tuple(f.name for f in fields(PaperRecord) if f.name not in ("extra", "announced"))
_HASHED_VALUES = operator.attrgetter(*_HASHED)
_AUTHORS_AT, _CATEGORIES_AT, _VERSIONS_AT = (_HASHED.index(n) for n in ("authors", "categories", "versions"))

# --- names ----------------------------------------------------------------------------------------

_PARTICLES = {
    "van",
    "von",
    "der",
    "den",
    "de",
    "del",
    "della",
    "da",
    "dos",
    "das",
    "du",
    "di",
    "le",
    "la",
    "ter",
    "ten",
    "bin",
    "ibn",
    "al",
    "el",
    "st.",
    "mac",
    "y",
}
_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "v"}


# Patterns used per record or per name are compiled once: `re.sub(pattern, ...)` looks each one up
# in re's cache on every call, which an import does millions of times.
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_NOT_SLUG_UNICODE = re.compile(r"[-_]+")
_WORD = re.compile(r"\w")
_SPACES = re.compile(r"\s+")


# Latin letters NFKD leaves whole (no base letter + accent to split), spelled as their languages
# write them without the letter. Dropping them instead made "Matthias Nießner" matthias-niener and
# "Łukasz Kaiser" ukasz-kaiser. Upper case maps to upper case: the key is lowered afterwards.
_LATIN_LETTERS = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "SS",
        "ł": "l",
        "Ł": "L",
        "ø": "o",
        "Ø": "O",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "þ": "th",
        "Þ": "TH",
        "ı": "i",  # noqa: RUF001
        "ħ": "h",
        "Ħ": "H",
        "ŧ": "t",
        "Ŧ": "T",
        "ŋ": "ng",
        "Ŋ": "NG",
        "ĸ": "q",
        "ə": "e",
        "Ə": "E",
        "ɛ": "e",
        "Ɛ": "E",
        "ɔ": "o",
        "Ɔ": "O",
        "ƒ": "f",
        "ɨ": "i",
        "ʉ": "u",
        # Apostrophe-like letters (Hawaiian, Uzbek, transliterations): as the ASCII apostrophe, nothing.
        "ʻ": "",  # noqa: RUF001
        "ʼ": "",  # noqa: RUF001
        "ʹ": "",  # noqa: RUF001
        "ʾ": "",  # noqa: RUF001
        "ʿ": "",
    }
)
# An accent on a letter that is now ASCII is the accent folding every key does (Müller, Muller);
# on any other letter (Greek, Cyrillic, Devanagari, kana's voicing mark) it may be the letter.
_ACCENT_ON_ASCII = re.compile(r"(?<=[\x00-\x7f])[\u0300-\u036f]+")


@functools.lru_cache(maxsize=100_000)
def slugify_name(text: str) -> str:
    """An author's key: the name lower-cased, runs of anything but letters and digits as one "-".

    Latin letters lose their accents (Gödel: godel) and the letters no accent makes (ß ł ø æ œ đ ð þ
    …) are written out (ss l o ae oe d d th); other non-ASCII punctuation is dropped (Col·lell:
    collell), as it always was. Letters of scripts with no ASCII spelling stay themselves, in NFC and
    lower case ("Γιώργος Παπαδόπουλος": γιώργος-παπαδόπουλος), so two names in those scripts share a key
    only if they are the same name: no folding guesses at a transliteration. Cut at 200 characters."""
    if text.isascii():  # nearly every name
        return _NOT_SLUG.sub("-", text.lower()).strip("-")[:200] or "unknown"
    folded = _ACCENT_ON_ASCII.sub("", unicodedata.normalize("NFKD", text).translate(_LATIN_LETTERS))
    folded = unicodedata.normalize("NFC", folded).lower()
    if folded.isascii():
        return _NOT_SLUG.sub("-", folded).strip("-")[:200] or "unknown"
    # Letters, digits and their combining marks are kept; other ASCII separates, the rest is dropped.
    kept = "".join(
        c if c.isalnum() or unicodedata.category(c)[0] == "M" else ("-" if c.isascii() else "")
        for c in folded
    )
    return _NOT_SLUG_UNICODE.sub("-", kept).strip("-")[:200] or "unknown"


def parse_name(name: str) -> AuthorName:
    """Split 'Forenames Keyname Suffix' the way arXiv's own metadata does for most names."""
    name = _SPACES.sub(" ", name).strip().strip(",")
    if "," in name:  # "Keyname, Forenames"
        key, _, fore = name.partition(",")
        return AuthorName(key.strip(), fore.strip())
    parts = name.split(" ")
    suffix = ""
    if len(parts) > 2 and parts[-1].lower() in _SUFFIXES:
        suffix = parts.pop()
    if len(parts) == 1:
        return AuthorName(parts[0], "", suffix)
    i = len(parts) - 1
    while i > 1 and parts[i - 1].lower() in _PARTICLES:
        i -= 1
    return AuthorName(" ".join(parts[i:]), " ".join(parts[:i]), suffix)


_AFFIL = re.compile(r"\([^()]*(?:\([^()]*\)[^()]*)*\)")


def split_authors(text: str) -> list[AuthorName]:
    """Parse an arXiv authors line ('A. One, B. Two (MIT) and C. Three') into names."""
    text = _AFFIL.sub(" ", text.replace("\n", " "))
    out = []
    for chunk in re.split(r",|\band\b|;|&", text):
        chunk = chunk.strip()
        if chunk and _WORD.search(chunk):
            out.append(parse_name(chunk))
    return out


def clean_title(title: str) -> str:
    return _SPACES.sub(" ", title or "").strip()


# --- links ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    kind: str  # github | gitlab | huggingface | project
    url: str
    source: str  # abstract | comments


# A link starts with a scheme, "www." or a bare code-host domain not inside another URL or address.
# (No lookbehind in the pattern: it makes the scan four times slower; the check is done by hand.)
_LINK_START = re.compile(r"https?://|www\.|github\.com/|gitlab\.com/|huggingface\.co/")
_LINK_BODY = re.compile(r"[^\s<>\"'{}|^`\\]+(?:\\[_%#&][^\s<>\"'{}|^`\\]*)*")


def _may_have_link(t: str) -> bool:
    """Cheap substring tests before any regex: most abstracts have no link, and a regex scan of
    every text costs more than the rest of parsing a record. Spelled out, not a loop over a tuple:
    this runs twice per paper of an import, and the loop's generator cost more than the searches."""
    return (
        "http" in t
        or "HTTP" in t
        or "www." in t
        or "WWW." in t
        or ".com/" in t
        or ".co/" in t
        or ".COM/" in t
        or ".CO/" in t
    )


_TRAIL = ".,;:!?'\"*"


def _tidy(url: str) -> str:
    url = url.replace("\\_", "_").replace("\\%", "%").replace("\\#", "#").replace("\\&", "&")
    while True:
        before = url
        url = url.rstrip(_TRAIL)
        for close, open_ in ((")", "("), ("]", "["), ("}", "{")):
            if url.endswith(close) and url.count(close) > url.count(open_):
                url = url[:-1]
        if url == before:
            break
    if not url.lower().startswith(("http://", "https://")):
        url = "https://" + url
    return url


def classify(url: str) -> str | None:
    host = re.sub(r"^https?://", "", url.lower()).split("/")[0].removeprefix("www.")
    path = url.split(host, 1)[-1] if host in url.lower() else ""
    if host in ("arxiv.org", "export.arxiv.org", "doi.org", "dx.doi.org"):
        return None  # self-references and DOIs are not links out to code or projects
    if host == "github.com":
        return "github" if path.strip("/").count("/") >= 1 else "project"
    if host == "gitlab.com":
        return "gitlab"
    if host in ("huggingface.co", "hf.co"):
        return "huggingface"
    return "project"


def extract_links(text: str, source: str) -> list[Link]:
    # Every start _LINK_START finds has a "/" but "www.", whose last two characters are "w." or "W."
    # before lowering: a text with none of the three has no link, and three searches settle it for
    # 5 of every 6 abstracts and comments (they were eight).
    if not text or ("/" not in text and "w." not in text and "W." not in text) or not _may_have_link(text):
        return []
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters lower-case to two; positions must agree
        lowered = text
    seen: dict[str, Link] = {}
    end = 0
    for start in _LINK_START.finditer(lowered):
        i = start.start()
        if i < end or (
            i and start.group(0)[0] != "h" and (lowered[i - 1].isalnum() or lowered[i - 1] in "_./@-")
        ):
            continue
        body = _LINK_BODY.match(text, start.start())
        if body is None:
            continue
        end = body.end()
        url = _tidy(body.group(0))
        if len(url) > 500 or "." not in url.split("//", 1)[-1].split("/")[0]:
            continue
        kind = classify(url)
        if kind and url.lower() not in seen:
            seen[url.lower()] = Link(kind, url, source)
    return list(seen.values())


# --- dates ----------------------------------------------------------------------------------------

_ET = ZoneInfo("America/New_York")


def estimate_announcement(submitted: dt.datetime) -> dt.date:
    """arXiv announces at 20:00 ET, Sunday to Thursday, what was submitted before 14:00 ET that day;
    the listing carries the next day's date. Holidays are ignored: the announcement feed is exact."""
    local = (
        submitted.astimezone(_ET) if submitted.tzinfo else submitted.replace(tzinfo=dt.UTC).astimezone(_ET)
    )
    day = local.date()
    if local.time() >= dt.time(14) or day.weekday() >= 5:
        day += dt.timedelta(days=1)
    while day.weekday() >= 5:  # a weekend submission waits for Monday's cut-off
        day += dt.timedelta(days=1)
    listing = day + dt.timedelta(days=1)
    while listing.weekday() >= 5:
        listing += dt.timedelta(days=1)
    return listing
