"""Looking papers up by id through the arXiv API (Atom), and reading the announcement feed.

Only id look-ups: nothing here pages through search results, so no code path can walk the whole
API (arXiv asks for OAI-PMH or the snapshot for bulk work). A request names at most
`IDS_PER_REQUEST` ids with max_results equal to their number and start=0, far inside the API's
limits (max_results ≤ 2000, start + max_results ≤ 30000).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable

from paperfeed.conf import env
from paperfeed.papers.arxiv_ids import parse_arxiv_id
from paperfeed.papers.models import Paper
from paperfeed.papers.records import PaperRecord
from paperfeed.papers.services import Ingestor
from paperfeed.papers.sources.atom import ApiError, Entry, parse_announcements, parse_api_feed
from paperfeed.papers.sources.http import ArxivClient, ArxivError, ArxivHTTPError, backoff
from paperfeed.papers.sources.xml import MalformedXML

log = logging.getLogger(__name__)

IDS_PER_REQUEST = 100
API_MAX_RESULTS = 2000  # the API's slice limit
API_MAX_WINDOW = 30000  # start + max_results above this is answered 400
EMPTY_PAGE_RETRIES = 3


class UnknownPaper(LookupError):
    def __init__(self, ids: list[str]) -> None:
        super().__init__(f"arXiv has no paper {', '.join(ids)}")
        self.ids = ids


def api_params(ids: list[str], start: int = 0) -> dict[str, str]:
    if len(ids) > API_MAX_RESULTS or start + len(ids) > API_MAX_WINDOW:
        raise ValueError("an id look-up larger than the arXiv API allows")
    return {"id_list": ",".join(ids), "start": str(start), "max_results": str(len(ids))}


def lookup_records(
    ids: Iterable[str], client: ArxivClient | None = None
) -> tuple[list[PaperRecord], list[str]]:
    """(records found, ids arXiv does not know). Raises ArxivError / ApiError on failure."""
    client = client or ArxivClient()
    wanted = list(dict.fromkeys(parse_arxiv_id(i).id for i in ids))
    found: dict[str, PaperRecord] = {}
    for i in range(0, len(wanted), IDS_PER_REQUEST):
        chunk = wanted[i : i + IDS_PER_REQUEST]
        params = api_params(chunk)
        for attempt in range(1, EMPTY_PAGE_RETRIES + 2):
            try:
                page = client.get_parsed(env("PAPERFEED_ARXIV_API"), parse_api_feed, params)
            except ArxivHTTPError as e:
                # A 400 comes with an Atom error entry saying what was wrong.
                try:
                    parse_api_feed(e.body)
                except (ApiError, MalformedXML) as inner:
                    raise ApiError(str(inner)) from None
                raise
            if not page.records and page.total > page.start:
                # A known API fault: a valid but empty page although results exist.
                if attempt > EMPTY_PAGE_RETRIES:
                    raise ArxivError(
                        f"the arXiv API kept answering an empty page although it reports {page.total} "
                        f"result(s) ({EMPTY_PAGE_RETRIES} retries)"
                    )
                log.warning("empty API page with totalResults=%d; asking again", page.total)
                client.stats.retries += 1
                client.limiter.defer(backoff(attempt))
                continue
            for rec in page.records:
                if rec.arxiv_id in chunk:
                    found[rec.arxiv_id] = rec
            break
    return list(found.values()), [i for i in wanted if i not in found]


def fetch(
    ids: Iterable[str], client: ArxivClient | None = None
) -> tuple[dict[str, Paper], list[str], Counter[str]]:
    """Look papers up on arXiv and store them; (stored papers by id, unknown ids, counts)."""
    records, unknown = lookup_records(ids, client)
    ingestor = Ingestor("api", batch_size=1 << 30)
    for rec in records:
        ingestor.add(rec)
    ingestor.flush()
    papers = {p.arxiv_id: p for p in Paper.objects.filter(arxiv_id__in=[r.arxiv_id for r in records])}
    return papers, unknown, ingestor.counts


def read_announcements(categories: list[str], client: ArxivClient | None = None) -> list[Entry]:
    client = client or ArxivClient()
    base = env("PAPERFEED_ANNOUNCE_FEED").rstrip("/") + "/"
    return client.get_parsed(base + "+".join(categories), parse_announcements)
