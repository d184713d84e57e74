"""`paperfeed index`: bring the keyword index, the stored embeddings and the vector index up to date.

Each of the three follows papers.PaperChange with a watermark (the last change id it consumed):
- keyword (tantivy, this node's PAPERFEED_HOME): watermark in search/keyword/state.json, written
  after each tantivy commit; a kill between the two redoes that chunk (upserts are idempotent);
- embeddings (the database, shared by all nodes): watermark in HarvestState "search.embeddings",
  committed in the same transaction as each chunk's Embedding rows;
- vectors (this node): watermark in search/vectors/state.json, never ahead of the embeddings'.
The two kept under the home also keep the watermark's `PaperChange.objects.mark()`: a home pointed at
another database, or at this one restored from a backup, has the same change ids with other papers
behind them, and its indexes are built again from the start instead of missing those papers.
The keyword state also records the index's layout (keyword.SCHEMA_VERSION). An index of another
layout (an upgrade changed it) is stale: searches do not use it, and the next run builds a new one
from the start beside it, in search/keyword.next (resumed from its own watermark after a kill), and
swaps it in when done: the old one is renamed aside, the new one into place, then the old removed. A
kill between the two renames leaves no search/keyword: the next run renames keyword.next in.
A paper whose embedded text did not change is not embedded again. While embeddings are computed
the vector index is synced every VECTOR_SYNC_SECONDS, so semantic search covers more and more papers
and the rest are found by keyword only. One indexer per node at a time (a file lock).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Max

from paperfeed.core.failpoints import failpoint
from paperfeed.core.progress import Progress
from paperfeed.papers.models import Paper, PaperCategory, PaperChange
from paperfeed.papers.services import state_get, state_put
from paperfeed.search.embedding import Embedder
from paperfeed.search.keyword import SCHEMA_VERSION, KeywordDoc, KeywordIndex, day_number, layout_version
from paperfeed.search.models import Embedding
from paperfeed.search.vectors import VectorIndex, VectorRow

log = logging.getLogger(__name__)

EMBED_STATE = "search.embeddings"
KEYWORD_CHUNK = 5000  # change rows read at a time
KEYWORD_COMMIT_EVERY = 25_000  # papers between tantivy commits (a kill redoes at most this many)
EMBED_CHUNK = 512  # papers embedded and committed together
VECTOR_CHUNK = 20_000
VECTOR_SYNC_SECONDS = 30.0


def search_dir() -> Path:
    return Path(settings.HOME) / "search"


def keyword_dir() -> Path:
    return search_dir() / "keyword"


def vector_dir() -> Path:
    return search_dir() / "vectors"


def keyword_next_dir() -> Path:
    """Where a stale keyword index's replacement is built (module docstring)."""
    return search_dir() / "keyword.next"


