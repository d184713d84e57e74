"""Start-up: every `paperfeed …` run (and the suite runs hundreds) sets Django up before its command
does anything, so the apps' ready() hooks register light wrappers and leave the heavy modules (the
search indexes, the model, numpy, markdown) to the code that uses them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Loaded on first use only. (pydantic is not here: the `ninja` app's own package imports it.)
LAZY = [
    "numpy",
    "tantivy",
    "onnxruntime",
    "tokenizers",
    "markdown_it",
    "nh3",
    "paperfeed.search.indexing",
    "paperfeed.search.keyword",
    "paperfeed.search.vectors",
    "paperfeed.search.embedding",
    "paperfeed.feed.services",
    "paperfeed.papers.services",
]

PROBE = """
import json, os, sys
import django
django.setup()
from django.apps import apps
from paperfeed.papers.signals import PAPER_EXTRAS, papers_ingested
from paperfeed.search.sorts import SORTS
after_setup = sorted(m for m in sys.argv[1:] if m in sys.modules)
hooks = {
    "sorts": sorted(SORTS),
    "extras": len(PAPER_EXTRAS),
    "ingest_receivers": len(papers_ingested.receivers),
}
# What `paperfeed search --help` loads besides: the command and the search service.
from paperfeed.search.management.commands import search
after_search_command = sorted(m for m in sys.argv[1:] if m in sys.modules)
print(json.dumps({"setup": after_setup, "search": after_search_command, "hooks": hooks}))
"""


def test_setup_and_the_search_command_load_no_index_model_or_numpy(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTHONPATH")}
    env |= {"DJANGO_SETTINGS_MODULE": "paperfeed.settings", "PAPERFEED_HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *LAZY],
        cwd=ROOT,  # this checkout's package, not an installed one
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert out["setup"] == []
    assert out["search"] == ["paperfeed.papers.services"]  # the search service's own
    # The wrappers are in place: the feed's votes sort and paper fields, the ingest receivers
    # (papers' statistics, search's index, recs' window, the feed's cached pages).
    assert out["hooks"] == {"sorts": ["date", "relevance", "votes"], "extras": 1, "ingest_receivers": 4}
