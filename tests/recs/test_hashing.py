"""The model's term counts: scikit-learn's HashingVectorizer's, bit for bit, without importing it."""

from __future__ import annotations

import gzip
import itertools
import json
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from paperfeed.recs import hashing, model
from tests.conftest import SNAPSHOT


def reference(texts: list[str]) -> sp.csr_matrix:
    """What the model computed with scikit-learn before (the saved windows and profiles hold these)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    out = HashingVectorizer(
        strip_accents="unicode",
        lowercase=True,
        stop_words="english",
        token_pattern=model.TOKEN_PATTERN,
        ngram_range=(1, 2),
        n_features=model.N_FEATURES,
        alternate_sign=False,
        norm=None,
        dtype=np.float32,
    ).transform(texts)
    out = out.tocsr()
    out.sort_indices()
    return out


def assert_identical(a: sp.csr_matrix, b: sp.csr_matrix) -> None:
    assert a.shape == b.shape and a.dtype == b.dtype == np.float32
    assert np.array_equal(a.indptr, b.indptr)
    assert np.array_equal(a.indices, b.indices)
    assert np.array_equal(a.data, b.data)


EDGES = [
    "",
    "the of and",  # stop words only: an empty row
    "ab",  # the shortest word the pattern takes
    "abc abcd abcde abcdef abcdefg",  # every tail length, and whole 4-byte blocks
    "x" * 203,  # a long word: many blocks
    "Élan naïve café Ångström İstanbul ﬁne-tuning Straße ǅemal",  # accents, ligatures, case folding
    "αβγ transformer_2 GPT4o 3D x_y __init__ ok",  # letters outside ASCII, digits, underscores
    "Repeat repeat REPEAT repeat",  # one term counted four times, its pair three
    "line\nbreaks\tand  spaces,punctuation;between(words)",
]


def test_counts_equal_scikit_learns_on_real_abstracts_and_edge_cases():
    with gzip.open(SNAPSHOT, "rt") as f:
        records = [json.loads(line) for line in itertools.islice(f, 0, 30000, 30)]
    texts = [model.paper_text(r["title"], r["abstract"]) for r in records] + EDGES
    assert len(texts) == 1000 + len(EDGES)
    assert_identical(model.counts(texts), reference(texts))
    for text in EDGES:  # alone too: a batch of one, and of an empty text
        assert_identical(model.counts([text]), reference([text]))
    assert model.counts([]).shape == (0, model.N_FEATURES)


def test_texts_hashed_in_batches_give_the_same_counts(monkeypatch):
    # One batch of 74,728 abstracts held 3.3 GB of term bytes and words; batches must not change a bit.
    texts = EDGES * 3
    whole = model.counts(texts)
    monkeypatch.setattr(hashing, "BATCH", 4)
    assert_identical(model.counts(texts), whole)


def test_the_stop_words_are_scikit_learns():
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    assert hashing.stop_words() == ENGLISH_STOP_WORDS


@pytest.mark.timeout(120)
def test_counting_terms_does_not_import_scikit_learn():
    # Its import (scipy.stats and the rest) was ~2 s of CPU in a new process's first recommendation.
    script = (
        "import sys\n"
        "from paperfeed.recs import model\n"
        "assert model.counts(['Diffusion models for speech']).nnz == 5\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
