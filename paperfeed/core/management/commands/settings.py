from __future__ import annotations

import os
from typing import Any

from paperfeed.conf import SETTINGS, env
from paperfeed.core.commands import ReportCommand

_SECRET = ("SECRET", "PASSWORD")


def _shown(name: str, value: str) -> str:
    if any(s in name for s in _SECRET) and value:
        return "(set)"
    if name in ("DATABASE_URL", "EMAIL_URL", "PAPERFEED_CACHE_URL") and "@" in value:
        scheme, _, rest = value.partition("://")
        return f"{scheme}://…@{rest.rpartition('@')[2]}"  # never print credentials
    return value


class Command(ReportCommand):
    help = "List every environment setting paperfeed reads, its value here, default and meaning."
    # Works without a database: it is how an operator checks DATABASE_URL when connecting fails.
    requires_database = False

    def report(self, **options: Any) -> dict[str, Any]:
        return {
            "settings": [
                {
                    "name": s.name,
                    "value": _shown(s.name, env(s.name)),
                    "default": s.default,
                    "from_environment": s.name in os.environ,
                    "help": s.help,
                }
                for s in SETTINGS.values()
            ]
        }

    def render(self, result: dict[str, Any]) -> str:
        return "\n".join(
            f"{s['name']}={s['value']}{'' if s['from_environment'] else '  (default)'}\n    {s['help']}"
            for s in result["settings"]
        )
