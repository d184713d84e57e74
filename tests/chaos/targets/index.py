"""`paperfeed index` killed at random moments and at its failpoints, then run to completion: the
keyword index, the stored embeddings and the vector index must each hold every paper exactly once,
and a further run must find nothing to do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.chaos.harness import chaos_env, kill_and_rerun

FAILPOINTS = (
    "index.keyword.between_commit_and_state",
    "index.embed.before_commit",
    "index.vectors.after_commit",
    "ingest.after_commit",
)


def _papers(n: int) -> list[str]:
    words = "graph neural diffusion token agent vision speech robot policy reward model data proof".split()  # noqa: SIM905
    out = []
    for i in range(n):
        w = [words[(i * 7 + j * 3) % len(words)] for j in range(12)]
        out.append(
            json.dumps(
                {
                    "id": f"2501.{i + 1:05d}",
                    "title": " ".join(w[:5]) + f" number {i}",
                    "abstract": " ".join(w * 3),
                    "authors": f"Author {i % 50}",
                    "categories": "cs.LG",
                    "update_date": "2025-03-18",
                }
            )
        )
    return out


def run_scenario(
    env: dict[str, str], workdir: Path, kills: int, seed: int, papers: int = 1200
) -> dict[str, Any]:
    cli = [sys.executable, "-m", "paperfeed"]
    data = workdir / "chaos-papers.jsonl"
    data.write_text("\n".join(_papers(papers)) + "\n")
    subprocess.run([*cli, "init"], env=env, check=True, capture_output=True)
    subprocess.run([*cli, "import", str(data)], env=env, check=True, capture_output=True)
    run = kill_and_rerun(
        [*cli, "index", "--json"],
        env,
        kills=kills,
        seed=seed,
        max_delay=8.0,
        failpoints=FAILPOINTS[:3],
        max_hit=2,
    )
    final = json.loads(
        subprocess.run([*cli, "index", "--json"], env=env, check=True, capture_output=True, text=True).stdout
    )
    assert final["keyword"]["indexed"] == 0 and final["embeddings"]["embedded"] == 0, final
    assert final["keyword"]["documents"] == papers, final
    assert final["vectors"]["vectors"] == papers, final
    check = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'paperfeed.settings'; django.setup()\n"
        "from paperfeed.search.models import Embedding\n"
        "from paperfeed.search.services import search\n"
        "print(Embedding.objects.count(), search('number 7', mode='keyword', limit=1).hits[0].arxiv_id)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", check], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [str(papers), "2501.00008"], out
    return {"papers": papers, "kills": run.kills, "rounds": [r.__dict__ for r in run.rounds], "final": final}


def scenario(kills: int, seed: int, database: str) -> dict[str, Any]:
    with chaos_env(database) as env, tempfile.TemporaryDirectory(prefix="chaos-index-") as tmp:
        os.environ.setdefault("PAPERFEED_HOME", env["PAPERFEED_HOME"])
        return run_scenario(env, Path(tmp), kills, seed)
