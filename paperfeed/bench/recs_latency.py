"""Recs latency: "For you" for a user with 20 saved papers, page and API, p50/p95 warm, over HTTP;
and what keeping the profile fresh adds to a vote or a save.

A fresh home gets the real records; a user saves 20 papers of one topic; `paperfeed serve` answers
`GET /for-you` (session cookie) and `GET /api/recommendations` (bearer token). After a warm-up, each is
requested --requests times, one at a time; the baseline is `GET /api/daily_papers` from the same
server in the same run (a plain listing every visitor loads).

Cold (--cold N, 0 skips it): after the warm runs, fresh servers on the same home, each asked for one
`GET /for-you`: N started as `serve` starts them (the worker warms up first) and N with the warm-up
off, in turns; their medians next to the warm page's p50 of this run, as a ratio.

During the build (--during-build): last, the saved window removed, a fresh one-worker server whose
warm-up has it built again, asked for `GET /` every 0.1 s and `GET /for-you` every second until the
warm-up ends: their latencies and answers meanwhile, and the worker's CPU seconds, its own and its
children's (the builder process, when it builds in one).

Actions (--actions N, 0 skips them): users with 20 and with 1,000 saved papers vote and unvote, save
and unsave, in turns. Half of them have opened "for you" (so they have a profile, which each action
updates); the other half never have (the hook finds no profile and stops): the same request without
the update, interleaved with it, is its baseline. Then, after each of a few actions, the profiled
users' next `GET /for-you`: what the page pays for reflecting it. Last, in one process of its own, the
bytes each vote writes (a vote and an unvote in turn, --actions of them per user of each size, with and
without a profile): the parameters of its INSERT and UPDATE statements (what the database stores, on
either database) and, on SQLite, what the process wrote (/proc/self/io's wchar: the write-ahead log's
pages as SQLite writes them; the log's file size undercounts, as SQLite reuses it).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from paperfeed.bench.common import SNAPSHOT, fresh_env, paperfeed, serve, shell_json, spread_ms

TARGET_P95_MS = 100.0

SETUP = """
import json, secrets
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from paperfeed.accounts.models import ApiToken
from paperfeed.feed.models import Collection, CollectionItem
from paperfeed.papers.models import Paper
user = get_user_model().objects.create_user(
    "bench", "bench@example.org", secrets.token_urlsafe(16), email_verified=True
)
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

# Users who act: {liked count: {"profiled"|"plain": [{session, collection, target}]}}. Their saved
# papers are stored in bulk (no hooks: none of them has a profile yet).
ACTORS = """
import json, secrets
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from paperfeed.feed.models import Collection, CollectionItem
from paperfeed.papers.models import Paper
newest = list(Paper.objects.order_by("-announced", "pk").values_list("pk", "arxiv_id")[: 4000])
targets = iter(newest[: 200])  # voted on and saved: papers in the window, liked by nobody
liked = [pk for pk, _ in newest[200:]]
out = {}
for size in sizes:
    for kind in ("profiled", "plain"):
        for i in range(per_variant):
            user = get_user_model().objects.create_user(
                f"act-{size}-{kind}-{i}",
                f"act-{size}-{kind}-{i}@example.org",
                secrets.token_urlsafe(16),
                email_verified=True,  # only a verified account's upvote counts (and may list a paper)
            )
            coll = Collection.objects.create(user=user, name="Reading", slug="reading")
            CollectionItem.objects.bulk_create(
                CollectionItem(collection=coll, paper_id=pk) for pk in liked[i * 7 :][:size]
            )
            s = SessionStore()
            s["_auth_user_id"] = str(user.pk)
            s["_auth_user_backend"] = settings.AUTHENTICATION_BACKENDS[0]
            s["_auth_user_hash"] = user.get_session_auth_hash()
            s.create()
            out.setdefault(str(size), {}).setdefault(kind, []).append(
                {"session": s.session_key, "collection": coll.pk, "target": next(targets)[1]}
            )
print(json.dumps(out))
"""
# Bytes written per vote, in-process (the hooks need the window loaded): `users` maps each liked size to
# one profiled and one plain user's ids.
WRITES = """
import json
from django.db import connection, transaction
from paperfeed.feed.models import Vote
from paperfeed.recs.index import candidates
candidates()
sent = [0]
def count(execute, sql, params, many, context):
    if sql.lstrip().upper().startswith(("INSERT", "UPDATE")):
        values = [getattr(p, "obj", p) for p in params or ()]  # psycopg wraps binaries (Binary.obj)
        sizes = [len(v) if isinstance(v, (bytes, bytearray, memoryview)) else len(str(v)) for v in values]
        sent[0] += sum(sizes)
    return execute(sql, params, many, context)
sqlite = connection.vendor == "sqlite"
def written():
    with open("/proc/self/io") as f:
        return int(next(line for line in f if line.startswith("wchar:")).split()[1])
out = {}
with connection.execute_wrapper(count):
    for size, kinds in users.items():
        for kind, (user_id, paper_id) in kinds.items():
            sent[0], before = 0, written()
            for i in range(n):
                with transaction.atomic():
                    if i % 2 == 0:
                        Vote.objects.create(user_id=user_id, paper_id=paper_id)
                    else:
                        Vote.objects.filter(user_id=user_id, paper_id=paper_id).delete()
            row = {"sql_bytes_per_action": round(sent[0] / n)}
            if sqlite:
                row["written_bytes_per_action"] = round((written() - before) / n)
            out.setdefault(size, {})[kind] = row
print(json.dumps(out))
"""
ACTOR_SIZES = (20, 1000)
VOTES_PER_USER = 24  # the site allows 30 votes a minute per user; warm-ups take the rest
CSRF = "benchcsrftokenbenchcsrftoken0123"  # any 32 letters: Django compares cookie and header


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--file", type=Path, default=SNAPSHOT)
    # The API allows 300 requests per 5 minutes per address: 2 x 100 + warm-ups stay under it.
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--actions", type=int, default=100, help="votes and saves per kind of user (0: none)")
    parser.add_argument(
        "--during-build",
        action="store_true",
        help="also measure requests while a fresh server's warm-up builds the window",
    )
    parser.add_argument(
        "--cold",
        type=int,
        default=3,
        help="fresh servers started for their first page, of each kind (0: none)",
    )


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
    return spread_ms(ms, 1)


