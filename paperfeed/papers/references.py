"""A researcher's own library read in: a BibTeX or RIS file, or pasted arXiv ids, arXiv URLs and DOIs,
and each entry matched to a stored paper by arXiv id (in its eprint, url, note or doi fields), by DOI,
or by its exact title (compared without case, accents spelt in TeX, punctuation or spacing).

The readers are ours (a few dozen lines each): the PyPI BibTeX parsers either pull in a LaTeX
decoder we already have (tex.decode_accents) or, like bibtexparser 1.x, accept a malformed file by
dropping what they cannot read, where an import must say the file is malformed and add nothing."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models.functions import Lower

from paperfeed.papers import tex
from paperfeed.papers.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.papers.models import Paper
from paperfeed.papers.titles import key_digest, title_key

MAX_BYTES = 2 * 1024 * 1024
MAX_ENTRIES = 5_000


class LibraryError(ValueError):
    """The file or text as a whole cannot be read: nothing of it is imported."""


@dataclass
class Reference:
    label: str  # how the entry is named back to its owner: its key and title, or the text pasted
    arxiv_ids: list[str] = field(default_factory=list)
    dois: list[str] = field(default_factory=list)
    title: str = ""
    problem: str = ""  # why it cannot be matched before any look-up (pasted text that is no id)


@dataclass
class Outcome:
    reference: Reference
    paper: Paper | None = None
    how: str = ""  # "arXiv id", "DOI" or "title"
    reason: str = ""  # why nothing matched


# --- reading ----------------------------------------------------------------------------------------


def read(data: bytes | str, name: str = "") -> list[Reference]:
    """The references in a .bib or .ris file, or pasted text (told apart by content), within the limits."""
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            raise LibraryError(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB: split it")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("latin-1")  # older .bib files: each byte a character, nothing refused
    else:
        text = data
        if len(text.encode()) > MAX_BYTES:
            raise LibraryError(f"the text is larger than {MAX_BYTES // (1024 * 1024)} MB: split it")
    # A NUL is in no reference (a damaged or binary file) and PostgreSQL cannot even compare text
    # holding one: it becomes a space, which ends the DOI, id or word it was in.
    text = text.lstrip("\ufeff").replace("\x00", " ")
    start = text.lstrip()
    if name.lower().endswith(".bib") or start.startswith("@"):
        refs = read_bibtex(text)
    elif name.lower().endswith(".ris") or re.match(r"TY\s{1,2}-", start):
        refs = read_ris(text)
    else:
        refs = read_pasted(text)
    if not refs:
        raise LibraryError("found no entries to import")
    if len(refs) > MAX_ENTRIES:
        raise LibraryError(
            f"more than {MAX_ENTRIES:,} entries: at most {MAX_ENTRIES:,} are imported at a time, split it"
        )
    return refs


_ID = r"\d{4}\.\d{4,5}(?:v\d+)?|[a-z]+(?:-[a-z]+)*(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?"
# An arXiv id where free text names one: an arXiv URL, "arXiv:ID", "arXiv ID", arXiv's DOI.
_ARXIV_IN_TEXT = re.compile(
    rf"(?:arxiv\.org/(?:abs|pdf|html)/|arxiv\s*[:.]?\s*|10\.48550/arxiv\.)({_ID})", re.I
)
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>{}]+)", re.I)
_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.I)


def _arxiv_ids(text: str) -> list[str]:
    found = []
    for m in _ARXIV_IN_TEXT.finditer(text):
        try:
            found.append(parse_arxiv_id(m[1]).id)
        except InvalidArxivId:
            continue
    return found


def _clean_doi(text: str) -> str | None:
    m = _DOI.search(_DOI_PREFIX.sub("", text.strip()))
    return m[1].rstrip(".,;").lower() if m else None


def _reference(label: str, fields: dict[str, list[str]], eprint_fields: Iterable[str]) -> Reference:
    """A reference from an entry's fields (lower-case names, each with its values): arXiv ids from
    `eprint_fields` as they are, and from any field where arXiv is named; DOIs from `doi` fields."""
    ref = Reference(label=label)
    for name in eprint_fields:
        for value in fields.get(name, []):
            try:
                ref.arxiv_ids.append(parse_arxiv_id(value.strip()).id)
            except InvalidArxivId:
                continue
    for values in fields.values():
        for value in values:
            ref.arxiv_ids += _arxiv_ids(value)
    for value in fields.get("doi", []):
        if doi := _clean_doi(value):
            ref.dois.append(doi)
    ref.arxiv_ids = list(dict.fromkeys(ref.arxiv_ids))
    ref.dois = [d for d in dict.fromkeys(ref.dois) if not d.startswith("10.48550/")]
    ref.title = " ".join(fields.get("title", [""])[0].split())
    return ref


def _label(key: str, title: str) -> str:
    title = " ".join(tex.plain(title).split())
    text = f"{key}: {title}" if key and title else key or title or "(an entry without key or title)"
    return text if len(text) <= 200 else text[:199] + "…"


# --- BibTeX -----------------------------------------------------------------------------------------

_MONTHS = {m: m for m in ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]}


class _BibReader:
    """BibTeX as BibTeX reads it: text outside entries is a comment; @comment and @preamble are
    skipped, @string macros expanded; a field value is {…}, "…", a number or a macro, joined by #."""

    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0
        self.macros: dict[str, str] = dict(_MONTHS)

    def fail(self, what: str, at: int | None = None) -> LibraryError:
        line = self.text.count("\n", 0, self.pos if at is None else at) + 1
        return LibraryError(f"not a valid BibTeX file: line {line}: {what}")

    def skip_space(self) -> None:
        while self.pos < len(self.text) and (self.text[self.pos].isspace() or self.text[self.pos] == "%"):
            if self.text[self.pos] == "%":  # a comment line inside an entry (biber allows them)
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                self.pos += 1

    def name(self) -> str:
        m = re.compile(r"[^\s\"#%'(),={}]+").match(self.text, self.pos)
        if m is None:
            raise self.fail(f"expected a name, found {self.text[self.pos : self.pos + 20]!r}")
        self.pos = m.end()
        return m[0]

    def braced(self, close: str = "}") -> str:
        """The text up to the brace (or quote) that closes the one at self.pos, braces balanced."""
        start, depth, i = self.pos, 0, self.pos + 1
        while i < len(self.text):
            ch = self.text[i]
            if ch == "\\":
                i += 2
                continue
            if ch == "{":
                depth += 1
            elif ch == "}":
                if depth == 0 and close == "}":
                    self.pos = i + 1
                    return self.text[start + 1 : i]
                depth -= 1
                if depth < 0:
                    raise self.fail("a } closes no {", i)
            elif ch == close and depth == 0:
                self.pos = i + 1
                return self.text[start + 1 : i]
            i += 1
        raise self.fail('a { or " is never closed', start)

    def value(self) -> str:
        parts = []
        while True:
            self.skip_space()
            ch = self.text[self.pos : self.pos + 1]
            if ch == "{":
                parts.append(self.braced())
            elif ch == '"':
                parts.append(self.braced('"'))
            elif ch.isdigit():
                m = re.compile(r"\d+").match(self.text, self.pos)
                assert m is not None
                parts.append(m[0])
                self.pos = m.end()
            else:
                macro = self.name().lower()
                if macro not in self.macros:
                    raise self.fail(f"unknown @string {macro!r}")
                parts.append(self.macros[macro])
            self.skip_space()
            if self.text[self.pos : self.pos + 1] != "#":
                return "".join(parts)
            self.pos += 1

    def entries(self) -> Iterator[tuple[str, str, dict[str, list[str]]]]:
        while (at := self.text.find("@", self.pos)) >= 0:
            self.pos = at + 1
            self.skip_space()
            kind = self.name().lower()
            self.skip_space()
            opener = self.text[self.pos : self.pos + 1]
            if opener not in ("{", "("):
                raise self.fail(f"@{kind} is not followed by {{ or (")
            closer = "}" if opener == "{" else ")"
            if kind == "comment":
                self.braced() if opener == "{" else self.braced(")")
                continue
            self.pos += 1
            self.skip_space()
            if kind in ("preamble", "string"):
                if kind == "string":
                    key = self.name().lower()
                    self.skip_space()
                    if self.text[self.pos : self.pos + 1] != "=":
                        raise self.fail("@string without =")
                    self.pos += 1
                    self.macros[key] = self.value()
                else:
                    self.value()
                self.skip_space()
                if self.text[self.pos : self.pos + 1] != closer:
                    raise self.fail(f"@{kind} is not closed by {closer}")
                self.pos += 1
                continue
            start = self.pos
            key = self.name()
            fields: dict[str, list[str]] = {}
            self.skip_space()
            while True:
                ch = self.text[self.pos : self.pos + 1]
                if ch == closer:
                    self.pos += 1
                    break
                if ch != ",":
                    raise self.fail(
                        f"expected , or {closer} in the entry {key[:60]!r}"
                        + (" (not closed?)" if not ch else ""),
                        start if not ch else None,
                    )
                self.pos += 1
                self.skip_space()
                if self.text[self.pos : self.pos + 1] == closer:
                    continue
                fname = self.name().lower()
                self.skip_space()
                if self.text[self.pos : self.pos + 1] != "=":
                    raise self.fail(f"the field {fname[:40]!r} of {key[:60]!r} has no =")
                self.pos += 1
                fields.setdefault(fname, []).append(self.value())
                self.skip_space()
            yield kind, key, fields


