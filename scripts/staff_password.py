"""Prints a STAFF_USERS entry for a staff account: `name:pbkdf2_sha256$...:role`.

python scripts/staff_password.py NAME      (asks for the role, then the password twice)

Roles: `staff` (the inbox) or `clinician` (also signs off parent-facing texts).
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webapp.staff_auth import ROLES, STAFF, format_user, hash_password  # noqa: E402


def main() -> int:
    """Reads the password without echo and prints the entry."""
    if len(sys.argv) != 2 or ":" in sys.argv[1] or "," in sys.argv[1]:
        print(__doc__, file=sys.stderr)
        return 2
    # The prompt goes to stderr: stdout carries only the entry (`make staff-password` pipes it).
    print(f"Role ({' or '.join(ROLES)}) [{STAFF}]: ", end="", file=sys.stderr, flush=True)
    role = sys.stdin.readline().strip().lower() or STAFF
    if role not in ROLES:
        print(f"The role is one of: {', '.join(ROLES)}.", file=sys.stderr)
        return 1
    password = getpass.getpass("Password: ")
    if len(password) < 12:
        print("Use at least 12 characters.", file=sys.stderr)
        return 1
    if getpass.getpass("Again: ") != password:
        print("The passwords differ.", file=sys.stderr)
        return 1
    print(format_user(sys.argv[1], hash_password(password), role))
    return 0


if __name__ == "__main__":
    sys.exit(main())
