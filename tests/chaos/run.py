"""python tests/chaos/run.py --target NAME --kills N --seed S [--database sqlite|postgres]

Runs one crash scenario outside pytest (for long nightly runs); the targets live in
tests/chaos/targets/<name>.py and expose `scenario(kills, seed, database) -> dict` (their
invariant checks raise AssertionError). Smaller forms of the same scenarios run in `make test`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

TARGETS = tuple(sorted(p.stem for p in (Path(__file__).parent / "targets").glob("[a-z]*.py")))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--target", required=True, choices=TARGETS)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    try:
        module = importlib.import_module(f"tests.chaos.targets.{args.target}")
    except ModuleNotFoundError:
        print(f"no scenario for target {args.target!r} yet", file=sys.stderr)
        return 2
    result = module.scenario(kills=args.kills, seed=args.seed, database=args.database)
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
