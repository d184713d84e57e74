"""`paperfeed submit ID --by USERNAME [--date DATE]` and `paperfeed show --json` through the real CLI."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SNAPSHOT, paperfeed


@pytest.mark.database
# S13: seven `paperfeed` children (init, import, createsuperuser, submit, show...), each booting
# Django: over a minute on a loaded 2-core machine.
@pytest.mark.migrated
@pytest.mark.timeout(300)
def test_submit_and_show(cli_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import gzip

    sample = tmp_path / "sample.jsonl"
    with gzip.open(SNAPSHOT, "rt") as f:
        lines = [next(f) for _ in range(5)]
    sample.write_text("".join(lines))
    ids = [json.loads(line)["id"] for line in lines]
    paperfeed("import", str(sample), env=cli_env)
    env = {**cli_env, "DJANGO_SUPERUSER_PASSWORD": "a long enough pass 1"}
    paperfeed("createsuperuser", "--noinput", "--username", "curator", "--email", "c@example.org", env=env)
    out = paperfeed(
        "submit",
        f"https://arxiv.org/abs/{ids[0]}",
        "--by",
        "curator",
        "--date",
        "2026-01-05",
        "--json",
        env=cli_env,
    )
    assert json.loads(out.stdout) == {
        "id": ids[0],
        "title": json.loads(lines[0])["title"].strip() and json.loads(out.stdout)["title"],
        "day": "2026-01-05",
        "by": "curator",
    }
    again = paperfeed("submit", ids[0], "--date", "2026-01-05", env=cli_env, check=False)
    assert again.returncode != 0 and "already on the list of 2026-01-05" in again.stderr
    for bad, reason in [
        ("nonsense", "not an arXiv identifier"),
        # Not stored, and arXiv cannot be asked (tests point its API at a closed port).
        ("2501.99999", "arXiv"),
        (ids[1], "no user"),
    ]:
        args = ["submit", bad] + (["--by", "ghost"] if bad == ids[1] else [])
        r = paperfeed(*args, env=cli_env, check=False)
        assert r.returncode != 0 and reason in r.stderr, r.stderr
    bad_date = paperfeed("submit", ids[1], "--date", "05/01/2026", env=cli_env, check=False)
    assert bad_date.returncode != 0 and "YYYY-MM-DD" in bad_date.stderr
    shown = json.loads(paperfeed("show", ids[0], "--json", env=cli_env).stdout)
    assert shown["votes"] == 0 and shown["submissions"] == [
        {"day": "2026-01-05", "by": "curator", "removed": False}
    ]


@pytest.mark.django_db
def test_submit_says_the_title_in_plain_characters(capsys) -> None:  # type: ignore[no-untyped-def]
    from django.core.management import call_command

    from tests.sitedata import load_papers

    title = r"GUI-C$^2$ --- ``grounding'' at 5\textperthousand"
    paper, other = load_papers(2, title=title)
    call_command("submit", paper.arxiv_id, "--date", "2026-01-05")
    said = capsys.readouterr().out.strip()
    assert said == f"{paper.arxiv_id} is on the list of 2026-01-05: GUI-C² — “grounding” at 5‰"
    call_command("submit", other.arxiv_id, "--date", "2026-01-05", "--json")
    assert json.loads(capsys.readouterr().out)["title"] == title  # --json: arXiv's own
