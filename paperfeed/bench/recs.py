"""Recs: our "for you" model against arxiv-sanity's per-user SVM on real author interests.

Protocol (bench/README.md): on the real records, every author with >= 8 papers, >= 4 of them before the
cutoff and >= 2 on or after it, is a simulated user. Their papers before the cutoff are the positives,
their papers after it the held-out targets; the candidates are all papers after the cutoff. Features are
title + abstract only (author names hidden: the task is topics, not names). Both methods rank the same
candidates for the same sampled users; we report recall@50 and nDCG@50 averaged over users with
bootstrapped 95% intervals (paired over users), and time per user. One-time work (loading, fitting
tf-idf or hashing the corpus) is reported apart: arxiv-sanity also computes its features offline.

Baseline, as arxiv-sanity-lite: tf-idf of title + abstract (20,000 uni/bi-gram features, min_df 5,
max_df 0.1, sublinear tf, English stop words), a LinearSVC (C=0.01, balanced classes) trained per user
on all papers with the user's positives as the positive class, scoring the candidates.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import json
import os
import random
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from paperfeed.bench.common import SNAPSHOT
from paperfeed.core.progress import Progress
from paperfeed.recs import model

K = 50
RECALL_TARGET, TIME_TARGET = 1.2, 0.1  # from the recommendations issue: >= 1.2x recall at <= 1/10 time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--file", type=Path, default=SNAPSHOT)
    parser.add_argument("--cutoff", type=dt.date.fromisoformat, default=dt.date(2026, 1, 1))
    parser.add_argument("--users", type=int, default=100, help="simulated users sampled (default 100)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--budget",
        type=float,
        default=220.0,
        help="seconds for the per-user loop; users are taken in sampled order until it is spent "
        "(at least --min-users), so a loaded machine evaluates fewer of the same random sample",
    )
    parser.add_argument("--min-users", type=int, default=20)
    parser.add_argument(
        "--fit",
        action="store_true",
        help="refit model.SIMILAR_WEIGHT and model.CATEGORY_WEIGHT on training users (cutoff 2025-09-01, "
        "targets before 2026-01-01, none of the evaluation samples' users), then compare the previous, "
        "shipped and fitted weights on the --cutoff/--seed/--users sample (ours only, no SVM)",
    )
    parser.add_argument(
        "--embed-budget",
        type=float,
        default=200.0,
        help="seconds to spend embedding texts missing from the embedding cache (the corpus is embedded "
        "once, as the search indexer does; a run that cannot finish leaves the rest for the next)",
    )


def load(
    path: Path,
) -> tuple[list[str], list[str], list[list[str]], np.ndarray, list[tuple[str, ...]]]:
    """Texts (title + abstract) for each view, author keys, announcement days and categories (primary
    first) of every record."""
    texts, sentences, authors, days, categories = [], [], [], [], []
    with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as f:
        for line in f:
            if not line.strip():
                continue
            d = json.loads(line)
            texts.append(model.paper_text(d["title"], d["abstract"] or ""))
            sentences.append(" ".join(f"{d['title']}. {d['abstract'] or ''}".split()))  # as the search index
            names = d.get("authors_parsed") or [[a] for a in (d.get("authors") or "").split(",")]
            authors.append(sorted({" ".join(reversed([p for p in n if p])) for n in names}))
            days.append(d.get("update_date") or "1970-01-01")
            categories.append(tuple((d.get("categories") or "").split()))
    return texts, sentences, authors, np.array(days, dtype="datetime64[D]"), categories


class EmbeddingCache:
    """Sentence embeddings by text hash, kept in the model cache (a derived file; safe to delete)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.keys = np.zeros(0, dtype=np.uint64)
        self.vectors = np.zeros((0, 384), dtype=np.float16)
        if path.exists():
            with np.load(path) as f:
                self.keys, self.vectors = f["keys"], f["vectors"]

    @staticmethod
    def key(text: str) -> int:
        return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")

    def find(self, keys: np.ndarray) -> np.ndarray:
        """Row of each key in the cache, -1 where missing."""
        pos = np.searchsorted(self.keys, keys)
        pos = np.minimum(pos, max(len(self.keys) - 1, 0))
        hit = (self.keys[pos] == keys) if len(self.keys) else np.zeros(len(keys), dtype=bool)
        return np.where(hit, pos, -1)

    def add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        allk = np.concatenate([self.keys, keys])
        allv = np.concatenate([self.vectors, vectors.astype(np.float16)])
        allk, first = np.unique(allk, return_index=True)
        self.keys, self.vectors = allk, allv[first]
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp.npz")
        np.savez(tmp, keys=self.keys, vectors=self.vectors)
        tmp.replace(self.path)


