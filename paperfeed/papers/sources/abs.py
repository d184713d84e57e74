"""arXiv's own `.abs` metadata files (as arXiv's website code keeps them):

    ------------------------------------------------------------------------------
    \\
    arXiv:0704.0002
    From: Louis Theran <…>
    Date: Sat, 31 Mar 2007 02:26:18 GMT   (377kb,D)
    Date (revised v2): Sat, 13 Dec 2008 17:26:00 GMT   (136kb,D)

    Title: Sparsity-certifying Graph Decompositions
    Authors: Ileana Streinu and Louis Theran
    Categories: math.CO cs.CG
    …
    \\
      We describe a new algorithm, …
    \\

A header line may continue on lines that start with white space; the abstract (which may itself
contain a `\\` line, TeX's line break) runs to the file's last `\\` line.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Iterator
from pathlib import Path

from paperfeed.papers.arxiv_ids import InvalidArxivId
from paperfeed.papers.records import PaperRecord, Version, split_authors
from paperfeed.papers.sources.snapshot import LineError

_DATE = re.compile(r"^(?P<when>.+?)\s*\((?P<size>[^)]*)\)\s*$")
_REVISED = re.compile(r"^Date \(revised v(?P<v>\d+)\)$")
_FIELDS = {
    "Title": "title",
    "Authors": "authors",
    "Categories": "categories",
    "Comments": "comments",
    "Report-no": "report_no",
    "Journal-ref": "journal_ref",
    "DOI": "doi",
    "License": "license",
}


def _version(n: int, value: str) -> Version:
    m = _DATE.match(value)
    when_text, size = (m["when"], m["size"]) if m else (value, "")
    when = email.utils.parsedate_to_datetime(when_text.strip())
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return Version(n, when, size.split(",")[0].strip())


def parse_abs(text: str) -> PaperRecord:
    """One .abs file's text -> PaperRecord; ValueError with the reason when it is not one."""
    lines = text.replace("\r\n", "\n").split("\n")
    marks = [i for i, line in enumerate(lines) if line.strip() == "\\\\"]
    if len(marks) < 3:
        raise ValueError("not an .abs file (expected a header and an abstract between '\\\\' lines)")
    header, abstract = lines[marks[0] + 1 : marks[1]], lines[marks[1] + 1 : marks[-1]]
    fields: list[tuple[str, str]] = []
    for line in header:
        if not line.strip():
            continue
        if line[0].isspace() and fields:
            key, value = fields[-1]
            fields[-1] = (key, f"{value} {line.strip()}")
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"unreadable header line {line[:60]!r}")
        fields.append((key.strip(), value.strip()))
    arxiv_id = ""
    versions: list[Version] = []
    values: dict[str, str] = {}
    for key, value in fields:
        if key == "arXiv" and not arxiv_id:
            arxiv_id = value
        elif key == "Date":
            versions.append(_version(1, value))
        elif m := _REVISED.match(key):
            versions.append(_version(int(m["v"]), value))
        elif key == "From":
            values["submitter"] = re.sub(r"\s*<[^>]*>\s*$", "", value).strip('"')
        elif key in _FIELDS:
            values[_FIELDS[key]] = value
    if not arxiv_id:
        raise ValueError("no arXiv: identifier line")
    categories = values.get("categories", "").split()
    if not categories and "/" in arxiv_id:
        # The oldest files have no Categories line: an old-style id names its archive.
        categories = [arxiv_id.split("/")[0].removeprefix("arXiv:")]
    try:
        return PaperRecord(
            arxiv_id=arxiv_id,
            title=values.get("title", ""),
            abstract="\n".join(abstract).strip(),
            authors=split_authors(values.get("authors", "")),
            authors_text=values.get("authors", ""),
            categories=categories,
            comments=values.get("comments"),
            report_no=values.get("report_no"),
            journal_ref=values.get("journal_ref"),
            doi=values.get("doi"),
            license=values.get("license"),
            submitter=values.get("submitter"),
            versions=versions or None,
        )
    except InvalidArxivId as e:
        raise ValueError(str(e)) from None


def read_abs(path: Path) -> PaperRecord:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # arXiv's oldest files predate its move to UTF-8
    return parse_abs(text)


def abs_files(path: Path) -> list[Path]:
    """The .abs files a path names: itself, or every .abs under a directory (sorted)."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*.abs") if p.is_file())
    return [path]


def read_abs_paths(paths: list[Path]) -> Iterator[tuple[int, PaperRecord | LineError, int]]:
    """Like read_snapshot: (file number, record or error, files done) for each file."""
    for n, path in enumerate(paths, 1):
        try:
            rec: PaperRecord | LineError = read_abs(path)
        except (OSError, ValueError, TypeError, IndexError) as e:
            rec = LineError(1, f"unusable .abs file: {e}", str(path))
        yield n, rec, n
