"""All: every benchmark of the project, one JSON document and a Markdown report with plots.

Each benchmark runs as its own `paperfeed bench NAME --json` child (its memory peak and any crash
stay its own; a failed one is reported, the rest still run). From each result the figures that
the issues set targets for are taken out, each next to its baseline from the same run and its
target, and marked met or missed by how much. Writes RESULTS/<date>.json, RESULTS/<date>.md and
RESULTS/<date>/*.png.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from paperfeed.core.logs import dumps
from paperfeed.core.progress import Progress

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"


@dataclass
class Part:
    key: str
    benchmark: str
    args: list[str]
    timeout: float  # seconds; a part that runs over is reported as failed


def _parts(full: bool, scale: int, keep: Path | None = None) -> list[Part]:
    def kept(name: str) -> list[str]:
        return ["--home", str(keep / name)] if keep else []

    def home(n: int) -> list[str]:
        return kept(f"scale-{n}")

    parts = [
        Part("import", "import", [], 1800),
        Part("search-quality", "search", ["--part", "quality"], 1800),
        Part("search-speed", "search", ["--part", "speed"], 5400),
        Part("suggest", "suggest", kept("suggest"), 1800),
        Part("web", "web", [], 1800),
        Part("web-postgres", "web", ["--database", "postgres"], 1800),
        Part("load", "load", [], 1800),
        Part("digest", "digest", [], 1800),
        Part("digest-postgres", "digest", ["--database", "postgres"], 1800),
        Part("recs", "recs", [], 1800),
        Part("recs-latency", "recs-latency", [], 1800),
        Part("recs-latency-postgres", "recs-latency", ["--database", "postgres"], 1800),
        Part("auth-timing", "auth-timing", [], 1800),
        Part("scale", "scale", ["--papers", str(scale), *home(scale)], 14400),
    ]
    if full:
        parts.append(
            Part(
                "scale-full",
                "scale",
                ["--papers", "2600000", *home(2_600_000)],
                36000,
            )
        )
    return parts


@dataclass
class Figure:
    """One measured figure with what it is judged against."""

    group: str  # the plot it goes in
    name: str
    value: float | None
    unit: str
    target: float | None = None
    higher_is_better: bool = True
    baseline: float | None = None
    baseline_name: str = ""

    @property
    def met(self) -> bool | None:
        if self.value is None or self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    @property
    def ratio_to_baseline(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return round(self.value / self.baseline, 3)

    @property
    def verdict(self) -> str:
        met = self.met
        if met is None:
            return "not measured" if self.value is None else "no target"
        if met:
            return "met"
        assert self.value is not None and self.target is not None
        short = (
            (self.target - self.value) / self.target
            if self.higher_is_better
            else (self.value - self.target) / self.target
        )
        return f"missed by {abs(short):.0%}"

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {
            "met": self.met,
            "ratio_to_baseline": self.ratio_to_baseline,
            "verdict": self.verdict,
        }


def _get(doc: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(doc, dict) or key not in doc:
            return None
        doc = doc[key]
    return doc


# --- what each benchmark's result says about the targets ---------------------------------------


def _import(r: dict[str, Any], runs: dict[str, Any]) -> list[Figure]:
    floor = _get(r, "baseline", "records_per_s")
    out = []
    for run in r.get("runs", []):
        db = run.get("database", "?")
        out.append(
            Figure(
                "Import rate",
                f"import, {db}",
                run.get("papers_per_s"),
                "papers/s",
                run.get("target_papers_per_s"),
                True,
                floor,
                "json.loads of the same lines",
            )
        )
        out.append(
            Figure(
                "Import memory",
                f"peak RSS, {db}",
                run.get("peak_rss_mb"),
                "MB",
                run.get("memory_target_mb"),
                False,
            )
        )
    return out


def _search_quality(r: dict[str, Any], runs: dict[str, Any]) -> list[Figure]:
    q = r.get("quality") or {}
    base = _get(q, "bm25s", "ndcg@10")
    target = _get(r, "targets", "ndcg_ratio")
    out = []
    for mode in ("keyword", "semantic", "hybrid"):
        out.append(
            Figure(
                "Search quality (CACM nDCG@10)",
                f"{mode}",
                _get(q, mode, "ndcg@10"),
                "nDCG@10",
                round(base * target, 4) if (mode == "hybrid" and base and target) else None,
                True,
                base,
                "bm25s, same run",
            )
        )
    return out


def _latency(
    group: str, lat: dict[str, Any], p50: float | None, p95: float | None, suffix: str
) -> list[Figure]:
    base = _get(lat, "keyword", "p95_ms")
    out = []
    for mode in ("keyword", "semantic", "hybrid"):
        hybrid = mode == "hybrid"
        if hybrid and p50 is not None:
            out.append(
                Figure(
                    group,
                    f"{mode} p50{suffix}",
                    _get(lat, mode, "p50_ms"),
                    "ms",
                    p50,
                    False,
                    _get(lat, "keyword", "p50_ms"),
                    "keyword p50",
                )
            )
        out.append(
            Figure(
                group,
                f"{mode} p95{suffix}",
                _get(lat, mode, "p95_ms"),
                "ms",
                p95 if hybrid else None,
                False,
                base if mode != "keyword" else None,
                "keyword p95",
            )
        )
    return out


def _search_speed(r: dict[str, Any], runs: dict[str, Any]) -> list[Figure]:
    s, t = r.get("speed") or {}, r.get("targets") or {}
    imp = s.get("import_s")
    out = [
        Figure(
            "Index build (75k)",
            "keyword index build",
            s.get("keyword_build_s"),
            "s",
            t.get("keyword_build_s"),
            False,
            imp,
            "import of the same records",
        ),
        Figure(
            "Index build (75k)",
            "full hybrid index build",
            s.get("full_build_s"),
            "s",
            t.get("full_build_s"),
            False,
            imp,
            "import of the same records",
        ),
        Figure("Index build (75k)", "no-op index run", s.get("noop_s"), "s", t.get("noop_s"), False),
    ]
    out += _latency(
        "Search latency (75k, SQLite)", s.get("latency") or {}, t.get("p50_ms_75k"), t.get("p95_ms_75k"), ""
    )
    stuck = Figure(
        "Search latency (75k, SQLite)",
        "hybrid, vector leg stuck: slowest degraded answer",
        _get(s, "stuck_leg", "max_ms"),
        "ms",
        t.get("stuck_leg_max_ms"),
        False,
    )
    return [*out, stuck]


def _scale(r: dict[str, Any], runs: dict[str, Any]) -> list[Figure]:
    """The scale run's figures; pages are judged against the 75k web run of the same `bench all` on
    the same database (PostgreSQL against PostgreSQL: the page cache lives in the database)."""
    t, b = r.get("targets") or {}, r.get("build") or {}
    n = r.get("papers")
    label = f"{n / 1e6:g}M" if n else "?"
    db = "PostgreSQL" if r.get("database") == "postgres" else "SQLite"
    group = f"Scale ({label}, {db})"
    out = _latency(group, r.get("search") or {}, None, t.get("hybrid_p95_ms"), "")
    web = _get(runs, "web-postgres" if r.get("database") == "postgres" else "web", "result") or {}
    reused = " [kept home: as built]" if b.get("reused_home") else ""
    out += [
        Figure(
            group,
            "hybrid serving private memory (RssAnon)",
            _get(r, "search", "hybrid", "peak_private_mb"),
            "MB",
            t.get("search_peak_mb"),
            False,
        ),
        Figure(
            group,
            "hybrid serving peak RSS (with the shared, mapped vector file)",
            _get(r, "search", "hybrid", "peak_rss_mb"),
            "MB",
            None,
            False,
        ),
        Figure(
            group,
            f"import ({label}){reused}",
            round(n / b["import_s"], 1) if n and b.get("import_s") else None,
            "papers/s",
            None,
            True,
            next(
                (
                    x.get("papers_per_s")
                    for x in _get(runs, "import", "result", "runs") or []
                    if x.get("database") == r.get("database")
                ),
                None,
            ),
            "75k import",
        ),
        Figure(group, f"keyword index build ({label}){reused}", b.get("keyword_build_s"), "s", None, False),
    ]
    for page in ("daily", "paper"):
        base = _get(web, page, "p99_ms")
        out.append(
            Figure(
                group,
                f"{page} page p99 ({label})",
                _get(r, "pages", page, "p99_ms"),
                "ms",
                round(base * t.get("pages_p99_vs_75k", 2.0), 1) if base else None,
                False,
                base,
                "75k web run",
            )
        )
    out.append(
        Figure(
            group,
            f"digests, {_get(r, 'digest', 'subscribers')} subscribers ({label})",
            _get(r, "digest", "seconds"),
            "s",
            t.get("digest_seconds"),
            False,
            _get(r, "digest", "baseline_seconds"),
            f"{_get(r, 'digest', 'baseline_subscribers')} subscribers",
        )
    )
    return out


def _web(r: dict[str, Any], runs: dict[str, Any]) -> list[Figure]:
    t = r.get("targets") or {}
    base = _get(r, "baseline", "healthz", "requests_per_s")
    db = r.get("database", "sqlite")
    return [
        Figure(
            "Web (wrk, loopback)",
            f"daily page, {db}",
            _get(r, "daily", "requests_per_s"),
            "req/s",
            t.get("requests_per_s"),
            True,
            base,
            "/healthz",
        ),
        Figure(
            "Web (wrk, loopback)",
            f"paper page, {db}",
            _get(r, "paper", "requests_per_s"),
            "req/s",
            t.get("requests_per_s"),
            True,
            base,
            "/healthz",
        ),
        Figure(
            "Web latency",
            f"daily page p99, {db}",
            _get(r, "daily", "p99_ms"),
            "ms",
            t.get("daily_p99_ms"),
            False,
            _get(r, "baseline", "healthz", "p99_ms"),
            "/healthz p99",
        ),
        Figure(
            "Web latency",
            f"paper page p99, {db}",
            _get(r, "paper", "p99_ms"),
            "ms",
            None,
            False,
            _get(r, "baseline", "healthz", "p99_ms"),
            "/healthz p99",
        ),
    ]


def _load(r: dict[str, Any], runs: dict[str, Any]) -> list[Figure]:
    """RELIABILITY L1 and L2: pages next to /healthz of the same run, search next to a paper's API
    record at the same time, the mixed run's failures and p95."""
    t, l1 = r.get("targets") or {}, r.get("read_path") or {}
    healthz = l1.get("healthz") or {}
    out = []
    for key, name in (("home", "`/`"), ("api", "/api/daily_papers")):
        page = l1.get(key) or {}
        out += [
            Figure(
                "Load L1 (wrk -c16, pinned)",
                f"{name} req/s",
                page.get("requests_per_s"),
                "req/s",
                t.get("requests_per_s"),
                True,
                healthz.get("requests_per_s"),
                "/healthz",
            ),
            Figure(
                "Load L1 latency",
                f"{name} p99",
                page.get("p99_ms"),
                "ms",
                t.get("p99_ms"),
                False,
                healthz.get("p99_ms"),
                "/healthz p99",
            ),
            Figure(
                "Load L1 errors",
                f"{name} non-2xx + socket errors",
                (page.get("non_2xx") or 0) + (page.get("socket_errors") or 0) if page else None,
                "responses",
                0,
                False,
            ),
        ]
    search, mixed = r.get("search") or {}, r.get("mixed") or {}
    out += [
        Figure(
            "Load L1 latency",
            "search p95 at 20 req/s",
            search.get("p95_ms"),
            "ms",
            t.get("search_p95_ms"),
            False,
            search.get("probe_p95_ms"),
            "paper API p95, same run",
        ),
        Figure("Load L2 (locust, 40 users)", "failures", mixed.get("failures"), "requests", 0, False),
        Figure(
            "Load L2 (locust, 40 users)",
            "p95",
            mixed.get("p95_ms"),
            "ms",
            t.get("mixed_p95_ms"),
            False,
            search.get("probe_p95_ms"),
            "paper API p95 (L1 search run)",
        ),
    ]
    return out