def sentence_vectors(
    sentences: list[str], rows: np.ndarray, budget_s: float
) -> tuple[np.ndarray | None, dict[str, Any]]:
    """Embeddings of `rows` (from the cache, embedding what is missing within the budget), or None
    with the reason when some are still missing."""
    from paperfeed.search.embedding import cache_dir, default_embedder

    embedder = default_embedder()
    cache = EmbeddingCache(cache_dir() / f"recs-bench-{embedder.name}.npz")
    keys = np.array([EmbeddingCache.key(sentences[i]) for i in rows], dtype=np.uint64)
    missing = np.unique(keys[cache.find(keys) < 0])
    text_of = {k: sentences[i] for k, i in zip(keys.tolist(), rows.tolist(), strict=True)}
    started, done = time.perf_counter(), 0
    progress = Progress("bench recs: embedding", total=len(missing), unit="paper")
    for start in range(0, len(missing), 512):
        if time.perf_counter() - started > budget_s:
            break
        chunk = missing[start : start + 512]
        cache.add(chunk, embedder.encode([text_of[int(k)] for k in chunk]))
        done += len(chunk)
        progress.update(len(chunk))
    progress.close()
    info = {
        "model": embedder.name,
        "cache": str(cache.path),
        "embedded_now": done,
        "embed_seconds": round(time.perf_counter() - started, 1),
    }
    found = cache.find(keys)
    if (found < 0).any():
        info["missing"] = int((found < 0).sum())
        return None, info
    return cache.vectors[found].astype(np.float32), info


def simulated_users(
    authors: list[list[str]], after: np.ndarray, min_papers: int = 8, min_before: int = 4, min_after: int = 2
) -> list[tuple[str, list[int], list[int]]]:
    papers: dict[str, list[int]] = defaultdict(list)
    for i, names in enumerate(authors):
        for name in names:
            papers[name].append(i)
    users = []
    for name, rows in sorted(papers.items()):
        before = [i for i in rows if not after[i]]
        later = [i for i in rows if after[i]]
        if len(rows) >= min_papers and len(before) >= min_before and len(later) >= min_after:
            users.append((name, before, later))
    return users


def baseline_features(texts: list[str]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        input="content",
        encoding="utf-8",
        decode_error="replace",
        strip_accents="unicode",
        lowercase=True,
        analyzer="word",
        stop_words="english",
        token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",  # noqa: S106 - a regex
        ngram_range=(1, 2),
        max_features=20000,
        norm="l2",
        use_idf=True,
        smooth_idf=True,
        sublinear_tf=True,
        max_df=0.1,
        min_df=5,
    ).fit_transform(texts)


def svm_scores(x_all: Any, x_cand: Any, positives: list[int]) -> np.ndarray:
    from sklearn.svm import LinearSVC

    y = np.zeros(x_all.shape[0], dtype=np.int8)
    y[positives] = 1
    clf = LinearSVC(class_weight="balanced", max_iter=10000, tol=1e-6, C=0.01, dual=True)
    clf.fit(x_all, y)
    return np.asarray(clf.decision_function(x_cand))


def evaluate(ranked: np.ndarray, candidates: np.ndarray, targets: set[int]) -> tuple[float, float]:
    hits = [int(candidates[j]) in targets for j in ranked[:K]]
    return sum(hits) / len(targets), model.ndcg(hits, len(targets))


def bootstrap(values: dict[str, np.ndarray], seed: int, rounds: int = 2000) -> dict[str, list[float]]:
    """95% intervals of each mean and of the ratio ours/svm, resampling users (paired)."""
    rng = np.random.default_rng(seed)
    n = len(next(iter(values.values())))
    idx = rng.integers(0, n, size=(rounds, n))
    out = {}
    for name, v in values.items():
        means = v[idx].mean(axis=1)
        out[name] = [round(float(q), 4) for q in np.quantile(means, [0.025, 0.975])]
    ratio = values["ours_recall"][idx].mean(axis=1) / np.maximum(
        values["svm_recall"][idx].mean(axis=1), 1e-12
    )
    out["recall_ratio"] = [round(float(q), 3) for q in np.quantile(ratio, [0.025, 0.975])]
    return out


