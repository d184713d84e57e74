"""Parsing XML from the network strictly: a page either parses completely or is an error.

recover=False makes a truncated page, invalid UTF-8 or an HTML page an error instead of a shorter
document (the silent loss RELIABILITY.md §2 describes); entities are never resolved, nothing is
fetched, and a document type declaration, which no arXiv answer carries, is refused outright
(billion laughs, XXE).
"""

from __future__ import annotations

from lxml import etree


class MalformedXML(ValueError):
    pass


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        recover=False,
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_blank_text=False,
    )


def parse_xml(body: bytes, root: str, what: str) -> etree._Element:
    """Parse `body`, which must be a whole document whose root element is `root` ({ns}name)."""
    if not body or not body.strip():
        raise MalformedXML(f"{what}: empty response")
    head = body[:4096]
    if b"<!DOCTYPE" in head or b"<!ENTITY" in body:
        raise MalformedXML(f"{what}: document type declarations are not accepted")
    try:
        tree = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as e:
        raise MalformedXML(f"{what}: not well-formed XML ({e})") from None
    if tree.getroottree().docinfo.internalDTD is not None:
        raise MalformedXML(f"{what}: document type declarations are not accepted")
    if tree.tag != root:
        raise MalformedXML(f"{what}: expected a <{root.rpartition('}')[2]}> document, got <{tree.tag}>")
    return tree


def text(el: etree._Element | None) -> str | None:
    if el is None or el.text is None:
        return None
    value = el.text.strip()
    return value or None
