"""RELIABILITY S1: Django's deployment check is clean with production settings, nothing silenced."""

from __future__ import annotations

import os
import subprocess
import sys


def test_check_deploy_is_clean(tmp_path) -> None:  # type: ignore[no-untyped-def]
    drop = ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env |= {
        "PAPERFEED_HOME": str(tmp_path),
        "PAPERFEED_PRODUCTION": "1",
        "EMAIL_URL": "smtp://mail.example.org:587?starttls=1",  # production needs a real mailer
        "PAPERFEED_BASE_URL": "https://papers.example.org",
        "PAPERFEED_FROM_EMAIL": "paperfeed <digests@papers.example.org>",
    }
    env.pop("PAPERFEED_SECRET_KEY", None)  # the generated key is long and random enough
    proc = subprocess.run(
        [sys.executable, "-m", "paperfeed", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "0 silenced" in proc.stdout + proc.stderr
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'paperfeed.settings'; "
            "django.setup(); from django.conf import settings as s; "
            "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
            "s.SECURE_HSTS_SECONDS, s.X_FRAME_OPTIONS, s.SESSION_COOKIE_SAMESITE)",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    secure, csrf_secure, httponly, hsts, xfo, samesite = probe.stdout.split()
    assert secure == csrf_secure == httponly == "True" and int(hsts) >= 15_724_800
    assert xfo == "DENY" and samesite == "Lax"


def test_check_deploy_warns_of_an_http_base_url_in_production(settings) -> None:  # type: ignore[no-untyped-def]
    # docs/email.md: one-click unsubscribe (RFC 8058) needs an https URI, and mail links the base URL.
    from django.core.checks import CheckMessage, Tags, run_checks

    def deploy_checks() -> dict[str | None, CheckMessage]:
        return {m.id: m for m in run_checks(include_deployment_checks=True, tags=[Tags.security])}

    settings.PRODUCTION = True
    settings.BASE_URL = "http://papers.example.org"
    found = deploy_checks()
    assert "paperfeed.W001" in found and "http://papers.example.org" in found["paperfeed.W001"].msg
    settings.BASE_URL = "https://papers.example.org"
    assert "paperfeed.W001" not in deploy_checks()
    settings.PRODUCTION = False
    settings.BASE_URL = "http://127.0.0.1:8000"
    assert "paperfeed.W001" not in deploy_checks()


def test_check_deploy_names_the_variables_behind_djangos_warnings(settings) -> None:  # type: ignore[no-untyped-def]
    # Django's warnings name SECURE_HSTS_SECONDS and the like, which no environment variable sets;
    # and without EMAIL_URL a live site prints its mail on stderr while the digests count it as sent.
    from django.core.checks import Tags, run_checks

    def deploy_ids() -> set[str | None]:
        return {m.id for m in run_checks(include_deployment_checks=True, tags=[Tags.security])}

    settings.PRODUCTION = False
    settings.MAILERS = {"default": {"BACKEND": "paperfeed.digests.console.ConsoleBackend"}}
    found = deploy_ids()
    assert {"paperfeed.W002", "paperfeed.W003"} <= found
    settings.PRODUCTION = True
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend"}}
    assert not {"paperfeed.W002", "paperfeed.W003"} & deploy_ids()


def test_check_deploy_warns_of_a_from_address_no_mail_server_can_verify(settings) -> None:  # type: ignore[no-untyped-def]
    # The default From, noreply@localhost, went out as every digest's From, Message-ID and List-Id
    # domain and its mailto: unsubscribe, with no warning before going live.
    from django.core.checks import Tags, run_checks

    def w004() -> list[str]:
        found = run_checks(include_deployment_checks=True, tags=[Tags.security])
        return [m.msg for m in found if m.id == "paperfeed.W004"]

    settings.PRODUCTION = True
    for sender in ("paperfeed <noreply@localhost>", "x@mail.local", "x@host.localhost", "x@intranet"):
        settings.DEFAULT_FROM_EMAIL = sender
        (msg,) = w004()
        assert repr(sender) in msg, sender
    settings.DEFAULT_FROM_EMAIL = "paperfeed <digests@papers.example.org>"
    assert w004() == []
    settings.PRODUCTION = False
    settings.DEFAULT_FROM_EMAIL = "paperfeed <noreply@localhost>"
    assert w004() == []  # a development setup mails its console or a local sink
