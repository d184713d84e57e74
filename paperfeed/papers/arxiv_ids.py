"""arXiv identifiers: new style (0704.0001, 2501.01234) and old style (hep-th/9901001), with or
without a version suffix, an `arXiv:` prefix, or as an abs/pdf URL."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass

_NEW = r"(?P<new>\d{4}\.\d{4,5})"
# Old-style archives may carry a subject class (math.GT/0309136); the identifier itself does not.
_OLD = r"(?P<old>(?P<archive>[a-z]+(?:-[a-z]+)*)(?:\.[A-Z]{2})?/(?P<num>\d{7}))"
_ID = re.compile(rf"^(?:{_NEW}|{_OLD})(?:v(?P<version>\d+))?$")
_URL = re.compile(
    r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/(?P<rest>.+?)(?:\.pdf)?/?$", re.I
)


class InvalidArxivId(ValueError):
    pass


@dataclass(frozen=True)
class ArxivId:
    id: str
    version: int | None = None

    def __str__(self) -> str:
        return self.id if self.version is None else f"{self.id}v{self.version}"


def parse_arxiv_id(text: str) -> ArxivId:
    """Parse what a person might paste; raise InvalidArxivId with the reason otherwise."""
    raw = (text or "").strip()
    s = raw
    if m := _URL.match(s):
        s = m["rest"]
    if s[:6].lower() == "arxiv:":
        s = s[6:]
    s = s.strip()
    m = _ID.match(s)
    if not m:
        raise InvalidArxivId(
            f"not an arXiv identifier: {raw[:80]!r} (expected e.g. 2501.01234 or hep-th/9901001)"
        )
    version = int(m["version"]) if m["version"] else None
    if version == 0:
        raise InvalidArxivId(f"arXiv versions start at v1: {raw[:80]!r}")
    if m["new"]:
        month = int(m["new"][2:4])
        if not 1 <= month <= 12:
            raise InvalidArxivId(f"not an arXiv identifier (month {month:02d}): {raw[:80]!r}")
        # The number's width (four digits until 1412, five since 1501) is not enforced: collections
        # converted to arXiv's format (e.g. the CACM benchmark's 0001.NNNNN) use other widths.
        return ArxivId(m["new"], version)
    return ArxivId(f"{m['archive']}/{m['num']}", version)


def is_arxiv_id(text: str) -> bool:
    try:
        parse_arxiv_id(text)
    except InvalidArxivId:
        return False
    return True


def arxiv_id_argument(text: str) -> ArxivId:
    """The command-line type of an ID argument: every form arXiv writes, or one line saying why not."""
    try:
        return parse_arxiv_id(text)
    except InvalidArxivId as e:
        raise argparse.ArgumentTypeError(str(e)) from None
