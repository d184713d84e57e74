"""Recommendations: "for you" from a user's votes, saves, follows and "not interested" marks, with reasons;
similar papers for one paper or a set.

`recommend(user, limit=)` is the one entry point (the page, the API, the CLI and the digests call it).
A user's signals come from the site (feed.Vote, feed.CollectionItem, accounts.Follow) and from this
app (Feedback). The profile (paperfeed.recs.model) is updated in place when a signal is saved or
removed (hooks in apps.py); a request only reads it, and rebuilds it only if the signals it covers no
longer match the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
from django.apps import apps
from django.db import transaction
from django.db.models import Count, Sum
from django.db.models.functions import Length
from django.utils import timezone

from paperfeed.papers import tex
from paperfeed.papers.models import Paper, PaperCategory
from paperfeed.recs import index, model
from paperfeed.recs.index import Candidates, candidates
from paperfeed.recs.models import NOT_INTERESTED, Feedback, Profile, ProfileChange

log = logging.getLogger(__name__)

FEATURES = f"hash{model.N_FEATURES.bit_length() - 1}-uni-bi-v1"
CATEGORY_BONUS = 0.02  # a paper in a followed category: enough to break ties between similar scores
AUTHOR_BONUS = 1.0  # a paper by a followed author: always near the top
KEYWORD_WEIGHT = 0.5  # followed keywords, as one pseudo-paper, against the liked papers' mean
MAX_LIMIT = 100
# The liked papers compared one by one with the candidates (the nearest-liked view, the reasons): the
# user's most recent. All of them were, and a user with 3,000 saved papers waited 14 s after each
# vote or save (the profile, a sum, still holds every one).
RECENT_LIKED = 300
# A vote or save logs its paper's row (ProfileChange); the sums absorb the log once its rows hold this
# share of the sums' size, or once it has this many (a read loads them all): at 1,000 liked papers
# about every 150th action rewrites the sums.
FOLD_SHARE = 0.25
FOLD_MAX = 256
REASON_SECOND_SHARE = 0.5  # a second liked paper is named in a reason when at least this close


FINGERPRINT_V = "s2"  # a stored fingerprint of another form never matches: that profile is rebuilt


def _signal_hash(paper_id: int, how: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{paper_id}:{how}".encode(), digest_size=8).digest(), "little")


def _shifted_fingerprint(fingerprint: str, paper_id: int, how: str, sign: int) -> str | None:
    """`fingerprint` with one signal added (sign +1) or taken away (-1); None if it is of another form."""
    parts = fingerprint.split(":")
    if len(parts) != 5 or parts[0] != FINGERPRINT_V:
        return None
    at = 3 if how == NOT_INTERESTED else 1
    count, total = (
        int(parts[at]) + sign,
        (int(parts[at + 1], 16) + sign * _signal_hash(paper_id, how)) % 2**64,
    )
    parts[at : at + 2] = [str(count), f"{total:016x}"]
    return ":".join(parts)


@dataclass
class Signal:
    paper_id: int
    at: dt.datetime
    how: str  # "saved" | "upvoted" | "not interested"


@dataclass
class Signals:
    positives: list[Signal] = field(default_factory=list)
    negatives: list[Signal] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)
    categories: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)

    def fingerprint(self) -> str:
        """Names the signals a profile covers: per group, their count and the sum of their hashes,
        so that the hooks can add or take away one signal without reading the others."""
        pos = sum(_signal_hash(s.paper_id, s.how) for s in self.positives) % 2**64
        neg = sum(_signal_hash(s.paper_id, NOT_INTERESTED) for s in self.negatives) % 2**64
        return f"{FINGERPRINT_V}:{len(self.positives)}:{pos:016x}:{len(self.negatives)}:{neg:016x}"

    def empty(self) -> bool:
        """Nothing done or followed yet (an empty list then says how to fill it, not that nothing fits)."""
        return not (self.positives or self.negatives or self.categories or self.authors or self.keywords)

    def excluded(self) -> set[int]:
        return {s.paper_id for s in self.positives} | {s.paper_id for s in self.negatives} | self.seen


def _model(label: str) -> Any:
    try:
        return apps.get_model(label)
    except LookupError:
        return None


def signals_of(user_id: int) -> Signals:
    """Everything the user told us, from whichever apps record it."""
    out = Signals()
    if vote := _model("feed.Vote"):
        out.positives += [
            Signal(p, at, "upvoted")
            for p, at in vote.objects.filter(user_id=user_id).values_list("paper_id", "created_at")
        ]
    if item := _model("feed.CollectionItem"):
        out.positives += [
            Signal(p, at, "saved")
            for p, at in item.objects.filter(collection__user_id=user_id).values_list("paper_id", "added_at")
        ]
    for p, kind, at in Feedback.objects.of(user_id).values_list("paper_id", "kind", "at"):
        if kind == Feedback.Kind.NOT_INTERESTED:
            out.negatives.append(Signal(p, at, NOT_INTERESTED))
        else:
            out.seen.add(p)
    if follow := _model("accounts.Follow"):
        for kind, value in follow.objects.filter(user_id=user_id).values_list("kind", "value"):
            {"category": out.categories, "author": out.authors, "keyword": out.keywords}.get(kind, []).append(
                value
            )
    return out


# --- the profile ------------------------------------------------------------------------------------


def _row_matrix(paper_ids: Sequence[int], idf: model.Idf) -> tuple[list[int], sp.csr_matrix | None]:
    """The papers' feature rows, in the order given, of those that still exist (their ids)."""
    texts = {
        pk: model.paper_text(title, abstract)
        for pk, title, abstract in Paper.objects.filter(pk__in=list(paper_ids)).values_list(
            "pk", "title", "abstract"
        )
    }
    ids = [p for p in paper_ids if p in texts]
    if not ids:
        return [], None
    return ids, model.weigh(model.counts([texts[p] for p in ids]), idf)


def _rows(paper_ids: Sequence[int], idf: model.Idf) -> dict[int, sp.csr_matrix]:
    ids, rows = _row_matrix(paper_ids, idf)
    return {p: rows[i] for i, p in enumerate(ids)} if rows is not None else {}


