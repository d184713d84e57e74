"""OAI-PMH pages with metadataPrefix=arXiv, as arXiv serves them (https://oaipmh.arxiv.org/oai).

A page is parsed whole or not at all (see sources.xml): a page cut short has no closing
</OAI-PMH> and is an error, never an end of list. OAI errors come back as `OAIError` with the
protocol's code so the harvester can tell noRecordsMatch (nothing changed) from badResumptionToken
(restart the window) from the rest (fail).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from lxml import etree

from paperfeed.papers.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.papers.records import AuthorName, PaperRecord, estimate_announcement
from paperfeed.papers.sources.xml import MalformedXML, parse_xml, text

OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"


class OAIError(Exception):
    def __init__(self, code: str, message: str, response_date: dt.datetime | None = None) -> None:
        super().__init__(f"OAI-PMH {code}: {message}" if message else f"OAI-PMH {code}")
        self.code, self.message, self.response_date = code, message, response_date


@dataclass
class Item:
    identifier: str
    arxiv_id: str
    datestamp: dt.date
    sets: list[str]
    deleted: bool = False
    record: PaperRecord | None = None
    error: str | None = None  # metadata present but unusable


@dataclass
class Page:
    response_date: dt.datetime | None
    items: list[Item] = field(default_factory=list)
    token: str | None = None  # None or "": the list is complete
    complete_list_size: int | None = None
    cursor: int | None = None


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    return dt.date.fromisoformat(value[:10])


def _datetime(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


# <created> and <updated> are dates: stored as midnight UTC, they never replace a precise time of the
# same day (PaperRecord.merged_with).
DAY_ONLY = ("published", "updated")


def _midnight(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime.combine(day, dt.time(), dt.UTC) if day else None


def parse_metadata(meta: etree._Element) -> PaperRecord:
    """An <arXiv> metadata element -> PaperRecord (ValueError if unusable)."""

    def field_(name: str) -> str | None:
        return text(meta.find(ARXIV + name))

    authors = []
    for a in meta.iterfind(f"{ARXIV}authors/{ARXIV}author"):
        key = text(a.find(ARXIV + "keyname")) or ""
        if key:
            authors.append(
                AuthorName(key, text(a.find(ARXIV + "forenames")) or "", text(a.find(ARXIV + "suffix")) or "")
            )
    created, updated = _date(field_("created")), _date(field_("updated"))
    try:
        return PaperRecord(
            arxiv_id=field_("id") or "",
            title=field_("title") or "",
            abstract=field_("abstract") or "",
            authors=authors,
            categories=(field_("categories") or "").split(),
            comments=field_("comments"),
            journal_ref=field_("journal-ref"),
            doi=field_("doi"),
            report_no=field_("report-no"),
            license=field_("license"),
            published=_midnight(created),
            updated=_midnight(updated),
            # OAI says when v1 was submitted, not when it was announced: an estimate puts a harvested
            # paper on its (likely) day until the announcement feed or a snapshot says exactly.
            announced=estimate_announcement(dt.datetime.combine(created, dt.time(12), dt.UTC))
            if created
            else None,
            extra={"day_only": DAY_ONLY, **({"announced_estimated": True} if created else {})},
        )
    except InvalidArxivId as e:
        raise ValueError(str(e)) from None


def parse_page(body: bytes) -> Page:
    """A ListRecords (or GetRecord) answer -> Page; raises MalformedXML or OAIError."""
    root = parse_xml(body, OAI + "OAI-PMH", "OAI-PMH page")
    page = Page(response_date=_datetime(text(root.find(OAI + "responseDate"))))
    errors = root.findall(OAI + "error")
    if errors:
        e = errors[0]
        raise OAIError(e.get("code") or "unknown", (e.text or "").strip(), page.response_date)
    body_el = root.find(OAI + "ListRecords")
    if body_el is None:
        body_el = root.find(OAI + "GetRecord")
    if body_el is None:
        raise MalformedXML("OAI-PMH page: neither ListRecords nor GetRecord nor an error")
    for rec in body_el.iterfind(OAI + "record"):
        header = rec.find(OAI + "header")
        if header is None:
            raise MalformedXML("OAI-PMH page: a record without a header")
        identifier = text(header.find(OAI + "identifier")) or ""
        stamp = _date(text(header.find(OAI + "datestamp")))
        if stamp is None:
            raise MalformedXML(f"OAI-PMH page: record {identifier!r} has no datestamp")
        try:
            arxiv_id = parse_arxiv_id(identifier.rpartition(":")[2]).id
        except InvalidArxivId:
            # Old-style identifiers contain no colon after the prefix: oai:arXiv.org:hep-th/9504118.
            raise MalformedXML(f"OAI-PMH page: unreadable identifier {identifier!r}") from None
        item = Item(
            identifier,
            arxiv_id,
            stamp,
            [s.text.strip() for s in header.iterfind(OAI + "setSpec") if s.text],
            deleted=header.get("status") == "deleted",
        )
        meta = rec.find(f"{OAI}metadata/{ARXIV}arXiv")
        if not item.deleted:
            if meta is None:
                item.error = "record without arXiv metadata"
            else:
                try:
                    item.record = parse_metadata(meta)
                except ValueError as e:
                    item.error = str(e)
        page.items.append(item)
    tok = body_el.find(OAI + "resumptionToken")
    if tok is not None:
        page.token = (tok.text or "").strip()
        size, cursor = tok.get("completeListSize"), tok.get("cursor")
        page.complete_list_size = int(size) if size and size.isdigit() else None
        page.cursor = int(cursor) if cursor and cursor.isdigit() else None
    return page
