"""Carries clinician sign-offs between the database and the repository (`make signoffs`).

python scripts/signoffs.py

Imports content/signoffs.yml into the sign-off store (ESCALATION_DB_URL, or var/escalations.db)
so a fresh database knows what was signed, then exports every review back to the file, so the
reviews made on the staff page can be committed with the content. Prints which texts are
signed, changed since sign-off or unsigned.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clinic.resources import get_resources  # noqa: E402
from knowledge.signoffs import (  # noqa: E402
    SIGNED,
    SIGNOFFS_FILE,
    open_signoffs,
    review_state,
    unsigned_emergency_warning,
    write_signoff_file,
)


def main() -> int:
    """Imports, exports and prints a summary."""
    store = open_signoffs(signoff_file=SIGNOFFS_FILE)
    try:
        reviews = store.history()
        write_signoff_file(reviews, SIGNOFFS_FILE)
        content = get_resources().content
        by_text = store.by_text()
        states = {text_id: review_state(entry, by_text.get(text_id, []))
                  for text_id, (_, entry) in content.parent_facing().items()}
        warning = unsigned_emergency_warning(content, store)
    finally:
        store.dispose()
    signed = sorted(text_id for text_id, state in states.items() if state == SIGNED)
    print(f"{len(reviews)} review(s) written to {SIGNOFFS_FILE.name}; "
          f"{len(signed)} of {len(states)} texts signed")
    for text_id, state in sorted(states.items()):
        if state != SIGNED:
            print(f"  {state:>24}  {text_id}")
    if warning:
        print(warning)
    return 0


if __name__ == "__main__":
    sys.exit(main())
