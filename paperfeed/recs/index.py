"""The papers "for you" chooses from: the newest WINDOW_DAYS of the catalogue, as feature rows.

A process maps the window saved under the home (store.py: built once per machine, refreshed by the
worker after imports and harvests) and brings it up to date from the `PaperChange` log (only changed
papers are re-read and re-hashed; idf comes from the window's document frequencies). With no usable
saved window, the first process to need one builds it from the database and saves it for the others.
The window ends at the newest announced paper, not today, so an imported snapshot has candidates too.

A web worker (`serve` marks it: core.warmup.serving) never builds in its own process: the build (131 s of
CPU at 1M synthetic papers) would hold its GIL against the requests it serves, and a request waiting
for it would pass gunicorn's timeout. It starts `paperfeed window` as a child instead (the worker job's
code, refresh_saved), handing it the builder lock, and until the window is saved candidates() raises
NotReady, which "for you" answers without waiting (recs.views, recs.api).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from django.apps import apps
from django.db.models import Max

from paperfeed.conf import env_int
from paperfeed.core import clock, warmup
from paperfeed.papers.models import Paper, PaperCategory, PaperChange
from paperfeed.recs import model, store

log = logging.getLogger(__name__)

CHECK_EVERY_S = 2.0  # how often a busy process asks whether papers changed


def window_days() -> int:
    return env_int("PAPERFEED_RECS_WINDOW_DAYS")


@dataclass
class Candidates:
    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    days: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype="datetime64[D]"))
    categories: list[tuple[str, ...]] = field(default_factory=list)
    authors: list[tuple[str, ...]] = field(default_factory=list)  # author keys
    counts: sp.csr_matrix = field(
        default_factory=lambda: sp.csr_matrix((0, model.N_FEATURES), dtype=np.float32)
    )
    rows: sp.csr_matrix = field(
        default_factory=lambda: sp.csr_matrix((0, model.N_FEATURES), dtype=np.float32)
    )
    # The rows' transpose (terms x candidates), an inverted index: a user's profile and liked papers
    # are scored by reading only their own terms (model.score, model.similarities).
    by_term: sp.csr_matrix = field(
        default_factory=lambda: sp.csr_matrix((model.N_FEATURES, 0), dtype=np.float32)
    )
    idf: model.Idf = field(default_factory=lambda: model.Idf(np.zeros(model.N_FEATURES, np.int64), 0))
    category_index: model.Categories = field(default_factory=lambda: model.Categories([]))
    category_rows: sp.csr_matrix = field(default_factory=lambda: sp.csr_matrix((0, 0), dtype=np.float64))
    dense: np.ndarray | None = None  # the search index's sentence embeddings (zero rows: not embedded yet)
    has_dense: np.ndarray | None = None  # rows of `dense` that hold an embedding
    embedded: int = -1  # how many embeddings the database had when `dense` was read
    watermark: int = 0
    checked: float = 0.0
    since: dt.date | None = None  # the window's first day
    source: str = ""  # the saved window it started from ("": built in this process)

    def __len__(self) -> int:
        return len(self.ids)

    def row_of(self) -> dict[int, int]:
        return {int(p): i for i, p in enumerate(self.ids)}


LOAD_CHUNK = 5000  # papers read and hashed at a time: only their compact rows are kept


@dataclass
class _Part:
    """Papers of the window as the index keeps them: no text, only what ranking needs."""

    ids: list[int] = field(default_factory=list)
    days: list[dt.date] = field(default_factory=list)
    categories: list[tuple[str, ...]] = field(default_factory=list)
    authors: list[tuple[str, ...]] = field(default_factory=list)
    counts: list[sp.csr_matrix] = field(default_factory=list)

    def matrix(self) -> sp.csr_matrix:
        if not self.counts:
            return sp.csr_matrix((0, model.N_FEATURES), dtype=np.float32)
        return sp.vstack(self.counts, format="csr")


def _load(ids: list[int] | None, since: dt.date) -> _Part:
    """The window's papers (those of `ids` only, when given), LOAD_CHUNK at a time in id order, so
    neither their texts nor an IN list of every id is ever held at once (the window holds 274,000
    papers at 1M synthetic ones)."""
    qs = Paper.objects.active().filter(announced__gte=since).order_by("id")
    fields = ("id", "title", "abstract", "announced", "authors", "primary_category_id")
    out = _Part()
    todo = sorted(ids) if ids is not None else None
    after = 0
    while True:
        if todo is not None:
            chunk_ids, todo = todo[:LOAD_CHUNK], todo[LOAD_CHUNK:]
            if not chunk_ids:
                break
            rows = list(qs.filter(pk__in=chunk_ids).values(*fields))
        else:
            rows = list(qs.filter(pk__gt=after).values(*fields)[:LOAD_CHUNK])
            if not rows:
                break
            after = rows[-1]["id"]
        cats: dict[int, list[str]] = {r["id"]: [] for r in rows}
        for pid, code in (
            PaperCategory.objects.filter(paper_id__in=list(cats))
            .order_by("paper_id", "position")
            .values_list("paper_id", "category_id")
        ):
            cats[pid].append(code)
        out.ids += [r["id"] for r in rows]
        out.days += [r["announced"] for r in rows]
        out.categories += [tuple(cats[r["id"]] or [r["primary_category_id"]]) for r in rows]
        out.authors += [tuple(a.get("key", "") for a in r["authors"] or []) for r in rows]
        out.counts.append(_counts(rows))
    return out


def embedding_model() -> Any:
    """The search app's stored embeddings, when that app provides them."""
    try:
        return apps.get_model("search." + "Embedding")  # not a lazy reference: it may not exist
    except LookupError:
        return None


