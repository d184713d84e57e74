"""The recommendation model: a user's topics as a recency-weighted Rocchio profile over hashed tf-idf.

A paper is its title + abstract as word uni- and bi-grams, hashed into 2^21 columns (stateless: a
new paper needs no vocabulary refit), sublinear tf times idf^IDF_POWER, rows L2-normalised. Terms
seen in fewer than MIN_DF papers or more than MAX_DF of them carry no weight. A user's profile is the
weighted mean of the rows of papers they liked minus NEGATIVE_WEIGHT times the weighted mean of those
they marked "not interested"; each signal decays with its age (HALF_LIFE_DAYS). A candidate's score
is its row's dot product with the profile, plus two views fused with it by weights fitted across users
(`paperfeed bench recs --fit`): its closeness to the few liked papers it is nearest to (`nearest_liked`)
and a prior for being listed in the categories of the papers the user liked (`category_prior`). The
profile is a sum, so it is updated in place when the user acts.

Why this and not arxiv-sanity's per-request SVM: `paperfeed bench recs` (bench/README.md) measures it
against that SVM on real author interests — higher recall@50 at a small fraction of the time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from paperfeed.conf import env_float
from paperfeed.recs import hashing

N_FEATURES = 2**21
TOKEN_PATTERN = r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b"  # noqa: S105 - words, not numbers (as arxiv-sanity)
MIN_DF = 2  # a term in one paper only says nothing about any other
MAX_DF = 0.1  # a term in more than a tenth of the papers is not a topic
MAX_DF_FLOOR = 20  # ... but in a small catalogue, 20 papers can share a topic
IDF_POWER = 2.0  # rare terms name a line of work: idf squared beat plain idf on the bench (+8% recall)
HALF_LIFE_DAYS = 166.0  # a signal this old counts half (tuned on the bench: e-folding of 240 days)
NEGATIVE_WEIGHT = 0.5  # Rocchio's gamma: how hard "not interested" pushes away
# Learned fusion. A candidate's score (cosine units) is
#   text + SIMILAR_WEIGHT x nearest_liked + CATEGORY_WEIGHT x log(CATEGORY_SMOOTHING + category share)
# where nearest_liked is the mean of its TOP_SIMILAR best cosines to single liked papers (a user with two
# interests is not averaged into neither) and the category share is that of the user's (decayed) liked
# papers' categories the candidate is listed in, a cross-list counting CROSS_LIST_SHARE of a primary one.
# The two weights are fitted by `paperfeed bench recs --fit`: recall@50 over a grid, on 2,134 simulated
# users at an earlier cutoff (2025-09-01, targets before 2026-01-01), none of them an evaluated user
# (bench/README.md has the grid, the held-out figures and what else was tried: no view stacks further).
SIMILAR_WEIGHT = 0.1
TOP_SIMILAR = 3
CATEGORY_WEIGHT = 0.002
CATEGORY_SMOOTHING = 0.05
CROSS_LIST_SHARE = 0.5
# The sentence-embedding profile's share in the fused score (z-scores over candidates). Off by default:
# +8% recall@50 on a 7,700-paper candidate subset, but no gain over all 34,011 (bench/README.md).
DENSE_WEIGHT = env_float("PAPERFEED_RECS_DENSE_WEIGHT")


def paper_text(title: str, abstract: str) -> str:
    return f"{title} {abstract}"


def counts(texts: Sequence[str]) -> sp.csr_matrix:
    """Raw hashed term counts, one row per text: scikit-learn's HashingVectorizer's (strip_accents
    "unicode", lowercase, English stop words, TOKEN_PATTERN, uni- and bigrams, N_FEATURES columns, no
    alternate sign, no norm), computed without importing scikit-learn (paperfeed.recs.hashing)."""
    return hashing.counts(list(texts), TOKEN_PATTERN, N_FEATURES)


class Idf:
    """Inverse document frequencies from a corpus' document frequencies (kept as counts, so a
    corpus that grows by a few papers updates them by addition)."""

    def __init__(self, df: np.ndarray, n_docs: int) -> None:
        self.df, self.n_docs = df.astype(np.int64), int(n_docs)
        # Too common to be a topic only once there are enough papers to say so.
        keep = (self.df >= MIN_DF) & (self.df <= max(MAX_DF * self.n_docs, MAX_DF_FLOOR))
        idf = (np.log((1 + self.n_docs) / (1 + self.df)) + 1) ** IDF_POWER
        self.weights = np.where(keep, idf, 0).astype(np.float32)

    @classmethod
    def of(cls, counted: sp.csr_matrix) -> Idf:
        return cls(np.bincount(counted.indices, minlength=N_FEATURES), counted.shape[0])


def weigh(counted: sp.csr_matrix, idf: Idf) -> sp.csr_matrix:
    """Sublinear tf x idf, rows L2-normalised (float32 CSR)."""
    m = counted.astype(np.float32, copy=True).tocsr()
    np.log1p(m.data, out=m.data)
    m.data *= idf.weights[m.indices]
    m.eliminate_zeros()
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1
    m.data /= np.repeat(norms, np.diff(m.indptr)).astype(np.float32)
    return m


def decay(age_days: np.ndarray | float) -> np.ndarray:
    return np.exp2(-np.asarray(age_days, dtype=np.float64) / HALF_LIFE_DAYS)


def profile(
    positives: sp.csr_matrix,
    positive_weights: np.ndarray,
    negatives: sp.csr_matrix | None = None,
    negative_weights: np.ndarray | None = None,
) -> np.ndarray:
    """Dense profile (N_FEATURES float32): weighted mean of positives minus gamma x that of negatives."""
    prof = np.zeros(N_FEATURES, dtype=np.float64)
    for rows, weights, sign in (
        (positives, positive_weights, 1.0),
        (negatives, negative_weights, -NEGATIVE_WEIGHT),
    ):
        if rows is None or weights is None or rows.shape[0] == 0 or weights.sum() <= 0:
            continue
        prof += sign * np.asarray(rows.T @ (weights / weights.sum())).ravel()
    return prof.astype(np.float32)


def dense_profile(
    positives: np.ndarray,
    positive_weights: np.ndarray,
    negatives: np.ndarray | None = None,
    negative_weights: np.ndarray | None = None,
) -> np.ndarray | None:
    """The same Rocchio mean over sentence embeddings (rows of unit vectors); None without positives."""
    negative = (
        (negative_weights @ negatives, float(negative_weights.sum()))
        if negatives is not None and negative_weights is not None and len(negatives)
        else None
    )
    return dense_profile_of_sums(
        positive_weights @ positives, float(positive_weights.sum()), *(negative or (None, 0.0))
    )


def dense_profile_of_sums(
    positive_sum: np.ndarray, positive_weight: float, negative_sum: np.ndarray | None, negative_weight: float
) -> np.ndarray | None:
    """`dense_profile` from the weighted sums of the rows and the sums of their weights (what an
    action moves by its own row): None without positive weight."""
    if positive_weight <= 0:
        return None
    prof = positive_sum / positive_weight
    if negative_sum is not None and negative_weight > 0:
        prof = prof - NEGATIVE_WEIGHT * (negative_sum / negative_weight)
    return np.asarray(prof, dtype=np.float32)


class Categories:
    """Papers' arXiv categories (primary first) as a sparse matrix over a fixed vocabulary: the
    candidates' rows are built once; a user's liked papers become a distribution over it."""

    def __init__(self, vocabulary: Sequence[str]) -> None:
        self.column = {code: i for i, code in enumerate(dict.fromkeys(vocabulary))}

    @classmethod
    def of(cls, papers: Sequence[Sequence[str]]) -> Categories:
        return cls(sorted({code for cats in papers for code in cats}))

    def rows(self, papers: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """One row per paper: 1 for its primary category, CROSS_LIST_SHARE for each cross-list."""
        indptr, cols, vals = [0], [], []
        for cats in papers:
            seen = set()
            for j, code in enumerate(cats):
                col = self.column.get(code)
                if col is not None and col not in seen:
                    seen.add(col)
                    cols.append(col)
                    vals.append(1.0 if j == 0 else CROSS_LIST_SHARE)
            indptr.append(len(cols))
        return sp.csr_matrix(
            (np.array(vals, dtype=np.float64), np.array(cols, dtype=np.int64), np.array(indptr)),
            shape=(len(papers), len(self.column)),
        )

    def distribution(self, papers: Sequence[Sequence[str]], weights: np.ndarray) -> np.ndarray | None:
        """The weighted share of each category among the given (liked) papers; None if none is known."""
        if not len(papers):
            return None
        mass = np.asarray(self.rows(papers).T @ np.asarray(weights, dtype=np.float64)).ravel()
        total = mass.sum()
        return mass / total if total > 0 else None


def category_prior(
    candidate_rows: sp.csr_matrix, distribution: np.ndarray | None, weight: float | None = None
) -> np.ndarray:
    """Each candidate's log-prior from the user's category distribution (0 everywhere without one);
    `weight` defaults to CATEGORY_WEIGHT (the fit tries others)."""
    if distribution is None or candidate_rows.shape[0] == 0:
        return np.zeros(candidate_rows.shape[0], dtype=np.float64)
    share = np.asarray(candidate_rows @ distribution).ravel()
    return (CATEGORY_WEIGHT if weight is None else weight) * np.log(CATEGORY_SMOOTHING + share)


def score(
    candidates: sp.csr_matrix, prof: np.ndarray | sp.spmatrix, by_term: sp.csr_matrix | None = None
) -> np.ndarray:
    """Each candidate row's dot product with the profile (a dense vector or a sparse column). With
    the candidates' transpose (`by_term`, as in `similarities`) a sparse profile reads only its own
    terms' rows: ~4x faster over tens of thousands of candidates than the candidates' product."""
    if by_term is not None and sp.issparse(prof):
        column = sp.csc_matrix(prof)
        terms = column.indices
        out = by_term[terms].T @ column.data
        return np.asarray(out, dtype=np.float64).ravel()
    out = candidates @ prof
    return np.asarray(out.toarray() if sp.issparse(out) else out).ravel()


def similarities(
    liked: sp.csr_matrix, candidates: sp.csr_matrix, by_term: sp.csr_matrix | None = None
) -> np.ndarray:
    """Cosines of every liked row with every candidate row (dense, liked x candidates). With the
    candidates' transpose (`by_term`, terms x candidates) only the liked papers' terms are read, as an
    inverted index would: ~5x faster over tens of thousands of candidates."""
    if liked.shape[0] == 0:
        return np.zeros((0, candidates.shape[0]), dtype=np.float32)
    if by_term is None:
        return np.asarray((candidates @ liked.T).T.toarray(), dtype=np.float32)
    terms = np.unique(liked.indices)
    return np.asarray((liked[:, terms] @ by_term[terms]).toarray(), dtype=np.float32)


def dot_rows(rows: sp.csr_matrix, liked: sp.csr_matrix) -> np.ndarray:
    """`(rows @ liked.T).toarray()` (dense, rows x liked), over the liked rows' own terms only: the
    product as written turns `liked.T` into a matrix of 2^21 rows first, ~10 ms a call for the few
    hundred numbers a page of reasons needs."""
    return OnTerms(liked).dot(rows)


class OnTerms:
    """Rows kept on their own terms only (numbered 0 to len(terms) - 1), for `dot_rows` with them:
    made once per user's liked papers, as the page's reasons and the nearest-liked update both
    need them."""

    def __init__(self, liked: sp.csr_matrix) -> None:
        self.terms = np.unique(liked.indices)
        # Every one of its entries is on its terms: renumbered in place, no search for misses.
        own = sp.csr_matrix(
            (liked.data, np.searchsorted(self.terms, liked.indices), liked.indptr),
            shape=(liked.shape[0], len(self.terms)),
        )
        self.rows = own.T.tocsr()  # terms x liked, as products read it

    def dot(self, rows: sp.csr_matrix) -> np.ndarray:
        """`dot_rows(rows, liked)`."""
        return np.asarray((_on_terms(rows, self.terms) @ self.rows).toarray(), dtype=np.float64)


def _on_terms(m: sp.csr_matrix, terms: np.ndarray) -> sp.csr_matrix:
    """`m`'s columns of `terms` (sorted), numbered 0 to len(terms) - 1; every other column dropped."""
    pos = np.searchsorted(terms, m.indices)
    hit = pos < len(terms)
    hit[hit] = terms[pos[hit]] == m.indices[hit]
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    return sp.csr_matrix((m.data[hit], (rows[hit], pos[hit])), shape=(m.shape[0], len(terms)))


