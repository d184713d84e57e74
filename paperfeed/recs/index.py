"""The papers "for you" chooses from: the newest WINDOW_DAYS of the catalogue, as feature rows in memory.

Built from the database on first use in a process, then brought up to date from the `PaperChange` log
(only changed papers are re-read and re-hashed; idf comes from the window's document frequencies).
The window ends at the newest announced paper, not today, so an imported snapshot has candidates too.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from django.apps import apps
from django.db.models import Max

from paperfeed.conf import env
from paperfeed.papers.models import Paper, PaperCategory, PaperChange
from paperfeed.recs import model

CHECK_EVERY_S = 2.0  # how often a busy process asks whether papers changed


def window_days() -> int:
    return int(env("PAPERFEED_RECS_WINDOW_DAYS"))


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
    idf: model.Idf = field(default_factory=lambda: model.Idf(np.zeros(model.N_FEATURES, np.int64), 0))
    category_index: model.Categories = field(default_factory=lambda: model.Categories([]))
    category_rows: sp.csr_matrix = field(default_factory=lambda: sp.csr_matrix((0, 0), dtype=np.float64))
    dense: np.ndarray | None = None  # the search index's sentence embeddings (zero rows: not embedded yet)
    has_dense: np.ndarray | None = None  # rows of `dense` that hold an embedding
    embedded: int = -1  # how many embeddings the database had when `dense` was read
    watermark: int = 0
    checked: float = 0.0

    def __len__(self) -> int:
        return len(self.ids)

    def row_of(self) -> dict[int, int]:
        return {int(p): i for i, p in enumerate(self.ids)}


def _load(ids: list[int] | None, since: dt.date) -> list[dict[str, Any]]:
    qs = Paper.objects.active().filter(announced__gte=since)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    fields = ("id", "title", "abstract", "announced", "authors", "primary_category_id")
    papers: dict[int, dict[str, Any]] = {r["id"]: dict(r) for r in qs.values(*fields)}
    for p in papers.values():
        p["categories"] = []
    for pid, code in (
        PaperCategory.objects.filter(paper_id__in=list(papers))
        .order_by("paper_id", "position")
        .values_list("paper_id", "category_id")
    ):
        papers[pid]["categories"].append(code)
    return sorted(papers.values(), key=lambda p: p["id"])


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


def build(old: Candidates | None = None) -> Candidates:
    """The window as of now: `old` updated with the papers changed since its watermark, or anew."""
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
    if old is not None and changed is not None:
        drop = np.isin(old.ids, changed) | (old.days < np.datetime64(since, "D"))
        keep = np.flatnonzero(~drop)
        ids = np.concatenate([old.ids[keep], np.array([p["id"] for p in fresh], dtype=np.int64)])
        days = np.concatenate(
            [old.days[keep], np.array([p["announced"] for p in fresh], dtype="datetime64[D]")]
        )
        cats = [old.categories[i] for i in keep]
        authors = [old.authors[i] for i in keep]
        counted = sp.vstack([old.counts[keep], _counts(fresh)], format="csr")
    else:
        ids = np.array([p["id"] for p in fresh], dtype=np.int64)
        days = np.array([p["announced"] for p in fresh], dtype="datetime64[D]")
        cats, authors, counted = [], [], _counts(fresh)
    cats += [tuple(p["categories"] or [p["primary_category_id"]]) for p in fresh]
    authors += [tuple(a.get("key", "") for a in p["authors"] or []) for p in fresh]
    idf = model.Idf.of(counted)
    category_index = model.Categories.of(cats)
    embedded = embedding_count()
    dense = _dense(ids)
    return Candidates(
        dense=dense,
        has_dense=dense.any(axis=1) if dense is not None else None,
        embedded=embedded,
        ids=ids,
        days=days,
        categories=cats,
        authors=authors,
        counts=counted,
        rows=model.weigh(counted, idf),
        idf=idf,
        category_index=category_index,
        category_rows=category_index.rows(cats),
        watermark=latest,
        checked=time.monotonic(),
    )


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
        if _current is None or fresh:
            _current = build()
        elif now - _current.checked >= CHECK_EVERY_S:
            latest = int(PaperChange.objects.aggregate(m=Max("id"))["m"] or 0)
            if latest != _current.watermark:
                _current = build(_current)
            elif (embedded := embedding_count()) != _current.embedded:  # the indexer embedded more
                _current.dense, _current.embedded = _dense(_current.ids), embedded
                _current.has_dense = _current.dense.any(axis=1) if _current.dense is not None else None
            _current.checked = now
        return _current


def reset() -> None:
    """Forget this process's window (tests switch databases under it)."""
    global _current
    with _lock:
        _current = None