def read_bibtex(text: str) -> list[Reference]:
    out = []
    for _kind, key, fields in _BibReader(text).entries():
        archive = (fields.get("archiveprefix") or fields.get("eprinttype") or ["arxiv"])[0].strip().lower()
        eprints = ("eprint", "arxivid", "arxiv") if archive == "arxiv" else ("arxivid", "arxiv")
        out.append(_reference(_label(key, fields.get("title", [""])[0]), fields, eprints))
        if len(out) > MAX_ENTRIES:  # stop reading: the count alone is refused
            break
    return out


# --- RIS --------------------------------------------------------------------------------------------

_RIS_LINE = re.compile(r"^([A-Z][A-Z0-9])\s{1,2}-(?: (.*))?$")
# RIS has no field for an arXiv id: exporters put it in these, or the DOI field.
_RIS_FIELDS = {"TI": "title", "T1": "title", "DO": "doi", "ID": "key"}


def read_ris(text: str) -> list[Reference]:
    out: list[Reference] = []
    record: dict[str, list[str]] | None = None
    tag = ""
    for n, line in enumerate(text.splitlines(), 1):
        m = _RIS_LINE.match(line.rstrip())
        if m is None:
            if not line.strip():
                continue
            if record is None or not tag:
                raise LibraryError(
                    f"not a valid RIS file: line {n}: {line.strip()[:60]!r} is no TAG  - value line"
                )
            record[tag][-1] += " " + line.strip()  # a long value wrapped onto the next line
            continue
        tag, value = m[1], (m[2] or "").strip()
        if tag == "TY":
            if record is not None:
                raise LibraryError(
                    f"not a valid RIS file: line {n}: a record starts before the last one ended (ER)"
                )
            record, tag = {}, ""
        elif record is None:
            raise LibraryError(
                f"not a valid RIS file: line {n}: {tag} outside a record (each starts with TY)"
            )
        elif tag == "ER":
            fields = {_RIS_FIELDS.get(k, k.lower()): v for k, v in record.items()}
            out.append(
                _reference(_label(fields.get("key", [""])[0], fields.get("title", [""])[0]), fields, ())
            )
            record, tag = None, ""
            if len(out) > MAX_ENTRIES:
                break
            continue
        else:
            record.setdefault(tag, []).append(value)
    if record is not None:
        raise LibraryError("not a valid RIS file: its last record has no end (ER  -)")
    return out


