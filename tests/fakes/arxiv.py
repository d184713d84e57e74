"""A fake arXiv on loopback: a real ThreadingHTTPServer that answers OAI-PMH, the API and the
announcement feed the way arXiv does, from real records, and misbehaves on request.

- OAI-PMH (/oai): ListRecords with metadataPrefix=arXiv over `records` (real records from the shared
  Kaggle file, rendered in arXiv's format), filtered by from/until/set and sorted by datestamp, in
  pages of `page_size`, with arXiv-style stateless resumption tokens (the query plus an offset).
  Errors as arXiv gives them: noRecordsMatch, badArgument, cannotDisseminateFormat,
  badResumptionToken (`expire_tokens_at_page=N`: the first token for page N or later is refused and
  every token issued before then expires, as arXiv's do at midnight).
- The API (/api/query): id_list look-ups answered from the same records; `abc` gets the recorded
  400 error feed; max_results > 2000 or start + max_results > 30000 is answered 400 and counted in
  `violations`; `api_empty_pages=N` answers the next N look-ups with a valid but empty feed.
- The announcement feed (/rss/atom/CAT+CAT): `announcements` entries rendered as arXiv's Atom feed.
- `faults`: a queue consumed one per request (any endpoint): "503:7" (Retry-After 7), "503:" (no
  header), "503:<HTTP date>", "429:N", "truncated", "html", "empty", "badutf8", "billion", "xxe",
  "gzip:whole" / "gzip:cut" (Content-Encoding: gzip, whole or cut mid-stream), "reset", "oai:CODE"
  (that OAI-PMH error), "trickle" (the page at one byte every `trickle_delay` seconds), "nodate"
  (the page without its responseDate), "baddate" (every <published> garbled), "status:CODE" (that
  HTTP status with a plain-text body, e.g. a proxy's 404 or 502).
  `repeat_tokens`: every page sends back the token it was asked with (a server in a loop).
- Observations: `requests` (real monotonic start time, path, query), `max_open` (connections open at
  once on the client's side: one the client has closed does not count, even while this server's
  thread for it is still finishing), `violations`.
"""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import json
import re
import socket
import threading
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from tests.conftest import SHARED_DATA

OAI_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
)


@dataclass
class OaiRecord:
    doc: dict[str, Any]  # a Kaggle-format record
    datestamp: dt.date
    sets: list[str] = field(default_factory=lambda: ["cs"])
    deleted: bool = False

    @property
    def arxiv_id(self) -> str:
        return str(self.doc["id"])


@dataclass
class Request:
    at: float
    path: str
    query: dict[str, str]


def kaggle_records(n: int, skip: int = 0) -> list[dict[str, Any]]:
    """The first `n` records (after `skip`) of the shared real snapshot file."""
    out = []
    path = SHARED_DATA / "arxiv_metadata" / "arxiv_cs_daily_2025-03_2026-07.kaggle.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i < skip:
                continue
            out.append(json.loads(line))
            if len(out) >= n:
                break
    return out


def _x(value: Any) -> str:
    return escape(str(value))


def render_metadata(doc: dict[str, Any]) -> str:
    created = doc.get("update_date") or "2025-03-18"
    parts = [f"<id>{_x(doc['id'])}</id><created>{_x(created)}</created>"]
    if doc.get("_updated"):
        parts.append(f"<updated>{_x(doc['_updated'])}</updated>")
    authors = "".join(
        f"<author><keyname>{_x(a[0])}</keyname>"
        + (f"<forenames>{_x(a[1])}</forenames>" if len(a) > 1 and a[1] else "")
        + "</author>"
        for a in doc.get("authors_parsed") or []
        if a and a[0]
    )
    parts.append(f"<authors>{authors}</authors><title>{_x(doc['title'])}</title>")
    parts.append(f"<categories>{_x(doc.get('categories') or 'cs.LG')}</categories>")
    for key in ("comments", "journal-ref", "doi", "license"):
        if doc.get(key):
            parts.append(f"<{key}>{_x(doc[key])}</{key}>")
    parts.append(f"<abstract>{_x(doc.get('abstract') or '')}</abstract>")
    return (
        '<arXiv xmlns="http://arxiv.org/OAI/arXiv/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' + "".join(parts) + "</arXiv>"
    )


def render_record(r: OaiRecord) -> str:
    sets = "".join(f"<setSpec>{_x(s)}</setSpec>" for s in r.sets)
    status = ' status="deleted"' if r.deleted else ""
    header = (
        f"<header{status}><identifier>oai:arXiv.org:{_x(r.arxiv_id)}</identifier>"
        f"<datestamp>{r.datestamp.isoformat()}</datestamp>{sets}</header>"
    )
    if r.deleted:
        return f"<record>{header}</record>\n"
    return f"<record>{header}<metadata>{render_metadata(r.doc)}</metadata></record>\n"


