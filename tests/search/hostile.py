"""RELIABILITY §3c: the full-text-search inputs every search path must take without an error."""

FTS_3C = [
    '"hello',
    "hello AND",
    "NEAR(",
    "(",
    ")",
    "AND",
    "OR x",
    "*",
    "-x",
    "col:x",
    "title:x",
    "^x",
    '""',
    "   ",
    "x" * 10_000,
    "\x00",
    "'; DROP TABLE papers_paper; --",
    "%",
    "_",
]