def _digest(r: dict[str, Any], runs: dict[str, Any]) -> list[Figure]:
    db = r.get("database", "sqlite")
    return [
        Figure(
            "Digest composition",
            f"{r.get('subscribers')} subscribers, {db}",
            r.get("seconds"),
            "s",
            r.get("target_seconds") if db == "sqlite" else None,
            False,
            r.get("baseline_seconds"),
            f"{r.get('baseline_subscribers')} subscribers",
        )
    ]


def _recs(r: dict[str, Any], runs: dict[str, Any]) -> list[Figure]:
    t = r.get("targets") or {}
    svm_recall = _get(r, "baseline", "recall_at_50")
    svm_time = _get(r, "baseline", "seconds_per_user")
    rr, tr = t.get("recall_ratio"), t.get("time_ratio")
    return [
        Figure(
            "Recommendations",
            "recall@50",
            _get(r, "ours", "recall_at_50"),
            "recall",
            round(svm_recall * rr, 4) if svm_recall and rr else None,
            True,
            svm_recall,
            "arxiv-sanity SVM",
        ),
        Figure(
            "Recommendations",
            "nDCG@50",
            _get(r, "ours", "ndcg_at_50"),
            "nDCG",
            None,
            True,
            _get(r, "baseline", "ndcg_at_50"),
            "arxiv-sanity SVM",
        ),
        Figure(
            "Recommendations",
            "time per user",
            _get(r, "ours", "seconds_per_user"),
            "s",
            round(svm_time * tr, 5) if svm_time and tr else None,
            False,
            svm_time,
            "arxiv-sanity SVM",
        ),
    ]


