"""`paperfeed moderate`: in process for what it does, as a child process for the command-line contract."""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from paperfeed.moderation import services
from paperfeed.moderation.models import Action, Report
from tests.conftest import paperfeed
from tests.sitedata import make_user

pytestmark = pytest.mark.django_db


def moderate(*args: str) -> Any:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):  # --json writes the document to sys.stdout itself
        call_command("moderate", *args, "--json")
    return json.loads(out.getvalue())


def test_reports_remove_restore_suspend_unsuspend(community: dict[str, Any], capsys: Any) -> None:
    papers, c = community["papers"], community["comment"]
    sub = services.submission_of(papers[2].arxiv_id)
    assert sub is not None
    services.file_report(community["reader"], sub, "spam", "pills")
    services.file_report(community["other"], c, "abuse")
    got = moderate("reports")
    assert got["open"] == 2 and got["openItems"] == 2
    # --limit shortens the list, not the totals, which are the whole queue's.
    short = moderate("reports", "--limit", "1")
    assert (short["open"], short["openItems"], len(short["items"])) == (2, 2, 1)
    call_command("moderate", "reports", "--limit", "1")
    assert "2 open reports about 2 items; the 1 most recently reported" in capsys.readouterr().out
    assert [(i["kind"], i["paper"], i["author"]) for i in got["items"]] == [
        ("comment", papers[3].arxiv_id, "spammer"),
        ("submission", papers[2].arxiv_id, "spammer"),
    ]
    assert got["items"][1]["reports"][0] | {"createdAt": "", "id": 0} == {
        "id": 0,
        "reason": "spam",
        "text": "pills",
        "reporter": "reader",
        "createdAt": "",
        "status": "open",
    }
    assert moderate("remove", f"arXiv:{papers[2].arxiv_id}", "--reason", "ad", "--by", "mod") == {
        "action": "remove",
        "id": papers[2].arxiv_id,
        "removed": True,
    }
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        call_command("show", papers[2].arxiv_id, "--json")
    assert [s["removed"] for s in json.loads(out.getvalue())["submissions"]] == [True]
    assert moderate("restore", papers[2].arxiv_id)["removed"] is False
    assert moderate("suspend", "SPAMMER@example.org", "--reason", "vote ring") == {
        "action": "suspend",
        "user": "spammer",
        "suspended": True,
    }
    assert moderate("unsuspend", "spammer")["suspended"] is False
    log = moderate("log")["log"]
    assert [(e["by"], e["action"], e["reason"]) for e in log] == [
        ("command line", "unsuspend-user", ""),
        ("command line", "suspend-user", "vote ring"),
        ("command line", "restore-submission", ""),
        ("mod", "remove-submission", "ad"),
    ]
    # Refusals are one line each, and change nothing.
    for args, words in [
        (["remove", papers[5].arxiv_id], "is not on the feed"),
        (["suspend", "ghost"], "no user 'ghost'"),
        (["suspend", "spammer", "--by", "reader"], "Only moderators"),
        (["unsuspend", "spammer"], "is not suspended"),
    ]:
        with pytest.raises(CommandError, match=words):
            call_command("moderate", *args)
    assert Action.objects.count() == 4
    # A suspended moderator's --by is refused too: the staff flag alone does not make a moderator.
    call_command("moderate", "suspend", "mod", "--by", make_user("boss", staff=True).username)
    with pytest.raises(CommandError, match="you cannot moderate until"):
        call_command("moderate", "suspend", "spammer", "--by", "mod")
    community["spammer"].refresh_from_db()
    assert Action.objects.count() == 5 and not community["spammer"].is_suspended
    call_command("moderate", "reports")
    assert "1 open report about 1 item" in capsys.readouterr().out


@pytest.mark.migrated
@pytest.mark.timeout(300)  # three children, each booting Django, on a loaded 2-core machine
def test_the_command_line_contract(cli_env: dict[str, str]) -> None:
    for args, status in [
        (["moderate"], 2),
        (["moderate", "purge"], 2),
        (["moderate", "remove", "nonsense"], 2),
    ]:
        r = paperfeed(*args, env=cli_env, check=False)
        assert r.returncode == status and len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)
    r = paperfeed("moderate", "reports", "--json", env=cli_env)
    assert json.loads(r.stdout) == {"open": 0, "openItems": 0, "items": []}


