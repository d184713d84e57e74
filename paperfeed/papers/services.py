"""Storing papers: an idempotent, batched upsert by arXiv id that every source goes through.

Each batch is one transaction (papers, their authors, categories, links, the change log and the
caller's checkpoint together), so a crash loses at most the batch in flight and a re-run redoes it
without duplicates. A record whose merged content hashes like the stored one changes nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import logging
import operator
import sqlite3
import weakref
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from django.db import connection, models, transaction
from django.utils import timezone

from paperfeed.core.failpoints import failpoint
from paperfeed.core.text import quoted
from paperfeed.papers import taxonomy
from paperfeed.papers.models import Author, Authorship, Category, Paper, PaperCategory, PaperChange, PaperLink
from paperfeed.papers.records import PaperRecord, Version, parse_name, slugify_name
from paperfeed.papers.signals import PAPER_EXTRAS  # filled by other apps at start-up
from paperfeed.papers.titles import title_digest

log = logging.getLogger(__name__)

_STORED_FIELDS = ("id", "arxiv_id", "content_hash", "status", *PaperRecord.MERGEABLE)


def _stored(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row in PaperRecord's terms (empty strings and lists mean 'unknown' there)."""
    out = dict(row)
    for k in ("comments", "journal_ref", "doi", "report_no", "license", "submitter"):
        out[k] = row[k] or None
    out["versions"] = (
        [
            Version(v["version"], dt.datetime.fromisoformat(v["date"]), v.get("size", ""))
            for v in row["versions"]
        ]
        if row["versions"]
        else None
    )
    return out


def _paper_fields(
    rec: PaperRecord, content_hash: str, source: str, *, as_json_text: bool = False
) -> dict[str, Any]:
    """Column values of a paper; with `as_json_text` the JSON columns come as encoded text (the
    record's cached encoding, possibly done by the producer process) for a raw INSERT or COPY."""
    authors_text, versions_text = rec.json_columns() if as_json_text else (None, None)
    return {
        "arxiv_id": rec.arxiv_id,
        "version": rec.version,
        "title": rec.title,
        "title_digest": title_digest(rec.title),
        "abstract": rec.abstract,
        "authors_text": rec.authors_text,
        "authors": authors_text if as_json_text else [a.as_json() for a in rec.authors],
        "comments": rec.comments or "",
        "journal_ref": rec.journal_ref or "",
        "doi": rec.doi or "",
        "report_no": rec.report_no or "",
        "license": rec.license or "",
        "submitter": rec.submitter or "",
        "primary_category_id": rec.primary_category,
        "versions": versions_text if as_json_text else [v.as_json() for v in rec.versions or []],
        "published": rec.published,
        "updated": rec.updated,
        "announced": rec.announced,
        "status": (
            Paper.Status.DELETED
            if rec.deleted
            else Paper.Status.WITHDRAWN
            if rec.withdrawn
            else Paper.Status.ACTIVE
        ),
        "source": source,
        "content_hash": content_hash,
    }


