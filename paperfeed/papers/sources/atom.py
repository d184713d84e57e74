"""arXiv's two Atom formats: the API's query answers and the daily announcement feed.

The API (export.arxiv.org/api/query) answers errors as an entry titled "Error" whose id is
…/api/errors#…, often with HTTP 200: that is raised as `ApiError`, never read as a paper. The
announcement feed (rss.arxiv.org/atom/cs.CL+cs.LG) lists one day's announcements; each entry
carries arxiv:announce_type new / replace / cross / replace-cross, and the feed is empty on
weekends and holidays.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from lxml import etree

from paperfeed.papers.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.papers.records import PaperRecord, parse_name, split_authors
from paperfeed.papers.sources.xml import MalformedXML, parse_xml, text

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
DC = "{http://purl.org/dc/elements/1.1/}"


class ApiError(Exception):
    """An error the API reported (a malformed id, a bad query)."""


def _datetime(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        # An answer garbled on the way, as unreadable as one cut short (asked again, then an
        # ArxivError): not a bug of ours for a submission to report as a 500.
        raise MalformedXML(f"an unreadable date {value[:40]!r}") from None


def _entry_id(entry: etree._Element) -> tuple[str, int | None]:
    raw = text(entry.find(ATOM + "id")) or ""
    # http://arxiv.org/abs/1605.08386v1, oai:arXiv.org:2402.02345v1
    raw = re.sub(r"^oai:arXiv\.org:", "", raw)
    ident = parse_arxiv_id(raw)
    return ident.id, ident.version


def _categories(entry: etree._Element) -> list[str]:
    primary = entry.find(ARXIV + "primary_category")
    cats = [c.get("term") or "" for c in entry.iterfind(ATOM + "category")]
    if primary is not None and primary.get("term"):
        cats.insert(0, primary.get("term") or "")
    return [c for c in dict.fromkeys(cats) if c]


# --- the API ---------------------------------------------------------------------------------------


@dataclass
class ApiPage:
    total: int
    start: int
    per_page: int
    records: list[PaperRecord] = field(default_factory=list)


def parse_api_feed(body: bytes) -> ApiPage:
    root = parse_xml(body, ATOM + "feed", "arXiv API answer")

    def num(name: str) -> int:
        value = text(root.find(OPENSEARCH + name))
        return int(value) if value and value.isdigit() else 0

    page = ApiPage(num("totalResults"), num("startIndex"), num("itemsPerPage"))
    for entry in root.iterfind(ATOM + "entry"):
        eid = text(entry.find(ATOM + "id")) or ""
        if "/api/errors" in eid or text(entry.find(ATOM + "title")) == "Error":
            raise ApiError(text(entry.find(ATOM + "summary")) or eid)
        try:
            arxiv_id, version = _entry_id(entry)
        except InvalidArxivId as e:
            raise ApiError(f"unreadable entry id {eid!r}: {e}") from None
        authors = [
            parse_name(n) for a in entry.iterfind(ATOM + "author") if (n := text(a.find(ATOM + "name")))
        ]
        published = _datetime(text(entry.find(ATOM + "published")))
        updated = _datetime(text(entry.find(ATOM + "updated")))
        page.records.append(
            PaperRecord(
                arxiv_id=arxiv_id,
                version=version,
                title=text(entry.find(ATOM + "title")) or "",
                abstract=text(entry.find(ATOM + "summary")) or "",
                authors=authors,
                categories=_categories(entry),
                comments=text(entry.find(ARXIV + "comment")),
                journal_ref=text(entry.find(ARXIV + "journal_ref")),
                doi=text(entry.find(ARXIV + "doi")),
                published=published,
                updated=updated,
            )
        )
    return page


# --- the announcement feed ---------------------------------------------------------------------------

FIRST_ANNOUNCEMENT = {"new", "cross"}


@dataclass
class Entry:
    record: PaperRecord
    announce_type: str
    day: dt.date

    @property
    def first_announced(self) -> dt.date | None:
        """The day this entry proves the paper was first announced (new, or a new paper's cross-list);
        a replacement says nothing about the first announcement."""
        if self.announce_type == "new" or (self.announce_type == "cross" and (self.record.version or 1) == 1):
            return self.day
        return None


_ABSTRACT = re.compile(r"^arXiv:\S+\s+Announce Type:\s*\S+\s*Abstract:\s*", re.S)


def parse_announcements(body: bytes) -> list[Entry]:
    root = parse_xml(body, ATOM + "feed", "arXiv announcement feed")
    feed_day = _datetime(text(root.find(ATOM + "updated")))
    out = []
    for entry in root.iterfind(ATOM + "entry"):
        arxiv_id, version = _entry_id(entry)
        kind = (text(entry.find(ARXIV + "announce_type")) or "new").lower()
        when = _datetime(text(entry.find(ATOM + "published"))) or feed_day
        if when is None:
            raise ValueError(f"announcement of {arxiv_id} has no date")
        creators = text(entry.find(DC + "creator")) or ""
        record = PaperRecord(
            arxiv_id=arxiv_id,
            version=version,
            title=text(entry.find(ATOM + "title")) or "",
            abstract=_ABSTRACT.sub("", text(entry.find(ATOM + "summary")) or ""),
            authors=split_authors(creators),
            authors_text=creators,
            categories=_categories(entry),
            license=text(entry.find(DC + "rights")),
        )
        # The feed's timestamps are midnight Eastern on the listing day: the date as written is the day.
        entry_obj = Entry(record, kind, when.date())
        if entry_obj.first_announced:
            record.announced = entry_obj.first_announced
        out.append(entry_obj)
    return out