def keyword_version(path: Path | None = None) -> int | None:
    """The layout version of the keyword index at `path` (the live one by default); None if there is
    none. An index written before versions were recorded tells it by its fields; one whose tantivy
    metadata cannot be read is version 0, stale like any other."""
    path = path or keyword_dir()
    try:
        meta = json.loads((path / "meta.json").read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        return 0
    try:
        recorded = _read_state(path / "state.json").get("schema")
    except ValueError:
        recorded = None
    if recorded is not None:
        return int(recorded)
    return layout_version(str(f.get("name")) for f in meta.get("schema", []) if isinstance(f, dict))


def keyword_staleness(path: Path | None = None) -> str | None:
    """Why this code cannot search the keyword index at `path` ("schema v1, code expects v2"), or
    None: it is current, or there is none."""
    version = keyword_version(path)
    if version is None or version == SCHEMA_VERSION:
        return None
    return f"schema v{version}, code expects v{SCHEMA_VERSION}"


def open_keyword(path: Path) -> tuple[KeywordIndex | None, str | None]:
    """(the keyword index at `path`, None), or (None, why it is stale): keyword_staleness, or fields
    that tantivy finds are not the code's though the version is (a change that forgot to bump it)."""
    stale = keyword_staleness(path)
    if stale is not None:
        return None, stale
    try:
        return KeywordIndex(path), None
    except ValueError:
        return None, f"schema v{SCHEMA_VERSION}, its fields are not those of the code"


class IndexBusy(RuntimeError):
    """Another indexer holds this node's index lock (raised only when not waiting for it)."""


@contextlib.contextmanager
def index_lock(*, wait: bool = True) -> Iterator[None]:
    """One indexer per node. `paperfeed index` waits for the running one; the background job does
    not (wait=False raises IndexBusy): a worker waiting here serves no other job, mail included."""
    search_dir().mkdir(parents=True, exist_ok=True)
    with (search_dir() / "index.lock").open("w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise IndexBusy("another indexer is running here") from None
            log.info("another indexer is running here; waiting for it")
            fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _read_state(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text()))
    except FileNotFoundError:
        return {}


def _write_state(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with tmp.open("w") as f:
        json.dump(state, f)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def from_this_database(state: dict[str, Any], index: str) -> bool:
    """Whether an index's state under the home was written against this database. A state kept
    before the change's mark was (the id alone) is taken at its word, as it always was."""
    if "change" not in state or PaperChange.objects.holds(state["change"]):
        return True
    log.warning(
        "the %s index under %s read change %s of another database (restored or switched): "
        "building it again from the start",
        index,
        settings.HOME,
        state.get("watermark"),
    )
    return False


def _stale_keyword() -> str | None:
    """Why the live keyword index must be built again (open_keyword), or None. First finishes a swap
    that a kill interrupted. Called under the index lock."""
    live, aside = keyword_dir(), keyword_next_dir()
    if not live.exists() and aside.exists():
        log.warning("keyword index: finishing the swap of the rebuilt index that a stopped run began")
        aside.rename(live)
    for old in search_dir().glob("keyword.old*"):
        shutil.rmtree(old, ignore_errors=True)
    return open_keyword(live)[1] if (live / "meta.json").exists() else None


def _open_aside() -> KeywordIndex:
    """The replacement being built in keyword_next_dir(): the one a killed run left, if it is of this
    layout (it goes on from its watermark), else a new one."""
    aside = keyword_next_dir()
    if aside.exists() and keyword_version(aside) not in (None, SCHEMA_VERSION):
        shutil.rmtree(aside)  # begun by another version of the code
    try:
        return KeywordIndex(aside)
    except ValueError:
        shutil.rmtree(aside)
        return KeywordIndex(aside)


def _swap_in() -> None:
    """The built replacement in place of the live keyword index (module docstring)."""
    live, aside = keyword_dir(), keyword_next_dir()
    old = search_dir() / f"keyword.old{os.getpid()}"
    live.rename(old)
    failpoint("index.keyword.between_renames")
    aside.rename(live)
    fd = os.open(search_dir(), os.O_RDONLY)
    try:
        os.fsync(fd)  # both renames on disk before the old index is gone
    finally:
        os.close(fd)
    shutil.rmtree(old, ignore_errors=True)
    log.warning("keyword index: the rebuilt index is in place (schema v%d)", SCHEMA_VERSION)


def latest_change() -> int:
    return int(PaperChange.objects.aggregate(m=Max("id"))["m"] or 0)


def changed_papers(after: int, upto: int, chunk: int) -> Iterator[tuple[int, list[int]]]:
    """(last change id, distinct paper ids) for each chunk of the change log in (after, upto]."""
    while after < upto:
        rows = list(
            PaperChange.objects.filter(id__gt=after, id__lte=upto)
            .order_by("id")
            .values_list("id", "paper_id")[:chunk]
        )
        if not rows:
            return
        after = rows[-1][0]
        yield after, list(dict.fromkeys(p for _, p in rows))


def load_papers(ids: list[int], *fields: str) -> dict[int, dict[str, Any]]:
    """The papers' rows (those asked for), plus their category codes (primary first) and day."""
    base = ("id", "status", "announced", "published", "primary_category_id")
    papers = {r["id"]: r for r in Paper.objects.filter(pk__in=ids).values(*base, *fields)}
    for p in papers.values():
        p["categories"] = []
        day = p["announced"] or (p["published"].date() if p["published"] else None)
        p["day"] = day
    for pid, code in (
        PaperCategory.objects.filter(paper_id__in=ids)
        .order_by("paper_id", "position")
        .values_list("paper_id", "category_id")
    ):
        papers[pid]["categories"].append(code)
    for p in papers.values():
        if not p["categories"] and p["primary_category_id"]:
            p["categories"] = [p["primary_category_id"]]
    return papers


def embed_text(title: str, abstract: str) -> str:
    return " ".join(f"{title}. {abstract}".split())


def text_hash(model: str, text: str) -> str:
    return hashlib.sha1(f"{model}\n{text}".encode(), usedforsecurity=False).hexdigest()[:16]


class Indexer:
    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        keyword: KeywordIndex | None = None,
        vectors: VectorIndex | None = None,
    ) -> None:
        self._embedder = embedder
        self.keyword = keyword
        self.vectors = vectors
        self.report: dict[str, Any] = {}

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from paperfeed.search.embedding import default_embedder

            self._embedder = default_embedder()
        return self._embedder

    def run(self, *, semantic: bool = True, wait: bool = True) -> dict[str, Any]:
        started = time.monotonic()
        self.report = {}
        with index_lock(wait=wait):
            upto = latest_change()
            self.report["keyword"] = self.index_keywords(upto)
            if semantic:
                self.report["embeddings"] = self.embed(upto)
                self.sync_vectors()
        self.report["seconds"] = round(time.monotonic() - started, 2)
        return self.report

    # --- keyword ---------------------------------------------------------------------------------

    def index_keywords(self, upto: int) -> dict[str, Any]:
        started = time.monotonic()
        stale = None if self.keyword else _stale_keyword()
        path = keyword_next_dir() if stale else keyword_dir()
        kw = self.keyword or (_open_aside() if stale else KeywordIndex(path))
        state_path = path / "state.json"
        state = _read_state(state_path)
        mark = int(state.get("watermark", 0))
        reason = stale
        if not from_this_database(state, "keyword"):
            # The removal commits with the first papers read again, as one generation.
            kw.clear()
            mark = 0
            reason = reason or "read from another database"
        if stale:
            log.warning(
                "keyword index: %s: building it again from the database%s; searches use the "
                "database's matches until it is done",
                stale,
                f" (resumed at change {mark})" if mark else "",
            )
        indexed = removed = pending = 0
        desc = f"rebuild keyword index ({stale})" if stale else "index keywords"
        with Progress(desc, total=max(upto - mark, 0), unit="changes") as bar:
            for last, ids in changed_papers(mark, upto, KEYWORD_CHUNK):
                papers = load_papers(ids, "title", "abstract", "authors")
                live = [p for p in papers.values() if p["status"] == Paper.Status.ACTIVE]
                gone = [
                    pid for pid in ids if pid not in papers or papers[pid]["status"] != Paper.Status.ACTIVE
                ]
                indexed += kw.upsert(
                    KeywordDoc(
                        p["id"],
                        p["title"],
                        p["abstract"],
                        [a.get("name", "") for a in p["authors"]],
                        [a["key"] for a in p["authors"] if a.get("key")],
                        p["categories"],
                        p["day"],
                    )
                    for p in live
                )
                kw.delete(gone)
                removed += len(gone)
                pending += len(ids)
                bar.update(last - mark, indexed=indexed)
                mark = last
                if pending >= KEYWORD_COMMIT_EVERY:
                    self._commit_keyword(kw, state_path, mark)
                    pending = 0
        self._commit_keyword(kw, state_path, max(mark, upto))
        documents = kw.num_docs
        if stale:
            del kw  # its files are renamed next
            _swap_in()
        return {
            "indexed": indexed,
            "removed": removed,
            "documents": documents,
            "rebuilt": reason is not None,
            "reason": reason,
            "seconds": round(time.monotonic() - started, 2),
        }

    @staticmethod
    def _commit_keyword(kw: KeywordIndex, state_path: Path, mark: int) -> None:
        kw.commit()
        failpoint("index.keyword.between_commit_and_state")
        _write_state(
            state_path,
            {"watermark": mark, "change": PaperChange.objects.mark(mark), "schema": SCHEMA_VERSION},
        )

    # --- embeddings (database) -------------------------------------------------------------------

    def embed(self, upto: int) -> dict[str, Any]:
        started = time.monotonic()
        name = self.embedder.name
        state = state_get(EMBED_STATE)
        mark = int(state.get("watermark", 0)) if state.get("model") == name else 0
        embedded = unchanged = removed = 0
        last_sync = time.monotonic()
        with Progress("embed papers", total=max(upto - mark, 0), unit="changes") as bar:
            for last, ids in changed_papers(mark, upto, EMBED_CHUNK):
                papers = load_papers(ids, "title", "abstract")
                have = dict(Embedding.objects.filter(paper_id__in=ids).values_list("paper_id", "text_hash"))
                todo: list[tuple[int, str, str]] = []
                for pid, p in papers.items():
                    if p["status"] != Paper.Status.ACTIVE:
                        continue
                    t = embed_text(p["title"], p["abstract"])
                    h = text_hash(name, t)
                    if have.get(pid) == h:
                        unchanged += 1
                    else:
                        todo.append((pid, t, h))
                dead = [
                    pid for pid in have if pid not in papers or papers[pid]["status"] != Paper.Status.ACTIVE
                ]
                vecs = self.embedder.encode([t for _, t, _ in todo]) if todo else np.zeros((0, 0))
                with transaction.atomic():
                    Embedding.objects.filter(paper_id__in=[pid for pid, _, _ in todo] + dead).delete()
                    Embedding.objects.bulk_create(
                        [
                            Embedding(paper_id=pid, model=name, text_hash=h, vector=Embedding.pack(v))
                            for (pid, _, h), v in zip(todo, vecs, strict=True)
                        ]
                    )
                    failpoint("index.embed.before_commit")
                    state_put(EMBED_STATE, {"watermark": last, "model": name})
                embedded += len(todo)
                removed += len(dead)
                bar.update(last - mark, embedded=embedded)
                mark = last
                if time.monotonic() - last_sync > VECTOR_SYNC_SECONDS:
                    self.sync_vectors()  # semantic search covers what is embedded so far
                    last_sync = time.monotonic()
        if mark < upto:
            state_put(EMBED_STATE, {"watermark": upto, "model": name})
        seconds = time.monotonic() - started
        return {
            "embedded": embedded,
            "unchanged": unchanged,
            "removed": removed,
            "model": name,
            "seconds": round(seconds, 2),
            "per_s": round(embedded / seconds, 1) if embedded else None,
        }

    # --- vectors (this node) ---------------------------------------------------------------------

    def sync_vectors(self) -> dict[str, Any]:
        started = time.monotonic()
        name = self.embedder.name
        vi = self.vectors
        if vi is None:
            vi = VectorIndex(vector_dir())
            # Another model's vectors, or another database's papers: start again.
            if vi.state.get("model", name) != name or not from_this_database(vi.state, "vector"):
                for f in vector_dir().iterdir():
                    f.unlink()
                vi = VectorIndex(vector_dir())
            self.vectors = vi
        upto = int(state_get(EMBED_STATE).get("watermark", 0))
        vi.state["model"] = name
        added = removed = 0
        for last, ids in changed_papers(vi.watermark, upto, VECTOR_CHUNK):
            papers = load_papers(ids)
            vecs = dict(
                Embedding.objects.filter(paper_id__in=ids, model=name).values_list("paper_id", "vector")
            )
            rows = []
            for pid in ids:
                p = papers.get(pid)
                live = p is not None and p["status"] == Paper.Status.ACTIVE and pid in vecs
                rows.append(
                    VectorRow(
                        pid,
                        Embedding.unpack(vecs[pid]) if live else None,
                        day_number(p["day"]) if p else 0,
                        tuple(p["categories"]) if p else (),
                    )
                )
            vi.state["change"] = PaperChange.objects.mark(last)
            counts = vi.apply(rows, last)
            added += counts["added"]
            removed += counts["removed"]
            failpoint("index.vectors.after_commit")
        # A long embedding pass syncs several times: the run's report sums them all (it showed
        # only the last sync's, e.g. 270 of 6,926 vectors added).
        before = self.report.get("vectors", {})
        self.report["vectors"] = {
            "added": before.get("added", 0) + added,
            "removed": before.get("removed", 0) + removed,
            "vectors": vi.size,
            "seconds": round(before.get("seconds", 0) + time.monotonic() - started, 2),
        }
        return self.report["vectors"]
