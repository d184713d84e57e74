"""Papers as a reference manager takes them: BibTeX, RIS and CSL-JSON. The one place that formats a
citation: the paper and collection pages, the export links of lists, the API and `paperfeed cite`
all call `export`.

arXiv's metadata is TeX. In BibTeX a title keeps its math ($O(n^2)$, when its braces balance) for
LaTeX to set, and everything else is escaped, so no title or name can break the .bib file or the
document citing it; RIS and CSL-JSON, read by programs that run no TeX, get the text in plain
characters (tex.plain)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import string
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from paperfeed.papers import tex
from paperfeed.papers.models import Paper


@dataclass(frozen=True)
class Format:
    name: str  # as --format, ?format= and the API take it
    extension: str  # of /papers/ID.<extension>
    media_type: str
    label: str  # as a link names it


FORMATS = {
    f.name: f
    for f in (
        Format("bibtex", "bib", "application/x-bibtex", "BibTeX"),
        Format("ris", "ris", "application/x-research-info-systems", "RIS"),
        Format("csl-json", "csl.json", "application/vnd.citationstyles.csl+json", "CSL-JSON"),
    )
}
BY_EXTENSION = {f.extension: f for f in FORMATS.values()}


def export(papers: Iterable[Paper], fmt: str) -> str:
    """The papers as one document in the format named (a key of FORMATS), in the order given, each
    under a citation key unique in this document."""
    papers = list(papers)
    keys = citation_keys(papers)
    if fmt == "bibtex":
        return "\n".join(bibtex_entry(p, k) for p, k in zip(papers, keys, strict=True))
    if fmt == "ris":
        return "".join(ris_record(p, k) for p, k in zip(papers, keys, strict=True))
    if fmt == "csl-json":
        items = [csl_item(p, k) for p, k in zip(papers, keys, strict=True)]
        return json.dumps(items, ensure_ascii=False, indent=2) + "\n"
    raise ValueError(f"unknown citation format {fmt!r} (one of {', '.join(FORMATS)})")


# --- citation keys --------------------------------------------------------------------------------

# Words a key skips to reach the first that says something ("On the ...", "A survey ...").
_STOPWORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "on",
        "of",
        "in",
        "for",
        "to",
        "and",
        "or",
        "with",
        "from",
        "by",
        "at",
        "via",
        "is",
        "are",
        "towards",
        "toward",
        "how",
        "what",
        "when",
        "why",
        "do",
        "does",
        "can",
        "we",
        "our",
        "your",
        "its",
    }
)


def _ascii_word(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def _version_dates(p: Paper) -> dict[int, dt.date]:
    """The submission date of each version the paper's `versions` lists, as far as it can be read."""
    out: dict[int, dt.date] = {}
    for v in p.versions or []:
        try:
            out[int(v["version"])] = dt.datetime.fromisoformat(str(v["date"])).date()
        except (KeyError, TypeError, ValueError):
            continue
    return out


def issued(p: Paper) -> dt.date | None:
    """The date a citation gives: v1's submission, else the day arXiv first announced the paper,
    else none. Not a later version's date: a v3 from last month would date a paper of three years
    ago. `published` is v1's (PaperRecord and migration papers.0009 keep it so); `updated` is v1's
    only while v1 is the latest version."""
    versions = _version_dates(p)
    if 1 in versions:
        return versions[1]
    if p.published is not None:
        return p.published.date()
    if p.updated is not None and p.version == 1:
        return p.updated.date()
    return p.announced


def year_of(p: Paper) -> int | None:
    """The year of the citation's date (`issued`), else read from a new-style id."""
    when = issued(p)
    if when is not None:
        return when.year
    m = re.match(r"(\d\d)(\d\d)\.", p.arxiv_id)
    return 2000 + int(m[1]) if m else None


def base_key(p: Paper) -> str:
    """`vaswani2017attention`: first author's family name, year, first word of the title that is not
    a stopword, in ASCII letters and digits (what every BibTeX and biblatex accepts in a key)."""
    first = p.authors[0] if p.authors else {}
    family = _ascii_word(first.get("keyname") or first.get("name") or "") or "anon"
    words = [_ascii_word(w) for w in tex.plain(p.title).split()]
    word = next((w for w in words if w and w not in _STOPWORDS), "")
    return f"{family}{year_of(p) or ''}{word}"


