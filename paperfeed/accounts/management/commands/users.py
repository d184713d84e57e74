from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from paperfeed.accounts import services
from paperfeed.accounts.models import User
from paperfeed.core.commands import ReportCommand
from paperfeed.core.text import counted

ACTIONS = {
    "verify": "count the account's address as verified (no mailed link needed)",
    "deactivate": "no more log-in, its votes stop counting (until reactivated), its sessions end at once",
    "activate": "undo a deactivation",
}


class Command(ReportCommand):
    help = (
        "Accounts: `list` them, `verify` an address, `deactivate` an account (logged out at once) or"
        " `activate` it again. USER is a username or an email address, any case."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        parsers = [sub.add_parser("list", help="every account, oldest first")]
        for name, what in ACTIONS.items():
            p = sub.add_parser(name, help=what)
            p.add_argument("user", metavar="USER", help="username or email, any case")
            parsers.append(p)
        for p in parsers:
            p.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    def report(self, **options: Any) -> dict[str, Any]:
        action = options["action"]
        if action == "list":
            return {"users": [_row(u) for u in User.objects.order_by("date_joined", "pk")]}
        user = User.objects.named(options["user"]).first()
        if user is None:
            raise CommandError(f"no user {options['user']!r}")
        result: dict[str, Any] = {"action": action, "user": user.username}
        if action == "verify":
            result["changed"] = not user.email_verified
            services.mark_verified(user)
        else:
            active = action == "activate"
            result["changed"] = user.is_active != active
            ended = services.set_active(user, active)
            if not active:
                result["sessionsEnded"] = ended  # a key new in 0.2: no snake_case twin
        # New keys are camelCase only: a command new in 0.2 has no 0.1 names to keep.
        return result | {"verified": user.email_verified, "active": user.is_active}

    def render(self, result: dict[str, Any]) -> str:
        if "users" in result:
            return "\n".join(
                "\t".join(
                    [
                        u["username"],
                        u["email"] or "-",
                        "verified" if u["verified"] else "unverified",
                        "active" if u["active"] else "inactive",
                        "staff" if u["staff"] else "-",
                        f"joined {u['joined']}",
                        f"last login {u['lastLogin'] or 'never'}",
                    ]
                )
                for u in result["users"]
            )
        name, action = result["user"], result["action"]
        state = {"verify": "verified", "deactivate": "deactivated", "activate": "active"}[action]
        line = f"{name} is {state}" if result["changed"] else f"{name} was already {state}"
        if action == "deactivate":
            line += f" ({counted(result['sessionsEnded'], 'session')} ended)"
        return line


def _row(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "email": user.email,
        "verified": user.email_verified,
        "active": user.is_active,
        "staff": user.is_staff,
        "joined": user.date_joined.isoformat(),
        "lastLogin": user.last_login and user.last_login.isoformat(),
    }
