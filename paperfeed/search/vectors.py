"""The semantic leg's in-process vector index: sign bits for candidates, float32 for the final order.

Chosen by measurement (bench/README.md): brute-force float32 over every row is memory-bound (~20 ms
at 75k rows, ~200 ms at 1M on this machine); a Hamming scan of 384-bit sign codes (faiss
IndexBinaryFlat, 48 bytes a row) finds `RESCORE` candidates in ~1 ms at 75k and ~25 ms at 1M, and
exact cosine over those candidates restores the order (recall@10 against exact search is reported by
`paperfeed bench search`). Filters become a bitmap over rows, which faiss applies during the scan.

Files under PAPERFEED_HOME/search/vectors/, written only by the indexer (under its lock):
    vectors-B.f32  float32 rows, append-only (memory-mapped by readers: processes share the pages)
    codes-B.u8     packed sign bits of the same rows, append-only
    meta-G.npz     per row: paper id, day, category codes, alive; rewritten each generation
    state.json     {"generation", "base", "rows", "watermark", ...}: replaced atomically, the commit point
Readers see only the rows state.json names; rows past them (a crashed writer's) are truncated by the
next writer. An update appends a new row and marks the old one dead; when a third of the rows are
dead the files are rewritten under a new base number.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from paperfeed.search.embedding import DIM

RESCORE = 1000  # candidates from the binary scan that are scored exactly
EXACT_MAX = 20_000  # up to this many allowed rows, every one is scored exactly (~1-2 ms)
MAX_CATS = 6  # category codes kept per row for filtering (arXiv papers rarely list more)
CODE_BYTES = DIM // 8


@dataclass
class VectorRow:
    paper_id: int
    vector: np.ndarray | None  # None: remove the paper (deleted, or no embedding)
    day: int = 0
    categories: tuple[str, ...] = ()


def _fsync_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


class VectorIndex:
    def __init__(self, path: Path | None, dim: int = DIM) -> None:
        """`path` None: in memory only (tests, the CACM bench)."""
        self.path, self.dim = path, dim
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self.state: dict[str, Any] = {"generation": 0, "base": 0, "rows": 0, "watermark": 0, "categories": []}
        self._vectors = np.zeros((0, dim), dtype=np.float32)
        self._codes = np.zeros((0, CODE_BYTES), dtype=np.uint8)
        self.ids = np.zeros(0, dtype=np.int64)
        self.days = np.zeros(0, dtype=np.int32)
        self.cats = np.zeros((0, MAX_CATS), dtype=np.uint16)
        self.alive = np.zeros(0, dtype=bool)
        self._binary: Any = None
        self._row_of: dict[int, int] | None = None
        if path is not None:
            path.mkdir(parents=True, exist_ok=True)
            self.refresh()

    # --- reading ---------------------------------------------------------------------------------

    @property
    def watermark(self) -> int:
        return int(self.state["watermark"])

    @property
    def size(self) -> int:
        return int(self.alive.sum())

    def refresh(self) -> bool:
        """Load the latest committed generation if another process wrote one; True if it changed."""
        if self.path is None:
            return False
        try:
            st = (self.path / "state.json").stat()
        except FileNotFoundError:
            return False
        stamp = (st.st_mtime_ns, st.st_ino)
        if stamp == self._stamp:
            return False
        with self._lock:
            if stamp == self._stamp:
                return False
            try:
                state = json.loads((self.path / "state.json").read_text())
                rows = int(state["rows"])
                with np.load(self.path / f"meta-{state['generation']}.npz") as npz:
                    meta = {k: npz[k] for k in ("ids", "days", "cats", "alive")}
                vectors = (
                    np.memmap(
                        self.path / f"vectors-{state['base']}.f32",
                        dtype=np.float32,
                        mode="r",
                        shape=(rows, self.dim),
                    )
                    if rows
                    else np.zeros((0, self.dim), dtype=np.float32)
                )
                with (self.path / f"codes-{state['base']}.u8").open("rb") as f:
                    codes = np.frombuffer(f.read(rows * CODE_BYTES), dtype=np.uint8).reshape(rows, CODE_BYTES)
            except FileNotFoundError:  # a newer generation replaced it meanwhile: the next call loads that
                return False
            self.state, self._vectors, self._codes = state, vectors, codes
            self.ids, self.days, self.cats, self.alive = (
                meta["ids"],
                meta["days"],
                meta["cats"],
                meta["alive"],
            )
            self._binary, self._row_of, self._stamp = None, None, stamp
        return True

    def _faiss(self) -> Any:
        if self._binary is None:
            import faiss

            # One thread: a single query's scan is short, and OpenMP's spinning workers cost many
            # times the scan itself when the cores are busy (measured: 45 ms instead of 1 ms at 75k).
            faiss.omp_set_num_threads(1)
            index = faiss.IndexBinaryFlat(self.dim)
            if len(self._codes):
                index.add(np.ascontiguousarray(self._codes))
            self._binary = index
        return self._binary

    def row_of(self, paper_id: int) -> int | None:
        if self._row_of is None:
            live = np.flatnonzero(self.alive)
            self._row_of = dict(zip(self.ids[live].tolist(), live.tolist(), strict=True))
        return self._row_of.get(paper_id)

    def vector_of(self, paper_id: int) -> np.ndarray | None:
        row = self.row_of(paper_id)
        return None if row is None else np.array(self._vectors[row])

    def mask(
        self,
        categories: Iterable[str] = (),
        since: int | None = None,
        until: int | None = None,
        paper_ids: Iterable[int] | None = None,
    ) -> np.ndarray:
        """Rows that pass the filters (and are alive)."""
        m = self.alive.copy()
        cats = list(categories)
        if cats:
            vocab = {c: i + 1 for i, c in enumerate(self.state["categories"])}
            codes = [vocab[c] for c in cats if c in vocab]
            m &= np.isin(self.cats, codes).any(axis=1) if codes else False
        if since is not None:
            m &= self.days >= since
        if until is not None:
            m &= self.days <= until
        if paper_ids is not None:
            m &= np.isin(self.ids, np.fromiter(paper_ids, dtype=np.int64))
        return m

    def search(self, query: np.ndarray, k: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """[(paper_id, cosine)] of the k nearest rows, best first (rows outside `mask` never)."""
        n = len(self.ids)
        if n == 0 or k <= 0:
            return []
        mask = self.alive if mask is None else mask
        allowed = int(mask.sum())
        if allowed == 0:
            return []
        q = np.asarray(query, dtype=np.float32).reshape(self.dim)
        if allowed <= max(EXACT_MAX, RESCORE):
            rows = np.flatnonzero(mask)
        else:
            import faiss

            qcode = np.packbits(q > 0)[None, :]
            params = None
            if allowed < n:
                bitmap = np.packbits(mask, bitorder="little")
                params = faiss.SearchParameters(sel=faiss.IDSelectorBitmap(n, faiss.swig_ptr(bitmap)))  # type: ignore[call-arg]
            _, found = self._faiss().search(qcode, RESCORE, params=params)
            rows = found[0][found[0] >= 0]
            rows.sort()  # sequential reads of the memory map
        scores = self._vectors[rows] @ q
        top = np.argsort(-scores, kind="stable")[:k]
        return list(zip(self.ids[rows[top]].tolist(), scores[top].astype(float).tolist(), strict=True))

    # --- writing (the indexer only, under its lock) ----------------------------------------------

    def apply(self, changes: Iterable[VectorRow], watermark: int) -> dict[str, int]:
        """Add, replace or remove rows, then commit a new generation that records `watermark`."""
        vocab = {c: i + 1 for i, c in enumerate(self.state["categories"])}
        self.row_of(0)
        row_of = self._row_of
        assert row_of is not None
        alive = self.alive.copy()
        new_vecs: list[np.ndarray] = []
        new_meta: list[tuple[int, int, list[int]] | None] = []
        added = removed = 0
        base_rows = len(self.ids)
        for ch in changes:
            old = row_of.pop(ch.paper_id, None)
            if old is not None:
                if old < base_rows:
                    alive[old] = False
                else:
                    new_meta[old - base_rows] = None  # replaced within this batch
                removed += 1
            if ch.vector is None:
                continue
            codes = [vocab.setdefault(c, len(vocab) + 1) for c in ch.categories[:MAX_CATS]]
            row_of[ch.paper_id] = base_rows + len(new_meta)
            new_vecs.append(np.asarray(ch.vector, dtype=np.float32))
            new_meta.append((ch.paper_id, ch.day, codes))
            added += 1
        if added or removed or watermark != self.watermark:
            self._commit(alive, new_vecs, new_meta, vocab, watermark)
        return {"added": added, "removed": removed - min(removed, added)}

    def _commit(
        self,
        alive: np.ndarray,
        new_vecs: list[np.ndarray],
        new_meta: list[Any],
        vocab: dict[str, int],
        watermark: int,
    ) -> None:
        vecs = np.stack(new_vecs) if new_vecs else np.zeros((0, self.dim), dtype=np.float32)
        cats = np.zeros((len(new_meta), MAX_CATS), dtype=np.uint16)
        for i, m in enumerate(new_meta):
            if m is not None:
                cats[i, : len(m[2])] = m[2]
        add_ids = np.array([m[0] if m else 0 for m in new_meta], dtype=np.int64)
        add_days = np.array([m[1] if m else 0 for m in new_meta], dtype=np.int32)
        add_alive = np.array([m is not None for m in new_meta], dtype=bool)
        ids = np.concatenate([self.ids, add_ids])
        days = np.concatenate([self.days, add_days])
        allcats = np.concatenate([self.cats, cats])
        alive = np.concatenate([alive, add_alive])
        codes = np.packbits(vecs > 0, axis=1) if len(vecs) else np.zeros((0, CODE_BYTES), np.uint8)
        state = dict(self.state)
        state["categories"] = sorted(vocab, key=vocab.__getitem__)
        state["watermark"] = watermark
        if self.path is None:
            self._vectors = np.concatenate([self._vectors, vecs])
            self._codes = np.concatenate([self._codes, codes])
        else:
            dead = int((~alive).sum())
            if dead and dead * 3 > len(alive):  # compact: rewrite only the live rows under a new base
                keep = np.flatnonzero(alive)
                vectors = np.concatenate([np.asarray(self._vectors), vecs])[keep]
                ids, days, allcats, alive = ids[keep], days[keep], allcats[keep], alive[keep]
                state["base"] = int(state["base"]) + 1
                self._write_rows(state["base"], 0, vectors, np.packbits(vectors > 0, axis=1))
            else:
                self._write_rows(state["base"], int(state["rows"]), vecs, codes)
            state["generation"] = int(state["generation"]) + 1
            state["rows"] = len(ids)
            buf = self.path / f"meta-{state['generation']}.npz"
            with buf.open("wb") as f:
                np.savez(f, ids=ids, days=days, cats=allcats, alive=alive)
                f.flush()
                os.fsync(f.fileno())
            _fsync_write(self.path / "state.json", json.dumps(state).encode())
            current = {buf.name, f"vectors-{state['base']}.f32", f"codes-{state['base']}.u8"}
            for old in self.path.iterdir():  # earlier generations (readers that mapped them keep them)
                if old.name.startswith(("meta-", "vectors-", "codes-")) and old.name not in current:
                    old.unlink(missing_ok=True)
            self._stamp = None
            self.refresh()
            return
        self.state, self.ids, self.days, self.cats, self.alive = state, ids, days, allcats, alive
        self._binary, self._row_of = None, None

    def _write_rows(self, base: int, start: int, vectors: np.ndarray, codes: np.ndarray) -> None:
        assert self.path is not None
        for name, arr, width in (
            (f"vectors-{base}.f32", vectors.astype(np.float32), self.dim * 4),
            (f"codes-{base}.u8", codes.astype(np.uint8), CODE_BYTES),
        ):
            path = self.path / name
            with path.open("ab" if start else "wb") as f:
                f.truncate(start * width)  # drop what a killed writer appended past the commit
                f.seek(start * width)
                f.write(np.ascontiguousarray(arr).tobytes())
                f.flush()
                os.fsync(f.fileno())