class FakeArxiv:
    def __init__(self, records: list[OaiRecord] | None = None, page_size: int = 100) -> None:
        self.records: dict[str, OaiRecord] = {r.arxiv_id: r for r in records or []}
        self.page_size = page_size
        self.today = dt.date(2026, 7, 2)
        self.faults: deque[str] = deque()
        self.trickle_delay = 0.05
        self.expire_tokens_at_page: int | None = None
        self.epoch = 0
        self.api_empty_pages = 0
        self.repeat_tokens = False
        self.announcements: list[dict[str, Any]] = []
        self.requests: list[Request] = []
        self.violations: list[str] = []
        self.max_open = 0
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # --- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> FakeArxiv:
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def oai(self) -> str:
        return self.url + "/oai"

    def env(self) -> dict[str, str]:
        """Settings that point paperfeed at this server."""
        return {
            "PAPERFEED_OAI_ENDPOINT": self.oai,
            "PAPERFEED_ARXIV_API": self.url + "/api/query",
            "PAPERFEED_ANNOUNCE_FEED": self.url + "/rss/atom/",
        }

    def oai_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path == "/oai"]

    def gaps(self, scale: float) -> list[float]:
        """Gaps between request starts, in scaled seconds."""
        starts = sorted(r.at for r in self.requests)
        return [(b - a) * scale for a, b in itertools.pairwise(starts)]

    # --- OAI ----------------------------------------------------------------------------------------

    def listing(self, start: str | None, until: str | None, set_spec: str | None) -> list[OaiRecord]:
        rows = [
            r
            for r in self.records.values()
            if (not start or r.datestamp.isoformat() >= start)
            and (not until or r.datestamp.isoformat() <= until)
            and (not set_spec or any(s == set_spec or s.startswith(set_spec + ":") for s in r.sets))
        ]
        return sorted(rows, key=lambda r: (r.datestamp, r.arxiv_id))

    def oai_answer(self, q: dict[str, str]) -> tuple[int, str]:
        def error(code: str, text: str) -> tuple[int, str]:
            return 200, self._oai_wrap(q, f'<error code="{code}">{_x(text)}</error>')

        if q.get("verb") != "ListRecords":
            return error("badVerb", "only ListRecords here")
        if "resumptionToken" in q:
            try:
                state = json.loads(urllib.parse.unquote(q["resumptionToken"]))
            except ValueError:
                return error("badResumptionToken", "unreadable token")
            page = state["offset"] // self.page_size
            if state.get("epoch") != self.epoch:
                return error("badResumptionToken", "noDataForResultSet - may have expired")
            if self.expire_tokens_at_page is not None and page >= self.expire_tokens_at_page:
                self.expire_tokens_at_page = None
                self.epoch += 1
                return error("badResumptionToken", "noDataForResultSet - may have expired")
            start, until, set_spec, offset = state["from"], state["until"], state["set"], state["offset"]
        else:
            if q.get("metadataPrefix") != "arXiv":
                return error("cannotDisseminateFormat", f"{q.get('metadataPrefix')} is not supported")
            start, until, set_spec, offset = q.get("from"), q.get("until"), q.get("set"), 0
            for d in (start, until):
                if d and len(d) != 10:
                    return error("badArgument", f"illegal date {d} (granularity is YYYY-MM-DD)")
        rows = self.listing(start, until, set_spec)
        if not rows:
            return error("noRecordsMatch", "")
        chunk = rows[offset : offset + self.page_size]
        body = "<ListRecords>\n" + "".join(render_record(r) for r in chunk)
        if offset + self.page_size < len(rows):
            token = urllib.parse.quote(
                json.dumps(
                    {
                        "from": start,
                        "until": until,
                        "set": set_spec,
                        "offset": offset + self.page_size,
                        "epoch": self.epoch,
                    },
                    separators=(",", ":"),
                )
            )
            if self.repeat_tokens and "resumptionToken" in q:
                token = q["resumptionToken"]  # a broken server: the same token over and over
            body += f"<resumptionToken>{_x(token)}</resumptionToken>\n"
        elif offset:
            body += "<resumptionToken/>\n"  # arXiv ends a multi-page list with an empty token
        body += "</ListRecords>\n"
        return 200, self._oai_wrap(q, body)

    def _oai_wrap(self, q: dict[str, str], inner: str) -> str:
        attrs = " ".join(f'{k}="{_x(v)}"' for k, v in sorted(q.items()))
        return (
            OAI_HEAD
            + f"<responseDate>{self.today.isoformat()}T20:00:00Z</responseDate>\n"
            + f"<request {attrs}>https://oaipmh.arxiv.org/oai</request>\n"
            + inner
            + "</OAI-PMH>\n"
        )

    # --- API ----------------------------------------------------------------------------------------

    def api_answer(self, q: dict[str, str]) -> tuple[int, str]:
        start, per = int(q.get("start", "0")), int(q.get("max_results", "10"))
        if per > 2000 or start + per > 30000:
            self.violations.append(f"start={start} max_results={per}")
            return 400, _API_ERROR.replace("abc", "max_results")
        ids = [i for i in q.get("id_list", "").split(",") if i]
        if "abc" in ids:
            return 400, (
                SHARED_DATA / "arxiv_protocol/query_api_atom/arxivpy_id_abc_s0_m100_b79c8dcf6bc3.xml"
            ).read_text()
        found = [self.records[i] for i in ids if i in self.records and not self.records[i].deleted]
        if self.api_empty_pages > 0:
            self.api_empty_pages -= 1
            return 200, _api_feed(len(found), start, [])
        return 200, _api_feed(len(found), start, [_api_entry(r.doc) for r in found])

    def feed_answer(self, cats: str) -> tuple[int, str]:
        entries = "".join(_announce_entry(a) for a in self.announcements)
        return 200, (
            '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
            'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"<id>https://rss.arxiv.org/atom/{_x(cats)}</id><title>{_x(cats)} updates on arXiv.org</title>"
            f"<updated>{self.today.isoformat()}T00:00:00-04:00</updated>{entries}</feed>\n"
        )


