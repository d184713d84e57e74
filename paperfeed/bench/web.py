"""Web: `paperfeed serve` (gunicorn) under wrk on loopback, with the 74,728 real records, a day of
50 submitted papers with votes and comments; daily page and paper page next to /healthz and a
static file measured in the same run.

Targets (issue 4): the daily page with 50 papers >= 300 requests/s with p99 <= 250 ms, the paper
page >= 300 requests/s. Anonymous pages are served from fragments cached under a version that every
vote, submission and comment bumps, so the figures include that cache's lookups.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from paperfeed.bench.common import SNAPSHOT, fresh_env, paperfeed, parse_wrk, serve, wrk_binary

TARGET_RPS = 300
TARGET_P99_MS = 250

SEED = """
import os, random, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperfeed.settings")
django.setup()
import datetime as dt
from django.utils import timezone
from paperfeed.accounts.models import User
from paperfeed.feed import services
from paperfeed.feed.models import Comment, Vote
from paperfeed.feed.markup import render_comment
from paperfeed.papers.models import Paper

rng = random.Random(7)
today = timezone.localdate()
done = Paper.objects.filter(submissions__day=today).order_by("-pk").values_list("arxiv_id", flat=True).first()
if done:  # a kept home seeded by an earlier run
    print(done)
    raise SystemExit(0)
users = [User(username=f"reader{i}", email=f"reader{i}@example.org", email_verified=True,
              date_joined=timezone.now() - dt.timedelta(days=30)) for i in range(200)]
User.objects.bulk_create(users)
users = list(User.objects.all())
ids = list(Paper.objects.order_by("-announced", "arxiv_id").values_list("arxiv_id", flat=True)[:400])
for arxiv_id in rng.sample(ids, 50):
    sub = services.submit(arxiv_id, rng.choice(users), today, limit=False)
    voters = rng.sample(users, rng.randint(0, 60))
    Vote.objects.bulk_create([Vote(user=u, paper=sub.paper) for u in voters])
    for u in rng.sample(users, rng.randint(0, 5)):
        body = "Interesting: $O(n \\\\log n)$ beats **quadratic** attention."
        Comment.objects.create(paper=sub.paper, author=u, body=body, html=render_comment(body))
print(sub.paper.arxiv_id)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--file", type=Path, default=SNAPSHOT)
    parser.add_argument("--seconds", type=int, default=15, help="duration of each wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--signed-in",
        action="store_true",
        help="also measure both pages as a signed-in reader sees them (rendered afresh, no page cache)",
    )


# A session for one of the seeded readers, as a log-in would make it: printed as "name=key".
SESSION = """
import os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperfeed.settings")
django.setup()
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from paperfeed.accounts.models import User

u = User.objects.get(username="reader0")
s = import_module(settings.SESSION_ENGINE).SessionStore()
s[SESSION_KEY], s[BACKEND_SESSION_KEY] = str(u.pk), settings.AUTHENTICATION_BACKENDS[0]
s[HASH_SESSION_KEY] = u.get_session_auth_hash()
s.create()
print(f"{settings.SESSION_COOKIE_NAME}={s.session_key}")
"""


def _run_wrk(wrk: str, url: str, seconds: int, connections: int, cookie: str = "") -> dict[str, Any]:
    headers = ["-H", f"Cookie: {cookie}"] if cookie else []
    out = subprocess.run(
        [wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", *headers, url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    return {"url": "/" + url.split("/", 3)[-1], **parse_wrk(out)}


def run(options: dict[str, Any]) -> dict[str, Any]:
    with fresh_env(options["database"]) as env:
        env.pop("PAPERFEED_TIME_SCALE", None)
        paperfeed(["init"], env)
        imported, import_s = paperfeed(["import", str(options["file"]), "--json"], env)
        out = pages(env, options)
    return {
        "benchmark": "web",
        "database": options["database"],
        "papers": imported["created"] if imported else None,
        "import_seconds": round(import_s, 1),
        **out,
    }


def pages(env: dict[str, str], options: dict[str, Any]) -> dict[str, Any]:
    """The daily page and a paper page under wrk, next to /healthz and a static file, in env's home
    (papers already imported; the day's submissions, votes and comments are added once)."""
    wrk = wrk_binary()
    seed = subprocess.run([sys.executable, "-c", SEED], env=env, capture_output=True, text=True, check=True)
    paper_id = seed.stdout.strip().splitlines()[-1]
    cookie = ""
    if options.get("signed_in"):
        made = subprocess.run(
            [sys.executable, "-c", SESSION], env=env, capture_output=True, text=True, check=True
        )
        cookie = made.stdout.strip().splitlines()[-1]
    today = dt.datetime.now(dt.UTC).date().isoformat()
    with serve(env, options["workers"]) as base:
        daily_url = f"{base}/papers?date={today}"
        page = urllib.request.urlopen(daily_url, timeout=30).read().decode()  # noqa: S310  # nosec B310 (loopback)
        cards = page.count('class="card"')
        urls = {
            "healthz": f"{base}/healthz",
            "static": f"{base}/static/css/site.css",
            "daily": daily_url,
            "paper": f"{base}/papers/{paper_id}",
        }
        plan = [(name, url, "") for name, url in urls.items()]
        if cookie:  # a signed-in reader's pages skip the page cache: every request renders
            plan += [(f"{name}_signed_in", urls[name], cookie) for name in ("daily", "paper")]
        for _, url, with_cookie in plan:  # warm the workers' caches
            _run_wrk(wrk, url, 2, options["connections"], with_cookie)
        runs = {
            name: _run_wrk(wrk, url, options["seconds"], options["connections"], with_cookie)
            for name, url, with_cookie in plan
        }
    base_rps = runs["healthz"]["requests_per_s"]
    for r in runs.values():
        r["ratio_to_healthz"] = round(r["requests_per_s"] / base_rps, 2) if base_rps else None
    daily, paper = runs["daily"], runs["paper"]
    return {
        "daily_page_papers": cards,
        "workers": options["workers"],
        "connections": options["connections"],
        "seconds_per_run": options["seconds"],
        "baseline": {"healthz": runs["healthz"], "static": runs["static"]},
        "daily": daily,
        "paper": paper,
        **{name: r for name, r in runs.items() if name.endswith("_signed_in")},
        "targets": {"requests_per_s": TARGET_RPS, "daily_p99_ms": TARGET_P99_MS},
        "meets_targets": {
            "daily": daily["requests_per_s"] >= TARGET_RPS and (daily["p99_ms"] or 1e9) <= TARGET_P99_MS,
            "paper": paper["requests_per_s"] >= TARGET_RPS,
            "no_errors": all(r["non_2xx"] == 0 and r["socket_errors"] == 0 for r in runs.values()),
        },
    }
