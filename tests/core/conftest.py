from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import paperfeed


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The static files, collected once: `init` and `serve` collect into each fresh home, which
    takes half a minute on a loaded machine. A copy is as good: the stamp that says it is up to date
    describes the sources, not where the copy lies."""
    home = tmp_path_factory.mktemp("static-home")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env |= {"PAPERFEED_HOME": str(home), "PAPERFEED_SECRET_KEY": "static-test-key-" + "s" * 40}
    paperfeed("init", env=env)
    return home / "static"


def with_static(env: dict[str, str], static: Path) -> None:
    """Put the collected static files into the home of `env`."""
    home = Path(env["PAPERFEED_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    shutil.copytree(static, home / "static", dirs_exist_ok=True)