_API_ERROR = (
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns="http://www.w3.org/2005/Atom">'
    "<opensearch:totalResults>1</opensearch:totalResults><opensearch:startIndex>0</opensearch:startIndex>"
    "<entry><id>https://arxiv.org/api/errors#abc</id><title>Error</title><summary>abc</summary></entry></feed>"
)


def _api_feed(total: int, start: int, entries: list[str]) -> str:
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">'
        f"<id>https://arxiv.org/api/x</id><title>arXiv Query</title>"
        f"<opensearch:itemsPerPage>{len(entries)}</opensearch:itemsPerPage>"
        f"<opensearch:totalResults>{total}</opensearch:totalResults>"
        f"<opensearch:startIndex>{start}</opensearch:startIndex>" + "".join(entries) + "</feed>\n"
    )


def _api_entry(doc: dict[str, Any]) -> str:
    cats = (doc.get("categories") or "cs.LG").split()
    authors = "".join(f"<author><name>{_x(a.strip())}</name></author>" for a in doc["authors"].split(","))
    day = doc.get("update_date") or "2025-03-18"
    return (
        f"<entry><id>http://arxiv.org/abs/{_x(doc['id'])}v1</id><title>{_x(doc['title'])}</title>"
        f"<updated>{day}T12:00:00Z</updated><published>{day}T12:00:00Z</published>"
        f"<summary>{_x(doc.get('abstract') or '')}</summary>"
        + "".join(f'<category term="{_x(c)}" scheme="http://arxiv.org/schemas/atom"/>' for c in cats)
        + f'<arxiv:primary_category term="{_x(cats[0])}"/>'
        + (f"<arxiv:comment>{_x(doc['comments'])}</arxiv:comment>" if doc.get("comments") else "")
        + authors
        + "</entry>"
    )


def _announce_entry(a: dict[str, Any]) -> str:
    doc, kind, day = a["doc"], a["type"], a["day"]
    version = a.get("version", 1)
    cats = (doc.get("categories") or "cs.LG").split()
    return (
        f"<entry><id>oai:arXiv.org:{_x(doc['id'])}v{version}</id><title>{_x(doc['title'])}</title>"
        f"<updated>{day}T00:00:00-04:00</updated>"
        f'<link href="https://arxiv.org/abs/{_x(doc["id"])}" rel="alternate" type="text/html"/>'
        f"<summary>arXiv:{_x(doc['id'])}v{version} Announce Type: {kind} \n"
        f"Abstract: {_x(doc.get('abstract') or '')}</summary>"
        + "".join(f'<category term="{_x(c)}"/>' for c in cats)
        + f"<published>{day}T00:00:00-04:00</published><arxiv:announce_type>{kind}</arxiv:announce_type>"
        f"<dc:rights>http://creativecommons.org/licenses/by/4.0/</dc:rights>"
        f"<dc:creator>{_x(doc['authors'])}</dc:creator></entry>"
    )