def _suffixes() -> Iterator[str]:
    """a, b, ..., z, aa, ab, ...: as many as a list needs."""
    for n in itertools.count(1):
        yield from map("".join, itertools.product(string.ascii_lowercase, repeat=n))


def citation_keys(papers: list[Paper]) -> list[str]:
    """Each paper's key, unique in the list: the first paper with a key keeps it, the next ones get
    a, b, ... after it (vaswani2017attention, vaswani2017attentiona), skipping keys already taken."""
    taken: set[str] = set()
    out = []
    for p in papers:
        key = base_key(p)
        if key in taken:
            key = next(key + s for s in _suffixes() if key + s not in taken)
        taken.add(key)
        out.append(key)
    return out


# --- BibTeX ---------------------------------------------------------------------------------------

# Each special character as LaTeX spells it. Braces become \textbrace…{}: BibTeX counts every brace,
# escaped or not, so a lone \{ would end (or never end) the field.
_LATEX = {
    "\\": r"\textbackslash{}",
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "%": r"\%",
    "&": r"\&",
    "_": r"\_",
    "#": r"\#",
    "$": r"\$",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LATEX_RE = re.compile("|".join(re.escape(c) for c in _LATEX))
# What arXiv's TeX already escaped stands for the character itself (R\&D, 50\%).
_TEX_ESCAPED = re.compile(r"\\([%&$#_{}])")


def latex_escape(text: str) -> str:
    """Plain text as LaTeX that prints it: every special character escaped, non-ASCII kept (UTF-8)."""
    return _LATEX_RE.sub(lambda m: _LATEX[m[0]], text)


def _prose(text: str) -> str:
    """arXiv's TeX outside math as the characters it stands for, before escaping."""
    return _TEX_ESCAPED.sub(r"\1", tex.unwrap(tex.decode_accents(text)))


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _keeps_math(span: str) -> bool:
    """Whether a TeX math span can go into the .bib file as it is: braces balanced, and no bare % or
    # (a comment, a macro parameter) that would make the citing document fail."""
    return _balanced(span) and not re.search(r"(?<!\\)[%#]", span)


def _protect(word: str) -> bool:
    """Whether a title word keeps its case in any bibliography style: acronyms and mixed case (BERT,
    GPT-4, LLaMA, iPhone), not words with only their first letter capital."""
    letters = [c for c in word if c.isalpha()]
    return any(c.isupper() for c in letters[1:]) or (
        len(letters) == 1 and letters[0].isupper() and len(word) > 1
    )


def bibtex_text(text: str, *, title: bool = False) -> str:
    """A metadata field as BibTeX field text: math kept when it is safe to, the rest escaped; in a
    title, words whose capitals matter braced ({BERT}) so that styles lowercasing titles keep them."""
    text = " ".join((text or "").split())
    out, pos = [], 0
    for m in tex.SPAN.finditer(text):
        out.append(_bibtex_prose(text[pos : m.start()], title))
        out.append(f"{{{m[0]}}}" if _keeps_math(m[0]) else latex_escape(_prose(m[0])))
        pos = m.end()
    out.append(_bibtex_prose(text[pos:], title))
    return "".join(out)


def _bibtex_prose(text: str, title: bool) -> str:
    out = []
    for word in re.split(r"(\s+)", _prose(text)):
        if title and _protect(word):  # the braces around the word, its punctuation outside: {iPhone}:
            m = re.fullmatch(r"([^\w]*)(.*?)([^\w]*)", word, re.S)
            assert m is not None
            out.append(f"{latex_escape(m[1])}{{{latex_escape(m[2])}}}{latex_escape(m[3])}")
        else:
            out.append(latex_escape(word))
    return "".join(out)


def _bibtex_name(a: dict[str, Any]) -> str:
    """ "Family, Suffix, Given" (BibTeX's own order); a name with no given names (a collaboration) is
    braced whole, so that BibTeX takes it as one family name; a part with " and " or a comma braced."""
    family, given, suffix = (latex_escape(a.get(k) or "") for k in ("keyname", "forenames", "suffix"))

    def guard(part: str) -> str:
        return f"{{{part}}}" if re.search(r",|\band\b", part, re.I) else part

    if not given:
        return f"{{{family or latex_escape(a.get('name', ''))}}}"
    return ", ".join(guard(p) for p in (family, suffix, given) if p)


def bibtex_entry(p: Paper, key: str) -> str:
    """@article when arXiv knows where it was published (journal-ref), else @misc; both with the
    eprint fields biblatex and arXiv's own export use."""
    fields: list[tuple[str, str]] = [
        ("title", bibtex_text(p.title, title=True)),
        ("author", " and ".join(_bibtex_name(a) for a in p.authors)),
    ]
    if p.journal_ref:
        fields.append(("journal", bibtex_text(p.journal_ref)))
    year = year_of(p)
    if year:
        fields.append(("year", str(year)))
    if when := issued(p):
        fields.append(("month", when.strftime("%b").lower()))
    fields += [("eprint", p.arxiv_id), ("archivePrefix", "arXiv")]
    if p.primary_category_id:
        fields.append(("primaryClass", p.primary_category_id))
    if p.doi:
        fields.append(("doi", latex_escape(p.doi)))
    fields.append(("url", p.abs_url))
    kind = "article" if p.journal_ref else "misc"
    body = ",\n".join(
        f"  {name} = {value}" if name == "month" else f"  {name} = {{{value}}}" for name, value in fields
    )
    return f"@{kind}{{{key},\n{body}\n}}\n"


# --- RIS ------------------------------------------------------------------------------------------


def _ris_value(text: str) -> str:
    return " ".join(tex.plain(text or "").split())


def ris_record(p: Paper, key: str) -> str:
    """One RIS record: JOUR when published in a journal, else UNPB (an unpublished work, a preprint)."""
    lines = [("TY", "JOUR" if p.journal_ref else "UNPB"), ("ID", key), ("TI", _ris_value(p.title))]
    for a in p.authors:
        family, given, suffix = (
            " ".join((a.get(k) or "").split()) for k in ("keyname", "forenames", "suffix")
        )
        lines.append(("AU", ", ".join(x for x in (family, given, suffix) if x) or a.get("name", "")))
    year = year_of(p)
    if year:
        lines.append(("PY", str(year)))
    if when := issued(p):
        lines.append(("DA", when.strftime("%Y/%m/%d")))
    if p.journal_ref:
        lines.append(("JO", _ris_value(p.journal_ref)))
    if p.doi:
        lines.append(("DO", p.doi.strip()))
    lines += [("AN", f"arXiv:{p.arxiv_id}"), ("UR", p.abs_url), ("L1", p.pdf_url)]
    lines += [("KW", code) for code in p.category_codes()]
    if p.abstract:
        lines.append(("AB", _ris_value(p.abstract)))
    lines.append(("ER", ""))
    return "".join(f"{tag}  - {value}".rstrip() + "\n" for tag, value in lines)


# --- CSL-JSON -------------------------------------------------------------------------------------


def csl_item(p: Paper, key: str) -> dict[str, Any]:
    """A CSL-JSON item as citeproc (Pandoc, Zotero) reads one: an arXiv preprint is `article` with
    arXiv as its publisher and its id as `number`, as Zotero writes it."""
    authors = []
    for a in p.authors:
        if a.get("forenames"):
            name = {"family": a.get("keyname", ""), "given": a["forenames"]}
            if a.get("suffix"):
                name["suffix"] = a["suffix"]
        else:
            name = {"literal": a.get("keyname") or a.get("name", "")}
        authors.append(name)
    item: dict[str, Any] = {
        "id": key,
        "type": "article-journal" if p.journal_ref else "article",
        "title": tex.plain(p.title),
        "author": authors,
        "publisher": "arXiv",
        "number": f"arXiv:{p.arxiv_id}",
        "URL": p.abs_url,
    }
    if when := issued(p):
        item["issued"] = {"date-parts": [[when.year, when.month, when.day]]}
    elif year := year_of(p):
        item["issued"] = {"date-parts": [[year]]}
    if p.journal_ref:
        item["container-title"] = tex.plain(p.journal_ref)
    if p.doi:
        item["DOI"] = p.doi.strip()
    if p.abstract:
        item["abstract"] = tex.plain(p.abstract)
    return item
