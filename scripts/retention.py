"""Deletes conversations and closed escalations older than DAYS days (`make retention DAYS=N`).

python scripts/retention.py --days N

Conversations: TRACKER_DB_URL, else the SQLite file TRACKER_DB (default var/tracker.db).
Escalations: ESCALATION_DB_URL, else var/escalations.db. Open and contacted cases are never
deleted. Prints how much was deleted (counts only).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stores.retention import apply_retention  # noqa: E402 (after the path set-up)


def main(argv: list[str] | None = None) -> int:
    """Parses the arguments, deletes, prints the counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, required=True,
                        help="keep what changed within this many days")
    args = parser.parse_args(argv)
    if args.days < 0:
        parser.error("--days must not be negative")
    result = apply_retention(args.days)
    print(f"deleted {result.conversations} conversations ({result.events} events) "
          f"and {result.escalations} closed escalations older than {args.days:g} days")
    return 0


if __name__ == "__main__":
    sys.exit(main())