def test_dismiss_hide_and_unhide_as_the_site_does(community: dict[str, Any], capsys: Any) -> None:
    papers, c = community["papers"], community["comment"]
    sub = services.submission_of(papers[2].arxiv_id)
    assert sub is not None
    services.file_report(community["reader"], sub, "spam")
    services.file_report(community["other"], sub, "off-topic")
    services.file_report(community["reader"], c, "abuse")
    got = moderate("dismiss", papers[2].arxiv_id, "--by", "mod", "--reason", "fine")
    assert got == {"action": "dismiss", "target": services.describe(sub), "dismissed": 2}
    assert moderate("hide", str(c.pk), "--reason", "pills") == {
        "action": "hide",
        "comment": c.pk,
        "hidden": True,
    }
    c.refresh_from_db()
    assert c.hidden and not services.queue()  # hiding resolved the comment's report
    assert moderate("unhide", str(c.pk))["hidden"] is False
    services.file_report(community["reader"], c, "spam")
    call_command("moderate", "dismiss", "--comment", str(c.pk))
    assert capsys.readouterr().out.startswith(f"dismissed 1 report about the comment {c.pk} by spammer")
    assert [(a.kind, a.by, a.reports) for a in Action.objects.newest_first()] == [
        ("dismiss-reports", "command line", 1),
        ("unhide-comment", "command line", 0),
        ("hide-comment", "command line", 1),
        ("dismiss-reports", "mod", 2),
    ]
    for args, words in [
        (["dismiss", papers[2].arxiv_id], "no open report about this paper"),
        (["dismiss", papers[5].arxiv_id], "is not on the feed"),
        (["hide", "999999"], "no comment 999999"),
        (["hide", str(c.pk), "--by", "reader"], "Only moderators"),
    ]:
        with pytest.raises(CommandError, match=words):
            call_command("moderate", *args)
    for args in (
        ["dismiss"],
        ["dismiss", papers[2].arxiv_id, "--comment", "1"],
        ["hide", "0"],
        ["hide", "x"],
    ):
        with pytest.raises(CommandError):  # argparse's own refusal, before anything runs
            call_command("moderate", *args)
    assert Action.objects.count() == 4


def test_the_log_reads_as_sentences(community: dict[str, Any], capsys: Any) -> None:
    call_command("moderate", "log")
    assert capsys.readouterr().out == "no moderation actions yet\n"
    assert moderate("log") == {"log": []}
    sub = services.submission_of(community["papers"][2].arxiv_id)
    assert sub is not None
    services.file_report(community["reader"], sub, "spam")
    services.remove_submission(community["mod"], sub, "spam")
    services.suspend(None, community["spammer"])
    day = sub.day.isoformat()
    want = [
        "an operator (command line) suspended user spammer",
        f"mod removed the submission of {sub.paper.arxiv_id} ({day}) (1 report closed): spam",
    ]
    assert [e["sentence"] for e in moderate("log")["log"]] == want
    assert [str(a) for a in Action.objects.newest_first()] == want
    call_command("moderate", "log")
    lines = capsys.readouterr().out.splitlines()
    ids = [e["id"] for e in moderate("log")["log"]]
    assert [line.split(maxsplit=2) for line in lines] == [
        [str(pk), a.created_at.isoformat(), sentence]
        for pk, a, sentence in zip(ids, Action.objects.newest_first(), want, strict=True)
    ]


def test_purge_and_unpurge(community: dict[str, Any], capsys: Any) -> None:
    spammer, c = community["spammer"], community["comment"]
    services.file_report(community["reader"], c, "spam")
    with pytest.raises(CommandError):  # argparse: the reason is required
        call_command("moderate", "purge", "spammer")
    got = moderate("purge", "SPAMMER", "--reason", "spam", "--by", "mod")
    assert got["action"] == "purge-user" and got["user"] == "spammer" and got["suspended"] is True
    assert (len(got["submissions"]), got["comments"], got["reportsClosed"]) == (3, [c.pk], 1)
    report = Report.objects.get()
    assert got["reports"] == [report.pk] and got["undoes"] is None
    assert (
        got["sentence"]
        == "mod suspended user spammer and removed 3 submissions, hid 1 comment, closed 1 report: spam"
    )
    assert moderate("log")["log"][0]["id"] == got["purge"]
    with pytest.raises(CommandError, match="nothing left"):
        call_command("moderate", "purge", "spammer", "--reason", "again")
    # The id to undo is read off the text log's line, as an operator would.
    call_command("moderate", "log")
    typed = capsys.readouterr().out.splitlines()[0].split()[0]
    assert typed == str(got["purge"])
    call_command("moderate", "unpurge", typed)
    out = capsys.readouterr().out
    assert out.startswith("action ") and out.rstrip().endswith(
        "an operator (command line) lifted the suspension of user spammer and restored 3 submissions,"
        " unhid 1 comment, reopened 1 report"
    )
    report.refresh_from_db()
    assert report.status == Report.Status.OPEN and report.closed_by is None
    undone = moderate("log")["log"][0]
    assert undone["action"] == "unpurge-user" and undone["sentence"] in out
    spammer.refresh_from_db()
    c.refresh_from_db()
    assert not spammer.is_suspended and not c.hidden
    with pytest.raises(CommandError, match="already undone"):
        call_command("moderate", "unpurge", str(got["purge"]))
    with pytest.raises(CommandError, match="no purge with id 999"):
        call_command("moderate", "unpurge", "999")
    with pytest.raises(CommandError, match="Only moderators"):
        call_command("moderate", "purge", "spammer", "--reason", "x", "--by", "reader")


def test_hiding_a_hidden_comment_is_refused_as_nothing_changed(community: dict[str, Any]) -> None:
    c = community["comment"]
    moderate("hide", str(c.pk))
    with pytest.raises(CommandError, match=f"Comment {c.pk} is already hidden"):
        call_command("moderate", "hide", str(c.pk))
    assert Action.objects.count() == 1