def _recs_latency(r: dict[str, Any], runs: dict[str, Any]) -> list[Figure]:
    db = r.get("database", "sqlite")
    base = _get(r, "baseline", "p95_ms")
    target = r.get("target_p95_ms")
    return [
        Figure(
            "Recommendations latency",
            f"for-you page p95, {db}",
            _get(r, "page", "p95_ms"),
            "ms",
            target,
            False,
            base,
            "/api/daily_papers p95",
        ),
        Figure(
            "Recommendations latency",
            f"API p95, {db}",
            _get(r, "api", "p95_ms"),
            "ms",
            target,
            False,
            base,
            "/api/daily_papers p95",
        ),
        *[
            Figure(
                "Recommendations latency",
                f"for-you first page of a fresh server, {label}, median, {db}",
                _get(r, "cold", kind, "median_ms"),
                "ms",
                None,
                False,
                _get(r, "page", "p50_ms"),
                "warm for-you page p50, same run",
            )
            for kind, label in (("warmed_up", "after its warm-up"), ("not_warmed_up", "warm-up off"))
            if _get(r, "cold", kind, "median_ms") is not None
        ],
        *[
            Figure(
                "Recommendations latency",
                f"{what}, {size} liked papers, profile updated, p50, {db}",
                _get(r, "actions", f"liked_{size}", what, "with_profile", "p50_ms"),
                "ms",
                None,
                False,
                _get(r, "actions", f"liked_{size}", what, "without_profile", "p50_ms"),
                "the same request of a user without a profile",
            )
            for size in (20, 1000)
            for what in ("vote", "save")
            if _get(r, "actions", f"liked_{size}", what, "with_profile", "p50_ms") is not None
        ],
    ]