# --- pasted text ------------------------------------------------------------------------------------


def read_pasted(text: str) -> list[Reference]:
    """One reference per arXiv id, arXiv URL or DOI, separated by spaces, commas or new lines."""
    out = []
    for token in re.split(r"[\s,;]+", text):
        # Brackets and quotes around an id (<https://arxiv.org/abs/…>) are not part of it; the
        # entry is still named as it was pasted ("<i>junk</i>", not "i>junk</i").
        raw, token = token, token.strip("<>()[]\"'")
        if not token:
            continue
        label = raw if len(raw) <= 200 else raw[:199] + "…"
        try:
            out.append(Reference(label=label, arxiv_ids=[parse_arxiv_id(token).id]))
            continue
        except InvalidArxivId:
            pass
        if ids := _arxiv_ids(token):
            out.append(Reference(label=label, arxiv_ids=ids))
        elif (doi := _clean_doi(token)) and (token.startswith("10.") or _DOI_PREFIX.match(token)):
            out.append(Reference(label=label, dois=[doi]))
        else:
            out.append(Reference(label=label, problem="not an arXiv id, arXiv URL or DOI"))
        if len(out) > MAX_ENTRIES:
            break
    return out


# --- matching ---------------------------------------------------------------------------------------


def _chunks(items: list[Any], size: int = 900) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