class _Actor:
    """One acting user: a client with their session, and what their next action is."""

    def __init__(self, base: str, made: dict[str, Any]) -> None:
        import httpx

        self.client = httpx.Client(
            base_url=base,
            timeout=120,
            cookies={"sessionid": made["session"], "csrftoken": CSRF},
            headers={"X-CSRFToken": CSRF},
        )
        self.target, self.collection = made["target"], made["collection"]
        self.voted = self.saved = False

    def _post(self, url: str, data: dict[str, Any]) -> float:
        t = time.perf_counter()
        r = self.client.post(url, data=data)
        ms = (time.perf_counter() - t) * 1000
        if r.status_code not in (200, 302):
            raise RuntimeError(f"POST {url} answered {r.status_code}: {r.text[:200]}")
        return ms

    def vote(self) -> float:
        self.voted = not self.voted
        return self._post(f"/papers/{self.target}/vote", {"action": "up" if self.voted else "down"})

    def save(self) -> float:
        self.saved = not self.saved
        data = (
            {"collection_name": "Reading"} if self.saved else {"remove": "1", "collection": self.collection}
        )
        return self._post(f"/papers/{self.target}/save", data)


def _actions(base: str, env: dict[str, str], n: int) -> dict[str, Any]:
    """Votes and saves of users with and without a profile, interleaved (see the module's docstring)."""
    per_variant = max(1, -(-n // VOTES_PER_USER))
    script = f"per_variant, sizes = {per_variant}, {list(ACTOR_SIZES)}\n{ACTORS}"
    made = shell_json(script, env)
    actors = {
        (size, kind): [_Actor(base, m) for m in users]
        for size, kinds in made.items()
        for kind, users in kinds.items()
    }
    try:
        for (_, kind), users in actors.items():
            for a in users:
                if kind == "profiled":
                    # Builds the profile (and the window, the first time).
                    a.client.get("/for-you").raise_for_status()
                a.vote(), a.vote(), a.save(), a.save()  # warm-up: both ways of both
        times: dict[str, dict[str, list[float]]] = {f"{s}/{k}": {"vote": [], "save": []} for s, k in actors}
        for i in range(n):
            # Every kind of user in turn, starting at a different one each round, so that none is
            # always first after a pause.
            keys = list(actors)
            keys = keys[i % len(keys) :] + keys[: i % len(keys)]
            for size, kind in keys:
                a = actors[size, kind][i % per_variant]
                times[f"{size}/{kind}"]["vote"].append(a.vote())
                times[f"{size}/{kind}"]["save"].append(a.save())
        after: dict[str, list[float]] = {}
        for size in made:
            users = actors[size, "profiled"]
            for i in range(max(1, n // 4)):
                a = users[i % per_variant]
                a.save()
                after.setdefault(size, []).extend(_times(a.client, "/for-you", 1))
    finally:
        for users in actors.values():
            for a in users:
                a.client.close()
    out: dict[str, Any] = {"users_per_kind": per_variant}
    for size in made:
        row: dict[str, Any] = {}
        for what in ("vote", "save"):
            with_, without = times[f"{size}/profiled"][what], times[f"{size}/plain"][what]
            row[what] = {
                "with_profile": _summary(with_),
                "without_profile": _summary(without),
                "p50_ratio": round(float(np.median(with_) / np.median(without)), 2),
                "extra_p50_ms": round(float(np.median(with_) - np.median(without)), 1),
            }
        row["for_you_after_save"] = _summary(after[size])
        out[f"liked_{size}"] = row
    out["writes"] = _writes(env, made, n)
    return out


def _writes(env: dict[str, str], made: dict[str, Any], n: int) -> dict[str, Any]:
    """Bytes written per vote (see WRITES), by the first profiled and plain user of each size, on a
    paper none of them has voted on."""
    users = {
        size: {
            kind: [f"act-{size}-{kind}-0", made[size][kind][0]["target"]] for kind in ("profiled", "plain")
        }
        for size in made
    }
    lookup = (
        "from django.contrib.auth import get_user_model\n"
        "from paperfeed.papers.models import Paper\n"
        f"users = {users!r}\n"
        "for kinds in users.values():\n"
        "    for pair in kinds.values():\n"
        "        pair[0] = get_user_model().objects.get(username=pair[0]).pk\n"
        "        pair[1] = Paper.objects.exclude(votes__isnull=False).order_by('-announced', 'pk')"
        ".values_list('pk', flat=True)[500]\n"
    )
    return shell_json(f"{lookup}n = {n}\n{WRITES}", env)


WARM_UP_LINE = re.compile(r"warmed up: (.*)")


def _warm_ups(log_path: Path, start: int) -> list[dict[str, float | None]]:
    """The warm-ups logged since `start` (paperfeed.core.warmup): seconds per step, None if it failed."""
    with log_path.open("rb") as f:
        f.seek(start)
        text = f.read().decode(errors="replace")
    out = []
    for m in WARM_UP_LINE.finditer(text):
        steps = (part.rsplit(" ", 2) for part in m.group(1).split(", ") if part.endswith(" s"))
        out.append({name: (None if secs == "None" else float(secs)) for name, secs, _ in steps})
    return out


def _cold(env: dict[str, str], session: str, rounds: int) -> dict[str, Any]:
    """The first `GET /for-you` of a fresh server process (one worker) on the home the warm runs
    left (its window saved), `rounds` times each way, in turns: after the worker's warm-up (as
    `serve` starts it) and with PAPERFEED_WARM_UP=0 (what a worker's first visitor waited for
    before it: imports, the window, the scoring; the URL configuration alone is loaded already,
    by the health check the server helper waits for)."""
    import httpx

    log_path = Path(env["PAPERFEED_HOME"]) / "serve.log"
    times: dict[str, list[float]] = {"warmed_up": [], "not_warmed_up": []}
    warm_ups: list[dict[str, float | None]] = []
    for i in range(rounds):
        kinds = ["warmed_up", "not_warmed_up"]
        for kind in kinds if i % 2 == 0 else kinds[::-1]:
            start = log_path.stat().st_size
            mine = {**env, "PAPERFEED_WARM_UP": "1" if kind == "warmed_up" else "0"}
            with (
                serve(mine, 1) as base,
                httpx.Client(base_url=base, timeout=120, cookies={"sessionid": session}) as client,
            ):
                times[kind] += _times(client, "/for-you", 1)
            warm_ups += _warm_ups(log_path, start) if kind == "warmed_up" else []
    out: dict[str, Any] = {"rounds": rounds}
    for kind, ms in times.items():
        out[kind] = {"median_ms": round(float(np.median(ms)), 1), "max_ms": round(max(ms), 1), "ms": ms}
    recs_s = [w["recs"] for w in warm_ups if w.get("recs") is not None]
    out["warm_up_recs_s"] = recs_s  # each warmed worker's recs step (mapping the saved window)
    return out


def _cpu_s(pid: int) -> dict[str, float]:
    """A process's CPU seconds so far: its own, and its waited-for children's."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    utime, stime, cutime, cstime = (int(x) / tick for x in fields[11:15])
    return {"own": round(utime + stime, 2), "children": round(cutime + cstime, 2)}


def _during_build(env: dict[str, str], session: str) -> dict[str, Any]:
    """See the module's docstring."""
    import httpx

    home = Path(env["PAPERFEED_HOME"])
    for saved in (home / "recs").glob("window-*"):
        shutil.rmtree(saved)
    log_path = home / "serve.log"
    start = log_path.stat().st_size
    rows: dict[str, list[tuple[float, float, str]]] = {"/": [], "/for-you": []}
    stop = threading.Event()

    def ask(base: str, url: str, pause: float) -> None:
        with httpx.Client(base_url=base, timeout=120, cookies={"sessionid": session}) as client:
            while not stop.is_set():
                t = time.perf_counter()
                try:
                    status = str(client.get(url).status_code)
                except httpx.HTTPError as e:
                    status = type(e).__name__
                rows[url].append((t, (time.perf_counter() - t) * 1000, status))
                time.sleep(pause)

    with serve({**env, "PAPERFEED_WARM_UP": "1"}, 1, wait_warm_ups=False) as base:
        started = time.perf_counter()
        threads = [
            threading.Thread(target=ask, args=(base, url, p)) for url, p in (("/", 0.1), ("/for-you", 1.0))
        ]
        for th in threads:
            th.start()
        try:
            while not _warm_ups(log_path, start) and time.perf_counter() - started < 600:
                time.sleep(0.2)
            built = time.perf_counter()
            cpu = {str(w): _cpu_s(w) for w in _workers(base)}
        finally:
            stop.set()
            for th in threads:
                th.join()
    out: dict[str, Any] = {"build_s": round(built - started, 1), "worker_cpu_s": cpu}
    for url, got in rows.items():
        during = [(ms, status) for t, ms, status in got if t < built]
        ms = [m for m, _ in during]
        out[url] = {
            "answered": len(during),
            "statuses": {s: sum(1 for _, x in during if x == s) for s in {x for _, x in during}},
            **(_summary(ms) | {"max_ms": round(max(ms), 1)} if ms else {}),
        }
    return out


def _workers(base: str) -> list[int]:
    """The gunicorn workers serving `base`: forks of the master, with its command line."""
    port = base.rsplit(":", 1)[1]
    found = subprocess.run(
        ["pgrep", "-f", f"serve --host 127.0.0.1 --port {port}"], capture_output=True, text=True, check=False
    )
    pids = {int(p) for p in found.stdout.split()}
    parent = {p: int(Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[1]) for p in pids}
    return sorted(p for p in pids if parent[p] in pids)


def run(options: dict[str, Any]) -> dict[str, Any]:
    import httpx

    with fresh_env(options["database"]) as env:
        paperfeed(["init"], env)
        paperfeed(["import", str(options["file"]), "--json"], env)
        made = shell_json(SETUP, env)
        log_path = Path(env["PAPERFEED_HOME"]) / "serve.log"
        with serve(env, 1) as base:
            try:
                with httpx.Client(
                    base_url=base, timeout=120, cookies={"sessionid": made["session"]}
                ) as client:
                    auth = {"Authorization": f"Bearer {made['token']}"}
                    # The worker's warm-up built and saved the window before `serve` returned.
                    first = _times(client, "/for-you", 1)[0]
                    _times(client, "/for-you", 10)
                    _times(client, "/api/recommendations", 10, headers=auth)
                    _times(client, "/api/daily_papers", 10)
                    n = options["requests"]
                    page = _times(client, "/for-you", n)
                    api = _times(client, "/api/recommendations", n, headers=auth)
                    baseline = _times(client, "/api/daily_papers", n)
                acted = _actions(base, env, options["actions"]) if options["actions"] else None
            except Exception:
                sys.stderr.write(log_path.read_text()[-3000:])
                raise
        first_warm_ups = _warm_ups(log_path, 0)
        cold = _cold(env, made["session"], options["cold"]) if options["cold"] else None
        during = _during_build(env, made["session"]) if options["during_build"] else None
    warm_p50 = _summary(page)["p50_ms"]
    if cold is not None:
        for kind in ("warmed_up", "not_warmed_up"):
            cold[kind]["ratio_to_warm_p50"] = round(cold[kind]["median_ms"] / warm_p50, 1)
    return {
        "benchmark": "recs-latency",
        "database": options["database"],
        "saved_papers": made["saved"],
        "requests": options["requests"],
        "first_request_ms": round(first, 1),
        # The first server's warm-up: it found no saved window, so it built and saved it.
        "first_warm_up": first_warm_ups[0] if first_warm_ups else None,
        "page": _summary(page),
        "api": _summary(api),
        "baseline": {"name": "GET /api/daily_papers, same server", **_summary(baseline)},
        "target_p95_ms": TARGET_P95_MS,
        "meets_target": max(_summary(page)["p95_ms"], _summary(api)["p95_ms"]) <= TARGET_P95_MS,
        **({"actions": acted} if acted else {}),
        **({"cold": cold} if cold else {}),
        **({"during_build": during} if during else {}),
    }
