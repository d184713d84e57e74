"""Fixture papers for the search tests: stored through the real ingestor, indexed by the real
indexer (tantivy, the MiniLM embedder, the vector index) under a fresh PAPERFEED_HOME."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paperfeed.papers.records import AuthorName, PaperRecord
from paperfeed.papers.services import Ingestor
from paperfeed.search import services
from paperfeed.search.indexing import Indexer

PAPERS = [
    (
        "2503.00001",
        "Speculative decoding with draft models",
        "We accelerate large language model inference: a small draft model proposes tokens"
        " that the target model verifies in parallel, giving lossless speedups.",
        ["cs.CL"],
        "2025-03-18",
        [("Leviathan", "Yaniv")],
    ),
    (
        "2503.00002",
        "Multi-agent debate improves factuality",
        "Several language model agents argue over answers; the multi-agent setting reduces hallucination.",
        ["cs.AI", "cs.CL"],
        "2025-03-19",
        [("Du", "Yilun")],
    ),
    (
        "2503.00003",
        "Don't stop pretraining",
        "We show that domain-adaptive pretraining helps; don't stop after the first stage.",
        ["cs.CL"],
        "2025-04-01",
        [("Gururangan", "Suchin")],
    ),
    (
        "2503.00004",
        "A C++ library for sparse tensors",
        "Fast kernels written in C++ with Python bindings, tested on Ubuntu 20.04.",
        ["cs.MS"],
        "2025-05-02",
        [("Hopper", "Grace")],
    ),
    (
        "2503.00005",
        "Private set intersection",
        "Two parties compute the intersection without revealing the secret inputs.",
        ["cs.CR"],
        "2025-06-03",
        [("Lovelace", "Ada")],
    ),
    (
        "2503.00006",
        "Image segmentation with diffusion models",
        "Denoising diffusion probabilistic models segment medical images.",
        ["cs.CV"],
        "2025-07-04",
        [("Ronneberger", "Olaf")],
    ),
    (
        "2503.00007",
        "Faster transformer inference by early exit",
        "Tokens leave the network early when confident, speeding up autoregressive generation.",
        ["cs.CL", "cs.LG"],
        "2025-08-05",
        [("Lovelace", "Ada"), ("Turing", "Alan")],
    ),
    (
        "2503.00008",
        "Graph neural networks for molecules",
        "Message passing networks predict molecular properties.",
        ["cs.LG"],
        "2025-09-06",
        [("Gilmer", "Justin")],
    ),
]


def records() -> list[PaperRecord]:
    return [
        PaperRecord(
            arxiv_id=i,
            title=t,
            abstract=a,
            authors=[AuthorName(k, f) for k, f in au],
            categories=c,
            announced=dt.date.fromisoformat(d),
        )
        for i, t, a, c, d, au in PAPERS
    ]


def ingest(recs: list[PaperRecord]) -> None:
    with Ingestor("test") as ing:
        ing.add_all(recs)


@pytest.fixture
def home(settings: Any, tmp_path: Path) -> Iterator[Path]:
    settings.HOME = tmp_path
    services.use_engine(None)
    yield tmp_path
    services.use_engine(None)


@pytest.fixture
def indexed(db: None, home: Path) -> dict[str, Any]:
    ingest(records())
    return Indexer().run()


# A corpus larger than a leg's depth (services.LEG_DEPTH): a few papers have the word "diffusion",
# the rest are about other things, so that hybrid search's nearest papers by meaning run past the
# keyword matches and past the first pages.
TOPICS = [
    (
        "diffusion",
        "Denoising diffusion models",
        "a diffusion process adds noise that a network learns to remove",
    ),
    ("graphs", "Graph neural networks", "message passing over the edges of molecular and social graphs"),
    ("speech", "Speech recognition", "acoustic models transcribe spoken audio into text"),
    ("robots", "Robot grasping", "a manipulator arm learns to pick objects from cluttered bins"),
    ("crypto", "Zero-knowledge proofs", "a prover convinces a verifier without revealing the witness"),
    ("databases", "Query optimisation", "join orders and cardinality estimates for relational databases"),
    ("games", "Equilibria in auctions", "bidders reach a Nash equilibrium in repeated first-price auctions"),
    ("compilers", "Register allocation", "graph colouring assigns virtual registers in a compiler backend"),
]
# cs.LG is never a primary category here: only cross-listed.
PRIMARY = {"diffusion": "cs.CV", "graphs": "cs.SI", "speech": "eess.AS", "robots": "cs.RO"}


def many_records(per_topic: int = 18, diffusion: int = 25) -> list[PaperRecord]:
    out = []
    n = 0
    for key, title, gist in TOPICS:
        for i in range(diffusion if key == "diffusion" else per_topic):
            n += 1
            out.append(
                PaperRecord(
                    arxiv_id=f"2504.{n:05d}",
                    title=f"{title}, part {i + 1}",
                    abstract=f"We study {gist}. Variant {i + 1} of {title.lower()} is evaluated on {key}"
                    " benchmarks.",
                    authors=[AuthorName(f"Author{n}", "Sam")],
                    categories=[PRIMARY.get(key, "cs.DS"), "cs.LG"] if i % 2 else [PRIMARY.get(key, "cs.DS")],
                    announced=dt.date(2025, 4, 1) + dt.timedelta(days=n),
                )
            )
    return out


@pytest.fixture
def many(db: None, home: Path) -> list[PaperRecord]:
    recs = many_records()
    ingest(recs)
    Indexer().run()
    return recs


def as_version_1(keyword_dir: Path) -> None:
    """Turn the keyword index built in `keyword_dir` into one as paperfeed wrote it before the
    "words" field (layout version 1, recorded nowhere): the same papers, the older fields, its state
    (watermark and change mark) kept, so only its layout tells that it must be built again."""
    import json
    import shutil

    import tantivy

    state = json.loads((keyword_dir / "state.json").read_text())
    ids = _ids_in(keyword_dir)
    shutil.rmtree(keyword_dir)
    keyword_dir.mkdir()
    b = tantivy.SchemaBuilder()
    b.add_integer_field("id", stored=True, indexed=True, fast=True)
    for name in ("body", "title", "abstract", "authors"):
        b.add_text_field(name, tokenizer_name="whitespace", index_option="position")
    b.add_text_field("cat", tokenizer_name="raw", index_option="basic")
    b.add_text_field("akey", tokenizer_name="raw", index_option="basic")
    b.add_integer_field("day", indexed=True, fast=True)
    index = tantivy.Index(b.build(), path=str(keyword_dir))
    writer = index.writer(heap_size=15_000_000, num_threads=1)
    for pk in ids:
        writer.add_document(tantivy.Document(id=pk, body="old layout"))
    writer.commit()
    writer.wait_merging_threads()
    state.pop("schema", None)
    (keyword_dir / "state.json").write_text(json.dumps(state))


def _ids_in(keyword_dir: Path) -> list[int]:
    from paperfeed.search.keyword import KeywordIndex

    ki = KeywordIndex(keyword_dir)
    searcher = ki.index.searcher()
    import tantivy

    hits = searcher.search(tantivy.Query.all_query(), 10_000).hits
    return [int(i or 0) for i in searcher.fast_field_values("id", [a for _, a in hits])]