def _auth_timing(r: dict[str, Any], runs: dict[str, Any]) -> list[Figure]:
    """Per flow, how far apart the medians of existing and unknown accounts are (S4: ≤ 10%)."""
    target = r.get("target_difference")
    out = []
    for name, flow in (r.get("flows") or {}).items():
        diff = flow.get("difference")
        out.append(
            Figure(
                "Account enumeration by timing",
                f"{name}: existing vs unknown, median {_get(flow, 'existing', 'median_ms')} vs "
                f"{_get(flow, 'unknown', 'median_ms')} ms",
                round(diff * 100, 1) if diff is not None else None,
                "% apart",
                target * 100 if target is not None else None,
                False,
            )
        )
    return out


def _suggest(r: dict[str, Any], runs: dict[str, Any]) -> list[Figure]:
    """Per misspelt set: its latency with the suggestion next to without it in the same run, and its
    right suggestions next to the queries that had a typo."""
    out = []
    for name, s in (r.get("sets") or {}).items():
        label = name.replace("_", " ")
        out += [
            Figure(
                "Did you mean (75k, keyword)",
                f"{label}: p{p} with the suggestion",
                _get(s, "with", f"p{p}_ms"),
                "ms",
                None,
                False,
                _get(s, "without", f"p{p}_ms"),
                "without it, same run",
            )
            for p in (50, 95)
        ]
        if s.get("misspelt"):
            out.append(
                Figure(
                    "Did you mean: right suggestions",
                    f"{label}",
                    s.get("right"),
                    "queries",
                    None,
                    True,
                    s.get("misspelt"),
                    "queries with a typo",
                )
            )
    return out


