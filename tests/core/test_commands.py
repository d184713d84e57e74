import json

import pytest

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
