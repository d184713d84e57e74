import numpy as np
import scipy.sparse as sp

from paperfeed.recs import model
from paperfeed.recs.models import Profile

CORPUS = [
    "Diffusion models for image synthesis with latent denoising",
    "Latent diffusion for video generation and denoising schedules",
    "Graph neural networks for molecule property prediction",
    "Message passing graph networks predict molecule energies",
    "Speech recognition with transformers and streaming attention",
    "Streaming speech recognition using attention transducers",
    "Reinforcement learning for robot grasping in clutter",
    "Robot grasping policies from reinforcement learning in simulation",
]


def features():
    counted = model.counts(CORPUS)
    return model.weigh(counted, model.Idf.of(counted))


def test_rows_are_unit_length_and_singleton_terms_carry_no_weight():
    x = features()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    assert np.allclose(norms, 1, atol=1e-5)
    counted = model.counts(CORPUS)
    idf = model.Idf.of(counted)
    only_once = model.counts(["synthesis"]).indices  # appears in one paper of the corpus
    assert idf.weights[only_once].sum() == 0


def test_profile_ranks_the_liked_topic_first():
    x = features()
    prof = model.profile(x[[0]], np.array([1.0]))
    order = model.top(model.score(x, prof), 3, allowed=np.arange(len(CORPUS)) != 0)
    assert order[0] == 1  # the other diffusion paper


def test_a_negative_pushes_similar_papers_down():
    x = features()
    liked = x[[0, 2]]  # diffusion and graphs
    before = model.score(x, model.profile(liked, np.ones(2)))
    after = model.score(x, model.profile(liked, np.ones(2), x[[3]], np.ones(1)))  # not interested: graphs
    assert after[1] - after[2] > before[1] - before[2]  # the graph paper fell behind the diffusion one
    assert after[2] < before[2]


def test_older_signals_count_less():
    assert model.decay(0) == 1
    assert abs(float(model.decay(model.HALF_LIFE_DAYS)) - 0.5) < 1e-9
    x = features()
    prof = model.profile(x[[0, 4]], model.decay(np.array([0.0, 3 * model.HALF_LIFE_DAYS])))
    s = model.score(x, prof)
    assert s[1] > s[5]  # the recent interest (diffusion) outranks the old one (speech)


def test_top_respects_allowed_and_k():
    s = np.array([0.1, 0.9, 0.5, 0.7])
    assert model.top(s, 2).tolist() == [1, 3]
    assert model.top(s, 10, allowed=np.array([True, False, True, False])).tolist() == [2, 0]
    assert model.top(s, 3, allowed=np.zeros(4, dtype=bool)).tolist() == []


def test_ndcg():
    assert model.ndcg([True, False], 1) == 1
    assert model.ndcg([False, True], 1) < 1
    assert model.ndcg([False, False], 2) == 0


def test_profile_packing_round_trips():
    vec = np.zeros(model.N_FEATURES)
    vec[[5, 77, model.N_FEATURES - 1]] = [0.25, -0.5, 1.0]
    back = Profile.unpack(Profile.pack(vec), model.N_FEATURES)
    assert np.allclose(back, vec)
    assert not Profile.unpack(b"", model.N_FEATURES).any()


def test_empty_profile_parts_are_ignored():
    x = features()
    prof = model.profile(x[[0]], np.array([1.0]), sp.csr_matrix((0, model.N_FEATURES)), np.zeros(0))
    assert np.allclose(prof, model.profile(x[[0]], np.array([1.0])))


def test_category_distribution_weighs_primary_over_cross_lists_and_decays():
    cats = model.Categories.of([("cs.CV", "cs.LG"), ("cs.CL",), ("cs.RO", "cs.CV")])
    dist = cats.distribution([("cs.CV", "cs.LG"), ("cs.CL",)], np.array([1.0, 0.5]))
    share = dict(zip(cats.column, dist, strict=True))
    assert abs(sum(share.values()) - 1) < 1e-9
    assert share["cs.CV"] == 2 * share["cs.LG"]  # a cross-list counts half of a primary
    assert share["cs.CV"] > share["cs.CL"]  # the older (down-weighted) liked paper counts less
    assert share["cs.RO"] == 0
    assert cats.distribution([], np.zeros(0)) is None
    assert cats.distribution([("q-bio.NC",)], np.ones(1)) is None  # no candidate is listed there


def test_category_prior_prefers_the_users_fields_and_only_breaks_near_ties():
    cats = model.Categories.of([("cs.CV",), ("cs.CL",), ("cs.CL", "cs.CV")])
    rows = cats.rows([("cs.CV",), ("cs.CL",), ("cs.CL", "cs.CV")])
    prior = model.category_prior(rows, cats.distribution([("cs.CV",)], np.ones(1)))
    assert prior[0] > prior[2] > prior[1]
    assert prior.max() - prior.min() < 0.02  # far less than a shared rare term adds to the text score
    assert not model.category_prior(rows, None).any()
    text = np.array([0.1, 0.3, 0.0])
    assert model.top(model.blend(text, None, prior), 1).tolist() == [1]  # the text decides
    assert model.top(model.blend(np.array([0.1, 0.1, 0.0]), None, prior), 1).tolist() == [0]