def rocchio_scores(sims: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The text score from `similarities`: a dot product with the weighted mean of the liked rows is the
    weighted mean of the dot products (so `score(candidates, profile(liked, weights))` without negatives)."""
    if not len(sims) or weights.sum() <= 0:
        return np.zeros(sims.shape[1], dtype=np.float64)
    return np.asarray((weights / weights.sum()) @ sims, dtype=np.float64)


def nearest_liked(sims: np.ndarray) -> np.ndarray:
    """Each candidate's mean cosine to the TOP_SIMILAR liked papers it is closest to (fewer if fewer)."""
    if not len(sims):
        return np.zeros(sims.shape[1], dtype=np.float64)
    k = min(TOP_SIMILAR, sims.shape[0])
    return np.asarray(-np.partition(-sims, k - 1, axis=0)[:k].mean(axis=0), dtype=np.float64)


NEAREST_CHUNK = 256  # liked papers compared with every candidate at a time


class NearestLiked:
    """Each candidate's TOP_SIMILAR best cosines to single liked papers (`vals`, k x candidates) and
    which liked paper each one is (`keys`, the caller's ids for them): what `nearest_liked` keeps of the
    liked x candidates matrix, kept per user so that liking or unliking a few papers updates it
    instead of comparing every liked paper with every candidate again (0.3 s at 300 liked papers over
    a 20,000-paper window, on every page after an action)."""

    def __init__(self, vals: np.ndarray, keys: np.ndarray) -> None:
        self.vals, self.keys = vals, keys

    @property
    def k(self) -> int:
        return int(self.vals.shape[0])

    @classmethod
    def of(
        cls,
        keys: np.ndarray,
        liked: sp.csr_matrix,
        candidates: sp.csr_matrix,
        by_term: sp.csr_matrix | None = None,
    ) -> NearestLiked:
        """From scratch, a chunk of liked papers at a time (the whole liked x candidates matrix is
        2.7 GB for a user with 20,000 liked papers over a 34,000-paper window)."""
        n = candidates.shape[0]
        best = cls(np.zeros((0, n), dtype=np.float32), np.zeros((0, n), dtype=np.int64))
        for start in range(0, liked.shape[0], NEAREST_CHUNK):
            chunk = slice(start, start + NEAREST_CHUNK)
            best = best._merged(similarities(liked[chunk], candidates, by_term), keys[chunk])
        return best

    def _merged(self, sims: np.ndarray, keys: np.ndarray) -> NearestLiked:
        """The best k of these and `sims` (rows: the liked papers `keys`, columns: every candidate)."""
        below = len(self.vals)
        vals = np.vstack([self.vals, sims])
        k = min(TOP_SIMILAR, vals.shape[0])
        if vals.shape[0] <= k:
            at = np.broadcast_to(np.arange(vals.shape[0])[:, None], vals.shape)
        else:
            np.negative(vals, out=vals)  # in place: the chunk's matrix is the memory to spare
            at = np.argpartition(vals, k - 1, axis=0)[:k]
            np.negative(vals, out=vals)
        # Rows below `below` are the kept ones (their own keys), the others the new liked papers.
        kept = np.take_along_axis(self.keys, np.minimum(at, max(below - 1, 0)), axis=0) if below else 0
        ids = np.where(at < below, kept, np.asarray(keys, dtype=np.int64)[np.maximum(at - below, 0)])
        return NearestLiked(np.take_along_axis(vals, at, axis=0), ids)

    def updated(
        self,
        had: np.ndarray,
        keys: np.ndarray,
        liked: sp.csr_matrix,
        candidates: sp.csr_matrix,
        by_term: sp.csr_matrix | None = None,
        on_terms: OnTerms | None = None,
    ) -> NearestLiked:
        """For the liked papers `keys` (rows `liked`) from those these were kept for (`had`): the
        added ones compared with every candidate, and the candidates that had a removed one among
        their best compared with every liked paper again (~1% of them per removed paper at 300 liked
        papers). The same numbers as `of`, within float32 rounding."""
        k = min(TOP_SIMILAR, len(keys))
        if k != self.k or not k:  # fewer liked papers than TOP_SIMILAR: every one counts anyway
            return NearestLiked.of(keys, liked, candidates, by_term)
        added = np.flatnonzero(~np.isin(keys, had))
        out = (
            self._merged(similarities(liked[added], candidates, by_term), keys[added]) if len(added) else self
        )
        removed = np.setdiff1d(had, keys)
        hit = (
            np.flatnonzero(np.isin(out.keys, removed).any(axis=0)) if len(removed) else np.zeros(0, np.int64)
        )
        if len(hit):
            sims = (on_terms or OnTerms(liked)).dot(candidates[hit]).T.astype(np.float32)  # float32 products
            empty = np.zeros((0, len(hit)), dtype=np.int64)
            again = NearestLiked(empty.astype(np.float32), empty)._merged(sims, keys)
            out = NearestLiked(out.vals.copy(), out.keys.copy())
            out.vals[:, hit], out.keys[:, hit] = again.vals, again.keys
        return out

    def scores(self) -> np.ndarray:
        """`nearest_liked`: the mean of each candidate's best k (0 without liked papers)."""
        if not self.k:
            return np.zeros(self.vals.shape[1], dtype=np.float64)
        return np.asarray(self.vals.mean(axis=0), dtype=np.float64)


def nearest_liked_of(
    liked: sp.csr_matrix, candidates: sp.csr_matrix, by_term: sp.csr_matrix | None = None
) -> np.ndarray:
    """`nearest_liked(similarities(liked, candidates, by_term))`, without holding that matrix."""
    return NearestLiked.of(np.arange(liked.shape[0]), liked, candidates, by_term).scores()


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-9)


