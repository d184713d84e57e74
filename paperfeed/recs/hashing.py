"""Hashed term counts of texts, the same numbers as scikit-learn's `HashingVectorizer` with the model's
settings (model.counts), without importing scikit-learn: its import pulls in scipy.stats and took
~2 s of CPU (4-6 s on a loaded machine) in every new process's first recommendation, more than
mapping the saved window. It is faster too: the hashing runs over all of a batch's terms at once.

The terms are scikit-learn's: the text lowercased, accents stripped (NFKD, combining marks
dropped), words by the token pattern, English stop words dropped, then the words and the pairs of
neighbouring words. A term's column is the absolute value of its signed 32-bit MurmurHash3
(x86_32, seed 0) of its UTF-8 bytes, modulo the column count; a term counts once per occurrence.
The stop words are read from scikit-learn's own list (its source file, parsed, not imported), so
the two cannot drift apart; tests/recs/test_hashing.py compares both on real abstracts.
"""

from __future__ import annotations

import ast
import importlib.util
import itertools
import re
import unicodedata
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import scipy.sparse as sp

_C1, _C2 = np.uint32(0xCC9E2D51), np.uint32(0x1B873593)
_M, _N = np.uint32(5), np.uint32(0xE6546B64)
_F1, _F2 = np.uint32(0x85EBCA6B), np.uint32(0xC2B2AE35)


@cache
def stop_words() -> frozenset[str]:
    """scikit-learn's English stop words, from the file that defines them (importing the package
    is what this module avoids); imported after all if that file is not where it was."""
    spec = importlib.util.find_spec("sklearn")  # finds the package without running it
    if spec is not None and spec.origin is not None:
        source = Path(spec.origin).parent / "feature_extraction" / "_stop_words.py"
        try:
            tree = ast.parse(source.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            tree = None
        for node in tree.body if tree is not None else []:
            if (
                isinstance(node, ast.Assign)
                and [getattr(t, "id", None) for t in node.targets] == ["ENGLISH_STOP_WORDS"]
                and isinstance(node.value, ast.Call)
                and len(node.value.args) == 1
            ):
                try:
                    return frozenset(ast.literal_eval(node.value.args[0]))
                except ValueError:
                    break
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def _mix(k: np.ndarray) -> np.ndarray:
    k = k * _C1
    return _rotl(k, 15) * _C2


def murmur3(blob: bytes, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Signed 32-bit MurmurHash3 (x86_32, seed 0) of each `blob[start : start + length]`, all at once:
    the terms are ordered longest first, so the ones still hashing at the i-th 4-byte block are a
    prefix of that order and each step is one slice and one gather."""
    n = len(starts)
    # The little-endian 32-bit word starting at each byte (and one past the end, for an empty tail):
    # a block or a tail is then one read. Four strided copies, one per alignment.
    positions = len(blob) + 1
    padded = blob + bytes(8)
    word = np.empty(positions, dtype=np.uint32)
    for a in range(4):
        count = len(range(a, positions, 4))
        word[a::4] = np.frombuffer(padded, dtype="<u4", count=count, offset=a)
    blocks = lengths // 4
    most = int(blocks.max()) if n else 0
    # A stable sort of small integers is a radix sort: ~10x faster than one of int64.
    key = (most - blocks).astype(np.uint16) if most < 2**16 else -blocks
    order = np.argsort(key, kind="stable")
    start, length, blocks = starts[order], lengths[order], blocks[order]
    h = np.zeros(n, dtype=np.uint32)
    live = n
    for i in range(most):
        live = int(np.searchsorted(-blocks[:live], -i, side="left"))  # blocks > i: a prefix
        x = h[:live] ^ _mix(word[start[:live] + 4 * i])
        h[:live] = _rotl(x, 13) * _M + _N
    # The last 1-3 bytes, the word's low ones (a term without them mixes in zero: no change).
    rest = (length % 4).astype(np.uint32)
    tail = word[start + 4 * blocks] & ((np.uint32(1) << (np.uint32(8) * rest)) - np.uint32(1))
    h ^= _mix(tail)
    h ^= length.astype(np.uint32)
    h ^= h >> np.uint32(16)
    h *= _F1
    h ^= h >> np.uint32(13)
    h *= _F2
    h ^= h >> np.uint32(16)
    out = np.empty(n, dtype=np.int32)
    out[order] = h.view(np.int32)
    return out


def _plain(text: str) -> str:
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


# Texts hashed at once: the terms' bytes and their 32-bit words are held for a whole batch (~45 KB a
# text), so the benchmark's 74,728 abstracts in one batch peaked at 3.3 GB; batches keep it flat.
BATCH = 2048


def counts(texts: Sequence[str], token_pattern: str, n_features: int) -> sp.csr_matrix:
    """Hashed term counts, one float32 row per text, indices sorted (see the module docstring)."""
    if len(texts) <= BATCH:
        return _counts(texts, token_pattern, n_features)
    return sp.vstack(
        [_counts(texts[i : i + BATCH], token_pattern, n_features) for i in range(0, len(texts), BATCH)],
        format="csr",
    )


def _counts(texts: Sequence[str], token_pattern: str, n_features: int) -> sp.csr_matrix:
    findall, stop = re.compile(token_pattern).findall, stop_words()
    # Every text's terms, its words and then its pairs of neighbouring words, as one string with a
    # newline after each term (no term holds one): where they start and end is one scan of its bytes.
    pieces: list[str] = []
    per_text = np.zeros(len(texts), dtype=np.int64)
    for i, text in enumerate(texts):
        words = [w for w in findall(_plain(text.lower())) if w not in stop]
        if words:
            per_text[i] = 2 * len(words) - 1
            pieces.append("\n".join(words))
            if len(words) > 1:
                pieces.append("\n".join(map(" ".join, itertools.pairwise(words))))
    blob = ("\n".join(pieces) + "\n").encode("utf-8") if pieces else b""
    ends = np.flatnonzero(np.frombuffer(blob, dtype=np.uint8) == ord("\n"))
    starts = np.concatenate([[0], ends[:-1] + 1]).astype(np.int64) if len(ends) else ends
    columns = np.abs(murmur3(blob, starts, ends - starts).astype(np.int64)) % n_features
    rows = np.repeat(np.arange(len(texts)), per_text)
    out = sp.csr_matrix(
        (np.ones(len(ends), dtype=np.float32), (rows, columns)), shape=(len(texts), n_features)
    )
    out.sum_duplicates()  # also sorts each row's columns
    return out