def _liked_matrix(
    recent: list[int], idf: model.Idf, before: _UserState | None
) -> tuple[list[int], sp.csr_matrix | None]:
    """The rows of the recent liked papers (newest first), taking those the user's state before this
    action already held (same window: same texts and idf) instead of hashing all 300 again."""
    held_rows = before.liked_matrix if before is not None else None
    held = (
        {p: i for i, p in enumerate(before.liked_ids)} if before is not None and held_rows is not None else {}
    )
    new_ids, new_rows = _row_matrix([p for p in recent if p not in held], idf)
    if held_rows is None or not held:
        return new_ids, new_rows
    # A paper deleted since is gone from the titles the reasons read: left out, as _row_matrix does.
    alive = set(Paper.objects.filter(pk__in=[p for p in recent if p in held]).values_list("pk", flat=True))
    at = {p: held[p] for p in recent if p in alive}
    at.update({p: held_rows.shape[0] + i for i, p in enumerate(new_ids)})
    stacked = held_rows if new_rows is None else sp.vstack([held_rows, new_rows], format="csr")
    ids = [p for p in recent if p in at]
    return (ids, stacked[np.array([at[p] for p in ids])]) if ids else ([], None)


def _age_days(now: dt.datetime, at: dt.datetime) -> float:
    return max((now - at).total_seconds() / 86400, 0.0)


def _relative_weight(ref: dt.datetime, at: dt.datetime) -> float:
    """A signal's weight decayed to `ref` (above 1 for one newer than `ref`)."""
    return float(np.exp2(-(ref - at).total_seconds() / 86400 / model.HALF_LIFE_DAYS))


def rebuild_profile(user_id: int, sig: Signals | None = None, cands: Candidates | None = None) -> Profile:
    """The profile from all of the user's signals (first use, or repair); its change log is dropped."""
    sig = sig or signals_of(user_id)
    cands = cands or candidates()
    now = timezone.now()
    row_ids, rows = _row_matrix(
        list(dict.fromkeys(s.paper_id for s in sig.positives + sig.negatives)), cands.idf
    )
    at = {p: i for i, p in enumerate(row_ids)}
    packed: dict[str, Any] = {}
    for name, group in (("positive", sig.positives), ("negative", sig.negatives)):
        kept = [s for s in group if s.paper_id in at]
        weights = [float(model.decay(_age_days(now, s.at))) for s in kept]
        if rows is None or not kept:
            packed[name], packed[f"{name}_weight"] = b"", 0.0
            continue
        summed = weighted_sum(rows[np.array([at[s.paper_id] for s in kept])], np.array(weights))
        packed[name] = Profile.pack_entries(summed.indices, summed.data)
        packed[f"{name}_weight"] = sum(weights)  # in signal order, as the sums
    with transaction.atomic():
        prof, _ = Profile.objects.update_or_create(
            user_id=user_id,
            defaults={"features": FEATURES, **packed, "as_of": now, "fingerprint": sig.fingerprint()},
        )
        ProfileChange.objects.filter(user_id=user_id).delete()
    return prof


def weighted_sum(rows: sp.csr_matrix, weights: np.ndarray) -> sp.csr_matrix:
    """`sum(weights[i] * rows[i])` as one 1 x N_FEATURES row with sorted indices and no zeros: each
    row scaled in float32, the sum taken in float64 row after row (one sparse product, bit for bit
    what adding the rows one at a time into a dense vector gave)."""
    scaled = rows.astype(np.float32, copy=True)
    scaled.data *= np.repeat(np.asarray(weights, dtype=np.float32), np.diff(scaled.indptr))
    ones = sp.csr_matrix(np.ones((1, rows.shape[0]), dtype=np.float64))
    out = (ones @ scaled.astype(np.float64)).tocsr()
    out.sum_duplicates()  # also sorts the indices
    out.eliminate_zeros()
    return out


def _vector(idx: np.ndarray, val: np.ndarray) -> sp.csr_matrix:
    return sp.csr_matrix((val, idx, np.array([0, len(idx)])), shape=(1, model.N_FEATURES))


def _with_changes(
    prof: Profile, changes: Sequence[ProfileChange], ref: dt.datetime
) -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """The profile's sums and weights with its logged changes added, all decayed to `ref` (a
    profile's scores depend only on the ratio of a sum to its weight: any common `ref` will do):
    {"positive" | "negative": (sorted column indices, float64 values, weight)}."""
    shrink = float(model.decay(_age_days(ref, prof.as_of)))
    out = {}
    for name in ("positive", "negative"):
        idx, val = Profile.entries(getattr(prof, name))
        val = val * shrink
        total = getattr(prof, f"{name}_weight") * shrink
        mine = [c for c in changes if c.negative == (name == "negative")]
        if mine:
            # a change newer than `ref` counts more than one, as it should
            weights = [c.sign * _relative_weight(ref, c.at) for c in mine]
            parts = [Profile.entries(c.row) for c in mine]
            indptr = np.concatenate([[0], np.cumsum([len(i) for i, _ in parts])])
            rows = sp.csr_matrix(
                (np.concatenate([v for _, v in parts]), np.concatenate([i for i, _ in parts]), indptr),
                shape=(len(mine), model.N_FEATURES),
            )
            summed = (_vector(idx, val) + weighted_sum(rows, np.array(weights))).tocsr()
            summed.sort_indices()
            idx, val = summed.indices, summed.data
            total += sum(weights)
            if total <= 1e-9:  # the last signal taken out: what is left is rounding
                idx, val, total = idx[:0], val[:0], 0.0
            kept = np.abs(val) >= 1e-7  # what taking a row back out leaves of it
            idx, val = idx[kept], val[kept]
        out[name] = (idx.astype(np.int32), val, total)
    return out


def _changes(user_id: int) -> list[ProfileChange]:
    return list(ProfileChange.objects.filter(user_id=user_id).order_by("id"))


def fold_changes(prof: Profile, changes: Sequence[ProfileChange] | None = None) -> None:
    """Write the profile's sums with its logged changes added, and drop the log (in the caller's
    transaction, which holds the profile's row)."""
    changes = _changes(prof.user_id) if changes is None else changes
    if not changes:
        return
    now = max(timezone.now(), prof.as_of)
    for name, (idx, val, total) in _with_changes(prof, changes, now).items():
        setattr(prof, name, Profile.pack_entries(idx, val))
        setattr(prof, f"{name}_weight", total)
    prof.as_of = now
    prof.fingerprint = changes[-1].fingerprint
    prof.save()
    ProfileChange.objects.filter(user_id=prof.user_id, id__lte=changes[-1].id).delete()