def run(options: dict[str, Any]) -> dict[str, Any]:
    if options.get("fit"):
        return fit(options)
    started = time.perf_counter()
    texts, sentences, authors, days, categories = load(options["file"])
    cutoff = np.datetime64(options["cutoff"], "D")
    after = days >= cutoff
    candidates = np.flatnonzero(after)
    eligible = simulated_users(authors, after)
    if not eligible:
        raise ValueError("no author qualifies as a simulated user with this data and cutoff")
    sample = random.Random(options["seed"]).sample(eligible, min(options["users"], len(eligible)))
    load_s = time.perf_counter() - started

    t = time.perf_counter()
    x_svm = baseline_features(texts).astype(np.float64).tocsr()
    x_svm_cand = x_svm[candidates]
    svm_setup_s = time.perf_counter() - t

    t = time.perf_counter()
    counted = model.counts(texts)
    x_ours = model.weigh(counted, model.Idf.of(counted))
    x_ours_cand = x_ours[candidates]
    x_ours_by_term = x_ours_cand.T.tocsr()  # the candidates as an inverted index (model.similarities)
    del counted
    # Topic metadata the product has too: the categories of the papers a user saved, and the candidates'.
    cat_index = model.Categories.of(categories)
    cat_cand = cat_index.rows([categories[i] for i in candidates])
    ours_setup_s = time.perf_counter() - t

    # The dense view: every candidate and every sampled user's positives (the search indexer's job in
    # the product; here a one-time cost, cached).
    needed = np.union1d(
        candidates, np.array(sorted({i for _, pos, _ in sample for i in pos}), dtype=np.int64)
    )
    vectors, dense_info = (
        sentence_vectors(sentences, needed, options["embed_budget"])
        if model.DENSE_WEIGHT > 0
        else (None, {"off": "PAPERFEED_RECS_DENSE_WEIGHT=0"})
    )
    dense_row = {int(i): r for r, i in enumerate(needed)}
    e_cand = vectors[[dense_row[int(i)] for i in candidates]] if vectors is not None else None

    per_user: dict[str, list[float]] = defaultdict(list)
    progress = Progress("bench recs: users", total=len(sample), unit="user")
    loop_started = time.perf_counter()
    for _, positives, targets in sample:
        if len(per_user["svm_s"]) >= options["min_users"] and (
            time.perf_counter() - loop_started > options["budget"]
        ):
            break
        wanted = set(targets)

        t = time.perf_counter()
        ranked = model.top(svm_scores(x_svm, x_svm_cand, positives), K)
        per_user["svm_s"].append(time.perf_counter() - t)
        recall, ndcg = evaluate(ranked, candidates, wanted)
        per_user["svm_recall"].append(recall)
        per_user["svm_ndcg"].append(ndcg)

        t = time.perf_counter()
        ages = (cutoff - days[positives]).astype(np.float64)
        weights = model.decay(ages)
        sims = model.similarities(x_ours[positives], x_ours_cand, x_ours_by_term)
        sparse_scores = model.rocchio_scores(sims, weights)
        dense_scores = None
        if vectors is not None and e_cand is not None:
            dprof = model.dense_profile(vectors[[dense_row[i] for i in positives]], weights)
            dense_scores = e_cand @ dprof if dprof is not None else None
        prior = model.category_prior(
            cat_cand, cat_index.distribution([categories[i] for i in positives], weights)
        )
        ranked = model.top(model.blend(sparse_scores, dense_scores, prior, model.nearest_liked(sims)), K)
        per_user["ours_s"].append(time.perf_counter() - t)
        recall, ndcg = evaluate(ranked, candidates, wanted)
        per_user["ours_recall"].append(recall)
        per_user["ours_ndcg"].append(ndcg)
        progress.update(
            1, svm=round(np.mean(per_user["svm_recall"]), 3), ours=round(np.mean(per_user["ours_recall"]), 3)
        )
    progress.close()

    v = {k: np.array(x) for k, x in per_user.items()}
    mean = {k: float(x.mean()) for k, x in v.items()}
    recall_ratio = mean["ours_recall"] / mean["svm_recall"] if mean["svm_recall"] else float("inf")
    time_ratio = mean["ours_s"] / mean["svm_s"]
    ci = bootstrap({k: x for k, x in v.items() if not k.endswith("_s")}, options["seed"])

    def method(name: str, label: str, setup_s: float) -> dict[str, Any]:
        return {
            "name": label,
            "recall_at_50": round(mean[f"{name}_recall"], 4),
            "recall_at_50_ci95": ci[f"{name}_recall"],
            "ndcg_at_50": round(mean[f"{name}_ndcg"], 4),
            "ndcg_at_50_ci95": ci[f"{name}_ndcg"],
            "seconds_per_user": round(mean[f"{name}_s"], 4),
            "seconds_per_user_p95": round(float(np.quantile(v[f"{name}_s"], 0.95)), 4),
            "setup_seconds": round(setup_s, 1),
        }

    return {
        "benchmark": "recs",
        "protocol": {
            "file": str(options["file"]),
            "records": len(texts),
            "cutoff": str(options["cutoff"]),
            "eligible_users": len(eligible),
            "sampled_users": len(sample),
            "evaluated_users": len(v["svm_s"]),
            "seed": options["seed"],
            "candidates": len(candidates),
            "k": K,
            "load_seconds": round(load_s, 1),
        },
        "baseline": method("svm", "arxiv-sanity tf-idf + LinearSVC per user", svm_setup_s),
        "ours": {
            **method(
                "ours",
                "recency-weighted Rocchio profile over hashed tf-idf, fused with the nearest liked "
                "papers and a category prior (+ MiniLM if dense_weight > 0)",
                ours_setup_s,
            ),
            "dense_view": "used" if vectors is not None else "not used: sparse view only",
            "dense_weight": model.DENSE_WEIGHT,
            "similar_weight": model.SIMILAR_WEIGHT,
            "category_weight": model.CATEGORY_WEIGHT,
            "embedding": dense_info,
        },
        "recall_ratio": round(recall_ratio, 3),
        "recall_ratio_ci95": ci["recall_ratio"],
        "ndcg_ratio": round(mean["ours_ndcg"] / mean["svm_ndcg"], 3) if mean["svm_ndcg"] else None,
        "time_ratio": round(time_ratio, 4),
        "targets": {"recall_ratio": RECALL_TARGET, "time_ratio": TIME_TARGET},
        "meets_target": recall_ratio >= RECALL_TARGET and time_ratio <= TIME_TARGET,
        "seconds": round(time.perf_counter() - started, 1),
    }


