"""Set-up and inspection steps the reliability tests run in a child process against the database of
a `paperfeed serve` under test (DJANGO_SETTINGS_MODULE=paperfeed.settings, the caller's environment):

    python -m tests.reliability.tool papers N           # store the shared snapshot's first N papers
    python -m tests.reliability.tool user NAME PASSWORD # a verified account
    python -m tests.reliability.tool token NAME         # prints a new API token of NAME
"""

from __future__ import annotations

import sys

import django


def main(argv: list[str]) -> None:
    django.setup()
    cmd, *args = argv
    if cmd == "papers":
        from tests.sitedata import load_papers

        print(" ".join(p.arxiv_id for p in load_papers(int(args[0]))))
    elif cmd == "user":
        from tests.sitedata import make_user

        make_user(args[0], password=args[1])
    elif cmd == "token":
        from paperfeed.accounts import services
        from paperfeed.accounts.models import User

        print(services.create_api_token(User.objects.get(username=args[0])).secret)
    else:
        raise SystemExit(f"unknown command {cmd!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
