"""The vector index on disk: generations, readers in other instances, crash leftovers, filters."""

import json
from pathlib import Path

import numpy as np
import pytest

from paperfeed.search import vectors as V
from paperfeed.search.vectors import VectorIndex, VectorRow


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.standard_normal((n, V.DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def rows(vecs: np.ndarray, start: int = 1) -> list[VectorRow]:
    return [
        VectorRow(start + i, v, day=i, categories=("cs.CL",) if i % 2 else ("cs.CV", "cs.AI"))
        for i, v in enumerate(vecs)
    ]


def test_writer_commits_and_another_reader_sees_it(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    vecs = unit(rng, 50)
    writer, reader = VectorIndex(tmp_path), VectorIndex(tmp_path)
    writer.apply(rows(vecs), watermark=7)
    assert reader.size == 0 and reader.refresh() and reader.size == 50 and reader.watermark == 7
    assert reader.search(vecs[3], 1)[0][0] == 4
    assert np.allclose(reader.vector_of(4), vecs[3])


def test_replace_remove_and_filters(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    vecs = unit(rng, 20)
    vi = VectorIndex(tmp_path)
    vi.apply(rows(vecs), 1)
    new = unit(rng, 1)[0]
    counts = vi.apply([VectorRow(5, new, 4, ("cs.CL",)), VectorRow(6, None)], 2)
    assert counts == {"added": 1, "removed": 1}
    assert vi.size == 19 and vi.row_of(6) is None
    assert vi.search(new, 1)[0][0] == 5
    assert all(p != 6 for p, _ in vi.search(vecs[5], 20))
    cl = {p for p, _ in vi.search(vecs[0], 20, vi.mask(categories=["cs.CL"]))}
    assert cl == {2, 4, 5, 8, 10, 12, 14, 16, 18, 20}
    dated = {p for p, _ in vi.search(vecs[0], 20, vi.mask(since=3, until=6))}
    assert dated == {4, 5, 7}  # rows with day 3..6, paper 6 removed
    assert {p for p, _ in vi.search(vecs[0], 20, vi.mask(paper_ids=[1, 2, 99]))} == {1, 2}


def test_rows_a_killed_writer_appended_are_dropped(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    vi = VectorIndex(tmp_path)
    vi.apply(rows(unit(rng, 10)), 1)
    state = json.loads((tmp_path / "state.json").read_text())
    with (tmp_path / f"vectors-{state['base']}.f32").open("ab") as f:
        f.write(b"\x01" * 4 * V.DIM * 3)  # what a writer killed before its commit left behind
    vi2 = VectorIndex(tmp_path)
    assert vi2.size == 10
    extra = unit(rng, 2)
    vi2.apply(rows(extra, start=11), 2)
    assert VectorIndex(tmp_path).search(extra[1], 1)[0][0] == 12
    assert (tmp_path / f"vectors-{state['base']}.f32").stat().st_size == 12 * 4 * V.DIM


def test_compaction_keeps_live_rows(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    vecs = unit(rng, 30)
    vi = VectorIndex(tmp_path)
    vi.apply(rows(vecs), 1)
    vi.apply([VectorRow(i, None) for i in range(1, 21)], 2)  # two thirds dead: rewritten
    assert vi.state["base"] == 1 and len(vi.ids) == 10 and vi.size == 10
    assert VectorIndex(tmp_path).search(vecs[25], 1)[0][0] == 26
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "codes-1.u8",
        "meta-2.npz",
        "state.json",
        "vectors-1.f32",
    ]


def test_binary_candidates_then_exact_rescoring_find_true_neighbours(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    centres = unit(rng, 40)
    data = centres[rng.integers(0, 40, 5000)] + 0.35 * unit(rng, 5000)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    vi = VectorIndex(None)
    vi.apply(rows(data.astype(np.float32)), 1)
    monkeypatch.setattr(V, "EXACT_MAX", 1000)
    assert len(vi.ids) > max(V.EXACT_MAX, V.RESCORE)  # the binary path, not the exact one
    recall = []
    for q in unit(rng, 20) * 0.2 + centres[:20]:
        q /= np.linalg.norm(q)
        exact = set((np.argsort(-(data @ q))[:10] + 1).tolist())
        got = {p for p, _ in vi.search(q, 10)}
        recall.append(len(exact & got) / 10)
    assert np.mean(recall) >= 0.9
    half = vi.mask(categories=["cs.CL"])
    assert all(p % 2 == 0 for p, _ in vi.search(centres[0], 50, half))