def embedding_count() -> int:
    emb = embedding_model()
    return emb.objects.count() if emb is not None else -1


def embeddings(paper_ids: list[int]) -> dict[int, np.ndarray]:
    emb = embedding_model()
    if emb is None or not paper_ids:
        return {}
    out = {}
    for start in range(0, len(paper_ids), 2000):
        rows = emb.objects.filter(paper_id__in=paper_ids[start : start + 2000]).values_list(
            "paper_id", "vector"
        )
        out.update({pid: emb.unpack(vec) for pid, vec in rows})
    return out


def _dense(ids: np.ndarray) -> np.ndarray | None:
    if model.DENSE_WEIGHT <= 0:
        return None
    found = embeddings([int(i) for i in ids])
    if not found:
        return None
    dim = len(next(iter(found.values())))
    out = np.zeros((len(ids), dim), dtype=np.float32)
    for r, pid in enumerate(ids.tolist()):
        if pid in found:
            out[r] = found[pid]
    return out


def _newest_day() -> dt.date | None:
    day: dt.date | None = Paper.objects.active().aggregate(m=Max("announced"))["m"]
    return day


def build(old: Candidates | None = None, *, dense: bool = True) -> Candidates:
    """The window as of now: `old` updated with the papers changed since its watermark, or anew.
    `dense` False: without the search embeddings (the worker saves only what is shared)."""
    latest = int(PaperChange.objects.aggregate(m=Max("id"))["m"] or 0)
    newest = _newest_day()
    if newest is None:
        return Candidates(watermark=latest, checked=time.monotonic())
    since = newest - dt.timedelta(days=window_days())
    changed: list[int] | None = None
    if old is not None and len(old):
        changed = list(
            set(
                PaperChange.objects.filter(id__gt=old.watermark, id__lte=latest).values_list(
                    "paper_id", flat=True
                )
            )
        )
    fresh = _load(changed, since)
    fresh_ids = np.array(fresh.ids, dtype=np.int64)
    fresh_days = np.array(fresh.days, dtype="datetime64[D]")
    if old is not None and changed is not None:
        drop = np.isin(old.ids, changed) | (old.days < np.datetime64(since, "D"))
        keep = np.flatnonzero(~drop)
        ids = np.concatenate([old.ids[keep], fresh_ids])
        days = np.concatenate([old.days[keep], fresh_days])
        cats = [old.categories[i] for i in keep] + fresh.categories
        authors = [old.authors[i] for i in keep] + fresh.authors
        counted = sp.vstack([old.counts[keep], fresh.matrix()], format="csr")
    else:
        ids, days, cats, authors, counted = (
            fresh_ids,
            fresh_days,
            fresh.categories,
            fresh.authors,
            fresh.matrix(),
        )
    idf = model.Idf.of(counted)
    source = old.source if old is not None else ""
    rows = model.weigh(counted, idf)
    return _assemble(ids, days, cats, authors, counted, rows, idf, latest, since, dense, source)


