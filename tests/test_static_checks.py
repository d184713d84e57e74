"""S11: static security checks over our own code (RELIABILITY.md §3b)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bandit_finds_no_medium_or_high_issue() -> None:
    # Reviewed exceptions carry `# nosec BXXX` with their reason on the line (quoted identifiers in
    # SQL, escaped HTML marked safe, loopback URLs in benchmarks).
    proc = subprocess.run(
        [sys.executable, "-m", "bandit", "-r", str(ROOT / "paperfeed"), "-ll", "-f", "json", "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(proc.stdout)
    found = [
        f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}" for r in report["results"]
    ]
    assert found == []
    assert report["metrics"]["_totals"]["loc"] > 1000  # it really scanned the package