def fuse(sparse_scores: np.ndarray, dense_scores: np.ndarray | None) -> np.ndarray:
    """One score from the two views: they make different mistakes (measured: +8% recall@50)."""
    if dense_scores is None or not len(sparse_scores) or DENSE_WEIGHT <= 0:
        return sparse_scores.astype(np.float64)
    return _z(sparse_scores.astype(np.float64)) + DENSE_WEIGHT * _z(dense_scores.astype(np.float64))


def blend(
    sparse_scores: np.ndarray,
    dense_scores: np.ndarray | None,
    prior: np.ndarray | None = None,
    nearest: np.ndarray | None = None,
) -> np.ndarray:
    """The ranking score: the text views fused (kept in the text view's cosine units, so priors and
    bonuses mean the same with or without the dense view), plus SIMILAR_WEIGHT x `nearest_liked` and
    the category prior."""
    scores = fuse(sparse_scores, dense_scores)
    if dense_scores is not None and len(sparse_scores) and DENSE_WEIGHT > 0:
        scores = scores * float(sparse_scores.std())
    if nearest is not None:
        scores = scores + SIMILAR_WEIGHT * nearest
    return scores + prior if prior is not None else scores


def top(scores: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
    """Indices of the k best scores, best first (only where `allowed`)."""
    if allowed is not None:
        scores = np.where(allowed, scores, -np.inf)
    k = min(k, int(np.isfinite(scores).sum()))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


def ndcg(ranked_hits: Sequence[bool], n_relevant: int) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, hit in enumerate(ranked_hits) if hit)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(n_relevant, len(ranked_hits))))
    return dcg / ideal if ideal else 0.0