def _assemble(
    ids: np.ndarray,
    days: np.ndarray,
    cats: list[tuple[str, ...]],
    authors: list[tuple[str, ...]],
    counted: sp.csr_matrix,
    rows: sp.csr_matrix,
    idf: model.Idf,
    watermark: int,
    since: dt.date,
    dense: bool = True,
    source: str = "",
    by_term: sp.csr_matrix | None = None,
) -> Candidates:
    category_index = model.Categories.of(cats)
    if by_term is None:
        by_term = rows.T.tocsr()
        by_term.sort_indices()
    embedded = embedding_count() if dense else -1
    vectors = _dense(ids) if dense else None
    return Candidates(
        dense=vectors,
        has_dense=vectors.any(axis=1) if vectors is not None else None,
        embedded=embedded,
        ids=ids,
        days=days,
        categories=cats,
        authors=authors,
        counts=counted,
        rows=rows,
        by_term=by_term,
        idf=idf,
        category_index=category_index,
        category_rows=category_index.rows(cats),
        watermark=watermark,
        checked=time.monotonic(),
        since=since,
        source=source,
    )


def saved(*, dense: bool = True) -> Candidates:
    """The newest window saved under the home, mapped (store.Unusable if there is none fit to use)."""
    manifest, a = store.load()
    return _assemble(
        a["ids"],
        a["days"],
        a["categories"],
        a["authors"],
        a["counts"],
        a["rows"],
        model.Idf(a["df"], manifest["n_docs"]),
        int(manifest["change"]["id"]),
        dt.date.fromisoformat(manifest["since"]),
        dense,
        manifest["path"],
        a["by_term"],
    )


def _save(cands: Candidates, seconds: float | None) -> None:
    if cands.since is not None:
        store.save(cands, cands.since, seconds)


# A client's next look while the window is built (Retry-After): the last build's duration less how
# long the current builder has held the lock, within these bounds; the build takes ~5 s at 20k papers,
# minutes at 274k (bench/README.md, recs-latency).
RETRY_UNKNOWN_S = 30.0  # no build timed on this home yet
RETRY_MIN_S, RETRY_MAX_S = 5.0, 300.0


def retry_after() -> float:
    """Seconds until the window being built is likely saved (a guess: a client told too early looks
    again, one told too late waits past it)."""
    took = store.last_build_seconds()
    since = store.building_since()
    if since is not None:
        left = RETRY_UNKNOWN_S if took is None else took - max(clock.wall() - since, 0.0)
    else:
        # No builder holds the lock. After a builder failed, none starts until the pause
        # (RETRY_FAILED_S) is over, and then the build takes its whole time: told the build
        # alone, a client came back while nothing was being built.
        left = pause_left() + (RETRY_UNKNOWN_S if took is None else took)
    return min(max(left, RETRY_MIN_S), RETRY_MAX_S)


class NotReady(Exception):
    """No window in this process and none saved fit to use: a builder process is making it."""

    def __init__(self) -> None:
        super().__init__("the candidate window is being built")
        self.retry_after = retry_after()


_builder: subprocess.Popen[bytes] | None = None
_unusable: tuple[str, str] | None = None  # why the saved window is unfit, and its name: not read again
RETRY_FAILED_S = 60.0  # after a builder failed, no process of the home starts the next sooner


def pause_left() -> float:
    """Seconds left of the pause after the last failed build on this home (0: none). The failure is
    stamped in a file under the home (store.note_failed_build), so it holds for every web worker, not
    only the one whose builder failed: the others would start the next builder at once."""
    at = store.failed_build_at()
    if at is None:
        return 0.0
    # A stamp ahead of the clock (set back since) pauses for the whole pause, not for the jump too.
    return min(max(RETRY_FAILED_S - (clock.wall() - at), 0.0), RETRY_FAILED_S)


