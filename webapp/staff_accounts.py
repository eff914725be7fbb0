"""Where staff accounts are kept and read: the file var/staff-users, plus STAFF_USERS.

`make staff-password` asks for a name and a password and writes the account into the file
(`python -m webapp.staff_accounts add`, the entry from scripts/staff_password.py on stdin): one
entry a line, readable by its owner only, an existing account of that name replaced. Nothing is
pasted into a shell, so the `$` signs of the hash cannot be mangled.

scripts/run_services.sh hands the web app the file's accounts and STAFF_USERS merged
(`python -m webapp.staff_accounts export`): production can keep setting STAFF_USERS alone, and
where both name the same account, STAFF_USERS wins. A malformed entry in either stops start-up
before any service starts, with one line that says where it is and how to fix it.
The entry format is webapp/staff_auth.py's (`parse_users`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import List, Mapping, Optional, Sequence

from clinic.paths import PROJECT_ROOT
from webapp.staff_auth import USERS_ENV, parse_users

FILE_ENV = "STAFF_USERS_FILE"
DEFAULT_FILE = PROJECT_ROOT / "var" / "staff-users"
FIX_HINT = "make a new entry with `make staff-password` (it writes var/staff-users)"


class AccountError(ValueError):
    """A malformed account entry, with where it is."""


def accounts_file(environ: Optional[Mapping[str, str]] = None) -> Path:
    """STAFF_USERS_FILE, or var/staff-users (relative paths from the project root)."""
    env = os.environ if environ is None else environ
    path = Path(env.get(FILE_ENV) or DEFAULT_FILE)
    return path if path.is_absolute() else PROJECT_ROOT / path


def read_entries(path: Path) -> List[str]:
    """The file's entries, each checked; none when the file does not exist.

    Raises:
        AccountError: a line is not an entry.
    """
    if not path.exists():
        return []
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        try:
            if len(parse_users(entry)) != 1:
                raise ValueError("one account a line")
        except ValueError as error:
            raise AccountError(f"{path}, line {number}: {error}; {FIX_HINT}") from None
        entries.append(entry)
    return entries


def merged_users(environ: Optional[Mapping[str, str]] = None) -> str:
    """The STAFF_USERS value the web app gets: the file's accounts, then STAFF_USERS' (wins).

    Raises:
        AccountError: a malformed entry in the file or in STAFF_USERS.
    """
    env = os.environ if environ is None else environ
    entries = read_entries(accounts_file(env))
    value = env.get(USERS_ENV, "")
    try:
        parse_users(value)
    except ValueError as error:
        raise AccountError(
            f"{error} (check its quoting: a hash holds `$` signs); or unset {USERS_ENV} and "
            f"{FIX_HINT}"
        ) from None
    # parse_users keeps the last entry of a name, so STAFF_USERS' entries go last.
    return ",".join([*entries, value] if value.strip() else entries)


def add_entry(path: Path, entry: str) -> bool:
    """Writes `entry` into the file (0600), replacing the account's old entry; True if replaced.

    Raises:
        AccountError: `entry` is not one account entry.
    """
    entry = entry.strip()
    try:
        names = list(parse_users(entry))
    except ValueError as error:
        raise AccountError(str(error)) from None
    if len(names) != 1:
        raise AccountError("expected one account entry")
    kept = [line for line in read_entries(path) if list(parse_users(line)) != names]
    replaced = len(kept) < len(read_entries(path))
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Written aside (owner-only from the start) and renamed: never a half-written account list.
    temporary = path.with_name(path.name + ".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write("".join(f"{line}\n" for line in [*kept, entry]))
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
    return replaced


def main(arguments: Sequence[str]) -> int:
    """`export`: print the merged STAFF_USERS value; `add`: store the entry read from stdin."""
    command = arguments[0] if arguments else ""
    try:
        if command == "export":
            print(merged_users())
            return 0
        if command == "add":
            path = accounts_file()
            entry = sys.stdin.read()
            replaced = add_entry(path, entry)
            name = next(iter(parse_users(entry.strip())))
            verb = "replaced" if replaced else "added"
            print(f"Staff account '{name}' {verb} in {path}; the web app reads it at the next "
                  "`make run`.")
            return 0
    except AccountError as error:
        print(f"Staff accounts: {error}", file=sys.stderr)
        return 1
    print("usage: python -m webapp.staff_accounts export|add", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