def apply_signal(user_id: int, paper_id: int, *, how: str, at: dt.datetime, sign: int) -> None:
    """Log one signal's row as added (sign +1) or taken away (-1), with the fingerprint moved by its
    hash: the incremental update the hooks run after a vote, save or "not interested" commits. It
    writes the paper's row, not the profile (~1 KB against ~0.7 MB at 1,000 liked papers); once the
    log holds FOLD_SHARE of the sums' nonzeros (or FOLD_MAX changes) the sums absorb it. Its cost is
    one paper's text and the log's size, whatever the user's history (no other signal is read).
    Nothing to update without a current profile, or without a window in this process: the next "for
    you" builds the profile again from all the signals (its fingerprint then differs), and loads
    the window anyway, where a vote's request should not wait for either. A profile that missed a
    signal stays unmatched after this one: still rebuilt at the next read."""
    if not index.loaded():
        return
    cands = candidates()
    with transaction.atomic():
        prof = Profile.objects.select_for_update().filter(user_id=user_id).first()
        if prof is None or prof.features != FEATURES:
            return
        log_size = ProfileChange.objects.filter(user_id=user_id).aggregate(
            n=Count("id"), size=Sum(Length("row"))
        )
        last = (
            ProfileChange.objects.filter(user_id=user_id)
            .order_by("-id")
            .values_list("fingerprint", flat=True)
            .first()
        )
        fingerprint = _shifted_fingerprint(last or prof.fingerprint, paper_id, how, sign)
        if fingerprint is None:  # stored by an older version: the next read rebuilds it anyway
            return
        rows = _rows([paper_id], cands.idf)
        if paper_id not in rows:  # the paper was deleted (its votes and saves with it): its row is
            rebuild_profile(user_id, cands=cands)  # gone, and only a rebuild takes it back out
            return
        r = rows[paper_id]
        r.sum_duplicates()  # one entry per column, sorted, as Profile.pack_entries stores them
        row = Profile.pack_entries(r.indices, r.data)
        ProfileChange.objects.create(
            user_id=user_id,
            negative=how == NOT_INTERESTED,
            sign=sign,
            at=at,
            row=row,
            fingerprint=fingerprint,
        )
        logged = (log_size["size"] or 0) + len(row)
        if log_size["n"] + 1 >= FOLD_MAX or logged >= FOLD_SHARE * (len(prof.positive) + len(prof.negative)):
            fold_changes(prof)


def on_signal(user_id: int, paper_id: int, *, how: str, at: dt.datetime, sign: int) -> None:
    """Hook body: run after commit; a failure only costs a rebuild at the next request."""

    def run() -> None:
        try:
            apply_signal(user_id, paper_id, how=how, at=at, sign=sign)
        except Exception:
            log.exception("could not update the recommendation profile of user %s", user_id)

    transaction.on_commit(run)


def _current_sums(
    user_id: int, sig: Signals, cands: Candidates
) -> tuple[Profile, list[ProfileChange], dict[str, tuple[np.ndarray, np.ndarray, float]]] | None:
    """The user's profile, its logged changes and the sums of both (`_with_changes`, decayed to the
    profile's `as_of`), rebuilt if it misses signals; None: no signal at all."""
    prof = Profile.objects.filter(user_id=user_id).first()
    changes = _changes(user_id) if prof is not None else []
    fingerprint = changes[-1].fingerprint if changes else prof.fingerprint if prof is not None else None
    if prof is None or prof.features != FEATURES or fingerprint != sig.fingerprint():
        if not sig.positives and not sig.negatives:
            return None
        prof, changes = rebuild_profile(user_id, sig, cands), []
    return prof, changes, _with_changes(prof, changes, prof.as_of)


def profile_vector(
    user_id: int, sig: Signals, cands: Candidates, *, negatives_alone: bool = False
) -> sp.csr_matrix | None:
    """The user's current profile (its sums and logged changes) as a sparse column, rebuilt if it
    misses signals. None: no liked papers yet, unless `negatives_alone` (followed keywords stand for
    them): then the "not interested" part alone, None only without marks either."""
    current = _current_sums(user_id, sig, cands)
    if current is None:
        return None
    sums = current[2]
    parts = []
    (pos_idx, pos_val, pos_weight), (neg_idx, neg_val, neg_weight) = sums["positive"], sums["negative"]
    # float32 values times a float: the scale is applied in float32, as the stored sums always were
    if pos_weight > 0:
        parts.append((pos_idx, pos_val.astype(np.float32) * (1 / pos_weight)))
    elif not negatives_alone or neg_weight <= 0:
        return None
    if neg_weight > 0:
        parts.append((neg_idx, neg_val.astype(np.float32) * (-model.NEGATIVE_WEIGHT / neg_weight)))
    rows = np.concatenate([p[0] for p in parts])
    vals = np.concatenate([p[1] for p in parts]).astype(np.float32)
    return sp.csr_matrix((vals, (rows, np.zeros(len(rows), dtype=np.int32))), shape=(model.N_FEATURES, 1))


def _column(idx: np.ndarray, val: np.ndarray) -> sp.csr_matrix:
    return sp.csr_matrix((val, idx, np.array([0, len(idx)])), shape=(1, model.N_FEATURES)).T


@dataclass
class _TextScores:
    """The candidates' text scores, kept in parts: the dot products of each with the stored sums of
    liked and of "not interested" rows (decayed to the profile's `as_of`, and their weights), and
    with the followed keywords. A score is linear in the sums, so an action's logged row moves its
    part by that row's dot products alone (one row's terms read, not the profile's 89,000 at 1,000
    liked papers), the same numbers as from the sums (float rounding aside)."""

    as_of: dt.datetime | None  # the profile's (None: no profile)
    last_change: int  # the newest ProfileChange counted
    fingerprint: str
    dots: dict[str, np.ndarray]  # "positive" | "negative": each candidate's dot product with the sum
    weights: dict[str, float]
    keywords: sp.csr_matrix | None  # the followed keywords' column (KEYWORD_WEIGHT included)
    keyword_dots: np.ndarray | None

    def scores(self, n: int, negatives_alone: bool) -> np.ndarray | None:
        """As `model.score` with `profile_vector` plus the keywords' column; None: no profile."""
        pos, neg = self.weights["positive"] > 0, self.weights["negative"] > 0
        out = None
        if pos or (negatives_alone and neg):
            out = np.zeros(n, dtype=np.float64)
            if pos:
                out += self.dots["positive"] / self.weights["positive"]
            if neg:
                out -= model.NEGATIVE_WEIGHT / self.weights["negative"] * self.dots["negative"]
        if self.keyword_dots is not None:
            out = self.keyword_dots.copy() if out is None else out + self.keyword_dots
        return out


TEXT_UPDATE_MAX = 32  # logged changes past which the sums' parts are scored afresh


