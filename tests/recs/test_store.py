"""The "for you" window saved under the home: mapped by other processes, kept current, rebuilt when unfit."""

from __future__ import annotations

import datetime as dt
import json
import logging
import mmap
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from paperfeed.papers.models import Paper, PaperCategory, PaperChange
from paperfeed.recs import index, store, tasks
from tests.conftest import paperfeed
from tests.recs.conftest import SEED_SHELL


def _mapped(arr: Any) -> bool:
    while arr is not None:
        if isinstance(arr, np.memmap | mmap.mmap):
            return True
        arr = getattr(arr, "base", None)
    return False


def assert_same_window(a: index.Candidates, b: index.Candidates) -> None:
    order_a, order_b = np.argsort(a.ids), np.argsort(b.ids)
    assert a.ids[order_a].tolist() == b.ids[order_b].tolist()
    assert a.days[order_a].tolist() == b.days[order_b].tolist()
    assert [a.categories[i] for i in order_a] == [b.categories[i] for i in order_b]
    assert [a.authors[i] for i in order_a] == [b.authors[i] for i in order_b]
    assert (a.counts[order_a] != b.counts[order_b]).nnz == 0
    assert np.allclose(a.rows[order_a].toarray(), b.rows[order_b].toarray())
    assert np.array_equal(a.idf.weights, b.idf.weights)
    assert a.watermark == b.watermark


def saved_windows(home: Path) -> list[Path]:
    return sorted(p for p in (home / "recs").iterdir() if p.name.startswith(store.PREFIX))


def add_paper(title: str) -> Paper:
    p = Paper.objects.create(
        arxiv_id="2606.99999",
        title=title,
        abstract="Latent diffusion image synthesis with denoising guidance, added after the save.",
        authors=[{"name": "Late Comer", "key": "late-comer"}],
        primary_category_id="cs.CV",
        announced=dt.date(2026, 6, 30),
    )
    PaperCategory.objects.create(paper=p, category_id="cs.CV", position=0)
    PaperChange.objects.create(paper=p)
    return p


def test_a_saved_window_is_mapped_and_equals_a_fresh_build(catalogue, home, caplog):
    with caplog.at_level(logging.INFO, logger="paperfeed.recs.index"):
        built = index.candidates()
    assert built.source == ""
    assert "building the candidate window from the database: no saved window" in caplog.text
    [path] = saved_windows(home)
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["format"] == store.FORMAT and manifest["papers"] == 24
    assert manifest["change"]["id"] == PaperChange.objects.latest("id").pk

    index.reset()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="paperfeed.recs.index"):
        mapped = index.candidates()
    assert "building" not in caplog.text
    assert mapped.source == path.name
    assert all(_mapped(a) for a in (mapped.ids, mapped.days, mapped.rows.data, mapped.rows.indices))
    assert_same_window(mapped, index.build())


def test_a_killed_builders_half_window_is_not_taken_for_the_newest(catalogue, home, caplog):
    index.candidates()
    [path] = saved_windows(home)
    # Newer than the saved one, as a builder's that died while writing it.
    half = home / "recs" / f"{store.PREFIX}{int(path.name.removeprefix(store.PREFIX)) + 1:020d}.tmp4321"
    half.mkdir()
    (half / "counts.npy").write_bytes(b"\x93NUMPY cut off")
    assert store.newest() == path
    index.reset()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="paperfeed.recs.index"):
        assert index.candidates().source == path.name  # mapped, not rebuilt for want of a manifest
    assert "building" not in caplog.text


def test_a_paper_added_after_the_save_comes_from_the_change_log(catalogue, home, caplog):
    index.candidates()
    [path] = saved_windows(home)
    late = add_paper("Diffusion samplers distilled once more")
    index.reset()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="paperfeed.recs.index"):
        cands = index.candidates()
    assert "building" not in caplog.text
    assert late.pk in cands.ids.tolist() and cands.source == path.name
    assert_same_window(cands, index.build())


