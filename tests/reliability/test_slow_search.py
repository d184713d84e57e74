"""L7: a slow or failing embedding backend (the vector leg of hybrid search) degrades search to
keyword matches within 2 s instead of failing or holding a web worker; other pages keep working.
Two real servers: one whose semantic leg is delayed 10 s (the fault hook
PAPERFEED_SEARCH_FAULT_DELAY_MS), one whose model file is corrupt."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import paperfeed
from tests.reliability.support import Server, client, tool

pytestmark = [pytest.mark.database, pytest.mark.slow]


def _corrupt_model_cache(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from paperfeed.search import embedding

    monkeypatch.setenv("PAPERFEED_MODEL_CACHE", str(root))
    path = embedding.model_file()  # the name this installation's weights give the built model
    path.write_bytes(b"this is not an ONNX model")
    return root


# S13: server children with a slow and a broken embedding model for L7: ~35 s on a loaded
# machine.
@pytest.mark.timeout(300)
def test_slow_or_failing_embeddings_degrade_search(
    cli_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**cli_env, "PAPERFEED_LOG_LEVEL": "WARNING"}
    paperfeed("init", env=env)
    papers = tool("papers", "40", env=env).split()
    paperfeed("index", env=env)
    title_word = "learning"
    slow_env = {
        **env,
        "PAPERFEED_SEARCH_FAULT_DELAY_MS": "10000",
        "PAPERFEED_SEARCH_SEMANTIC_BUDGET_MS": "500",
    }
    slow = Server(slow_env, tmp_path / "slow.log", workers=2)
    broken_cache = _corrupt_model_cache(tmp_path / "models", monkeypatch)
    broken = Server({**env, "PAPERFEED_MODEL_CACHE": str(broken_cache)}, tmp_path / "broken.log", workers=2)
    try:
        slow.wait_ready(), broken.wait_ready()
        with client(timeout=30) as c:
            for server in (slow, broken):
                for i in range(6):
                    t0 = time.monotonic()
                    r = c.get(f"{server.url}/api/papers/search", params={"q": f"{title_word} {i}"})
                    took = time.monotonic() - t0
                    assert r.status_code == 200 and r.json(), (r.status_code, r.text[:300])
                    assert "keyword matches only" in r.headers["X-Search-Degraded"]
                    assert took < 2, took
                    page = c.get(f"{server.url}/search", params={"q": title_word})
                    assert page.status_code == 200 and "keyword matches only" in page.text
                    assert c.get(f"{server.url}/api/papers/{papers[i]}").status_code == 200
                # Keyword mode never touches the embedder: not degraded.
                r = c.get(f"{server.url}/api/papers/search", params={"q": title_word, "mode": "keyword"})
                assert r.status_code == 200 and "X-Search-Degraded" not in r.headers
        assert "Traceback" not in slow.output()
        assert "embedding model could not be loaded" in broken.output()
    finally:
        slow.stop(), broken.stop()