def _text_scores(user_id: int, sig: Signals, cands: Candidates, before: _TextScores | None) -> _TextScores:
    """The user's text scores: the state before's parts moved by the changes logged since, when the
    profile's sums are the same ones (no fold, no rebuild) and its signals are all logged; else
    from the sums."""
    keywords = keyword_profile(sig.keywords, cands.idf) * KEYWORD_WEIGHT if sig.keywords else None
    keyword_dots = model.score(cands.rows, keywords, cands.by_term) if keywords is not None else None
    if before is not None and before.as_of is not None:
        stored = Profile.objects.filter(user_id=user_id).values("as_of", "features").first()
        if stored is not None and stored["as_of"] == before.as_of and stored["features"] == FEATURES:
            new = list(
                ProfileChange.objects.filter(user_id=user_id, id__gt=before.last_change).order_by("id")[
                    : TEXT_UPDATE_MAX + 1
                ]
            )
            fingerprint = new[-1].fingerprint if new else before.fingerprint
            if len(new) <= TEXT_UPDATE_MAX and fingerprint == sig.fingerprint():
                dots = dict(before.dots)
                weights = dict(before.weights)
                for c in new:
                    name = "negative" if c.negative else "positive"
                    w = c.sign * _relative_weight(before.as_of, c.at)
                    dots[name] = dots[name] + w * model.score(
                        cands.rows, _column(*Profile.entries(c.row)), cands.by_term
                    )
                    weights[name] += w
                if all(v > 1e-9 or v == 0 for v in weights.values()):  # else rounding: start again
                    last = new[-1].id if new else before.last_change
                    return _TextScores(before.as_of, last, fingerprint, dots, weights, keywords, keyword_dots)
    current = _current_sums(user_id, sig, cands)
    if current is None:
        zero = {"positive": 0.0, "negative": 0.0}
        return _TextScores(None, 0, "", {}, zero, keywords, keyword_dots)
    prof, changes, sums = current
    dots, weights = {}, {}
    for name, (idx, val, total) in sums.items():
        dots[name] = (
            model.score(cands.rows, _column(idx, val), cands.by_term) if total > 0 else np.zeros(len(cands))
        )
        weights[name] = float(total)
    last = changes[-1].id if changes else 0
    fingerprint = changes[-1].fingerprint if changes else prof.fingerprint
    return _TextScores(prof.as_of, last, fingerprint, dots, weights, keywords, keyword_dots)


def keyword_profile(keywords: Sequence[str], idf: model.Idf) -> sp.csr_matrix:
    """The followed keywords as one unit-length pseudo-paper (a sparse column), each keyword weighed
    as a text of its own and counting alike: joined into one text, the last word of one and the first
    of the next formed a word pair that no keyword has."""
    rows = model.weigh(model.counts(keywords), idf)
    total = (sp.csr_matrix(np.ones((1, rows.shape[0]), dtype=np.float32)) @ rows).tocsr()
    norm = float(np.sqrt(total.multiply(total).sum()))
    if norm > 0:
        total.data /= norm
    return total.T.tocsr()


@dataclass
class _UserState:
    """What a request needs from the user's signals; kept per process until they change."""

    # Each candidate's text score (None: no profile, and nothing followed to stand for one).
    text: np.ndarray | None
    dense: np.ndarray | None
    liked_ids: list[int]
    liked_matrix: sp.csr_matrix | None
    liked_titles: dict[int, str]
    quoted_titles: dict[int, str]  # as reasons quote them (_liked_reason), filled as they are named
    liked_arxiv: dict[int, str]
    how: dict[int, Signal]
    categories: np.ndarray | None  # the liked papers' category distribution (model.Categories)
    scored: dict[str, Any] = field(default_factory=dict)  # the candidates' scores, filled on first use
    nearest: model.NearestLiked | None = None  # the liked papers each candidate is closest to
    liked_terms: model.OnTerms | None = None  # liked_matrix on its own terms (model.dot_rows)
    category_mass: _CategoryMass | None = None  # what `categories` is the share of
    dense_mass: _DenseMass | None = None  # what `dense` is the profile of
    text_parts: _TextScores | None = None  # what `text` is made of
    # The user's state before their last action, over the same window: what scoring this one updates
    # (a few liked papers more or less) instead of starting again. Dropped once this one is scored.
    before: _UserState | None = None


# Keyed by user and the categories counted as followed: a digest adds its subscription's categories,
# and its entry must not replace the page's (the next "for you" scored every candidate again).
_states: OrderedDict[tuple[int, tuple[str, ...]], tuple[tuple[Any, ...], _UserState]] = OrderedDict()
_states_lock = threading.Lock()
STATE_CACHE_USERS = 512  # entries: a user with a digest of other categories holds two


def _user_state(user_id: int, sig: Signals, cands: Candidates) -> _UserState:
    slot = (user_id, tuple(sig.categories))
    key = (
        sig.fingerprint(),
        tuple(sig.keywords),
        tuple(sig.authors),
        id(cands),
        cands.watermark,
        cands.embedded,
    )
    with _states_lock:
        hit = _states.get(slot)
        if hit is not None and hit[0] == key:
            _states.move_to_end(slot)
            return hit[1]
        # The liked rows do not depend on the categories: any entry of the user's will do.
        hit = hit or next((v for (uid, _), v in reversed(_states.items()) if uid == user_id), None)
    before = hit[1] if hit is not None and hit[0][3:] == key[3:] else None  # the same window
    # Followed keywords are a liked pseudo-paper, followed categories and authors a list of their newest
    # papers: "not interested" pushes away from them too.
    text_parts = _text_scores(user_id, sig, cands, before.text_parts if before is not None else None)
    text = text_parts.scores(len(cands), negatives_alone=bool(sig.keywords or sig.categories or sig.authors))
    newest_first = sorted(sig.positives, key=lambda s: s.at, reverse=True)
    recent = list(dict.fromkeys(s.paper_id for s in newest_first))[:RECENT_LIKED]
    liked_ids, liked_matrix = _liked_matrix(recent, cands.idf, before)
    liked = {
        pk: (title, arxiv_id)
        for pk, title, arxiv_id in Paper.objects.filter(pk__in=liked_ids).values_list(
            "pk", "title", "arxiv_id"
        )
    }
    how: dict[int, Signal] = {}
    for s in sig.positives:
        if s.paper_id in how and how[s.paper_id].how != s.how:
            how[s.paper_id] = Signal(s.paper_id, s.at, "saved and upvoted")
        else:
            how.setdefault(s.paper_id, s)
    category_mass = (
        _category_mass(sig, cands, before.category_mass if before is not None else None)
        if text is not None
        else None
    )
    dense_mass = (
        _dense_mass(sig, cands, before.dense_mass if before is not None else None)
        if text is not None
        else None
    )
    state = _UserState(
        text=text,
        text_parts=text_parts,
        dense=dense_mass.profile() if dense_mass is not None else None,
        dense_mass=dense_mass,
        liked_ids=liked_ids,
        liked_matrix=liked_matrix,
        liked_titles={pk: title for pk, (title, _) in liked.items()},
        quoted_titles={},
        liked_arxiv={pk: arxiv_id for pk, (_, arxiv_id) in liked.items()},
        how=how,
        categories=category_mass.distribution() if category_mass is not None else None,
        category_mass=category_mass,
        before=before,
        liked_terms=model.OnTerms(liked_matrix) if liked_matrix is not None else None,
    )
    if before is not None:
        before.before = None  # one state back is all an update needs
    with _states_lock:
        for other in [k for k, v in _states.items() if k[0] == user_id and v[0] != key]:
            del _states[other]  # scored before the user's last action: never current again
        _states[slot] = (key, state)
        _states.move_to_end(slot)
        while len(_states) > STATE_CACHE_USERS:
            _states.popitem(last=False)
    return state


