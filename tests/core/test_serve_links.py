"""What `paperfeed serve` (gunicorn) decides: without PAPERFEED_BASE_URL, links in feeds (and mail)
point at the served port; a long request line (a pasted abstract as the query) reaches the site."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.reliability.support import Server

pytestmark = [pytest.mark.database]


@pytest.mark.migrated
@pytest.mark.timeout(180)  # two real servers: ~10 s idle
def test_feed_links_name_the_served_port_unless_a_base_url_is_set(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = {k: v for k, v in cli_env.items() if k != "PAPERFEED_BASE_URL"} | {"PAPERFEED_WARM_UP": "0"}
    server = Server(env, tmp_path / "served.log", workers=1).wait_ready()
    try:
        rss = httpx.get(f"{server.url}/papers/feed.rss", timeout=30).text
        # 5,000 characters: the search page, saying what it searched, not gunicorn's bare 414.
        long = httpx.get(f"{server.url}/search", params={"q": "graph " * 1000}, timeout=30)
    finally:
        server.stop()
    assert f"<link>{server.url}/papers</link>" in rss
    assert long.status_code == 200 and "Only the first 500 characters were searched." in long.text

    env["PAPERFEED_BASE_URL"] = "https://papers.example.org"
    server = Server(env, tmp_path / "public.log", workers=1).wait_ready()
    try:
        rss = httpx.get(f"{server.url}/papers/feed.rss", timeout=30).text
    finally:
        server.stop()
    assert "<link>https://papers.example.org/papers</link>" in rss