# --- fitting the fusion weights (`--fit`) -----------------------------------------------------------

# Training users: a cutoff four months earlier, and papers on or after the evaluation's default cutoff do
# not exist (neither candidates nor targets nor in the idf), so nothing of the test period leaks.
FIT_CUTOFF, FIT_END = dt.date(2025, 9, 1), dt.date(2026, 1, 1)
# The samples the README reports (cutoff, seed): their first 1,000 users never train.
EVALUATION_SAMPLES = ((dt.date(2026, 1, 1), 0), (dt.date(2025, 11, 1), 1), (dt.date(2025, 12, 1), 2))
HELD_OUT_PER_SAMPLE = 1000
GRID_CATEGORY = (0.0, 0.0005, 0.001, 0.0015, 0.002, 0.003, 0.005)
GRID_SIMILAR = (0.0, 0.1, 0.2, 0.3, 0.4, 0.6)
PREVIOUS = (0.002, 0.0)  # (category, similar) before the fit: the category prior alone


class _World:
    """Our features for one cutoff: the candidates (on or after it, before `end`) and every paper's row."""

    def __init__(
        self,
        counted: Any,
        days: np.ndarray,
        categories: list[tuple[str, ...]],
        cutoff: dt.date,
        end: dt.date | None,
    ) -> None:
        self.days, self.categories = days, categories
        self.cutoff = np.datetime64(cutoff, "D")
        self.exists = days < np.datetime64(end, "D") if end else np.ones(len(days), dtype=bool)
        self.x = model.weigh(counted, model.Idf.of(counted[np.flatnonzero(self.exists)]))
        self.after = (days >= self.cutoff) & self.exists
        self.candidates = np.flatnonzero(self.after)
        cand = self.x[self.candidates]
        self.cand, self.by_term = cand, cand.T.tocsr()
        self.cat_index = model.Categories.of(categories)
        self.cat_rows = self.cat_index.rows([categories[i] for i in self.candidates])
        self.column = {int(c): j for j, c in enumerate(self.candidates)}

    def recalls(
        self, users: list[tuple[str, list[int], list[int]]], grid: list[tuple[float, float]]
    ) -> np.ndarray:
        """recall@50 of each user (rows) under each (category weight, similar weight) (columns)."""
        out = np.zeros((len(users), len(grid)))
        progress = Progress("bench recs --fit: users", total=len(users), unit="user")
        for u, (_, positives, targets) in enumerate(users):
            weights = model.decay((self.cutoff - self.days[positives]).astype(np.float64))
            sims = model.similarities(self.x[positives], self.cand, self.by_term)
            text, nearest = model.rocchio_scores(sims, weights), model.nearest_liked(sims)
            dist = self.cat_index.distribution([self.categories[i] for i in positives], weights)
            log_share = model.category_prior(self.cat_rows, dist, weight=1.0)
            wanted = np.zeros(len(self.candidates), dtype=bool)
            wanted[[self.column[i] for i in targets]] = True
            for g, (cw, sw) in enumerate(grid):
                best = model.top(text + sw * nearest + cw * log_share, K)
                out[u, g] = wanted[best].sum() / len(targets)
            progress.update(1)
        progress.close()
        return out