EXTRACT: dict[str, Callable[[dict[str, Any], dict[str, Any]], list[Figure]]] = {
    "import": _import,
    "search-quality": _search_quality,
    "search-speed": _search_speed,
    "suggest": _suggest,
    "scale": _scale,
    "scale-full": _scale,
    "web": _web,
    "web-postgres": _web,
    "load": _load,
    "digest": _digest,
    "digest-postgres": _digest,
    "recs": _recs,
    "recs-latency": _recs_latency,
    "recs-latency-postgres": _recs_latency,
    "auth-timing": _auth_timing,
}

# --- running ------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--full", action="store_true", help="add the 2.6M-paper PostgreSQL search run")
    parser.add_argument("--only", default="", help="comma-separated part keys to run (default: all)")
    parser.add_argument("--skip", default="", help="comma-separated part keys to leave out")
    parser.add_argument("--scale", type=int, default=1_000_000, help="papers of the PostgreSQL scale run")
    parser.add_argument(
        "--out", type=Path, default=RESULTS, help="directory for the JSON, Markdown and plots"
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help=(
            "keep the scale and suggest runs' homes and databases under this directory; "
            "later runs only measure"
        ),
    )
    parser.add_argument("--list", action="store_true", help="list the parts and exit")


def _run_part(part: Part) -> dict[str, Any]:
    started = time.perf_counter()
    cmd = [sys.executable, "-m", "paperfeed", "bench", part.benchmark, "--json", *part.args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=part.timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {part.timeout:.0f} s", "seconds": part.timeout}
    seconds = round(time.perf_counter() - started, 1)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
        return {"ok": False, "error": f"exit {proc.returncode}", "log": tail, "seconds": seconds}
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        return {
            "ok": False,
            "error": "no JSON on stdout",
            "log": proc.stdout.splitlines()[-15:],
            "seconds": seconds,
        }
    return {"ok": True, "result": result, "seconds": seconds}


def run(options: dict[str, Any]) -> dict[str, Any]:
    only = {p for p in options["only"].split(",") if p}
    # `--only scale-full` without --full ran nothing and said nothing: naming the part asks for it.
    parts = _parts(options["full"] or "scale-full" in only, options["scale"], options["keep"])
    skip = {p for p in options["skip"].split(",") if p}
    if unknown := (only | skip) - {p.key for p in parts} - {"scale-full"}:
        raise SystemExit(f"unknown part(s): {', '.join(sorted(unknown))}; see --list")
    if options["list"]:
        return {"parts": [asdict(p) for p in parts]}
    chosen = [p for p in parts if (not only or p.key in only) and p.key not in skip]
    started = dt.datetime.now(dt.UTC)
    runs: dict[str, Any] = {}
    figures: list[Figure] = []
    with Progress("bench all", total=len(chosen), unit="part") as bar:
        for part in chosen:
            done = _run_part(part)
            if done["ok"]:
                try:
                    found = EXTRACT[part.key](done["result"], runs)
                except (KeyError, TypeError, ZeroDivisionError) as e:
                    done["extract_error"] = f"{type(e).__name__}: {e}"
                else:
                    done["figures"] = [f.as_json() for f in found]
                    figures += found
            runs[part.key] = done
            bar.update(1, part=part.key, ok=done["ok"])
    doc = {
        "benchmark": "all",
        "started": started.isoformat(timespec="seconds"),
        "seconds": round((dt.datetime.now(dt.UTC) - started).total_seconds(), 1),
        "machine": _machine(),
        "parts": runs,
        "summary": {
            "figures": len(figures),
            "met": sum(1 for f in figures if f.met),
            "missed": [f"{f.group}: {f.name} ({f.verdict})" for f in figures if f.met is False],
            "failed_parts": [k for k, v in runs.items() if not v["ok"]],
        },
    }
    out_dir: Path = options["out"]
    stem = started.strftime("%Y-%m-%d")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{stem}.json").write_text(dumps(doc, indent=2) + "\n")
    plots = _plots(figures, out_dir / stem)
    (out_dir / f"{stem}.md").write_text(_markdown(doc, figures, plots, out_dir))
    doc["written"] = [str(out_dir / f"{stem}.json"), str(out_dir / f"{stem}.md")]
    return doc


def _machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in load] if load else None,
    }


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def _markdown(doc: dict[str, Any], figures: list[Figure], plots: list[Path], out_dir: Path) -> str:
    s = doc["summary"]
    lines = [
        f"# paperfeed benchmarks, {doc['started'][:10]}",
        "",
        f"Run by `paperfeed bench all` in {doc['seconds'] / 60:.0f} min on {doc['machine']['cpus']} cores "
        f"(load average at start {doc['machine']['load_average_at_start']}). Each figure is next to its "
        "baseline measured in the same run and to its target from the issues.",
        "",
        f"**{s['met']} of {sum(1 for f in figures if f.met is not None)} targets met.**",
        "",
    ]
    if s["missed"]:
        lines += ["Missed:", ""] + [f"- {m}" for m in s["missed"]] + [""]
    if s["failed_parts"]:
        lines += ["Parts that did not finish:", ""]
        for k in s["failed_parts"]:
            lines.append(f"- `{k}`: {doc['parts'][k]['error']}")
        lines.append("")
    lines += [
        "| group | figure | value | baseline | ratio | target | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        op = "≥" if f.higher_is_better else "≤"
        base = f"{_fmt(f.baseline)} ({f.baseline_name})" if f.baseline is not None else "-"
        target = f"{op} {_fmt(f.target)}" if f.target is not None else "-"
        ratio = f"{f.ratio_to_baseline:.2f}x" if f.ratio_to_baseline is not None else "-"
        lines.append(
            f"| {f.group} | {f.name} | {_fmt(f.value)} {f.unit} | {base} | {ratio} | {target} | {f.verdict} |"
        )
    lines.append("")
    for p in plots:
        lines += [f"![{p.stem}]({p.relative_to(out_dir)})", ""]
    lines += [
        "Part durations: " + ", ".join(f"{k} {v['seconds']:.0f} s" for k, v in doc["parts"].items()),
        "",
    ]
    return "\n".join(lines)


def _plots(figures: list[Figure], out: Path) -> list[Path]:
    """One PNG per group: each figure's value beside its baseline, the target as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[str, list[Figure]] = {}
    for f in figures:
        if f.value is not None:
            groups.setdefault(f.group, []).append(f)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for group, figs in groups.items():
        fig, axes = plt.subplots(1, len(figs), figsize=(3.2 * len(figs), 3.4), squeeze=False)
        for ax, f in zip(axes[0], figs, strict=True):
            labels, values, colours = (
                ["ours"],
                [f.value or 0],
                ["#3b6ea8" if f.met is not False else "#c0392b"],
            )
            if f.baseline is not None:
                labels.insert(0, "baseline")
                values.insert(0, f.baseline)
                colours.insert(0, "#999999")
            ax.bar(labels, values, color=colours)
            if f.target is not None:
                ax.axhline(f.target, linestyle="--", color="#222222", linewidth=1)
                ax.text(
                    0.02,
                    f.target,
                    f" target {_fmt(f.target)}",
                    va="bottom",
                    fontsize=7,
                    transform=ax.get_yaxis_transform(),
                )
            ax.set_title(f.name, fontsize=8)
            ax.set_ylabel(f.unit, fontsize=8)
            ax.tick_params(labelsize=7)
        fig.suptitle(group, fontsize=10)
        fig.tight_layout()
        path = out / ("".join(c if c.isalnum() else "-" for c in group.lower()).strip("-") + ".png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written