def flip_a_byte(path: Path) -> None:
    """Damage a value in place: the file keeps its size and maps as well as before."""
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x40  # inside the last float32 of the data, past the .npy header
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda p: (p / "rows.data.npy").write_bytes((p / "rows.data.npy").read_bytes()[:-40]), "rows.data"),
        (lambda p: (p / "manifest.json").write_text("{"), "manifest unreadable"),
        (
            lambda p: (p / "manifest.json").write_text(
                json.dumps({**json.loads((p / "manifest.json").read_text()), "format": 0})
            ),
            f"format 0, this version reads {store.FORMAT}",
        ),
        (lambda p: (p / "authors.npy").unlink(), "authors.npy"),
        (lambda p: flip_a_byte(p / "by_term.data.npy"), "by_term.data.npy: checksum mismatch"),
    ],
    ids=["truncated", "corrupt-manifest", "older-format", "missing-file", "same-size-corrupt"],
)
def test_an_unfit_saved_window_is_rebuilt_with_a_log_line(catalogue, home, caplog, damage, reason):
    index.candidates()
    [path] = saved_windows(home)
    damage(path)
    index.reset()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="paperfeed.recs.index"):
        cands = index.candidates()
    [line] = [r.getMessage() for r in caplog.records if "building" in r.getMessage()]
    assert path.name in line and reason in line
    [rebuilt] = saved_windows(home)
    assert rebuilt != path
    assert_same_window(cands, index.build())  # what is served is the database's window
    index.reset()
    assert_same_window(index.candidates(), cands)
    assert index.candidates().source == rebuilt.name


def test_a_window_saved_against_another_database_state_is_not_used(catalogue, home, caplog):
    index.candidates()
    [path] = saved_windows(home)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["change"]["at"] = "2001-01-01T00:00:00+00:00"  # as if the database had been restored
    (path / "manifest.json").write_text(json.dumps(manifest))
    index.reset()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="paperfeed.recs.index"):
        index.candidates()
    assert "is not this database's" in caplog.text


def test_a_window_saved_for_fewer_days_is_rebuilt_for_more(catalogue, home, caplog, monkeypatch):
    monkeypatch.setenv("PAPERFEED_RECS_WINDOW_DAYS", "10")
    assert len(index.candidates()) == 11  # the newest day and the ten before it
    monkeypatch.setenv("PAPERFEED_RECS_WINDOW_DAYS", "90")
    index.reset()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="paperfeed.recs.index"):
        assert len(index.candidates()) == 24
    assert "other hashing, idf or window settings" in caplog.text


def test_the_worker_job_extends_the_saved_window(catalogue, home):
    index.candidates()
    [before] = saved_windows(home)
    late = add_paper("Consistency distillation for diffusion")
    result = tasks.refresh_window.call()
    assert result["saved"] and result["watermark"] == PaperChange.objects.latest("id").pk
    [after] = saved_windows(home)
    assert after != before
    index.reset()
    cands = index.candidates()
    assert cands.source == after.name and late.pk in cands.ids.tolist()
    assert_same_window(cands, index.build())
    assert tasks.refresh_window.call()["saved"] is False  # nothing changed since