def fit(options: dict[str, Any]) -> dict[str, Any]:
    """Fit the fusion weights by recall@50 on training users; confirm on the given (held-out) sample."""
    started = time.perf_counter()
    texts, _, authors, days, categories = load(options["file"])
    counted = model.counts(texts)

    held_out = {
        name for name, _, _ in _sample(authors, days, options["cutoff"], options["seed"], options["users"])
    }
    for cutoff, seed in EVALUATION_SAMPLES:
        held_out |= {name for name, _, _ in _sample(authors, days, cutoff, seed, HELD_OUT_PER_SAMPLE)}
    train = _World(counted, days, categories, FIT_CUTOFF, FIT_END)
    visible = [names if train.exists[i] else [] for i, names in enumerate(authors)]
    users = [u for u in simulated_users(visible, train.after) if u[0] not in held_out]
    grid = [(cw, sw) for cw in GRID_CATEGORY for sw in GRID_SIMILAR]
    r = train.recalls(users, grid).mean(axis=0)
    best = grid[int(np.argmax(r))]
    shipped = (model.CATEGORY_WEIGHT, model.SIMILAR_WEIGHT)
    fit_s = time.perf_counter() - started

    test = _World(counted, days, categories, options["cutoff"], None)
    sample = _sample(authors, days, options["cutoff"], options["seed"], options["users"])
    compared = {"previous": PREVIOUS, "shipped": shipped, "fitted": best}
    per_user = test.recalls(sample, list(compared.values()))
    rng = np.random.default_rng(options["seed"])
    idx = rng.integers(0, len(sample), size=(2000, len(sample)))
    base = np.maximum(per_user[idx, 0].mean(axis=1), 1e-12)

    def weights(cw_sw: tuple[float, float]) -> dict[str, float]:
        return {"category_weight": cw_sw[0], "similar_weight": cw_sw[1]}

    return {
        "benchmark": "recs --fit",
        "training": {
            "cutoff": str(FIT_CUTOFF),
            "end": str(FIT_END),
            "users": len(users),
            "held_out_users_excluded": len(held_out),
            "candidates": len(train.candidates),
            "grid": [
                {**weights(g), "recall_at_50": round(float(x), 4)} for g, x in zip(grid, r, strict=True)
            ],
            "fitted": weights(best),
            "recall_at_50_fitted": round(float(r.max()), 4),
            "recall_at_50_shipped": round(float(r[grid.index(shipped)]), 4) if shipped in grid else None,
            "recall_at_50_previous": round(float(r[grid.index(PREVIOUS)]), 4),
            "seconds": round(fit_s, 1),
        },
        "held_out": {
            "cutoff": str(options["cutoff"]),
            "seed": options["seed"],
            "users": len(sample),
            **{
                name: {
                    **weights(w),
                    "recall_at_50": round(float(per_user[:, j].mean()), 4),
                    "vs_previous": round(float(per_user[:, j].mean() / max(per_user[:, 0].mean(), 1e-12)), 3),
                    "vs_previous_ci95": [
                        round(float(q), 3)
                        for q in np.quantile(per_user[idx, j].mean(axis=1) / base, [0.025, 0.975])
                    ],
                }
                for j, (name, w) in enumerate(compared.items())
            },
        },
        "seconds": round(time.perf_counter() - started, 1),
    }


def _sample(
    authors: list[list[str]], days: np.ndarray, cutoff: dt.date, seed: int, n: int
) -> list[tuple[str, list[int], list[int]]]:
    """The simulated users `run` evaluates for this cutoff and seed (the same draw)."""
    eligible = simulated_users(authors, days >= np.datetime64(cutoff, "D"))
    return random.Random(seed).sample(eligible, min(n, len(eligible)))