class _BoundedCache(dict[str, int]):
    """Author ids seen in this run. Starting afresh when full is cheaper per name than keeping LRU
    order, and a miss only costs one SELECT in a batch."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put_all(self, found: dict[str, int]) -> None:
        if len(self) + len(found) > self.size:
            self.clear()
        self.update(found)


_NARROW = 4  # columns


def _insert_rows(
    model: type[models.Model],
    columns: list[str],
    rows: list[tuple[Any, ...]],
    *,
    ignore_conflicts: bool = False,
) -> None:
    """Insert many plain rows (values already in database form) without building model instances,
    which is where bulk_create spent most of an import. SQLite: multi-row INSERTs of narrow rows.
    PostgreSQL: COPY, or multi-row INSERTs where conflicts are to be ignored (a statement per row
    there costs a round trip each)."""
    if not rows:
        return
    qn = connection.ops.quote_name
    table, cols = qn(model._meta.db_table), ", ".join(qn(c) for c in columns)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            if not ignore_conflicts:
                # Identifiers come from model metadata, quoted; values are bound, never formatted in.
                # psycopg's own cursor, under Django's error names: a database gone mid-COPY is an
                # OperationalError (core.middleware's 503), as from any other statement.
                with (
                    connection.wrap_database_errors,
                    cur.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy,
                ):
                    for row in rows:
                        copy.write_row(row)
                return
            # One array parameter per column: binding stays cheap however many rows there are.
            fields = {f.column: f for f in model._meta.concrete_fields}
            arrays = ", ".join(f"%s::{fields[c].db_type(connection)}[]" for c in columns)
            cur.execute(
                f"INSERT INTO {table} ({cols}) SELECT * FROM unnest({arrays}) ON CONFLICT DO NOTHING",  # noqa: S608  # nosec B608
                [list(col) for col in zip(*rows, strict=True)],
            )
            return
        conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
        if len(columns) > _NARROW:
            one = f"({', '.join(['%s'] * len(columns))})"
            cur.executemany(f"INSERT INTO {table} ({cols}) VALUES {one}{conflict}", rows)  # noqa: S608  # nosec B608
            return
        # Narrow rows (the join tables): as many per statement as SQLite binds. executemany runs
        # the statement once per row, and each run of an INSERT into an AUTOINCREMENT table also
        # reads and writes sqlite_sequence: 433,000 authorships took 2.9 s of CPU, 2.4 s now. For
        # papers (20 columns, long texts) one multi-row statement measured slower (1.1 -> 1.7 s).
        per = max(1, (connection.features.max_query_params or 999) // len(columns))
        one = f"({', '.join(['?'] * len(columns))})"
        for i in range(0, len(rows), per):
            chunk = rows[i : i + per]
            _sqlite_execute(
                cur,
                f"INSERT INTO {table} ({cols}) VALUES {', '.join([one] * len(chunk))}{conflict}",  # noqa: S608  # nosec B608
                list(itertools.chain.from_iterable(chunk)),
            )


def _sqlite_execute(cur: Any, sql: str, params: list[Any]) -> None:
    """Run `sql`, written with SQLite's own ? placeholders, on the driver's cursor. Django's wrapper
    rewrites each %s with a regex (1 s of an import's CPU in statements of thousands of values) and,
    when it logs queries (DEBUG), formats the statement with %, which ? placeholders would break."""
    with connection.wrap_database_errors:
        sqlite3.Cursor.execute(cur.cursor, sql, params)


# The batch's timestamps go last, so a row prepared ahead of time is completed by appending them.
_STAMPS = ["created_at", "modified_at"]
_PAPER_COLUMNS: list[str] = [
    str(f.column) for f in Paper._meta.concrete_fields if f.column not in ("id", *_STAMPS)
] + _STAMPS
_ROW_COLUMNS = _PAPER_COLUMNS[: -len(_STAMPS)]
_PAPER_TYPES = {str(f.column): f.get_internal_type() for f in Paper._meta.concrete_fields}
_ANNOUNCED = _ROW_COLUMNS.index("announced")


# Per connection's operations (one per thread and database): looked up per row, built once.
_ADAPTERS: weakref.WeakKeyDictionary[Any, list[tuple[int, Callable[[Any], Any]]]] = (
    weakref.WeakKeyDictionary()
)
_ROW_VALUES = operator.itemgetter(*_ROW_COLUMNS)


def _column_adapters() -> list[tuple[int, Callable[[Any], Any]]]:
    """(position, adapter) of the columns (but the timestamps) whose value the backend converts to
    database form, with the backend's own adapter as Field.get_db_prep_save ends up calling it; the
    other columns are stored as they are. JSON text is already encoded: SQLite stores text and COPY
    parses it for jsonb."""
    ops = connection.ops
    cached = _ADAPTERS.get(ops)
    if cached is not None:
        return cached
    by_kind: dict[str, Callable[[Any], Any]] = {
        "JSONField": lambda v: v if isinstance(v, str) else ops.adapt_json_value(v, None),
        "DateTimeField": ops.adapt_datetimefield_value,
        "DateField": ops.adapt_datefield_value,
    }
    cached = _ADAPTERS[ops] = [
        (i, by_kind[_PAPER_TYPES[c]]) for i, c in enumerate(_ROW_COLUMNS) if _PAPER_TYPES[c] in by_kind
    ]
    return cached


def _paper_row(values: dict[str, Any]) -> tuple[Any, ...]:
    """Column values but the timestamps, in database form. Taken out of the dict at once and then
    converted where needed (5 of 20 columns): a Python step per column cost 0.8 s of an import."""
    row = list(_ROW_VALUES(values))
    for i, adapt in _column_adapters():
        if row[i] is not None:
            row[i] = adapt(row[i])
    return tuple(row)


class Prepared(NamedTuple):
    """A record made ready for storage ahead of time (by the import's producer process, which ships
    these to the writer): what creating its paper needs, all in plain tuples and strings. Pickling
    the PaperRecords themselves (dataclasses, name tuples, dates) and their caches cost the snapshot
    import ~4 s of CPU across the two processes, as much as the writer's inserts of 74,728 papers.
    A paper that is stored already is merged from its full record: `rebuild()` makes it again."""

    arxiv_id: str
    version: int | None
    source: str
    row: tuple[Any, ...]  # _PAPER_COLUMNS but the timestamps, in database form
    categories: tuple[str, ...]  # primary first
    authors: tuple[tuple[str, str], ...]  # (key, display) of each distinct name, in order
    links: tuple[tuple[str, str, str], ...]  # (kind, url, source)
    rebuild: Callable[[], PaperRecord]


def prepare_for_storage(
    rec: PaperRecord, source: str, rebuild: Callable[[], PaperRecord] | None = None
) -> Prepared:
    """What storing `rec` as a new paper needs. `rebuild` makes the record again where it is used
    (a producer process ships it: a line of the source file to parse again, say, not the record)."""
    return Prepared(
        rec.arxiv_id,
        rec.version,
        source,
        _paper_row(_paper_fields(rec, rec.content_hash(), source, as_json_text=True)),
        tuple(rec.categories),
        tuple((a[4], a[3]) for a in rec.distinct_authors()),
        tuple((lk.kind, lk.url, lk.source) for lk in rec.links()),
        rebuild or functools.partial(_same, rec),
    )


def _same(rec: PaperRecord) -> PaperRecord:
    return rec


def _select_in(select: str, column: str, values: list[str]) -> list[tuple[Any, ...]]:
    """Rows of `select` (a SELECT … FROM …) whose `column` is one of `values`. Plain SQL because
    Django's `__in` lookup prepares every value one by one; PostgreSQL gets one array parameter,
    SQLite chunks of bound parameters (it caps their number)."""
    out: list[tuple[Any, ...]] = []
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(f"{select} WHERE {column} = ANY(%s)", [values])
            return list(cur.fetchall())
        for i in range(0, len(values), 5000):
            chunk = values[i : i + 5000]
            _sqlite_execute(cur, f"{select} WHERE {column} IN ({', '.join(['?'] * len(chunk))})", chunk)
            out.extend(cur.fetchall())
    return out


class Ingestor:
    """Feed records with `add()` (and deletions with `delete()`); `flush()` stores a batch.

    `counts` has created / updated / unchanged / deleted. Use as a context manager, or call
    `flush()` at the end; `flush(checkpoint=fn)` runs fn inside the batch's transaction.
    """

    def __init__(self, source: str, batch_size: int = 1000) -> None:
        self.source = source
        self.batch_size = batch_size
        self.counts: Counter[str] = Counter()
        self._pending: dict[str, PaperRecord | Prepared] = {}
        self._deletes: set[str] = set()
        self._authors = _BoundedCache(200_000)
        self._categories: set[str] = set()
        self.on_batch: list[Callable[[Counter[str]], None]] = []

    def __enter__(self) -> Ingestor:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.flush()

    def add(self, record: PaperRecord | Prepared) -> None:
        old = self._pending.get(record.arxiv_id)
        if old is None or (record.version or 0) >= (old.version or 0):
            self._pending[record.arxiv_id] = record
        self._deletes.discard(record.arxiv_id)
        if len(self._pending) >= self.batch_size:
            self.flush()

    def add_all(self, records: Iterable[PaperRecord]) -> None:
        for r in records:
            self.add(r)

    def delete(self, arxiv_id: str) -> None:
        self._pending.pop(arxiv_id, None)
        self._deletes.add(arxiv_id)

    @property
    def pending(self) -> int:
        return len(self._pending) + len(self._deletes)

    def flush(self, checkpoint: Callable[[], None] | None = None) -> Counter[str]:
        records, deletes = list(self._pending.values()), sorted(self._deletes)
        self._pending, self._deletes = {}, set()
        batch: Counter[str] = Counter()
        if records or deletes or checkpoint:
            with transaction.atomic():
                batch = self._store(records, deletes)
                failpoint("ingest.before_commit")
                if checkpoint:
                    checkpoint()
            failpoint("ingest.after_commit")
        self.counts.update(batch)
        for fn in self.on_batch:
            fn(batch)
        return batch

    # --- the batch -------------------------------------------------------------------------------

    def _store(self, records: list[PaperRecord | Prepared], deletes: list[str]) -> Counter[str]:
        counts: Counter[str] = Counter()
        ids = [r.arxiv_id for r in records]
        # Which ids exist, in plain SQL first: on a first import none do, and the ORM's `__in` lookup
        # would prepare every id only to find that out.
        known = [row[0] for row in _select_in("SELECT arxiv_id FROM papers_paper", "arxiv_id", ids)]
        existing = (
            {
                row["arxiv_id"]: _stored(row)
                for row in Paper.objects.filter(arxiv_id__in=known)
                .values(*_STORED_FIELDS)
                .iterator(chunk_size=2000)
            }
            if known
            else {}
        )
        creates: list[Prepared] = []
        updates: list[tuple[int, PaperRecord, str]] = []
        for item in records:
            stored = existing.get(item.arxiv_id)
            if stored is None:
                if not isinstance(item, Prepared):
                    item = prepare_for_storage(item, self.source)
                elif item.source != self.source:
                    item = prepare_for_storage(item.rebuild(), self.source)
                creates.append(item)
                continue
            rec = item.rebuild() if isinstance(item, Prepared) else item
            if rec.version and stored["version"] and stored["version"] > rec.version:
                counts["unchanged"] += 1  # an older version never replaces a newer one
                continue
            merged = rec.merged_with(stored)
            h = merged.content_hash()
            if (
                h == stored["content_hash"]
                and stored["status"] != Paper.Status.DELETED
                and merged.announced == stored["announced"]
            ):
                counts["unchanged"] += 1
            else:
                updates.append((stored["id"], merged, h))

        # What the join tables need of each paper, created or updated: (categories, authors, links).
        parts = [(p.categories, p.authors, p.links) for p in creates]
        parts += [
            (
                tuple(r.categories),
                tuple((a[4], a[3]) for a in r.distinct_authors()),
                tuple((lk.kind, lk.url, lk.source) for lk in r.links()),
            )
            for _, r, _ in updates
        ]
        self._ensure_categories({c for cats, _, _ in parts for c in cats})
        author_ids = self._ensure_authors({key: name for _, names, _ in parts for key, name in names})

        now = timezone.now()
        stamp = connection.ops.adapt_datetimefield_value(now)
        _insert_rows(Paper, _PAPER_COLUMNS, [(*p.row, stamp, stamp) for p in creates])
        new_pks = dict(
            _select_in("SELECT arxiv_id, id FROM papers_paper", "arxiv_id", [p.arxiv_id for p in creates])
        )
        counts["created"] += len(creates)
        for pk, rec, h in updates:
            # Not PaperQuerySet.update, which would copy the day to listings rewritten just below
            # (the fields carry the title's digest already).
            models.QuerySet.update(
                Paper.objects.filter(pk=pk), **_paper_fields(rec, h, self.source), modified_at=now
            )
        counts["updated"] += len(updates)
        updated_pks = [pk for pk, _, _ in updates]
        if updated_pks:
            PaperCategory.objects.filter(paper_id__in=updated_pks).delete()
            Authorship.objects.filter(paper_id__in=updated_pks).delete()
            PaperLink.objects.filter(paper_id__in=updated_pks).exclude(source="curated").delete()

        children = [
            (pk, *part)
            for pk, part in zip([new_pks[p.arxiv_id] for p in creates] + updated_pks, parts, strict=True)
        ]
        # Each listing carries its paper's day (PaperCategory.announced), in database form.
        adapt_day = connection.ops.adapt_datefield_value
        days = [p.row[_ANNOUNCED] for p in creates] + [adapt_day(r.announced) for _, r, _ in updates]
        _insert_rows(
            PaperCategory,
            ["paper_id", "category_id", "position", "announced"],
            [
                (pk, c, i, day)
                for (pk, cats, _, _), day in zip(children, days, strict=True)
                for i, c in enumerate(cats)
            ],
        )
        _insert_rows(
            Authorship,
            ["paper_id", "author_id", "position"],
            [(pk, author_ids[key], i) for pk, _, names, _ in children for i, (key, _) in enumerate(names)],
        )
        links = [(pk, kind, url, src) for pk, _, _, lks in children for kind, url, src in lks]
        if updated_pks and links:
            # A curated link may already hold one of these URLs.
            kept = set(PaperLink.objects.filter(paper_id__in=updated_pks).values_list("paper_id", "url"))
            links = [row for row in links if (row[0], row[2]) not in kept]
        _insert_rows(PaperLink, ["paper_id", "kind", "url", "source"], links)

        changed = [pk for pk, *_ in children]
        if deletes:
            gone = list(
                Paper.objects.filter(arxiv_id__in=deletes)
                .exclude(status=Paper.Status.DELETED)
                .values_list("pk", flat=True)
            )
            Paper.objects.filter(pk__in=gone).update(status=Paper.Status.DELETED, modified_at=now)
            counts["deleted"] += len(gone)
            changed += gone
        # The adapted stamp, as the ORM stores `at` (harvests create these rows with it): the driver's
        # own adapter wrote the datetime with its offset, and cost 0.5 s of an import's 74,728 rows.
        _insert_rows(PaperChange, ["paper_id", "at"], [(pk, stamp) for pk in changed])
        return counts

    def _ensure_categories(self, codes: set[str]) -> None:
        new = codes - self._categories
        if new:
            Category.objects.bulk_create(
                [Category(code=c, name=taxonomy.NAMES.get(c, "")) for c in sorted(new)], ignore_conflicts=True
            )
            self._categories |= new

    def _ensure_authors(self, names: dict[str, str]) -> dict[str, int]:
        ids = {k: self._authors[k] for k in names if k in self._authors}
        missing = [k for k in names if k not in ids]
        if missing:
            sql = "SELECT key, id FROM papers_author"
            found = dict(_select_in(sql, "key", missing))
            new = [k for k in missing if k not in found]
            if new:
                _insert_rows(
                    Author, ["key", "name"], [(k, names[k][:300]) for k in new], ignore_conflicts=True
                )
                found.update(_select_in(sql, "key", new))
            self._authors.put_all(found)
            ids.update(found)
        return ids


# --- categories and authors by what people type -------------------------------------------------


# Papers created by one run after which PostgreSQL's statistics are refreshed at once.
ANALYZE_AFTER = 5_000


def refresh_statistics(sender: object = None, *, counts: dict[str, int], **kwargs: Any) -> bool:
    """After a bulk load on PostgreSQL, bring the planner's statistics up to date (the
    papers_ingested receiver). Autovacuum analyses a grown table only some time later; until it
    has, the planner guesses and read all of papers_paper for look-ups an index serves (the library
    import's title digests, seen on 75k papers). SQLite plans without statistics. Whether it ran."""
    if counts.get("created", 0) < ANALYZE_AFTER or connection.vendor != "postgresql":
        return False
    log.info("%d papers created: updating the database's statistics (ANALYZE)", counts["created"])
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return True


def resolve_categories(values: Iterable[str], *, stored_only: bool = False) -> tuple[list[str], list[str]]:
    """Category codes as arXiv writes them for what someone typed (cs.cl is cs.CL), without repeats,
    and the entries that name none. Known: the stored papers' categories and, unless `stored_only`,
    arXiv's list, so a subscriber list or a search can name a category before the first harvest
    brings one of its papers. (`taxonomy.is_category` alone would pass cs.XX: any subject of a known
    archive.)"""
    entries = list(dict.fromkeys(v.strip() for v in values if v and v.strip()))
    known = {} if stored_only else {c.lower(): c for c in taxonomy.NAMES}
    if any(e.lower() not in known for e in entries):
        known.update((c.lower(), c) for c in Category.objects.values_list("code", flat=True))
    codes = [known[e.lower()] for e in entries if e.lower() in known]
    return list(dict.fromkeys(codes)), [e for e in entries if e.lower() not in known]


def categories_problem(codes: Iterable[str]) -> str:
    """Why `codes` (a saved search's `cat:` codes, a digest alert's) cannot be kept, "" if they can: one
    that neither arXiv nor a stored paper has would never list a paper. The one message for it, on
    the settings page, the search page's Save and the command line alike."""
    _, unknown = resolve_categories(codes)
    return no_such_categories(unknown) if unknown else ""


def no_such_categories(unknown: list[str], *, stored_only: bool = False) -> str:
    """The one wording of unknown category codes, on every surface that takes them (search's `cat:`
    and --category, the follow and digest settings, `subscribers add --category`, a saved search).
    `stored_only`: the codes were checked against this site's papers alone (a follow), so a real
    arXiv code that no paper here has is refused too, and the message must not call it unheard of.
    Each code is quoted and cut (someone's text), at most five named."""
    named = ", ".join(quoted(c, 40) for c in unknown[:5]) + (
        f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
    )
    where = " on this site" if stored_only else ""
    return f"No such category{where}: {named} (codes look like cs.CL, math.PR, hep-th)."


def author_key_candidates(text: str) -> list[str]:
    """The keys `text` may stand for, best first: itself, the key in an author page's address
    (".../authors/<key>"), the name as papers print it ("Torbjörn E. M. Nordling", accents optional)
    or as arXiv lists it ("Nordling, Torbjörn E. M.")."""
    page = text.rstrip("/").rpartition("/authors/")[2] if "/authors/" in text else text
    return list(dict.fromkeys([page, slugify_name(text), parse_name(text).key]))


def stored_author_keys(texts: list[str]) -> dict[str, str]:
    """{candidate key: the current key of its author} for the candidates of `texts` that name one:
    a key an author had before a re-key (an old address, a bookmarked follow) names them still."""
    return Author.objects.current_keys(k for t in texts for k in author_key_candidates(t))


def author_key(text: str, stored: dict[str, str]) -> str | None:
    return next((stored[k] for k in author_key_candidates(text) if k in stored), None)


def state_get(name: str) -> dict[str, Any]:
    from paperfeed.papers.models import HarvestState

    row = HarvestState.objects.filter(name=name).values_list("state", flat=True).first()
    return dict(row) if row else {}


def state_put(name: str, state: dict[str, Any]) -> None:
    from paperfeed.papers.models import HarvestState

    HarvestState.objects.update_or_create(name=name, defaults={"state": state})


def paper_extras(paper: Paper) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fn in PAPER_EXTRAS:
        out.update(fn(paper))
    return out


def fetch_papers(ids: Iterable[str]) -> dict[str, Paper]:
    """Look papers up on arXiv (its API, politely), store them and return them by id. Raises
    `UnknownPaper` naming the ids arXiv does not have, or an ArxivError when arXiv cannot be reached."""
    from paperfeed.papers.lookup import UnknownPaper, fetch
    from paperfeed.papers.sources.http import ArxivClient

    # Called from a web request (the submit button): two attempts, not a harvest's patience.
    papers, unknown, _ = fetch(ids, ArxivClient(attempts=2))
    if unknown:
        raise UnknownPaper(unknown)
    return papers
