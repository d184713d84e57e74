from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from paperfeed.core.commands import ReportCommand, bounded_int
from paperfeed.core.parallel import bulk_gc, produce_in_child
from paperfeed.core.progress import Progress
from paperfeed.core.text import counted
from paperfeed.papers.models import Paper
from paperfeed.papers.records import PaperRecord
from paperfeed.papers.services import Ingestor, Prepared, prepare_for_storage
from paperfeed.papers.signals import papers_ingested
from paperfeed.papers.sources.abs import abs_files, read_abs_paths
from paperfeed.papers.sources.snapshot import (
    LineError,
    line_record,
    parse_line,
    record_at,
    rereads_closed,
    snapshot_lines,
)

MAX_REPORTED_ERRORS = 1000
SOURCE = "snapshot"


# Bits of the ids shipped without their line: 4 MB however large the file. Two ids sharing a bit
# only cost a line shipped (a false "seen"); an id seen is never missed.
_SEEN_BITS = 1 << 25


def _prepared(path: Path, fresh: bool) -> Iterator[tuple[int, Prepared | LineError, int]]:
    """Parsed and prepared records: run in a second process while this one writes. A record is
    shipped as its prepared row with the line it came from, to parse again should the paper be
    stored already. Into a `fresh` (empty) papers table no paper is, but one this file has already
    listed: its other records go without their line, which the writer then never needs (shipping
    the lines doubled the bytes pickled, 360 MB for the 74,728-record snapshot) and finds again by
    its number in the rare case it does (another process storing the same paper meanwhile)."""
    seen = bytearray(_SEEN_BITS // 8) if fresh else None
    for lineno, line, pos in snapshot_lines(path):
        if isinstance(line, LineError):
            yield lineno, line, pos
            continue
        rec = line_record(line, lineno, path)
        if not isinstance(rec, PaperRecord):
            yield lineno, rec, pos
            continue
        again = functools.partial(parse_line, line)
        if seen is not None:
            bit = hash(rec.arxiv_id) & (_SEEN_BITS - 1)
            if not seen[bit >> 3] & (1 << (bit & 7)):
                seen[bit >> 3] |= 1 << (bit & 7)
                again = functools.partial(record_at, path, lineno)
        yield lineno, prepare_for_storage(rec, SOURCE, again), pos


class Command(ReportCommand):
    help = (
        "Import arXiv snapshot JSON-lines files (Kaggle arxiv-metadata-oai-snapshot format, plain or .gz), "
        "or arXiv .abs files (a file ending in .abs, or a directory of them)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "paths",
            nargs="+",
            type=Path,
            metavar="PATH",
            help=".jsonl or .jsonl.gz files, .abs files, or folders",
        )
        parser.add_argument("--strict", action="store_true", help="exit non-zero if any line was skipped")
        parser.add_argument(
            "--batch-size", type=bounded_int(1), default=2000, help="records per transaction (default 2000)"
        )

    def report(self, **options: Any) -> dict[str, Any]:
        paths: list[Path] = options["paths"]
        for p in paths:
            if not (p.is_file() or p.is_dir()):
                raise CommandError(f"no such file: {p}")
            if p.is_file():
                # Before any file is imported: the parsing process would otherwise meet it midway
                # through the run, and fail with its traceback.
                try:
                    with p.open("rb") as f:
                        f.read(2)
                except OSError as e:
                    raise CommandError(
                        f"cannot read {p} ({e.strerror or e}); nothing was imported: check that the user "
                        "running paperfeed may read it (and the disk it is on), then run the command again"
                    ) from None
        # .abs files (or directories of them) go in one group, each in its own transaction batch;
        # anything else is a snapshot file.
        abs_paths = [f for p in paths if p.is_dir() or p.suffix == ".abs" for f in abs_files(p)]
        for p in paths:
            if p.is_dir() and not abs_files(p):
                snapshots = sorted(p.glob("*.jsonl*"))
                hint = f" (snapshot files are named one by one, e.g. {snapshots[0]})" if snapshots else ""
                raise CommandError(f"no .abs files under {p}{hint}")
        paths = [p for p in paths if not (p.is_dir() or p.suffix == ".abs")]
        started = time.monotonic()
        read = skipped = 0
        errors: list[LineError] = []
        ingestor = Ingestor(SOURCE, batch_size=options["batch_size"])
        total = sum(p.stat().st_size for p in paths) + sum(p.stat().st_size for p in abs_paths)
        with (
            bulk_gc(),
            Progress("import", total=total, unit="B", unit_scale=True, unit_divisor=1024) as bar,
            rereads_closed(),
        ):
            for path in paths:
                last = 0
                fresh = not Paper.objects.exists()
                for _lineno, rec, pos in produce_in_child(functools.partial(_prepared, path, fresh)):
                    read += 1
                    if isinstance(rec, LineError):
                        skipped += 1
                        errors.append(rec)
                    else:
                        ingestor.add(rec)
                    if pos != last:
                        bar.update(pos - last, **ingestor.counts)
                        last = pos
                ingestor.flush()
            ingestor.source = "abs"
            for n, abs_rec, _done in read_abs_paths(abs_paths):
                read += 1
                bar.update(abs_paths[n - 1].stat().st_size, **ingestor.counts)
                if isinstance(abs_rec, LineError):
                    skipped += 1
                    errors.append(abs_rec)
                else:
                    ingestor.add(abs_rec)
            ingestor.flush()
        seconds = time.monotonic() - started
        counts = ingestor.counts
        result: dict[str, Any] = {
            "read": read,
            "created": counts["created"],
            "updated": counts["updated"],
            "unchanged": counts["unchanged"],
            "skipped": skipped,
            "errors": [
                e.as_json() if len(paths) + len(abs_paths) > 1 else {"line": e.line, "reason": e.reason}
                for e in errors[:MAX_REPORTED_ERRORS]
            ],
            "seconds": round(seconds, 2),
            "papers_per_s": round(read / seconds, 1) if seconds else None,
        }
        if len(errors) > MAX_REPORTED_ERRORS:
            result["errors_not_listed"] = len(errors) - MAX_REPORTED_ERRORS
        # Files whose rest could not be read: what came before is stored, the rest is missing.
        result["unreadable"] = [
            {"path": e.path, "after_line": e.line - 1, "reason": e.reason} for e in errors if e.unreadable
        ]
        if counts["created"] or counts["updated"]:
            papers_ingested.send(sender=self.__class__, counts=dict(counts))
        return result

    def render(self, result: dict[str, Any]) -> str:
        lines = [
            f"read {result['read']}: created {result['created']}, updated {result['updated']}, "
            f"unchanged {result['unchanged']}, skipped {result['skipped']} ({result['seconds']} s)"
        ]
        lines += [
            f"  {e['path'] + ': ' if 'path' in e else ''}line {e['line']}: {e['reason']}"
            for e in result["errors"][:20]
        ]
        if len(result["errors"]) > 20:
            lines.append(
                f"  … {len(result['errors']) - 20 + result.get('errors_not_listed', 0)} more (see --json)"
            )
        return "\n".join(lines)

    def after_output(self, result: dict[str, Any], **options: Any) -> None:
        # A malformed line is one paper lost and listed (a snapshot of millions has a few), but a
        # file cut short is all the papers after the cut: a run that reads it must not look done.
        if cut := result["unreadable"]:
            first = cut[0]
            more = f" (and {counted(len(cut) - 1, 'more file')}, see errors)" if len(cut) > 1 else ""
            raise CommandError(
                f"{first['path']} could not be read past line {first['after_line']}{more} "
                f"({first['reason'].partition(': ')[2]}); the papers before it are stored, the rest of "
                "the file is not: fetch the file again (a truncated download or copy?) and import it "
                "again (papers stored already are left unchanged)"
            )
        # Nothing at all in the files (an empty download): as with a file of no papers, nothing came
        # in, and a script must not take the run for one that did.
        if not result["read"]:
            raise CommandError(
                "no record in the file(s): they are empty; nothing was stored: import takes arXiv "
                "metadata as the Kaggle snapshot's JSON lines (.jsonl, .jsonl.gz) or .abs files"
            )
        # Not one paper in what was read: the wrong file (a log, a dump of another kind), not a
        # snapshot with a few bad lines; it exited 0 as if the papers were in.
        if result["read"] and result["skipped"] == result["read"]:
            first = result["errors"][0]
            where = f"{first['path']}: " if "path" in first else ""
            n = result["read"]
            none_of = "not the one record" if n == 1 else f"none of the {n:,} records"
            raise CommandError(
                f"{none_of} read is a paper ({where}line {first['line']}: "
                f"{first['reason']}); nothing was stored: import takes arXiv metadata as the Kaggle "
                "snapshot's JSON lines (.jsonl, .jsonl.gz) or .abs files"
            )
        if options["strict"] and result["skipped"]:
            raise CommandError(f"{counted(result['skipped'], 'malformed line')} skipped (--strict)")
