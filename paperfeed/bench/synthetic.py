"""Synthetic papers for scale runs, sampled from the real records (reusable by any benchmark).

    stats = RealStats.from_snapshot(SNAPSHOT)            # word frequencies, lengths, categories, dates
    write_snapshot(path, n=1_000_000, stats=stats)       # Kaggle JSON lines: `paperfeed import` reads it
    python -m paperfeed.bench.synthetic vectors          # (in the target's env) embeddings for every
                                                         # paper without one, from perturbed real ones

Titles and abstracts draw words from the real titles' and abstracts' unigram frequencies, with real
lengths; categories, dates and author names are real ones, drawn at random. Ids are `3MMM.NNNNN`
(year 2030+), so they never collide with real papers. The text is word salad: it exercises index
size, posting-list lengths and query latency, not relevance.

Vectors: embedding a million abstracts takes hours on 2 cores, and the model's speed is measured on
the real records; for scale runs each synthetic paper gets a real embedding (of a random real paper)
mixed with another and Gaussian noise added, renormalised, which keeps the real embeddings' anisotropy.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

NOISE = 0.5  # norm of the noise added to a unit real embedding, before renormalising


@dataclass
class RealStats:
    title_words: tuple[np.ndarray, np.ndarray]  # (words as an object array, cumulative frequencies)
    abstract_words: tuple[np.ndarray, np.ndarray]
    title_lengths: list[int]
    abstract_lengths: list[int]
    categories: list[str]
    dates: list[str]
    authors: list[str]

    @classmethod
    def from_snapshot(cls, path: Path, limit: int | None = None) -> RealStats:
        tw: Counter[str] = Counter()
        aw: Counter[str] = Counter()
        tl: list[int] = []
        al: list[int] = []
        cats: list[str] = []
        dates: list[str] = []
        authors: list[str] = []
        with gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else path.open() as f:
            for i, line in enumerate(f):
                if limit and i >= limit:
                    break
                r = json.loads(line)
                t, a = r["title"].split(), r["abstract"].split()
                tw.update(t)
                aw.update(a)
                tl.append(len(t))
                al.append(len(a))
                cats.append(r["categories"])
                dates.append(r.get("update_date") or "2025-03-18")
                authors.extend(x.strip() for x in r["authors"].split(",")[:3] if x.strip())

        def dist(c: Counter[str]) -> tuple[np.ndarray, np.ndarray]:
            words, counts = zip(*c.most_common(), strict=True)
            p = np.array(counts, dtype=np.float64)
            return np.array(words, dtype=object), np.cumsum(p / p.sum())

        return cls(dist(tw), dist(aw), tl, al, cats, dates, authors)


def _draw(rng: np.random.Generator, dist: tuple[np.ndarray, np.ndarray], n: int) -> str:
    words, cdf = dist
    return " ".join(words[np.minimum(np.searchsorted(cdf, rng.random(n)), len(words) - 1)])


def synthetic_id(i: int) -> str:
    month, number = divmod(i, 99_999)
    return f"{30 + month // 12:02d}{month % 12 + 1:02d}.{number + 1:05d}"


def records(n: int, stats: RealStats, seed: int = 1) -> Iterator[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    for i in range(n):
        authors = ", ".join(pick.choice(stats.authors) for _ in range(pick.randint(1, 6)))
        day = pick.choice(stats.dates)
        yield {
            "id": synthetic_id(i),
            "title": _draw(rng, stats.title_words, pick.choice(stats.title_lengths)),
            "abstract": _draw(rng, stats.abstract_words, pick.choice(stats.abstract_lengths)),
            "authors": authors,
            "categories": pick.choice(stats.categories),
            "update_date": day,
            "_listing_dates": [day],  # announced that day, as the real records are
            "_source": "synthetic",
        }


def write_snapshot(path: Path, n: int, stats: RealStats, seed: int = 1) -> Path:
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as f:
        for r in records(n, stats, seed):
            f.write(json.dumps(r) + "\n")
    return path


def synthesise_embeddings(base: np.ndarray, n: int, seed: int = 1) -> np.ndarray:
    """n unit vectors: a random mix of two rows of `base` (real embeddings) plus noise of norm ~NOISE.
    The mix spreads them between the real ones: copies of a few hundred vectors plus noise alone
    would form tight clusters whose members no index can tell apart."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((n, base.shape[1])).astype(np.float32) * (NOISE / np.sqrt(base.shape[1]))
    mix = rng.random((n, 1), dtype=np.float32)
    out = mix * base[rng.integers(0, len(base), n)] + (1 - mix) * base[rng.integers(0, len(base), n)] + noise
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


VECTOR_CHUNK = 20_000


def _store_vectors(base_count: int = 500) -> dict[str, Any]:
    """In the target's environment: give every paper without an embedding a synthetic one, embed
    `base_count` real-looking base texts (its own titles+abstracts) with the real model, and advance
    the embedding watermark so `paperfeed index` only syncs the vector index."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperfeed.settings")
    django.setup()
    from django.db import transaction

    from paperfeed.papers.models import Paper
    from paperfeed.papers.services import state_put
    from paperfeed.search.embedding import default_embedder
    from paperfeed.search.indexing import EMBED_STATE, embed_text, latest_change, text_hash
    from paperfeed.search.models import Embedding

    embedder = default_embedder()
    sample = list(Paper.objects.order_by("?").values_list("title", "abstract")[:base_count])
    base = embedder.encode([embed_text(t, a) for t, a in sample])
    ids = list(Paper.objects.filter(embedding__isnull=True).values_list("pk", flat=True))
    # A chunk's vectors at a time (seeded by its first paper): all 2.6M at once took over 23 GB in
    # temporaries and was killed; a chunk is committed whole, so a killed run resumes where it stopped.
    for start in range(0, len(ids), VECTOR_CHUNK):
        chunk = ids[start : start + VECTOR_CHUNK]
        vecs = synthesise_embeddings(base, len(chunk), seed=chunk[0])
        with transaction.atomic():
            Embedding.objects.bulk_create(
                [
                    Embedding(
                        paper_id=pk,
                        model=embedder.name,
                        text_hash=text_hash("synthetic", str(pk)),
                        vector=Embedding.pack(v),
                    )
                    for pk, v in zip(chunk, vecs, strict=True)
                ],
                batch_size=2000,
            )
    state_put(EMBED_STATE, {"watermark": latest_change(), "model": embedder.name})
    return {"synthetic_embeddings": len(ids), "base_embeddings": len(base)}


if __name__ == "__main__":
    if sys.argv[1:] == ["vectors"]:
        print(json.dumps(_store_vectors()))
    else:
        sys.exit("usage: python -m paperfeed.bench.synthetic vectors")
