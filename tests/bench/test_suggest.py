"""`paperfeed bench suggest`: its query sets, its JSON document on a small corpus, and its figures in
`bench all` (what the suggestion costs is the benchmark's to measure, not a pass mark here)."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest

from paperfeed.bench import BENCHMARKS
from paperfeed.bench import all as bench_all
from paperfeed.bench.suggest import (
    hyphenated_queries,
    mistype_first,
    neighbour_key,
    query_sets,
    sound_alike,
    swap_letters,
    two_typos,
)
from paperfeed.search import text

# Long words, each in a third of the corpus's titles: far more papers than RESPELL_MIN, so that a
# misspelling of one has a word to be respelt as.
WORDS = ["Transformers", "Segmentation", "Reinforcement", "Diffusion", "Retrieval", "Controlled"]


def corpus(path: Path, n: int = 36) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for i in range(n):
            a, b, c = WORDS[i % 6], WORDS[(i + 1 + i // 6) % 6], WORDS[(i + 3) % 6]
            record = {
                "id": f"2501.{i + 1:05d}",
                "title": f"{a} for {b} and {c}" if i % 2 else f"{a} for {b}-Guided {c}",
                "abstract": f"We study {a.lower()} and {b.lower()} on {c.lower()} tasks.",
                "authors": "Ada Lovelace, Grace Hopper",
                "categories": "cs.LG",
            }
            f.write(json.dumps(record) + "\n")
    return path


def test_typos_keep_the_letters_and_are_the_same_for_the_same_seed() -> None:
    rng = random.Random(3)
    swapped = swap_letters("Segmentation", rng)
    assert swapped != "Segmentation" and sorted(swapped) == sorted("Segmentation")
    assert swapped[0] == "S"
    assert swap_letters("cat", rng) == "cat" and swap_letters("aaaa", rng) == "aaaa"
    assert mistype_first("Diffusion", 0, rng) == "iDffusion"
    odd = mistype_first("Diffusion", 1, rng)
    assert odd[0] not in "Dd" and odd[0].isupper() and odd[1:] == "iffusion"
    assert mistype_first("LLMs", 0, rng) == "LLMs"  # both first letters the same one
    dropped = two_typos("Diffusion", 0, rng)
    assert dropped[0] == "I" and len(dropped) == 8 and sorted(dropped.lower()) == sorted("iffusion")
    changed = two_typos("Diffusion", 1, rng)
    assert changed[0] not in "Dd" and len(changed) == 9 and sorted(changed[1:]) == sorted("iffusion")
    assert two_typos("Models", 0, rng) == "Models"  # too short for two typos

    key = neighbour_key("Batch", 0, rng)
    assert key[0] in "VFGN" and key[1:] == "atch"  # the first letter, by a key beside it
    odd = neighbour_key("Batch", 1, rng)
    assert odd[0] == "B" and sum(a != b for a, b in zip(odd, "Batch", strict=True)) == 1
    changed = next(i for i in range(1, 5) if odd[i] != "Batch"[i])
    assert odd[changed] in text.neighbour_keys("Batch"[changed])
    sounded = {sound_alike("Segmentation", random.Random(seed)) for seed in range(40)}
    assert "Segmentasion" in sounded and "Segmentation" not in sounded
    assert all(w[0] == "S" for w in sounded)
    assert sound_alike("Bxw", rng) == "Bxw"  # too short, and no sound to respell

    queries = ["Segmentation for Diffusion", "Retrieval and Transformers", "of"]
    hyphenated = ["Chain-of-Thought Reasoning", "no hyphen"]
    sets = query_sets(queries, 7, hyphenated)
    assert sets == query_sets(queries, 7, hyphenated)
    assert sets["title"] == [(q, q) for q in queries]
    for q, meant in sets["swapped"][:2]:
        assert q != meant and sorted(q) == sorted(meant)
    assert [meant for _, meant in sets["alone"]] == ["Segmentation", "Transformers", "of"]
    assert sets["alone"][0][0] == sets["swapped"][0][0].split()[0]
    assert sets["first_letter"][2] == ("of", "of")  # too short to mistype
    assert sets["two_typos"][2] == ("of", "of") and sets["two_typos"][0][0] != queries[0]
    assert sets["neighbour_key"][2] == ("of", "of") and sets["neighbour_key"][0][0] != queries[0]
    assert sets["sound_alike"][0][0] != queries[0]
    # The longest part of the hyphenated word, its first letter mistyped as first_letter's are.
    assert sets["hyphenated"] == [("Chain-of-hTought Reasoning", hyphenated[0]), ("no hyphen", "no hyphen")]


def test_hyphenated_queries_hold_a_hyphenated_word_of_a_title(tmp_path: Path) -> None:
    found = hyphenated_queries(corpus(tmp_path / "small.jsonl.gz"), 5, 3)
    assert len(found) == 5 and all("-Guided" in q and len(q.split()) <= 3 for q in found)
    assert found == hyphenated_queries(tmp_path / "small.jsonl.gz", 5, 3)


@pytest.mark.timeout(180)  # builds and measures in children: ~15 s quiet
def test_the_command_reports_each_set_both_ways_and_suggests_for_the_misspelt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from django.core.management import call_command

    records = corpus(tmp_path / "small.jsonl.gz")
    home = tmp_path / "home"
    args = ["bench", "suggest", "--file", str(records), "--queries", "12", "--seed", "5", "--home", str(home)]
    call_command(*args, "--json")
    doc = json.loads(capsys.readouterr().out)
    assert (doc["benchmark"], doc["papers"], doc["queries"], doc["seed"]) == ("suggest", 36, 12, 5)
    assert set(doc["sets"]) == {
        "title",
        "swapped",
        "first_letter",
        "alone",
        "two_typos",
        "neighbour_key",
        "sound_alike",
        "hyphenated",
        "right_stem",
    }
    for name, s in doc["sets"].items():
        # The right-stem set takes the titles with a word it can misspell: 5 of the 36 here.
        assert s["queries"] == 12 or (name == "right_stem" and 0 < s["queries"] < 12)
        for way in ("without", "with"):
            assert set(s[way]) == {"p50_ms", "p95_ms", "mean_ms"}
            assert 0 < s[way]["p50_ms"] <= s[way]["p95_ms"]
        assert {"ratio_p50", "ratio_p95", "added_mean_ms", "found_none"} <= set(s)
        assert s["right"] <= s["suggestions"] <= s["queries"]
        assert s["capitals"] <= s["suggestions"] and s["spelling_only"] <= s["suggestions"]
    title = doc["sets"]["title"]
    assert (title["misspelt"], title["suggestions"], title["found_none"]) == (0, 0, 0)
    for name in ("swapped", "first_letter", "alone", "neighbour_key", "hyphenated", "right_stem"):
        s = doc["sets"][name]
        assert s["misspelt"] == s["queries"] and s["right"] >= s["queries"] // 2, (name, s)
    # The word alone, misspelt, finds nothing; each of its 12 typos is a word of 0 papers.
    assert doc["sets"]["alone"]["found_none"] == 12

    call_command(*args, "--json")  # the kept home: measured again, not built again
    again = json.loads(capsys.readouterr().out)
    assert again["build"]["reused_home"] == str(home)
    assert again["build"]["import_s"] == doc["build"]["import_s"]
    assert again["sets"]["swapped"]["suggestions"] == doc["sets"]["swapped"]["suggestions"]


def test_no_queries_is_refused_before_anything_is_built() -> None:
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--queries: must be a whole number of at least 1, not '0'"):
        call_command("bench", "suggest", "--queries", "0", "--file", "/nonexistent.jsonl")


def test_bench_all_runs_it_and_judges_right_suggestions_against_the_typos() -> None:
    assert BENCHMARKS["suggest"] == "paperfeed.bench.suggest"
    part = next(p for p in bench_all._parts(False, 1000, Path("/k")) if p.key == "suggest")
    assert part.args == ["--home", "/k/suggest"]
    result = {
        "sets": {
            "title": {"misspelt": 0, "with": {"p50_ms": 4.0, "p95_ms": 9.0}, "without": {"p50_ms": 4.0}},
            "swapped": {
                "misspelt": 200,
                "right": 150,
                "with": {"p50_ms": 4.5, "p95_ms": 8.0},
                "without": {"p50_ms": 3.0, "p95_ms": 5.0},
            },
        }
    }
    figs = {f.name: f for f in bench_all.EXTRACT["suggest"](result, {})}
    assert figs["swapped: p50 with the suggestion"].ratio_to_baseline == 1.5
    assert figs["swapped"].value == 150 and figs["swapped"].ratio_to_baseline == 0.75
    assert figs["title: p95 with the suggestion"].baseline is None  # not measured: no ratio, no error
    assert "title" not in figs  # no typo, nothing to be right about


def test_right_stem_misspellings_keep_the_index_term_and_are_the_same_for_the_same_seed() -> None:
    from paperfeed.bench.suggest import right_stem, right_stem_pairs

    assert right_stem("Controlled", random.Random(1)) == "Controled"
    assert right_stem("Assistance", random.Random(1)) == "Assistence"
    assert right_stem("Graph", random.Random(1)) == "Graph"  # nothing to misspell so
    queries = ["Graph of Words", "Controlled Generation", "Dependence Parsing Works"]
    pairs = right_stem_pairs(queries, 5, 7)
    assert pairs == right_stem_pairs(queries, 5, 7) and len(pairs) == 2
    for q, meant in pairs:
        wrong = [(a, b) for a, b in zip(q.split(), meant.split(), strict=True) if a != b]
        assert len(wrong) == 1 and text.term_of(wrong[0][0]) == text.term_of(wrong[0][1])
    assert pairs[0][0] == "Controled Generation"
    assert right_stem_pairs(queries, 1, 7) == pairs[:1]


def test_suggestions_that_respell_capitals_or_only_a_spelling_are_told_apart() -> None:
    from paperfeed.bench.suggest import capitals, spelling_only

    assert capitals("EGTM: Event-guided Efficiant", "GETS: Event-guided Efficient")
    assert not capitals("EGTM: Event-guided Efficiant", "EGTM: Event-guided Efficient")
    assert spelling_only("Generlaised Planning", "Generlaized Planning")
    assert spelling_only("Colour constancy:", "Color constancy:")
    assert not spelling_only("Generlaised Planning", "Generalized Planning")  # a swap too
    assert not spelling_only("Efficiant", "Efficient") and not spelling_only("a b", "a b")