def _start_builder(why: str, seen: str | None = None) -> bool:
    """Start `paperfeed window` with the builder lock, unless a builder runs already (this process's,
    or any other's: the lock is held), one saved a window since this process found `seen` the
    newest, or a builder failed a moment ago (pause_left). False: there is nothing to build (no
    papers: a window of none is saved by no one, and made here at once)."""
    global _builder
    if _builder is not None:
        if _builder.poll() is None:
            return True
        if _builder.returncode != 0:
            log.error(
                "recs: the window's builder exited %s; a later request starts another", _builder.returncode
            )
            store.note_failed_build()
        _builder = None
    if pause_left() > 0:
        return True
    lock = store.try_builder_lock()
    if lock is None:
        return True  # another process is building: its window is mapped once saved
    with lock:
        newest = store.newest()
        if newest is not None and newest.name != seen:
            return True  # saved by a builder that ended a moment ago: the next look maps it
        if _newest_day() is None:
            return False
        log.warning("recs: building the candidate window in a child process: %s", why)
        fd = lock.fileno()
        # The child inherits the locked file: the lock is held until the child exits, however it ends.
        # --check-all: this worker found the saved window unfit, maybe by a checksum its stamps hide
        # (a bad disk keeps size and mtime); a quick look would call it current and build nothing.
        _builder = subprocess.Popen(
            [sys.executable, "-m", "paperfeed", "window", "--lock-fd", str(fd), "--check-all"], pass_fds=(fd,)
        )
    return True


def _builder_passed() -> bool:
    """Whether the builder this process started has exited 0 since it last asked (once per builder):
    it checked the saved window in full (--check-all), and built a newer one or found it fit."""
    global _builder
    if _builder is None or _builder.poll() != 0:
        return False
    _builder = None
    return True


def _first() -> Candidates:
    """A web process's first window: the saved one, or NotReady (a builder started if none runs)."""
    global _unusable
    path = store.newest()
    unfit = _unusable if path is not None and _unusable is not None and path.name == _unusable[1] else None
    if unfit is not None and not _builder_passed():
        # Found unfit already (its checksums alone take ~1 s at 1M): only a builder helps, by a newer
        # window or by finding this one fit.
        if not _start_builder(*unfit):
            return build()
        raise NotReady
    try:
        cands = saved()
    except store.Unusable as why:
        _unusable = (str(why), path.name) if path is not None else None
        if unfit is not None:
            # This process's builder checked every file of this window and found it fit (a damaged
            # read here that passed, or this process's own fault); another builder would find the
            # same, and one started at each request did (a builder a request, without end). One
            # failure, one builder: the next waits for the pause after a failed build, as any does.
            log.error(
                "recs: the saved window passed its builder's full check but not this process's (%s);"
                " no builder for %.0f s",
                why,
                RETRY_FAILED_S,
            )
            store.note_failed_build()
            raise NotReady from None
        if not _start_builder(str(why), path.name if path is not None else None):
            return build()
        raise NotReady from None
    _unusable = None
    return _catch_up(cands)


def wait_until_ready() -> Candidates:
    """This process's window, waiting (the GIL released: in the child, or on the builder lock) while
    another process builds it; NotReady if the build failed (a later request starts another)."""
    waited = 0
    while True:
        try:
            return candidates()
        except NotReady:
            builder = _builder
            if builder is not None:
                if waited >= 2:
                    raise  # two builders saved windows this process cannot use: not a third in a row
                waited += 1
                if builder.wait() != 0:
                    with _lock:  # as a request's look does
                        _start_builder("")  # records the failure (no retry before RETRY_FAILED_S)
                    raise
            else:
                if pause_left() > 0:
                    raise
                store.wait_for_builder()


def start() -> Candidates:
    """A process's first window: the saved one if usable, else built here and saved (one builder
    per home; the others wait for it and map what it saved), then brought up to date. A web process
    builds elsewhere (NotReady)."""
    if warmup.serving:
        return _first()
    try:
        cands = saved()
    except store.Unusable:
        with store.builder_lock() as started:
            try:
                cands = saved()  # another process saved one while this one waited for the lock
            except store.Unusable as why:
                log.info("recs: building the candidate window from the database: %s", why)
                with _failure_noted():
                    cands = build()
                    _save(cands, clock.wall() - started)
    return _catch_up(cands)


def _catch_up(cands: Candidates) -> Candidates:
    latest = int(PaperChange.objects.aggregate(m=Max("id"))["m"] or 0)
    return build(cands) if latest != cands.watermark else cands


