import json
import subprocess
import sys

import pytest
from django.test import Client

from tests.conftest import paperfeed

pytestmark = pytest.mark.database


def test_init_twice_and_settings_hide_credentials(cli_env: dict[str, str]) -> None:
    paperfeed("init", env=cli_env)
    paperfeed("init", env=cli_env)
    env = cli_env | {"EMAIL_URL": "smtp://user:hunter2@mail.example.org:587"}
    out = json.loads(paperfeed("settings", "--json", env=env).stdout)
    by_name = {s["name"]: s for s in out["settings"]}
    assert by_name["EMAIL_URL"]["value"] == "smtp://…@mail.example.org:587"
    assert "hunter2" not in json.dumps(out)
    assert by_name["PAPERFEED_SECRET_KEY"]["value"] == "(set)"
    assert by_name["PAPERFEED_ARXIV_DELAY"]["default"] == "3.0"


def test_a_report_command_does_not_load_the_site(cli_env: dict[str, str]) -> None:
    # The system checks and the API's routers would import the whole site (URLs, the API, numpy and
    # scipy for "for you") before every import or harvest: about a second each time.
    paperfeed("init", env=cli_env)
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


def test_the_api_still_carries_the_recommendations(client: Client) -> None:
    # Mounted by the recs app when the URLs are first resolved, not at start-up.
    schema = client.get("/api/openapi.json").json()
    assert "/api/recommendations" in schema["paths"]