_BILLION = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b']>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>&lol9;</responseDate></OAI-PMH>\n'
)
_XXE = (
    b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2026-07-02T20:00:00Z</responseDate>'
    b"<ListRecords><record><header><identifier>oai:arXiv.org:2501.00001</identifier><datestamp>2026-07-01"
    b"</datestamp></header><metadata><arXiv xmlns='http://arxiv.org/OAI/arXiv/'><id>2501.00001</id>"
    b"<title>&xxe;</title><abstract>&xxe;</abstract></arXiv></metadata></record></ListRecords></OAI-PMH>\n"
)


def _peer_open(conn: socket.socket) -> bool:
    """Whether the client has not closed `conn`: its request was read, so a peek finds nothing yet
    (open) or the end of the stream (closed; on loopback its close has arrived before it connects
    again)."""
    try:
        return conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True
    except OSError:  # reset, or already shut down here
        return False


class _Handler(BaseHTTPRequestHandler):
    server_fake: FakeArxiv
    protocol_version = "HTTP/1.0"

    def setup(self) -> None:
        super().setup()
        f = self.server_fake
        with f._lock:
            # Counted by whether the client still holds each earlier connection, not by whether
            # its thread here has finished: on a loaded machine that thread can lag behind a client
            # that read its answer, closed, waited its gap and connected again (counted 2 once).
            others = sum(1 for c in f._conns if _peer_open(c))
            f._conns.add(self.connection)
            f.max_open = max(f.max_open, others + 1)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            f = self.server_fake
            with f._lock:
                f._conns.discard(self.connection)

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str = "text/xml; charset=utf-8", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k.replace("_", "-"), v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        f = self.server_fake
        parsed = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        with f._lock:
            f.requests.append(Request(time.monotonic(), parsed.path, q))
            fault = f.faults.popleft() if f.faults else None
            if parsed.path == "/oai":
                status, text = f.oai_answer(q)
            elif parsed.path == "/api/query":
                status, text = f.api_answer(q)
            elif parsed.path.startswith("/rss/atom/"):
                status, text = f.feed_answer(parsed.path.removeprefix("/rss/atom/"))
            else:
                status, text = 404, "not here"
        body = text.encode()
        if fault is None:
            self._send(status, body)
            return
        kind, _, arg = fault.partition(":")
        if kind in ("503", "429"):
            extra = {"Retry_After": arg} if arg else {}
            self._send(int(kind), b"<html><body>Retry later</body></html>", "text/html", **extra)
        elif kind == "oai":
            with f._lock:
                text = f._oai_wrap(q, f'<error code="{arg}">{arg} (injected)</error>')
            self._send(200, text.encode())
        elif kind == "truncated":
            self._send(200, body[: len(body) // 2])
        elif kind == "baddate":
            self._send(
                200, re.sub(rb"<published>[^<]*</published>", b"<published>Tuesday-ish</published>", body)
            )
        elif kind == "status":
            self._send(int(arg), b"not here", "text/plain")
        elif kind == "nodate":
            self._send(200, re.sub(rb"<responseDate>[^<]*</responseDate>\n?", b"", body))
        elif kind == "gzip":
            # gzip:whole is a normal compressed answer; gzip:cut stops mid-stream with a
            # Content-Length that matches the cut, so only the decompressor can tell.
            packed = gzip.compress(body)
            self._send(200, packed[: len(packed) // 2] if arg == "cut" else packed, Content_Encoding="gzip")
        elif kind == "html":
            self._send(200, b"<html><body><h1>arXiv is down for maintenance</h1></body></html>", "text/html")
        elif kind == "empty":
            self._send(200, b"")
        elif kind == "badutf8":
            cut = body.index(b"<title>") + 7
            self._send(200, body[:cut] + b"\xff\xfe\xc3(" + body[cut:])
        elif kind == "billion":
            self._send(200, _BILLION)
        elif kind == "xxe":
            self._send(200, _XXE)
        elif kind == "reset":
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            self.connection.close()
        elif kind == "trickle":
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for i in range(len(body)):
                    self.wfile.write(body[i : i + 1])
                    self.wfile.flush()
                    time.sleep(f.trickle_delay)
            except OSError:
                return
        else:
            raise ValueError(f"unknown fault {fault!r}")


def spread(
    docs: list[dict[str, Any]], first: dt.date, days: int, sets: list[str] | None = None
) -> list[OaiRecord]:
    """Records with datestamps spread evenly over `days` days from `first`."""
    per_day = max(1, -(-len(docs) // days))
    return [
        OaiRecord(doc, first + dt.timedelta(days=i // per_day), list(sets or ["cs"]))
        for i, doc in enumerate(docs)
    ]


def serve_forever(port_file: Path, records: list[OaiRecord], page_size: int) -> None:
    """For the chaos scenario: run a fake in this process and write its URL to `port_file`."""
    fake = FakeArxiv(records, page_size).start()
    port_file.write_text(fake.url)
    while True:
        time.sleep(3600)
