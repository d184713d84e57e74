"""The Kaggle `arxiv-metadata-oai-snapshot` format: one JSON object per line, plain or gzip.

Reading streams line by line (constant memory); a line that is not a usable record becomes a
`LineError` with its number and reason, and reading goes on.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import gzip
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from paperfeed.papers.arxiv_ids import InvalidArxivId
from paperfeed.papers.records import AuthorName, PaperRecord, Version, split_authors


@dataclass(frozen=True)
class LineError:
    line: int
    reason: str
    path: str = ""
    # The file itself could not be read on from here (a truncated or corrupt gzip, a read error):
    # not one bad line but the rest of the file missing.
    unreadable: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason, **({"path": self.path} if self.path else {})}


def _str(doc: dict[str, Any], key: str) -> str | None:
    v = doc.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise ValueError(f"field {key!r} is {type(v).__name__}, not a string")
    return v.strip() or None


def _version(v: dict[str, Any]) -> Version:
    n = int(str(v["version"]).lstrip("v"))
    when = email.utils.parsedate_to_datetime(v["created"])
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return Version(n, when, str(v.get("size") or ""))


# update_date is a date: it must not replace the API's precise time of the same day. One shared,
# never-mutated dict: pickled once per batch to the import's writer, not once per record.
_UPDATED_IS_A_DAY: dict[str, Any] = {"day_only": ("updated",)}


def parse_record(doc: Any) -> PaperRecord:
    """One snapshot object -> PaperRecord; ValueError (with a reason) if it is not usable."""
    if not isinstance(doc, dict):
        raise ValueError(f"a record must be a JSON object, not {type(doc).__name__}")
    for key in ("id", "title"):
        if not doc.get(key):
            raise ValueError(f"missing field {key!r}")
    cats = doc.get("categories") or ""
    categories = cats.split() if isinstance(cats, str) else [str(c) for c in cats]
    authors_text = _str(doc, "authors") or ""
    parsed = doc.get("authors_parsed")
    if parsed:
        authors = [
            AuthorName(
                str(p[0]).strip(),
                str(p[1]).strip() if len(p) > 1 else "",
                str(p[2]).strip() if len(p) > 2 else "",
            )
            for p in parsed
            if p and str(p[0]).strip()
        ]
    else:
        authors = split_authors(authors_text)
    versions = [_version(v) for v in doc["versions"]] if doc.get("versions") else None
    listing = doc.get("_listing_dates")
    announced = dt.date.fromisoformat(min(listing)) if listing else None
    updated = None
    if not versions and doc.get("update_date"):
        # Without versions, update_date is the only date the format gives.
        updated = dt.datetime.combine(dt.date.fromisoformat(doc["update_date"]), dt.time(), dt.UTC)
    try:
        return PaperRecord(
            arxiv_id=str(doc["id"]),
            title=_str(doc, "title") or "",
            abstract=_str(doc, "abstract") or "",
            authors=authors,
            authors_text=authors_text,
            categories=categories,
            comments=_str(doc, "comments"),
            journal_ref=_str(doc, "journal-ref"),
            doi=_str(doc, "doi"),
            report_no=_str(doc, "report-no"),
            license=_str(doc, "license"),
            submitter=_str(doc, "submitter"),
            versions=versions,
            updated=updated,
            announced=announced,
            extra=_UPDATED_IS_A_DAY if updated else {},
        )
    except InvalidArxivId as e:
        raise ValueError(str(e)) from None


def parse_line(line: bytes) -> PaperRecord:
    """One line -> PaperRecord; ValueError (orjson.JSONDecodeError for bad JSON) if it is not usable."""
    try:
        return parse_record(orjson.loads(line))
    except (TypeError, KeyError, IndexError, OverflowError) as e:
        raise ValueError(str(e)) from e


def snapshot_lines(path: Path) -> Generator[tuple[int, bytes | LineError, int]]:
    """Yield (line number, the line or an error, compressed bytes read so far) for each non-blank
    line: the import parses them in another process, which ships a line on to rebuild a record from."""
    raw = path.open("rb")
    gz = raw.read(2) == b"\x1f\x8b"
    raw.seek(0)
    stream: IO[bytes] = gzip.GzipFile(fileobj=raw) if gz else raw  # type: ignore[assignment]
    try:
        lineno = 0
        while True:
            try:
                line = stream.readline()
            except (OSError, EOFError, gzip.BadGzipFile) as e:
                yield (
                    lineno + 1,
                    LineError(
                        lineno + 1, f"unreadable input after line {lineno}: {e}", str(path), unreadable=True
                    ),
                    raw.tell(),
                )
                return
            if not line:
                return
            lineno += 1
            if lineno == 1:
                # A file saved by some Windows editors starts with a byte order mark, which JSON
                # does not allow: its first paper was skipped as "invalid JSON".
                line = line.removeprefix(b"\xef\xbb\xbf")
            if line.strip():
                yield lineno, line, raw.tell()
    finally:
        stream.close()
        raw.close()


def line_record(line: bytes, lineno: int, path: Path) -> PaperRecord | LineError:
    try:
        return parse_line(line)
    except orjson.JSONDecodeError as e:
        return LineError(lineno, f"invalid JSON: {e}", str(path))
    except ValueError as e:
        return LineError(lineno, f"unusable record: {e}", str(path))


class _Reread:
    """A snapshot file held open after the line last read again from it. The import asks for its
    lines in file order, so reading many of them again is one pass over the file: from its start
    each time, a gzip file of n such lines was decompressed n/2 times over (quadratic)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stamp = _stamp(path)
        self.lines = snapshot_lines(path)
        self.at = 0  # the last line number read

    def close(self) -> None:
        self.lines.close()  # the generator's `finally` closes the file


def _stamp(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


_reread: _Reread | None = None
_reread_lock = threading.Lock()


def record_at(path: Path, lineno: int) -> PaperRecord:
    """The record on line `lineno` of `path`, read again: on from the line asked for last if that
    came before it in the same, unchanged file, from the start of the file otherwise."""
    global _reread
    with _reread_lock:
        r = _reread
        if r is None or r.path != path or r.at >= lineno or r.stamp != _stamp(path):
            if r is not None:
                r.close()
            r = _reread = _Reread(path)
        for n, line, _ in r.lines:
            r.at = n
            if n == lineno:
                if isinstance(line, LineError):
                    raise ValueError(line.reason)
                return parse_line(line)
            if n > lineno or isinstance(line, LineError):
                break
        raise ValueError(f"{path} has no line {lineno} (changed since it was read?)")


@contextlib.contextmanager
def rereads_closed() -> Iterator[None]:
    """On leaving, closes the file `record_at` keeps open (at the end of an import)."""
    global _reread
    try:
        yield
    finally:
        with _reread_lock:
            if _reread is not None:
                _reread.close()
                _reread = None


def read_snapshot(path: Path) -> Iterator[tuple[int, PaperRecord | LineError, int]]:
    """Yield (line number, record or error, compressed bytes read so far) for each non-blank line."""
    for lineno, line, pos in snapshot_lines(path):
        yield lineno, (line if isinstance(line, LineError) else line_record(line, lineno, path)), pos
