"""Every page's <title> ends the same way, so a reader's tabs and history read alike."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "paperfeed"


def test_every_page_title_ends_with_the_site_name_after_a_dash() -> None:
    # For you, Not interested and the digest pages said "· paperfeed", the others "— paperfeed".
    titles = {
        str(path.relative_to(PACKAGE)): m.group(1)
        for path in PACKAGE.rglob("templates/**/*.html")
        # A mail's <title> is its subject, seen in no tab or history (templates/email/base.html).
        if "email" not in path.parts
        and (m := re.search(r"{% block title %}(.*?){% endblock %}", path.read_text()))
    }
    assert len(titles) > 30
    odd = {path: title for path, title in titles.items() if not title.endswith(" — paperfeed")}
    assert odd == {"templates/base.html": "paperfeed"}