MATCHED_FIELDS = ("id", "arxiv_id", "title", "title_digest")


def match(refs: list[Reference]) -> list[Outcome]:
    """Each reference's stored paper: by arXiv id, else DOI, else exact title. Each is an index
    lookup, one query per chunk of the entries (arxiv_id's unique index, the index on LOWER(doi),
    the one on `title_digest`): the stored papers are never read through. The papers come with
    only the columns an import shows and saves (MATCHED_FIELDS): building 5,000 whole papers (their
    JSON and dates decoded) took longer than finding them."""
    stored = Paper.objects.exclude(status=Paper.Status.DELETED).only(*MATCHED_FIELDS)
    ids = sorted({i for r in refs for i in r.arxiv_ids})
    by_id: dict[str, Paper] = {}
    for chunk in _chunks(ids):
        by_id.update((p.arxiv_id, p) for p in stored.filter(arxiv_id__in=chunk))
    dois = sorted({d for r in refs for d in r.dois})
    by_doi: dict[str, Paper] = {}
    for chunk in _chunks(dois):
        by_doi.update(
            (p.doi_lower, p) for p in stored.annotate(doi_lower=Lower("doi")).filter(doi_lower__in=chunk)
        )
    out = []
    by_title: dict[str, list[Outcome]] = {}  # title digest -> the entries of that title
    for r in refs:
        o = Outcome(r)
        out.append(o)
        if r.problem:
            o.reason = r.problem
        elif found := next((by_id[i] for i in r.arxiv_ids if i in by_id), None):
            o.paper, o.how = found, "arXiv id"
        elif found := next((by_doi[d] for d in r.dois if d in by_doi), None):
            o.paper, o.how = found, "DOI"
        elif r.title and (key := title_key(r.title)):
            by_title.setdefault(key_digest(key), []).append(o)
        else:
            o.reason = _unmatched(r, titled=False)
    hits: dict[str, list[Paper]] = {}
    for chunk in _chunks(sorted(by_title)):
        for p in stored.filter(title_digest__in=chunk).order_by("pk"):
            hits.setdefault(p.title_digest, []).append(p)
    for digest, outcomes in by_title.items():
        found_papers = hits.get(digest, [])
        for o in outcomes:
            if len(found_papers) == 1:
                o.paper, o.how = found_papers[0], "title"
            elif found_papers:
                o.reason = f"{len(found_papers)} papers here have this title: add its arXiv id or DOI"
            else:
                o.reason = _unmatched(o.reference, titled=True)
    return out


def _unmatched(r: Reference, *, titled: bool) -> str:
    said = []
    if r.arxiv_ids:
        said.append(f"arXiv {', '.join(r.arxiv_ids[:3])} is not stored here")
    if r.dois:
        said.append(f"no paper here has the DOI {r.dois[0]}")
    if titled:
        said.append("no paper here has this title")
    return "; ".join(said) or "no arXiv id, DOI or title in the entry"
