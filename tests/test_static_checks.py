"""S11: static security checks over our own code (RELIABILITY.md §3b)."""

from __future__ import annotations

import ast
import json
import re
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


# --- the environment's documentation ----------------------------------------------------------------
# Variables read that are not settings of a site, each with the document that names it (None: set by
# someone else for paperfeed, not by an operator).
NOT_SETTINGS: dict[str, str | None] = {
    "DJANGO_SETTINGS_MODULE": None,  # paperfeed sets it for Django
    "LISTEN_FDS": "docs/deploy.md",  # systemd socket activation
    "LISTEN_PID": None,  # beside LISTEN_FDS
    "BENCH_PASSWORD": None,  # `paperfeed bench auth-timing` to the child it starts
    "BENCH_ACCOUNTS": None,
    "FAILPOINT": "docs/testing.md",
    "PAPERFEED_LONG": "docs/testing.md",
    "PAPERFEED_TESTS_HOME": "docs/testing.md",
    "PAPERFEED_SHARED_DATA": "docs/testing.md",
    "PAPERFEED_PG_ADMIN_URL": "docs/testing.md",
    "PAPERFEED_TEST_REDIS_URL": "docs/testing.md",
    "NO_COLOR": "README.md",  # no-color.org, for every command line tool
    "COLUMNS": "README.md",  # the shell's, for listings at the terminal's width
}
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _settings_table() -> list[tuple[str, str, str]]:
    """docs/deploy.md's table under "## Settings": (variable, default, meaning) per row."""
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            rows.append((cells[0].strip("`"), cells[1], cells[2]))
    return rows


def test_the_deploy_settings_table_is_every_setting_with_its_default_and_meaning() -> None:
    from paperfeed.conf import SETTINGS

    expected = [(s.name, f"`{s.default}`" if s.default else "(empty)", s.help) for s in SETTINGS.values()]
    assert _settings_table() == expected


def _environment_reads() -> dict[str, list[str]]:
    """Every variable name the package reads from the environment, with where: through paperfeed.conf's
    env*() or directly (os.environ.get / os.environ[...] / os.getenv)."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "paperfeed").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = None
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                f = node.func
                called = f.id if isinstance(f, ast.Name) else ast.unparse(f)
                if called in {"env", "env_bool", "env_int", "env_float", "os.environ.get", "os.getenv"}:
                    name = node.args[0].value
            elif (
                isinstance(node, ast.Subscript)
                and isinstance(node.ctx, ast.Load)
                and ast.unparse(node.value) == "os.environ"
                and isinstance(node.slice, ast.Constant)
            ):
                name = node.slice.value
            if isinstance(name, str):
                found.setdefault(name, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_variable_the_package_reads_is_a_setting_or_documented_elsewhere() -> None:
    from paperfeed.conf import SETTINGS

    reads = _environment_reads()
    assert "PAPERFEED_HOME" in reads and "FAILPOINT" in reads  # the scan sees both kinds of read
    unknown = {n: where for n, where in reads.items() if n not in SETTINGS and n not in NOT_SETTINGS}
    assert unknown == {}
    for name, doc in NOT_SETTINGS.items():
        if doc:
            assert name in (ROOT / doc).read_text(encoding="utf-8"), f"{name} is not explained in {doc}"


def test_the_numbers_settings_py_checks_at_start_are_the_ones_read_as_numbers() -> None:
    from paperfeed import conf

    read: dict[str, set[str]] = {"env_int": set(), "env_float": set()}
    for path in sorted((ROOT / "paperfeed").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in read
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                read[node.func.id].add(node.args[0].value)
    assert read["env_int"] == conf.WHOLE_NUMBERS
    assert read["env_float"] == conf.NUMBERS


def test_every_variable_the_docs_name_exists() -> None:
    from paperfeed.conf import SETTINGS

    named = {
        (m, doc.name)
        for doc in DOCS
        for m in re.findall(r"\b(?:PAPERFEED_[A-Z0-9_]*[A-Z0-9]|DATABASE_URL|EMAIL_URL)\b", doc.read_text())
    }
    assert {(n, d) for n, d in named if n not in SETTINGS and n not in NOT_SETTINGS} == set()


# --- commands and make targets the docs name ---------------------------------------------------------
def _named(pattern: str) -> set[tuple[str, str]]:
    """(what, document) for each match of pattern in a `code span` or a line of a code block."""
    found = set()
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
        pieces = re.findall(r"`([^`\n]+)`", text) + [ln.strip() for b in blocks for ln in b.splitlines()]
        found |= {(m.strip(), doc.name) for piece in pieces for m in re.findall(pattern, piece)}
    return found


def test_every_paperfeed_command_the_docs_name_exists() -> None:
    import argparse

    from django.core.management import get_commands, load_command_class

    commands = get_commands()
    unknown = set()
    for line, doc in _named(r"^(?:\.venv/bin/)?paperfeed ([a-z][a-z_-]*(?: [a-z][a-z-]*)?)"):
        name, _, sub = line.partition(" ")
        if name == "help":  # the command line's own, not a command
            continue
        if name not in commands:
            unknown.add((line, doc))
            continue
        parser = load_command_class(commands[name], name).create_parser("paperfeed", name)
        choices = [a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if sub and choices and sub not in choices[0]:
            unknown.add((line, doc))
    assert unknown == set()
    assert len(_named(r"^paperfeed ([a-z]+)")) > 30  # the scan finds the docs' commands


def test_every_make_target_the_docs_name_exists_and_make_lists_it() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    listed = set(re.findall(r"^([a-z][a-z-]*):[^\n]*## ", makefile, re.MULTILINE))
    named = _named(r"^make ([a-z][a-z-]*)")
    assert {t for t, _ in named} >= {"run", "test", "bench"}
    assert {(t, doc) for t, doc in named if t not in listed} == set()
