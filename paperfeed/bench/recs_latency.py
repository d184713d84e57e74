"""Recs latency: "For you" for a user with 20 saved papers, page and API, p50/p95 warm, over HTTP.

A fresh home gets the real records; a user saves 20 papers of one topic; `paperfeed serve` answers
`GET /for-you` (session cookie) and `GET /api/recommendations` (bearer token). After a warm-up, each is
requested --requests times, one at a time; the baseline is `GET /api/daily_papers` from the same
server in the same run (a plain listing every visitor loads).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from paperfeed.bench.common import SNAPSHOT, fresh_env, paperfeed, serve

TARGET_P95_MS = 100.0

SETUP = """
import json, secrets
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from paperfeed.accounts.models import ApiToken
from paperfeed.feed.models import Collection, CollectionItem
from paperfeed.papers.models import Paper
user = get_user_model().objects.create_user("bench", "bench@example.org", secrets.token_urlsafe(16))
coll = Collection.objects.create(user=user, name="Reading", slug="reading")
papers = list(Paper.objects.filter(title__icontains="diffusion").order_by("-announced")[40:60])
for p in papers:
    CollectionItem.objects.create(collection=coll, paper=p)
token = secrets.token_urlsafe(32)
ApiToken.objects.create(user=user, name="bench", digest=ApiToken.digest_of(token), prefix=token[:8])
s = SessionStore()
s["_auth_user_id"] = str(user.pk)
s["_auth_user_backend"] = settings.AUTHENTICATION_BACKENDS[0]
s["_auth_user_hash"] = user.get_session_auth_hash()
s.create()
print(json.dumps({"session": s.session_key, "token": token, "saved": len(papers)}))
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--file", type=Path, default=SNAPSHOT)
    # The API allows 300 requests per 5 minutes per address: 2 x 100 + warm-ups stay under it.
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")


def _times(client: Any, url: str, n: int, **kwargs: Any) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = client.get(url, **kwargs)
        out.append((time.perf_counter() - t) * 1000)
        if r.status_code != 200:
            raise RuntimeError(f"GET {url} answered {r.status_code}: {r.text[:200]}")
    return out


def _summary(ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p95_ms": round(float(np.percentile(ms, 95)), 1),
        "mean_ms": round(float(np.mean(ms)), 1),
    }


def run(options: dict[str, Any]) -> dict[str, Any]:
    import httpx

    with fresh_env(options["database"]) as env:
        paperfeed(["init"], env)
        paperfeed(["import", str(options["file"]), "--json"], env)
        proc = subprocess.run(
            [sys.executable, "-m", "paperfeed", "shell", "-c", SETUP],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        made = json.loads(proc.stdout.strip().splitlines()[-1])
        with serve(env, 1) as base:
            try:
                with httpx.Client(
                    base_url=base, timeout=120, cookies={"sessionid": made["session"]}
                ) as client:
                    auth = {"Authorization": f"Bearer {made['token']}"}
                    first = _times(client, "/for-you", 1)[0]  # builds the candidate window
                    _times(client, "/for-you", 10)
                    _times(client, "/api/recommendations", 10, headers=auth)
                    _times(client, "/api/daily_papers", 10)
                    n = options["requests"]
                    page = _times(client, "/for-you", n)
                    api = _times(client, "/api/recommendations", n, headers=auth)
                    baseline = _times(client, "/api/daily_papers", n)
            except Exception:
                sys.stderr.write((Path(env["PAPERFEED_HOME"]) / "serve.log").read_text()[-3000:])
                raise
    return {
        "benchmark": "recs-latency",
        "database": options["database"],
        "saved_papers": made["saved"],
        "requests": options["requests"],
        "first_request_ms": round(first, 1),
        "page": _summary(page),
        "api": _summary(api),
        "baseline": {"name": "GET /api/daily_papers, same server", **_summary(baseline)},
        "target_p95_ms": TARGET_P95_MS,
        "meets_target": max(_summary(page)["p95_ms"], _summary(api)["p95_ms"]) <= TARGET_P95_MS,
    }