def test_similarities_by_inverted_index_match_the_plain_product_and_the_profile_score():
    x = features()
    liked, weights = x[[0, 2, 4]], np.array([1.0, 0.5, 0.25])
    plain = model.similarities(liked, x)
    by_term = model.similarities(liked, x, x.T.tocsr())
    assert plain.shape == (3, len(CORPUS))
    assert np.allclose(plain, by_term, atol=1e-6)
    assert np.allclose(plain[0, 0], 1, atol=1e-5)  # a liked paper is its own nearest
    # The text score from the similarities is the Rocchio profile's dot product.
    assert np.allclose(
        model.rocchio_scores(plain, weights), model.score(x, model.profile(liked, weights)), atol=1e-6
    )
    assert model.similarities(x[[]], x).shape == (0, len(CORPUS))
    assert not model.rocchio_scores(np.zeros((0, 4)), np.zeros(0)).any()


def test_nearest_liked_keeps_a_minority_interest_that_the_mean_profile_dilutes():
    x = features()
    liked = x[[0, 1, 2]]  # two diffusion papers and one graph paper
    sims = model.similarities(liked, x)
    near = model.nearest_liked(sims)
    k = min(model.TOP_SIMILAR, 3)
    assert np.allclose(near, np.sort(sims, axis=0)[-k:].mean(axis=0), atol=1e-6)
    # The graph paper (3) is as near to the one liked graph paper as the diffusion one is to its pair,
    # while the mean profile ranks it below: the mean is two-thirds diffusion.
    text = model.rocchio_scores(sims, np.ones(3))
    assert text[3] < text[0]
    assert near[3] > 0
    one = model.nearest_liked(sims[:1])  # fewer liked papers than TOP_SIMILAR: the mean of those there are
    assert np.allclose(one, sims[0], atol=1e-6)


def test_blend_adds_the_fitted_weight_of_the_nearest_liked_view():
    text, near = np.array([0.02, 0.03, 0.0]), np.array([0.3, 0.0, 0.0])
    assert np.allclose(model.blend(text, None, None, near), text + model.SIMILAR_WEIGHT * near)
    if model.SIMILAR_WEIGHT > 0:
        # A candidate very close to one liked paper can overtake one a little closer to the mean.
        assert model.top(model.blend(text, None, None, near), 1).tolist() == [0]
    assert model.top(model.blend(text, None), 1).tolist() == [1]


def test_scoring_through_the_inverted_index_is_the_same_product() -> None:
    """model.score with the candidates' transpose reads only a sparse profile's terms: same numbers,
    negatives ("not interested") included."""
    x = features()
    by_term = x.T.tocsr()
    for dense in (
        model.profile(x[[0, 1]], np.ones(2)),
        model.profile(x[[0]], np.ones(1), x[[3]], np.ones(1)),
    ):
        column = sp.csr_matrix(dense).T  # a sparse column, as the service keeps a profile
        assert np.allclose(model.score(x, column, by_term), model.score(x, dense), atol=1e-6)


def test_nearest_liked_of_many_liked_papers_holds_no_liked_by_candidates_matrix():
    # A user with thousands of liked papers had every one compared with every candidate in one dense
    # matrix (2.7 GB at 20,000 liked papers over a 34,000-paper window) on each recompute.
    import tracemalloc

    rng = np.random.default_rng(0)

    def rows(n):
        return sp.random(n, 4000, density=30 / 4000, format="csr", dtype=np.float32, random_state=rng)

    liked, candidates = rows(3000), rows(10_000)
    by_term = candidates.T.tocsr()
    whole = model.nearest_liked(model.similarities(liked, candidates, by_term))
    tracemalloc.start()
    try:
        chunked = model.nearest_liked_of(liked, candidates, by_term)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.allclose(chunked, whole, atol=1e-6)
    assert peak < 3000 * 10_000 * 4 / 2  # under half the dense matrix alone
    assert not model.nearest_liked_of(liked[:0], candidates, by_term).any()


def test_dot_rows_is_the_product_with_the_liked_rows():
    x = features()
    liked = x[[0, 2, 4]]
    # Rows sharing no term with any liked one (robots) score 0; an empty liked set gives no columns.
    assert np.allclose(model.dot_rows(x, liked), (x @ liked.T).toarray(), atol=1e-6)
    assert not model.dot_rows(x[[6, 7]], liked).any()
    assert model.dot_rows(x, liked[:0]).shape == (len(CORPUS), 0)


def test_nearest_liked_updated_for_added_and_removed_papers_equals_a_recompute():
    # The first "for you" after a vote compared each of 300 liked papers with every candidate again
    # (0.3 s at 1,000 liked papers); the kept best three per candidate are now updated instead.
    rng = np.random.default_rng(1)
    rows = sp.random(400, 3000, density=20 / 3000, format="csr", dtype=np.float32, random_state=rng)
    liked, candidates = rows[:300], rows[300:]
    by_term = candidates.T.tocsr()
    keys = np.arange(1000, 1300)
    kept = model.NearestLiked.of(keys[:200], liked[:200], candidates, by_term)
    for now in (
        np.r_[0:200, 250],  # one added
        np.r_[1:200, 250],  # one removed (the oldest, as at RECENT_LIKED)
        np.r_[5:200, 250:260],  # several of each
        np.r_[250:260],  # every earlier one removed
    ):
        updated = kept.updated(keys[:200], keys[now], liked[now], candidates, by_term)
        fresh = model.NearestLiked.of(keys[now], liked[now], candidates, by_term)
        assert np.allclose(np.sort(updated.vals, axis=0), np.sort(fresh.vals, axis=0), atol=1e-6)
        assert np.allclose(updated.scores(), model.nearest_liked(model.similarities(liked[now], candidates)))
        assert set(np.unique(updated.keys)) <= set(keys[now])
    assert not model.NearestLiked.of(keys[:0], liked[:0], candidates, by_term).scores().any()
