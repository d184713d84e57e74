import argparse
import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.conftest import SNAPSHOT, paperfeed

pytestmark = pytest.mark.database


@pytest.mark.timeout(120)  # CLI children: ~6 s quiet, 20 s at load 7
def test_init_twice_and_settings_hide_credentials(cli_env: dict[str, str]) -> None:
    first = paperfeed("init", "--json", env=cli_env)
    again = paperfeed("init", "--json", env=cli_env)
    made, kept = json.loads(first.stdout), json.loads(again.stdout)
    # (Whether static files were collected depends on the tests before: they share one root.)
    assert made["migrations_applied"] > 0 and kept["migrations_applied"] == 0
    assert kept["static_collected"] is False
    assert made["home"] == kept["home"] == cli_env["PAPERFEED_HOME"]
    assert "paperfeed ready" not in first.stderr  # --json: the document says it
    assert "(already up to date)" in paperfeed("init", env=cli_env).stderr
    env = cli_env | {"EMAIL_URL": "smtp://user:hunter2@mail.example.org:587"}
    out = json.loads(paperfeed("settings", "--json", env=env).stdout)
    by_name = {s["name"]: s for s in out["settings"]}
    assert by_name["EMAIL_URL"]["value"] == "smtp://…@mail.example.org:587"
    assert "hunter2" not in json.dumps(out)
    assert by_name["PAPERFEED_SECRET_KEY"]["value"] == "(set)"
    assert by_name["PAPERFEED_ARXIV_DELAY"]["default"] == "3.0"


@pytest.mark.django_db(transaction=True)
def test_init_renders_the_comments_of_other_markup_rules_again(capsys: pytest.CaptureFixture[str]) -> None:
    """The upgrade's one step brings the stored comments to this version's rules: no command of its
    own for an operator to remember. Run in this process, on the test database (migrated already)."""
    from django.core.management import call_command

    from paperfeed.feed.markup import MARKUP_VERSION
    from paperfeed.feed.models import Comment
    from tests.sitedata import PRICES_NOW, load_papers, stale_comment

    [p] = load_papers(1)
    hidden, orphan = stale_comment(p, hidden=True), stale_comment(p, author=None)
    call_command("init", "--json")
    done = json.loads(capsys.readouterr().out)
    assert done["migrationsApplied"] == 0
    assert done["commentsRerendered"] == {"stale": 2, "rerendered": 2, "changed": 2, "skipped": 0}
    stored = Comment.objects.filter(pk__in=[hidden.pk, orphan.pk]).values_list("html", "markup_version")
    assert set(stored) == {(PRICES_NOW, MARKUP_VERSION)}
    call_command("init", "--json")
    assert json.loads(capsys.readouterr().out)["commentsRerendered"]["stale"] == 0