def refresh_saved(lock_fd: int | None = None, *, check_all: bool = False) -> dict[str, Any]:
    """The worker's job: extend the saved window with the papers changed since (or build it), so web
    processes start warm and catch up on few changes. `lock_fd`: the builder lock, held already
    (inherited from the web worker that started `paperfeed window`). `check_all`: checksum every file
    even to find the window current (a web worker that found it unfit asks so)."""
    with store.builder_lock(lock_fd) as started, _failure_noted():
        latest = int(PaperChange.objects.aggregate(m=Max("id"))["m"] or 0)
        old: Candidates | None = None
        # After a failed build, too: the window a web worker found unfit may be one whose damage keeps
        # the stamps, and a quick look would call it current, build nothing and leave the pause on.
        quick = not check_all and store.failed_build_at() is None
        try:
            # Whether it is current reads none of its data: files not written since the save are
            # not checksummed (a web process checks them all when it maps them).
            _, manifest = store.verify(quick=quick)
            if int(manifest["change"]["id"]) == latest:
                if not quick:
                    store.clear_failed_build()  # every file checked: the window serves, nothing to build
                return {"papers": int(manifest["papers"]), "watermark": latest, "saved": False}
            old = saved(dense=False)  # its rows go into the next window: every file checked
        except store.Unusable as why:
            log.info("recs: rebuilding the saved candidate window: %s", why)
        cands = build(old, dense=False)
        # An extension's few seconds say nothing of a build from nothing, which is what a client
        # waits for (retry_after): the last one's duration is carried forward.
        _save(cands, clock.wall() - started if old is None else store.last_build_seconds())
        store.clear_failed_build()  # built (saved, or no papers to save a window of): the pause ends
        return {"papers": len(cands), "watermark": cands.watermark, "saved": cands.since is not None}


@contextlib.contextmanager
def _failure_noted() -> Iterator[None]:
    """A build that fails in this process (`paperfeed window` by hand, the worker's job, the child of
    a web worker, a command that builds its own) pauses the web workers' next builder as one that
    died does: the next automatic build would most likely fail the same way. Only they keep the
    pause: `paperfeed window`, the worker's job and commands build at once, so an operator who fixed
    the cause retries by hand, and a build that succeeds ends the pause. A Ctrl-C
    (KeyboardInterrupt) is no failure of the build."""
    try:
        yield
    except Exception:
        log.warning(
            "recs: the window's build failed; web workers start no builder for %.0f s", RETRY_FAILED_S
        )
        with contextlib.suppress(OSError):  # a home that takes no file: the build's error is the one
            store.note_failed_build()
        raise


def _counts(papers: list[dict[str, Any]]) -> sp.csr_matrix:
    if not papers:
        return sp.csr_matrix((0, model.N_FEATURES), dtype=np.float32)
    return model.counts([model.paper_text(p["title"], p["abstract"]) for p in papers])


_current: Candidates | None = None
_lock = threading.Lock()


def candidates(*, fresh: bool = False) -> Candidates:
    """This process's window, checked against the change log at most every CHECK_EVERY_S seconds."""
    global _current
    with _lock:
        now = time.monotonic()
        if fresh:
            _current = build()
        elif _current is None:
            _current = start()
        elif now - _current.checked >= CHECK_EVERY_S:
            latest = int(PaperChange.objects.aggregate(m=Max("id"))["m"] or 0)
            if latest != _current.watermark:
                _current = _catch_up(_newer_saved(_current))
            elif (embedded := embedding_count()) != _current.embedded:  # the indexer embedded more
                _current.dense, _current.embedded = _dense(_current.ids), embedded
                _current.has_dense = _current.dense.any(axis=1) if _current.dense is not None else None
            _current.checked = now
        return _current


def loaded() -> bool:
    """Whether this process holds a window already (using it then costs no build)."""
    return _current is not None


def _newer_saved(cands: Candidates) -> Candidates:
    """The worker's newer saved window, when there is one: mapping it replaces this process's private
    copy of the rows (made by applying changes) with the shared pages."""
    path = store.newest()
    if path is None or path.name == cands.source:
        return cands
    try:
        newer = saved()
    except store.Unusable:
        return cands
    return newer if newer.watermark > cands.watermark else cands


def reset() -> None:
    """Forget this process's window and builder (tests switch databases and homes under it)."""
    global _current, _builder, _unusable
    with _lock:
        _current, _builder, _unusable = None, None, None
