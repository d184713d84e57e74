"""Static files are collected once per change of their sources, one process at a time."""

from __future__ import annotations

from pathlib import Path

from django.test import override_settings

from paperfeed.core import static


def test_collected_once_then_only_when_a_source_changes(tmp_path: Path) -> None:
    root = tmp_path / "static"
    with override_settings(HOME=tmp_path, STATIC_ROOT=root):
        assert static.collect() is True
        assert (root / static.STAMP).exists()
        assert any(p.is_file() and p.name != static.STAMP for p in root.rglob("*"))
        assert static.collect() is False  # nothing changed: no second pass over every file
        (root / static.STAMP).write_text("sources of an older release")
        assert static.collect() is True


def test_homes_that_share_a_root_collect_once(tmp_path: Path) -> None:
    root = tmp_path / "shared" / "static"
    with override_settings(HOME=tmp_path / "a", STATIC_ROOT=root):
        assert static.collect() is True
    with override_settings(HOME=tmp_path / "b", STATIC_ROOT=root):
        assert static.collect() is False  # PAPERFEED_STATIC_ROOT: the second home finds it current
    assert (tmp_path / "shared" / "static.lock").exists()
