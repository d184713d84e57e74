"""DKIM signing verified with dkimpy (E5), and the DNS templates of docs/email.md linted."""

from __future__ import annotations

import base64
import re
import subprocess
from pathlib import Path
from typing import Any

import dkim
import pytest

from paperfeed.digests import services
from paperfeed.digests.models import Subscriber
from tests.digests.conftest import PERIOD, make_papers, make_subscribers
from tests.fakes.smtp import SmtpSink

DOCS = Path(__file__).resolve().parents[2] / "docs" / "email.md"


@pytest.fixture
def dkim_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A throw-away 2048-bit key; returns the DNS TXT value of its public half."""
    key = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    der = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"], check=True, capture_output=True
    ).stdout
    monkeypatch.setenv("PAPERFEED_DKIM_KEY", str(key))
    monkeypatch.setenv("PAPERFEED_DKIM_SELECTOR", "test")
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fast_sender")
def test_digests_are_dkim_signed_over_both_unsubscribe_headers(
    dkim_key: str, smtp_sink: SmtpSink, settings: Any
) -> None:
    settings.DEFAULT_FROM_EMAIL = "paperfeed <digests@papers.example.org>"
    make_papers(2, title="Ünïcode title — with emoji 🚀 {i}")
    make_subscribers(2)
    services.send(frequency="daily", period=PERIOD)
    assert len(smtp_sink.received) == 2
    lookups: list[bytes] = []

    def dns(name: bytes, timeout: int = 5) -> bytes:
        lookups.append(name)
        return dkim_key.encode()

    for got in smtp_sink.received:
        assert dkim.verify(got.raw, dnsfunc=dns)
        sig = {
            k.strip(): v.strip()
            for k, v in (p.split("=", 1) for p in str(got.message["DKIM-Signature"]).split(";"))
        }
        signed = [h.strip().lower() for h in re.sub(r"\s", "", sig["h"]).split(":")]
        assert {"list-unsubscribe", "list-unsubscribe-post", "from", "message-id"} <= set(signed)
        assert sig["d"] == "papers.example.org" == str(got.message["From"]).rsplit("@", 1)[1].rstrip(">")
        assert got.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        tampered = got.raw.replace(
            b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: x"
        )
        assert not dkim.verify(tampered, dnsfunc=dns)
    assert lookups[0] == b"test._domainkey.papers.example.org."


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("immediate_tasks")
def test_confirmation_mail_is_signed_too(dkim_key: str, smtp_sink: SmtpSink, settings: Any) -> None:
    settings.DEFAULT_FROM_EMAIL = "digests@papers.example.org"
    services.subscribe("reader@example.org")
    (got,) = smtp_sink.received
    assert dkim.verify(got.raw, dnsfunc=lambda name, timeout=5: dkim_key.encode())
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING


def _records(text: str) -> dict[str, str]:
    block = re.search(r"```dns\n(.*?)```", text, re.S)
    assert block, "docs/email.md has no ```dns block"
    out = {}
    for line in block.group(1).splitlines():
        if line.strip() and not line.lstrip().startswith(";"):
            m = re.match(r'(\S+)\s+IN\s+TXT\s+"(.*)"$', line.strip())
            assert m, f"not a TXT record: {line}"
            out[m.group(1)] = m.group(2)
    return out


def test_dns_templates_in_the_docs() -> None:
    records = _records(DOCS.read_text())
    spf = [v for k, v in records.items() if v.startswith("v=spf1")]
    assert len(spf) == 1 and re.search(r"\s[-~]all$", spf[0])
    dkim_names = [k for k, v in records.items() if v.startswith("v=DKIM1")]
    assert dkim_names == ["paperfeed._domainkey.papers.example.org."]  # the default selector
    assert "k=rsa" in records[dkim_names[0]] and "p=" in records[dkim_names[0]]
    dmarc = records["_dmarc.papers.example.org."]
    tags = dict(t.strip().split("=", 1) for t in dmarc.split(";") if t.strip())
    assert tags["v"] == "DMARC1" and tags["p"] in {"none", "quarantine", "reject"}
    assert "rua" in tags