# --- recommending -----------------------------------------------------------------------------------


@dataclass
class Recommendation:
    paper: Paper
    score: float
    reason: str
    because: list[str] = field(default_factory=list)  # arXiv ids of the liked papers behind the reason
    rank: int = 0  # the place in the list, from 1: the order to show them in

    def as_json(self) -> dict[str, Any]:
        p = self.paper
        return {
            "id": p.arxiv_id,
            "title": p.title,
            "authors": [a.get("name", "") for a in p.authors],
            "primary_category": p.primary_category_id,
            "announced": p.announced.isoformat() if p.announced else None,
            "rank": self.rank,
            "score": round(self.score, 5),
            "reason": self.reason,
            "because": self.because,
        }


def _quote(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return f"“{text if len(text) <= width else text[: width - 1].rstrip() + '…'}”"


def _quote_title(title: str) -> str:
    """A liked paper's title as a reason quotes it: in plain characters (tex.plain), cut there. A
    reason is text wherever it goes (the page, the API, feeds, mail), which no KaTeX renders, and
    the raw title cut at its 69th character could end inside a formula (`$\\mathcal{O}(n…`)."""
    return _quote(tex.plain(title))


def _liked_reason(liked: list[Signal], titles: dict[int, str], quoted: dict[int, str] | None = None) -> str:
    """`quoted`: the liked papers' titles quoted so far, kept with the user's state and filled here
    (tex.plain costs ~20-40 us a title: a page of 30 reasons named up to 60 at each request)."""
    quoted = {} if quoted is None else quoted
    for s in liked:
        if s.paper_id not in quoted:
            quoted[s.paper_id] = _quote_title(titles[s.paper_id])
    # Each paper with its own verb: merged, a paper only upvoted read as saved. A verb shared by all
    # is said once.
    if len({s.how for s in liked}) == 1:
        return f"Like {' and '.join(quoted[s.paper_id] for s in liked)}, which you {liked[0].how}"
    return "Like " + ", and ".join(f"{quoted[s.paper_id]}, which you {s.how}" for s in liked)


def _mentioned(keywords: list[str], title: str, abstract: str) -> list[str]:
    """The followed keywords the paper's title or abstract contains as words (any case, any spacing
    or hyphen between the words, a plural s): a keyword is claimed only when it is there."""
    text = f"{title} {abstract}"
    found = []
    for k in keywords:
        words = k.split()
        if words and re.search(
            r"(?<!\w)" + r"[\s-]+".join(map(re.escape, words)) + r"(?:e?s)?(?!\w)", text, re.I
        ):
            found.append(k)
    return found


SignalKey = tuple[int, str, dt.datetime]  # (paper, how, at): a paper saved and upvoted is two
UPDATE_MAX = 32  # signals more or fewer than the state before's, past which all are read again


def _keys(group: list[Signal]) -> Counter[SignalKey]:
    return Counter((s.paper_id, s.how, s.at) for s in group)


def _moved(now: Counter[SignalKey], before: Counter[SignalKey]) -> list[tuple[SignalKey, int]]:
    """The signals added since `before` (n > 0) and removed (n < 0): what an incremental state
    (_CategoryMass, _DenseMass) adds or takes away."""
    return [*(now - before).items(), *((k, -n) for k, n in (before - now).items())]


@dataclass
class _DenseMass:
    """The user's liked and "not interested" papers' sentence embeddings summed with their signals'
    weights, decayed to `ref` (the profile is a ratio of a sum to its weight, so any common `ref`
    will do): an action adds or takes away its own paper's embedding, as the sparse profile's log
    does, instead of every liked paper's being read from the database again (~1,000 vectors at
    1,000 liked papers, after each vote or save)."""

    ref: dt.datetime
    sums: dict[str, np.ndarray]  # "positive" | "negative": float64, one embedding wide
    weights: dict[str, float]
    signals: dict[str, Counter[SignalKey]]  # per group
    held: set[int]  # the papers whose embedding is in the sums

    def profile(self) -> np.ndarray | None:
        return model.dense_profile_of_sums(
            self.sums["positive"], self.weights["positive"], self.sums["negative"], self.weights["negative"]
        )


def _dense_mass(sig: Signals, cands: Candidates, before: _DenseMass | None) -> _DenseMass | None:
    """The user's profile over the search index's embeddings (`.profile()`): the state before's
    updated by the signals added and removed since, when there are few, else read afresh. None:
    no embeddings to use, or nothing liked."""
    if cands.dense is None or not sig.positives:
        return None
    signals = {"positive": _keys(sig.positives), "negative": _keys(sig.negatives)}
    if before is not None:
        moved = [(name, key, n) for name in signals for key, n in _moved(signals[name], before.signals[name])]
        if len(moved) <= UPDATE_MAX:
            vecs = index.embeddings(list({p for _, (p, _, _), _ in moved}))
            # A paper whose embedding is in the sums and gone now cannot be taken back out.
            if all(p in vecs or p not in before.held for _, (p, _, _), n in moved if n < 0):
                sums = {name: v.copy() for name, v in before.sums.items()}
                weights = dict(before.weights)
                for name, (p, _, at), n in moved:
                    if p in vecs and (n > 0 or p in before.held):
                        w = n * _relative_weight(before.ref, at)
                        sums[name] += w * vecs[p]
                        weights[name] += w
                if all(v > 1e-9 or v == 0 for v in weights.values()):  # else rounding: read them all
                    held = before.held | {p for _, (p, _, _), _ in moved if p in vecs}
                    return _DenseMass(before.ref, sums, weights, signals, held)
    vecs = index.embeddings(list({s.paper_id for s in sig.positives + sig.negatives}))
    now = timezone.now()
    dim = cands.dense.shape[1]
    summed: dict[str, np.ndarray] = {}
    total: dict[str, float] = {}
    for name, group in signals.items():
        kept = [(p, at, n) for (p, _, at), n in group.items() if p in vecs]
        each = np.array([n * _relative_weight(now, at) for _, at, n in kept], dtype=np.float64)
        rows = np.array([vecs[p] for p, _, _ in kept], dtype=np.float32).reshape(len(kept), dim)
        summed[name], total[name] = each @ rows, float(each.sum())
    return _DenseMass(now, summed, total, signals, set(vecs))


@dataclass
class _CategoryMass:
    """The liked papers' category rows summed with their signals' weights, decayed to `ref` (the
    distribution is their share, so any common `ref` will do): an action adds or takes away its own
    signal's row instead of reading the categories of every liked paper again."""

    ref: dt.datetime
    mass: np.ndarray
    signals: Counter[SignalKey]
    listed: dict[int, list[str]]  # the liked papers' categories, primary first

    def distribution(self) -> np.ndarray | None:
        total = self.mass.sum()
        return self.mass / total if total > 0 else None


def _listed(paper_ids: Iterable[int]) -> dict[int, list[str]]:
    listed: dict[int, list[str]] = {}
    for pid, code in (
        PaperCategory.objects.filter(paper_id__in=set(paper_ids))
        .order_by("paper_id", "position")
        .values_list("paper_id", "category_id")
    ):
        listed.setdefault(pid, []).append(code)
    return listed


def _category_mass(sig: Signals, cands: Candidates, before: _CategoryMass | None) -> _CategoryMass | None:
    """The categories of the papers the user liked, weighted as their signals are in the text profile
    (`.distribution()`): the state before's updated by the signals added and removed since, when
    there are few, else read afresh. None: nothing liked."""
    if not sig.positives:
        return None
    signals = _keys(sig.positives)
    if before is not None:
        moved = _moved(signals, before.signals)
        if len(moved) <= UPDATE_MAX:
            unread = {p for (p, _, _), n in moved if n > 0} - set(before.listed)
            listed = {**before.listed, **_listed(unread)} if unread else before.listed
            mass = before.mass.copy()
            kept = [(p, at, n) for (p, _, at), n in moved if p in listed]
            if kept:
                weights = [n * _relative_weight(before.ref, at) for _, at, n in kept]
                rows = cands.category_index.rows([listed[p] for p, _, _ in kept])
                mass += np.asarray(rows.T @ np.array(weights)).ravel()
            if mass.sum() > 1e-9:  # else what is left is rounding: read them all
                return _CategoryMass(before.ref, mass, signals, listed)
    return _fresh_category_mass(sig, cands.category_index, _listed(s.paper_id for s in sig.positives))


def _fresh_category_mass(
    sig: Signals, category_index: model.Categories, listed: dict[int, list[str]]
) -> _CategoryMass:
    """The liked papers' category rows (`listed`: their categories, primary first) summed with their
    signals' weights decayed to now, over `category_index`'s categories."""
    now = timezone.now()
    kept_signals = [s for s in sig.positives if s.paper_id in listed]
    signal_weights = np.array([_relative_weight(now, s.at) for s in kept_signals])
    rows = category_index.rows([listed[s.paper_id] for s in kept_signals])
    mass = np.asarray(rows.T @ signal_weights).ravel() if kept_signals else np.zeros(rows.shape[1])
    return _CategoryMass(now, mass, _keys(sig.positives), listed)


def _dense_scores(prof: np.ndarray | None, cands: Candidates) -> np.ndarray | None:
    if prof is None or cands.dense is None or cands.has_dense is None or not cands.has_dense.any():
        return None
    scores = cands.dense @ prof
    scores[~cands.has_dense] = scores[cands.has_dense].mean()  # not embedded yet: neither up nor down
    return scores


def _score(state: _UserState, sig: Signals, cands: Candidates) -> dict[str, Any]:
    prof = state.text
    text = prof if prof is not None else np.zeros(len(cands), dtype=np.float32)
    dense = _dense_scores(state.dense, cands)
    followed_cats, followed_authors = set(sig.categories), set(sig.authors)
    in_cat = (
        np.array([bool(followed_cats.intersection(c)) for c in cands.categories]) if followed_cats else None
    )
    by_author = (
        np.array([bool(followed_authors.intersection(a)) for a in cands.authors])
        if followed_authors
        else None
    )
    prior = model.category_prior(cands.category_rows, state.categories) if prof is not None else None
    nearest = None
    if prof is not None and state.liked_matrix is not None:
        state.nearest = _nearest(state, cands)
        nearest = state.nearest.scores()
    state.before = None
    scores = model.blend(text, dense, prior, nearest)  # in cosine units, as the bonuses below
    if in_cat is not None:
        scores += CATEGORY_BONUS * in_cat
    if by_author is not None:
        scores += AUTHOR_BONUS * by_author
    return {"text": text, "dense": dense, "in_cat": in_cat, "by_author": by_author, "scores": scores}


# Liked papers more or fewer than in the state before, past which the nearest-liked view is computed
# again rather than updated (a removed one costs a recompute of the candidates it was among the best of).
NEAREST_UPDATE_MAX = 32


def _nearest(state: _UserState, cands: Candidates) -> model.NearestLiked:
    """The nearest-liked view of the state's liked papers: the state before's updated when it holds
    nearly the same ones (an action adds or removes one, and at RECENT_LIKED the oldest drops out),
    else from scratch. Either gives the same numbers (float32 rounding aside)."""
    assert state.liked_matrix is not None
    keys = np.asarray(state.liked_ids, dtype=np.int64)
    before = state.before
    if (
        before is not None
        and before.nearest is not None
        and len(set(state.liked_ids).symmetric_difference(before.liked_ids)) <= NEAREST_UPDATE_MAX
    ):
        had = np.asarray(before.liked_ids, dtype=np.int64)
        return before.nearest.updated(
            had, keys, state.liked_matrix, cands.rows, cands.by_term, state.liked_terms
        )
    return model.NearestLiked.of(keys, state.liked_matrix, cands.rows, cands.by_term)


def _alternate(first: np.ndarray, second: np.ndarray, limit: int) -> np.ndarray:
    """`first[0], second[0], first[1], ...` without repeats, the longer one's rest at the end: any
    prefix of a longer list is the shorter list, so a page asking for more shows the same first."""
    out: dict[int, None] = {}
    for i in range(max(len(first), len(second))):
        for part in (first, second):
            if i < len(part):
                out.setdefault(int(part[i]))
    return np.fromiter(out, dtype=np.int64, count=len(out))[:limit]


def recommend(
    user: Any,
    *,
    limit: int = 20,
    exclude: Iterable[int] = (),
    since: dt.date | None = None,
    until: dt.date | None = None,
    categories: Iterable[str] = (),
    signals: Signals | None = None,
) -> list[Recommendation]:
    """The user's best new papers, best first, each with the reason it is there. Never a paper the user
    voted on, saved, marked "not interested" or opened from a recommendation (nor any in `exclude`),
    nor one announced before `since` or after `until` (a digest's period). `categories`: ones the
    user follows outside their account (a digest subscription's own list), counted as followed; a
    reason names them as the digest's, not as followed ones (the site shows no such follow).
    `signals`: the user's, read already (signals_of) by a caller that needs them too (the page, for
    provisional() when this raises index.NotReady); left as they are."""
    limit = max(1, min(int(limit), MAX_LIMIT))
    user_id = user if isinstance(user, int) else user.pk
    sig = signals if signals is not None else signals_of(user_id)
    own_cats = set(sig.categories)
    sig = replace(sig, categories=list(dict.fromkeys([*sig.categories, *categories])))
    cands = candidates()
    if not len(cands):
        return []
    state = _user_state(user_id, sig, cands)
    prof = state.text
    followed_cats, followed_authors = set(sig.categories), set(sig.authors)
    if not state.scored:  # scores change only when the user acts or the papers change
        state.scored.update(_score(state, sig, cands))
    text, dense, in_cat, by_author, scores = (
        state.scored[k] for k in ("text", "dense", "in_cat", "by_author", "scores")
    )
    eligible = ~np.isin(cands.ids, list(sig.excluded() | set(exclude)))
    if since is not None:
        eligible &= cands.days >= np.datetime64(since, "D")
    if until is not None:
        eligible &= cands.days <= np.datetime64(until, "D")
    allowed = eligible.copy()
    newest = None  # nothing liked yet: the followed categories' and authors' papers, newest first
    if not state.liked_ids and (in_cat is not None or by_author is not None):
        followed = np.zeros(len(cands), dtype=bool)
        order = (cands.days - cands.days.min()).astype(np.float64)
        order *= 1e-3 / max(order.max(), 1)
        for m, bonus in ((in_cat, CATEGORY_BONUS), (by_author, AUTHOR_BONUS)):
            if m is not None:
                followed |= m
                order += bonus * m
        if prof is not None:  # papers like those marked "not interested" go down this list too
            order += np.minimum(text, 0)
        newest = model.top(order, limit, eligible & followed)
    if prof is None:
        best = newest if newest is not None else np.zeros(0, dtype=np.int64)
    else:
        evidence = text > 0
        if dense is not None:
            evidence |= model._z(dense) > 2  # no shared rare term, but close in meaning
        allowed &= evidence
        if by_author is not None:
            allowed |= by_author & eligible
        best = model.top(scores, limit, allowed)
        if newest is not None and in_cat is not None:
            # Followed keywords and categories, nothing liked yet: every other place goes to what is
            # new in the categories, which the keywords' matches would otherwise crowd out entirely.
            best = _alternate(best, newest, limit)
    if not len(best):
        return []
    ids = [int(cands.ids[i]) for i in best]
    papers = Paper.objects.select_related("primary_category").in_bulk(ids)
    liked_ids, how = state.liked_ids, state.how
    liked_titles, liked_arxiv = state.liked_titles, state.liked_arxiv
    out: list[Recommendation] = []
    # Each recommendation's similarity to each liked paper, for its reason, in one product.
    reason_sims = state.liked_terms.dot(cands.rows[best]) if state.liked_terms is not None else None
    # With nothing more specific to say, name only what the profile was made of: followed keywords
    # are in it, followed categories and authors only add bonuses that have reasons of their own.
    fallback = "Close to papers you liked"
    if sig.keywords:
        fallback = "Close to what you like and follow" if liked_ids else "Close to what you follow"
    # The score shown never rises down the list: where keyword matches and the followed categories'
    # newest papers take turns, a newest paper's own score is far below the next match's, and a
    # client sorting by score would undo the turns. Each is capped by the one above it only, so a
    # longer list still starts with the shorter one, scores and all.
    shown = np.inf
    for row, i in enumerate(best):
        pid = int(cands.ids[i])
        if pid not in papers:
            continue
        reason, because = "", []
        authors = [a for a in papers[pid].authors if a.get("key") in followed_authors]
        if by_author is not None and by_author[i] and authors:
            reason = f"By {authors[0].get('name', '')}, whom you follow"
        elif reason_sims is not None and text[i] > 0:
            sims = reason_sims[row]
            # The second liked paper is named only when it is nearly as close as the first: with
            # it always there, every reason named the same two papers and said little.
            order = [j for j in np.argsort(-sims)[:2] if sims[j] > 0]
            order = [j for j in order if sims[j] >= REASON_SECOND_SHARE * sims[order[0]]]
            if order:
                chosen = [how[liked_ids[j]] for j in order]
                reason = _liked_reason(chosen, liked_titles, state.quoted_titles)
                because = [liked_arxiv[liked_ids[j]] for j in order]
        if not reason and (words := _mentioned(sig.keywords, papers[pid].title, papers[pid].abstract)[:2]):
            reason = f"Mentions {' and '.join(_quote(w) for w in words)}, which you follow"
        if not reason and in_cat is not None and in_cat[i]:
            # A category the account follows is the reason to give when it has one; else the
            # digest's own list brought the paper, and saying "which you follow" would be untrue.
            cat = next((c for c in cands.categories[i] if c in own_cats), None)
            if cat is not None:
                reason = f"New in {cat}, which you follow"
            else:
                cat = next(c for c in cands.categories[i] if c in followed_cats)
                reason = f"New in {cat}, which you chose for your digest"
        shown = min(shown, float(scores[i]))
        out.append(Recommendation(papers[pid], shown, reason or fallback, because, rank=len(out) + 1))
    return out


PROVISIONAL_CATEGORIES = 5  # the categories of most weight with the user a provisional list draws from
PROVISIONAL_POOL = 3  # x limit: the newest papers of each of those categories, ranked together
# A provisional paper's category prior loses this much per day of age: a paper twice as likely by its
# categories is worth a week of age, so a favoured field's paper of a few days ago comes before
# today's in a field the user barely touched (ordered by day alone, it never came at all).
PROVISIONAL_HALF_LIFE_DAYS = 7.0


def _provisional_pool(cats: list[str], excluded: set[int], n: int) -> list[tuple[int, dt.date, list[str]]]:
    """The `n` newest active papers by day of each of `cats` (primary and cross-listed alike, the last
    added first among a day's; a withdrawn or deleted one takes no place, so each category gives `n`
    while it has them) that are within the real model's window (index.window_days before the newest
    of them), with their days and categories (primary first). One query
    (PaperCategory.objects.of_newest): each category's listings are read from the end of the
    (category, announced, paper) index, a few ms whatever its size, where ordering a category by day
    through the papers walked the `announced` index past the other categories' papers (75-225 ms for
    one of 1,000 papers at 75k on SQLite); one query per category, then one for the days and one for
    the categories, cost more in the ORM than in the database (bench/README.md, "recs-latency"). By
    day, not by id: a backfill of old papers (an import of an old snapshot) was all of a category's
    last added, and took the pool's every place, its cross-lists too until the listings carried their
    paper's day. A busy category cannot crowd a quiet but favoured one out of the candidates, and a
    request reads at most len(cats) x n papers' listings (the papers listed are read whole afterwards)."""
    pool: dict[int, tuple[dt.date, list[str]]] = {}
    for pk, day, code in (
        PaperCategory.objects.of_newest(cats, n)
        .order_by("paper_id", "position")
        # The listing's copy of its paper's day: no join to the papers beyond the index walk's.
        .values_list("paper_id", "announced", "category_id")
    ):
        if day is not None:  # not yet announced: no age to weigh
            pool.setdefault(pk, (day, []))[1].append(code)
    # Left out here, not in the query: the user's papers (3,000 saved ones) in it cost more than the
    # few places they take in the pool.
    for pk in excluded.intersection(pool):
        del pool[pk]
    if not pool:
        return []
    since = max(day for day, _ in pool.values()) - dt.timedelta(days=index.window_days())
    return [(pk, day, listed) for pk, (day, listed) in pool.items() if day >= since]


def provisional(user: Any, *, limit: int = 20, signals: Signals | None = None) -> list[Recommendation]:
    """What the page lists while the window is built (index.NotReady): recent papers listed (primary or
    cross-listed) in the categories the user follows, else in those the papers they liked are listed
    in, weighed as the model's category prior weighs them (a cross-list half a primary listing, each
    signal decayed with its age: model.Categories), that prior fading with the paper's age
    (PROVISIONAL_HALF_LIFE_DAYS); best first, newest first among equals, each saying why; never one
    they liked, marked or opened. Database reads only, by the categories' indexes (_provisional_pool):
    one query over the newest papers of the user's five categories, whatever the catalogue's size.
    `signals`: the user's, read already (the page read them for recommend(), which raised NotReady)."""
    limit = max(1, min(int(limit), MAX_LIMIT))
    user_id = user if isinstance(user, int) else user.pk
    sig = signals if signals is not None else signals_of(user_id)
    followed = list(dict.fromkeys(sig.categories))
    why = "which you follow"
    if followed:
        category_index = model.Categories(followed)
        share: np.ndarray | None = np.full(len(followed), 1 / len(followed))
    elif sig.positives:
        listed = _listed(s.paper_id for s in sig.positives)
        category_index = model.Categories.of(list(listed.values()))
        share = _fresh_category_mass(sig, category_index, listed).distribution()
        why = "where papers you liked are"
    else:
        share = None
    if share is None:
        return []
    codes = list(category_index.column)
    cats = [codes[j] for j in np.argsort(-share, kind="stable")[:PROVISIONAL_CATEGORIES] if share[j] > 0]
    pool = _provisional_pool(cats, sig.excluded(), limit * PROVISIONAL_POOL)
    if not pool:
        return []
    papers_cats = [listed for _, _, listed in pool]  # each listed in one of `cats` at least
    prior = model.category_prior(category_index.rows(papers_cats), share)
    days = np.array([day for _, day, _ in pool], dtype="datetime64[D]")
    age = (days.max() - days).astype(np.float64)
    # The prior is CATEGORY_WEIGHT x log(...): its decay by age in the same units.
    prior -= model.CATEGORY_WEIGHT * np.log(2) * age / PROVISIONAL_HALF_LIFE_DAYS
    order = sorted(range(len(pool)), key=lambda i: (prior[i], pool[i][1], pool[i][0]))
    papers = Paper.objects.select_related("primary_category").in_bulk([pool[i][0] for i in order[-limit:]])
    out = []
    for rank, i in enumerate(reversed(order[-limit:]), 1):
        # The reason names the paper's category that weighs most with the user.
        cat = max(
            (c for c in papers_cats[i] if c in category_index.column),
            key=lambda c: share[category_index.column[c]],
        )
        out.append(Recommendation(papers[pool[i][0]], 0.0, f"New in {cat}, {why}", rank=rank))
    return out


def not_interested(user: Any, paper: Paper, *, undo: bool = False) -> None:
    user_id = user if isinstance(user, int) else user.pk
    if undo:
        Feedback.objects.filter(user_id=user_id, paper=paper, kind=Feedback.Kind.NOT_INTERESTED).delete()
    else:
        Feedback.objects.get_or_create(user_id=user_id, paper=paper, kind=Feedback.Kind.NOT_INTERESTED)


def mark_seen(user: Any, paper: Paper) -> None:
    user_id = user if isinstance(user, int) else user.pk
    Feedback.objects.get_or_create(user_id=user_id, paper=paper, kind=Feedback.Kind.SEEN)


def similar_papers(
    papers: Paper | Sequence[Paper],
    *,
    limit: int = 10,
    build_window: bool = True,
    exclude: Sequence[Paper] = (),
) -> list[Paper]:
    """Nearest papers to one paper or to a set ("more like this collection"), none of those given
    or in `exclude` (a large collection is centred on its newest papers but excludes them all): the
    search engine's embeddings when it has them, else this app's text features over the window.
    `build_window=False` (a page view): the text features only if this process holds the window
    already, since building one takes seconds, minutes at a million papers."""
    given = [papers] if isinstance(papers, Paper) else list(papers)
    if not given:
        return []
    from paperfeed.search import services as search

    mine = {p.arxiv_id for p in given}
    left_out = mine | {p.arxiv_id for p in exclude}
    if (similar := getattr(search, "similar", None)) is not None:
        try:
            # Room for the papers left out, which the search may return.
            res = similar(sorted(mine), limit=limit + len(left_out))
        except Exception:
            log.warning("the search engine's similar() failed; using text features", exc_info=True)
        else:
            ids = [h.arxiv_id for h in getattr(res, "hits", []) if h.arxiv_id not in left_out]
            found = {p.arxiv_id: p for p in Paper.objects.filter(arxiv_id__in=ids).for_listing()}
            if found:
                return [found[i] for i in ids if i in found][:limit]
    if not build_window and not index.loaded():
        return []
    cands = candidates()
    if not len(cands):
        return []
    rows = _rows([p.pk for p in given], cands.idf)
    if not rows:
        return []
    stacked = sp.vstack(list(rows.values()), format="csr")
    centre = (sp.csr_matrix(np.full((1, stacked.shape[0]), 1 / stacked.shape[0])) @ stacked).T  # sparse
    allowed = ~np.isin(cands.ids, [p.pk for p in (*given, *exclude)])
    scores = model.score(cands.rows, centre, cands.by_term)
    best = model.top(scores, limit, allowed & (scores > 0))
    found_by_id = Paper.objects.for_listing().in_bulk([int(cands.ids[i]) for i in best])
    return [found_by_id[int(cands.ids[i])] for i in best if int(cands.ids[i]) in found_by_id]