def flip_a_byte_keeping_its_stamp(path: Path) -> None:
    """Damage a value as a bad disk would: size and mtime as they were saved."""
    st = path.stat()
    flip_a_byte(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert store.stamp(path) == [st.st_size, st.st_mtime_ns]


def test_the_worker_job_checksums_only_the_files_written_since_the_save(catalogue, home, caplog):
    tasks.refresh_window.call()
    [path] = saved_windows(home)
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["stamps"]["ids"] == store.stamp(path / "ids.npy")
    flip_a_byte_keeping_its_stamp(path / "rows.data.npy")
    # Current, and nothing read: the worker's look does not read a file its stamp says is as saved...
    assert tasks.refresh_window.call()["saved"] is False and saved_windows(home) == [path]
    # ...but a file written since is read: same-size damage with a new mtime is found and rebuilt.
    flip_a_byte(path / "by_term.data.npy")
    with caplog.at_level(logging.INFO, logger="paperfeed.recs.index"):
        assert tasks.refresh_window.call()["saved"] is True
    assert f"{path.name}: by_term.data.npy: checksum mismatch" in caplog.text
    [rebuilt] = saved_windows(home)
    assert rebuilt != path


def test_damage_that_keeps_the_stamp_is_found_where_the_data_is_read(catalogue, home, caplog):
    tasks.refresh_window.call()
    [path] = saved_windows(home)
    flip_a_byte_keeping_its_stamp(path / "rows.data.npy")
    # A process mapping the window to rank with it checks every file.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="paperfeed.recs.index"):
        cands = index.candidates()
    assert f"{path.name}: rows.data.npy: checksum mismatch" in caplog.text
    assert_same_window(cands, index.build())
    # So does the worker's job when the window has changes to take in: its rows go into the next one.
    [path] = saved_windows(home)
    flip_a_byte_keeping_its_stamp(path / "counts.data.npy")
    add_paper("Consistency distillation for diffusion")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="paperfeed.recs.index"):
        assert tasks.refresh_window.call()["saved"] is True
    assert f"rebuilding the saved candidate window: {path.name}: counts.data.npy: checksum" in caplog.text
    index.reset()
    assert_same_window(index.candidates(), index.build())


def test_a_running_process_moves_to_the_newer_window_the_worker_saved(catalogue, home, monkeypatch):
    first = index.candidates()
    late = add_paper("Guided diffusion at larger scale")
    tasks.refresh_window.call()
    [after] = saved_windows(home)
    monkeypatch.setattr(index, "CHECK_EVERY_S", 0.0)  # look at the change log on this very call
    cands = index.candidates()
    assert first.source == "" and cands.source == after.name
    assert late.pk in cands.ids.tolist() and _mapped(cands.rows.data)  # the shared pages, no private copy


RECOMMEND = """
import json
from django.contrib.auth import get_user_model
from paperfeed.recs import index, services
recs = services.recommend(get_user_model().objects.get(username="cli"), limit=10)
print(json.dumps({"source": index.candidates().source, "recs": [[r.paper.arxiv_id, r.reason] for r in recs]}))
"""


def printed(stdout: str) -> Any:
    return json.loads(stdout.strip().splitlines()[-1])  # `shell` prints its own banner first


# Five interpreter starts (migrate, seed, two builders at once, one more reader) on a loaded 2-core
# machine: each imports Django, numpy and scipy.
@pytest.mark.timeout(240)
def test_processes_share_one_window_built_once(cli_env, tmp_path):
    paperfeed("migrate", env=cli_env)
    paperfeed("shell", "-c", SEED_SHELL, env=cli_env)
    home = Path(cli_env["PAPERFEED_HOME"])
    both = [
        subprocess.Popen(
            [sys.executable, "-m", "paperfeed", "shell", "-c", RECOMMEND],
            env=cli_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=180) for p in both]
    assert [p.returncode for p in both] == [0, 0], [err[-2000:] for _, err in outs]
    first, second = (printed(out) for out, _ in outs)
    builds = sum(err.count("building the candidate window") for _, err in outs)
    assert builds == 1  # the other process waited on the lock and mapped what the builder saved
    [path] = saved_windows(home)
    assert sorted([first["source"], second["source"]]) == ["", path.name]
    assert first["recs"] and first["recs"] == second["recs"]
    assert {a for a, _ in first["recs"][:6]} == {f"2606.{n:05d}" for n in range(13, 19)}  # the speech ones

    later = paperfeed("shell", "-c", RECOMMEND, env=cli_env)
    assert "building" not in later.stderr
    assert printed(later.stdout) == {"source": path.name, "recs": first["recs"]}