@pytest.mark.migrated
@pytest.mark.database_agnostic  # which modules a command imports, not what a database answers
def test_a_report_command_does_not_load_the_site(cli_env: dict[str, str]) -> None:
    # The system checks and the API's routers would import the whole site (URLs, the API, numpy and
    # scipy for "for you") before every import or harvest: about a second each time.
    probe = (
        "import sys\n"
        "from paperfeed.cli import main\n"
        "try:\n"
        "    main(['import', '/nonexistent.jsonl', '--json'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('paperfeed.api.views', 'paperfeed.urls', 'scipy') if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], env=cli_env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout + proc.stderr


# Commands that run until stopped and report nothing a script would read, and Django's migrate under
# our name (its options and output are Django's; a deploy script reads its exit status).
NO_REPORT = {"serve", "worker", "migrate"}


def test_every_reporting_command_takes_json() -> None:
    from django.core.management import get_commands, load_command_class

    def has_json(parser: argparse.ArgumentParser) -> bool:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if subs:
            return all(has_json(p) for p in subs[0].choices.values())
        return any("--json" in a.option_strings for a in parser._actions)

    ours = {name for name, app in get_commands().items() if app.startswith("paperfeed.")}
    assert {"init", "models", "show", "copydb", "digest", "subscribers"} <= ours
    lacking = {
        name
        for name in ours - NO_REPORT
        if not has_json(load_command_class(get_commands()[name], name).create_parser("paperfeed", name))
    }
    assert lacking == set()


def old_keys_without_their_camel_case(doc: object) -> list[str]:
    """The snake_case keys of `doc`'s objects that are not the deprecated twin of a camelCase key
    with the same value."""
    from paperfeed.core.http import camel_case

    if isinstance(doc, list):
        return [k for v in doc for k in old_keys_without_their_camel_case(v)]
    if not isinstance(doc, dict):
        return []
    found = [k for k in doc if "_" in k and doc.get(camel_case(k), object()) != doc[k]]
    return found + [k for v in doc.values() for k in old_keys_without_their_camel_case(v)]


@pytest.mark.django_db
def test_json_keys_are_camel_case_and_the_old_names_stay_beside_them_until_0_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from django.core.management import call_command

    call_command("settings", "--json")
    row = json.loads(capsys.readouterr().out)["settings"][0]
    assert list(row) == ["name", "value", "default", "fromEnvironment", "help", "from_environment"]
    assert row["fromEnvironment"] is row["from_environment"]
    snapshot = tmp_path / "two.jsonl"
    good = {"id": "2501.00001", "title": "A title", "abstract": "Words.", "authors": "Ada Lovelace"}
    snapshot.write_text(json.dumps(good) + "\n{not json\n")
    call_command("import", str(snapshot), "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["created"] == 1 and out["papersPerS"] == out["papers_per_s"]
    assert out["errors"][0]["line"] == 2
    assert old_keys_without_their_camel_case(out) == []


def test_camel_keys_keeps_the_keys_of_maps_keyed_by_data_and_names_it_cannot_carry_back() -> None:
    from paperfeed.core.http import camel_keys, snake_case

    doc = {
        "took_ms": 1.5,
        "results": [{"title_html": "<mark>x</mark>", "legs": {"keyword": 1}}],
        "tables": {"papers_paper": {"source": 3, "copied": 3}},
        "not_copied": {"search_state": "derived"},
        "recall_at_50": 0.2,  # as tookMs would come back as took_ms, recallAt50 would not
        "errors": {"__all__": ["both names"]},
    }
    out = camel_keys(doc, ("tables", "notCopied"))
    assert out["tookMs"] == out["took_ms"] == 1.5
    assert out["results"][0]["titleHtml"] == out["results"][0]["title_html"] == "<mark>x</mark>"
    assert out["tables"] == {"papers_paper": {"source": 3, "copied": 3}}
    assert out["notCopied"] == out["not_copied"] == {"search_state": "derived"}
    assert "recallAt50" not in out and out["recall_at_50"] == 0.2
    assert out["errors"] == {"__all__": ["both names"]}
    assert all(snake_case(k) in out for k in ("tookMs", "notCopied"))
    assert camel_keys([{"a_b": None}]) == [{"aB": None, "a_b": None}]


def test_the_api_still_carries_the_recommendations(client: Client) -> None:
    # Mounted by the recs app when the URLs are first resolved, not at start-up.
    schema = client.get("/api/openapi.json").json()
    assert "/api/recommendations" in schema["paths"]


# The command line's own mistakes: one shared set of argument types (core.commands, arxiv_ids)
# refuses them before any work starts, in one line on stderr with argparse's exit status 2.
_IN_TWO_DAYS = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)
# A weekday, so that --period names a daily digest yet to begin: two days after a Thursday or a
# Friday is a weekend day, which has no daily digest and names this week's weekly one, begun.
_WEEKDAY_AHEAD = _IN_TWO_DAYS + dt.timedelta(
    days=7 - _IN_TWO_DAYS.weekday() if _IN_TWO_DAYS.weekday() >= 5 else 0
)
BAD_ARGUMENTS = [
    (("search", "x", "--limit", "0"), "--limit: must be a whole number from 1 to 100, not '0'"),
    (("search", "x", "--limit", "-1"), "--limit: must be a whole number from 1 to 100"),
    (("search", "x", "--limit", "abc"), "--limit: must be a whole number from 1 to 100, not 'abc'"),
    (("search", "x", "--limit", "101"), "--limit: must be a whole number from 1 to 100"),
    (("search", "x", "--offset", "-1"), "--offset: must be a whole number of at least 0"),
    (("similar", "2501.00001", "--limit", "0"), "--limit: must be a whole number from 1 to 100"),
    (("jobs", "--limit", "-1"), "--limit: must be a whole number of at least 1"),
    # It was exit status 1, and only once the user had been looked up.
    (("recommend", "ada", "--limit", "0"), "--limit: must be a whole number from 1 to 100"),
    (("digest", "status", "--limit", "-1"), "--limit: must be a whole number of at least 1"),
    (("import", "x.jsonl", "--batch-size", "0"), "--batch-size: must be a whole number of at least 1"),
    # argparse's "invalid choice" listing all 24 hours, or "invalid int value".
    (
        ("subscribers", "add", "a@x.org", "--hour", "24"),
        "--hour: must be a whole number from 0 to 23, not '24'",
    ),
    (("subscribers", "add", "a@x.org", "--hour", "six"), "--hour: must be a whole number from 0 to 23"),
    # It ran: a negative count set up homes and databases before failing, or measured nothing.
    (("bench", "digest", "--subscribers", "-5"), "--subscribers: must be a whole number of at least 0"),
    (("serve", "--port", "-1"), "--port: must be a whole number from 1 to 65535"),
    (("worker", "--batch", "--interval", "-1"), "--interval: must be a number of seconds above 0"),
    (("search", "x", "--since", "2025-13-01"), "--since: not a date (YYYY-MM-DD): '2025-13-01'"),
    (("harvest", "--from", "yesterday"), "--from: not a date (YYYY-MM-DD): 'yesterday'"),
    # It was retried with backoff, for minutes, as if arXiv were down.
    (("harvest", "--endpoint", "oaipmh.arxiv.org/oai"), "--endpoint: not an http:// or https:// URL"),
    (("harvest", "--endpoint", "http://h:99999/oai"), "--endpoint: not an http:// or https:// URL"),
    (("submit", "2501.00001", "--date", "2025/01/01"), "--date: not a date (YYYY-MM-DD): '2025/01/01'"),
    # The site's rule for periods: they were accepted and put on lists no page could open.
    (
        ("submit", "2501.00001", "--date", f"{_IN_TWO_DAYS}"),
        f"--date: {_IN_TWO_DAYS:%A, %-d %B %Y} hasn't happened",
    ),
    (("submit", "2501.00001", "--date", "1900-12-31"), "--date: out of range: '1900-12-31' is before 1901"),
    (("digest", "send", "--period", "May"), "--period: not a date (YYYY-MM-DD): 'May'"),
    # It composed and recorded a weekly digest of 1799-12-30.
    (("digest", "send", "--period", "1800-01-01"), "--period: out of range: '1800-01-01' is before 1901"),
    # A period yet to begin: it was exit status 1, as if sending had failed.
    (
        ("digest", "send", "--period", f"{_WEEKDAY_AHEAD}"),
        f"--period: the daily digest of {_WEEKDAY_AHEAD} cannot be sent before {_WEEKDAY_AHEAD} 00:00 UTC",
    ),
    (("digest", "resume", "--period", "0001-01-01"), "--period: out of range: '0001-01-01' is before 1901"),
    # It was exit status 0, "resumed: 0", where `send` refuses the same date.
    (
        ("digest", "resume", "--period", f"{_WEEKDAY_AHEAD}"),
        f"--period: the daily digest of {_WEEKDAY_AHEAD} cannot be sent before {_WEEKDAY_AHEAD} 00:00 UTC",
    ),
    (("show", "not-an-id"), "ID: not an arXiv identifier: 'not-an-id'"),
    (("similar", "2501.00001", "nope"), "ID: not an arXiv identifier: 'nope'"),
    (("fetch", "9999.00001"), "ID: not an arXiv identifier (month 99)"),
    (("submit", "arXiv:"), "ID: not an arXiv identifier"),
    (("moderate", "remove", "nonsense"), "ID: not an arXiv identifier: 'nonsense'"),
    (("moderate", "reports", "--limit", "0"), "--limit: must be a whole number from 1 to 10000"),
    (("moderate", "obliterate"), "invalid choice: 'obliterate'"),
    # "required: action", a name neither the usage line nor --help shows.
    (("digest",), "the following arguments are required: {send,bounces,status,resume} ("),
    (("schedule",), "the following arguments are required: {list,tick} ("),
    (("bench",), "the following arguments are required: {import,digest,"),
    (("show", "2501.00001", "--frobnicate"), "unrecognized arguments: --frobnicate"),
    (("digest", "send", "--frobnicate"), "unrecognized arguments: --frobnicate"),
    (("search", "x", "--mode", "fuzzy"), "--mode: invalid choice: 'fuzzy'"),
    # It was exit status 1, after the search engine had been asked.
    (
        ("search", "x", "--sort", "oldest"),
        "--sort: invalid choice: 'oldest' (choose from 'relevance', 'date', 'votes')",
    ),
]


@pytest.mark.parametrize(
    ("args", "reason"), BAD_ARGUMENTS, ids=lambda a: " ".join(a) if isinstance(a, tuple) else ""
)
def test_a_bad_argument_is_one_line_and_nothing_runs(
    args: tuple[str, ...], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from paperfeed import cli

    with pytest.raises(SystemExit) as exit_:
        cli.main([*args, "--json"])
    out, err = capsys.readouterr()
    assert exit_.value.code == 2 and out == ""
    assert len(err.splitlines()) == 1, err
    # The parser that found the mistake names itself: `digest send` for its options, `digest` for
    # what no parser knew.
    assert re.fullmatch(
        rf"paperfeed ({args[0]}(?: \w+)?): error: .+ \(`paperfeed \1 --help` lists the options\)\n", err
    )
    assert reason in err


@pytest.mark.django_db
def test_every_form_of_an_id_names_the_same_paper(capsys: pytest.CaptureFixture[str]) -> None:
    from django.core.management import CommandError, call_command

    from tests.sitedata import load_papers

    (paper,) = load_papers(1)
    ident = paper.arxiv_id
    forms = [
        ident,
        f"{ident}v1",
        f"arXiv:{ident}",
        f"https://arxiv.org/abs/{ident}v2",
        f"arxiv.org/pdf/{ident}.pdf",
    ]
    for command in ("show", "similar"):
        seen = []
        for form in forms:
            if command == "similar":  # no index here: it fails, and its document still names the paper
                with pytest.raises(CommandError, match="not built"):
                    call_command(command, form, "--json")
            else:
                call_command(command, form, "--json")
            doc = json.loads(capsys.readouterr().out)
            seen.append(doc["id"] if command == "show" else doc["query"])
        assert seen == [ident] * len(forms), (command, seen)


@pytest.mark.django_db
def test_similar_refuses_an_unknown_category_as_search_does() -> None:
    from django.core.management import CommandError, call_command

    from tests.sitedata import load_papers

    (paper,) = load_papers(1)
    with pytest.raises(CommandError, match=r"No such category: “cs\.XX”"):
        call_command("similar", paper.arxiv_id, "--category", "cs.XX")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["improt", "x.jsonl"],
            "paperfeed: unknown command 'improt' (did you mean import? `paperfeed help` lists them)\n",
        ),
        (["help", "zzzz"], "paperfeed: unknown command 'zzzz' (`paperfeed help` lists them)\n"),
    ],
)
def test_an_unknown_command_is_one_line_and_status_2(
    args: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Django's were two lines and status 1, as if a command had failed.
    from paperfeed import cli

    with pytest.raises(SystemExit) as exit_:
        cli.main(args)
    assert exit_.value.code == 2 and capsys.readouterr() == ("", line)


# Runs whose arguments are right but that could do nothing they were asked to: a paper, user or
# subscriber not there, a file that is missing, an empty stdin ('-', or `subscribers add` given no
# address: known only once read). Status 1, the reason on the last line of stderr, and with --json at
# most the one document on stdout (a run that read something reports it before failing).
_MISSING = "/nonexistent/paperfeed-test"
RUN_FAILURES = [
    (("show", "2501.99999"), "2501.99999 is not stored (paperfeed fetch 2501.99999 looks it up on arXiv)"),
    # It said "paperfeed fetch ID".
    (("similar", "2501.99999"), "not stored: 2501.99999 (paperfeed fetch 2501.99999 looks it up on arXiv)"),
    (("cite", "2501.99999"), "not stored: 2501.99999 (paperfeed fetch 2501.99999 looks it up on arXiv)"),
    (("moderate", "remove", "2501.99999"), "2501.99999 is not on the feed"),
    (("moderate", "suspend", "nobody"), "no user 'nobody'"),
    (("users", "deactivate", "nobody"), "no user 'nobody'"),
    (("recommend", "nobody"), "no user 'nobody'"),
    (("library", "import", "nobody", "-"), "no user 'nobody'"),
    (("subscribers", "remove", "nobody@example.org"), "no subscriber has the address(es) nobody@example.org"),
    (("import", f"{_MISSING}.jsonl"), f"no such file: {_MISSING}.jsonl"),
    (("digest", "bounces", f"{_MISSING}.mbox"), f"no such file or directory: {_MISSING}.mbox"),
    (
        ("library", "import", "ada", f"{_MISSING}.bib"),
        f"cannot read {_MISSING}.bib: No such file or directory",
    ),
    (("search", "--batch", f"{_MISSING}.txt"), f"no such file: {_MISSING}.txt"),
    # A traceback, once the benchmark had set up its homes (or, for --check, after the whole run).
    (("bench", "import", "--file", f"{_MISSING}.jsonl"), f"--file: no such file: {_MISSING}.jsonl"),
    (
        ("bench", "load", "--file", str(SNAPSHOT), "--check", f"{_MISSING}.json"),
        f"--check: no such file: {_MISSING}.json",
    ),
    # An empty stdin: it said "no address given", or named the file "-".
    (("subscribers", "add"), "no address in stdin: it is empty; nobody was added"),
    (("subscribers", "add", "-"), "no address in stdin: it is empty; nobody was added"),
    (("search", "--batch", "-"), "no query in stdin: it is empty"),
    (("library", "import", "ada", "-"), "stdin: found no entries to import; nothing was imported"),
]


@pytest.mark.migrated
# Every reason is an argument, a file or a row that is not there (no database error): the same
# words whichever database answers "none".
@pytest.mark.database_agnostic
@pytest.mark.timeout(400)  # CLI children: ~3 s each quiet, 20 s at load 10
def test_a_run_that_does_nothing_fails_with_its_reason_last(cli_env: dict[str, str]) -> None:
    paperfeed("createsuperuser", "--noinput", "--username", "ada", "--email", "ada@example.org", env=cli_env)
    for args, reason in RUN_FAILURES:
        run = paperfeed(*args, "--json", env=cli_env, input="", check=False)
        assert run.returncode == 1, (args, run)
        assert run.stderr.splitlines()[-1] == f"paperfeed: {reason}", args
        assert run.stdout == "" or (len(run.stdout.splitlines()) == 1 and json.loads(run.stdout)), args
        if "stdin" in reason:  # nothing was read: nothing to report
            assert run.stdout == "", args
    listed = json.loads(paperfeed("subscribers", "list", "--json", env=cli_env).stdout)
    assert listed == {"subscribers": []}
