"""Staff accounts, sessions and CSRF protection for the inbox.

Accounts come from STAFF_USERS: comma-separated `name:hash[:role]` entries, made by
`make staff-password` (PBKDF2-SHA256). The role is `staff` (the inbox; the default, so entries
made before roles existed keep working) or `clinician` (also signs off texts, /staff/content).
Sessions are random tokens kept in memory on the server (the cookie carries nothing else:
HttpOnly, SameSite=Strict, Secure). Every form POST carries a
per-session CSRF token; the login form uses a double-submit token.

Sign-in hashes on a small thread pool, never on the event loop (PBKDF2 takes ~0.1 s: four
parallel sign-ins on the loop held /widget/widget.js up for 650 ms). Failed sign-ins are limited
per user name and per client address inside the app (nginx limits requests too, but the app must
hold without it); a name that does not exist is counted and refused exactly like one that does.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from typing import Dict, Mapping, Optional, Tuple, Union

from webapp.rate_limit import WindowLimit

USERS_ENV = "STAFF_USERS"
API_TOKEN_ENV = "STAFF_API_TOKEN"  # noqa: S105 (the variable's name)
SESSION_COOKIE = "staff_session"
LOGIN_CSRF_COOKIE = "staff_login_csrf"
SESSION_SECONDS = 8 * 3600
#: Failed sign-ins allowed per user name, and per client address, in FAILURE_WINDOW_SECONDS.
ACCOUNT_FAILURES_ENV = "STAFF_LOGIN_ACCOUNT_FAILURES"
ADDRESS_FAILURES_ENV = "STAFF_LOGIN_ADDRESS_FAILURES"
FAILURE_WINDOW_SECONDS = 15 * 60
STAFF, CLINICIAN = "staff", "clinician"
ROLES = (STAFF, CLINICIAN)
_ITERATIONS = 240_000
# Two threads: the machine's cores. More would only queue hashes inside the OS instead.
_HASHING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="staff-sign-in")


def _bytes(text: str) -> bytes:
    # Form fields and headers may hold any code point, lone surrogates included.
    return text.encode("utf-8", "surrogatepass")


def constant_time_equal(first: str, second: str) -> bool:
    """Compares secrets in constant time.

    Unlike `hmac.compare_digest` on str, never raises on non-ASCII input (which a hostile form
    field or header may contain).
    """
    return hmac.compare_digest(_bytes(first), _bytes(second))


def hash_password(password: str, salt: Optional[bytes] = None) -> str:
    """PBKDF2-SHA256 hash in the form `pbkdf2_sha256$iterations$salt$hash`."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", _bytes(password), salt, _ITERATIONS)
    return "$".join(
        ["pbkdf2_sha256", str(_ITERATIONS), base64.b64encode(salt).decode(),
         base64.b64encode(digest).decode()]
    )


def check_password(password: str, stored: str) -> bool:
    """Whether `password` matches a hash from `hash_password` (constant-time)."""
    try:
        scheme, iterations, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256":
        return False
    candidate = hashlib.pbkdf2_hmac(
        "sha256", _bytes(password), base64.b64decode(salt), int(iterations)
    )
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def format_user(name: str, stored: str, role: str = STAFF) -> str:
    """One STAFF_USERS entry: `name:hash:role`."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    return f"{name}:{stored}:{role}"


def parse_accounts(value: str) -> Dict[str, Tuple[str, str]]:
    """`name:hash[:role],...` -> {name: (hash, role)}; raises ValueError on a malformed entry."""
    accounts: Dict[str, Tuple[str, str]] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, _, rest = item.partition(":")
        # The hash has no ':' (base64 and '$'), so a third field is the role.
        stored, _, role = rest.partition(":")
        if not name or not stored.startswith("pbkdf2_sha256$"):
            raise ValueError(f"{USERS_ENV}: entry for '{name}' is not name:pbkdf2_sha256$...")
        role = role.strip() or STAFF
        if role not in ROLES:
            raise ValueError(f"{USERS_ENV}: entry for '{name}': role must be one of "
                             f"{', '.join(ROLES)}")
        accounts[name] = (stored, role)
    return accounts


def parse_users(value: str) -> Dict[str, str]:
    """`name:hash[:role],...` -> {name: hash}; raises ValueError on a malformed entry."""
    return {name: stored for name, (stored, _) in parse_accounts(value).items()}


class Refused(Enum):
    """Why a sign-in was refused."""

    WRONG = "wrong user name or password"
    TOO_MANY = "too many failed sign-ins"


class SignInLimits:
    """Failed sign-ins per user name and per client address (attempts in progress count)."""

    def __init__(self, per_account: int = 5, per_address: int = 20) -> None:
        """At most `per_account` failures per name, `per_address` per address, per window.

        An address may be a clinic's shared connection, hence its larger allowance.
        """
        self.per_account = WindowLimit(per_account, FAILURE_WINDOW_SECONDS)
        self.per_address = WindowLimit(per_address, FAILURE_WINDOW_SECONDS)

    @staticmethod
    def _account(name: str) -> str:
        # Bounded key; the name is counted whether or not the account exists.
        return name[:200]

    def admit(self, name: str, address: str) -> bool:
        """Counts an attempt as failed in advance; False (nothing counted) if either is used up.

        Counting before hashing means parallel attempts cannot all pass the check first.
        """
        account = self._account(name)
        if self.per_account.blocked(account) or self.per_address.blocked(address):
            return False
        self.per_account.add(account)
        self.per_address.add(address)
        return True

    def succeeded(self, name: str, address: str) -> None:
        """Uncounts an admitted attempt that signed in."""
        self.per_account.give_back(self._account(name))
        self.per_address.give_back(address)


@dataclass
class Session:
    """A signed-in staff member."""

    user: str
    csrf: str
    expires: float
    role: str = STAFF

    @property
    def clinician(self) -> bool:
        """Whether this staff member may sign off texts."""
        return self.role == CLINICIAN


@dataclass
class StaffAuth:
    """Accounts, API token and live sessions of one web app process."""

    users: Dict[str, str]
    api_token: Optional[str]
    #: Role per user name; a name missing here is `staff`.
    roles: Dict[str, str] = field(default_factory=dict)
    sessions: Dict[str, Session] = field(default_factory=dict)
    limits: SignInLimits = field(default_factory=SignInLimits)
    # Checked for unknown names: one hash, like a known name (hashing a fresh dummy as well
    # made unknown names take twice as long: 0.24 s against 0.10 s).
    _dummy: str = field(default_factory=lambda: hash_password(secrets.token_urlsafe(16)),
                        repr=False)

    @classmethod
    def from_environment(cls, environ: Optional[Mapping[str, str]] = None) -> StaffAuth:
        """Reads STAFF_USERS, STAFF_API_TOKEN and the failed sign-in limits."""
        env = os.environ if environ is None else environ
        limits = SignInLimits(int(env.get(ACCOUNT_FAILURES_ENV, "5")),
                              int(env.get(ADDRESS_FAILURES_ENV, "20")))
        accounts = parse_accounts(env.get(USERS_ENV, ""))
        return cls(users={name: stored for name, (stored, _) in accounts.items()},
                   roles={name: role for name, (_, role) in accounts.items()},
                   api_token=env.get(API_TOKEN_ENV) or None, limits=limits)

    def credentials_valid(self, name: str, password: str) -> bool:
        """Whether name and password match; the same single hash whether or not name exists."""
        stored = self.users.get(name)
        matches = check_password(password, self._dummy if stored is None else stored)
        return stored is not None and matches

    async def sign_in(self, name: str, password: str, address: str) -> Union[str, Refused]:
        """A new session token, or why not; hashes off the event loop, within the limits."""
        if not self.limits.admit(name, address):
            return Refused.TOO_MANY
        valid = await asyncio.get_running_loop().run_in_executor(
            _HASHING, self.credentials_valid, name, password)
        if not valid:
            return Refused.WRONG
        self.limits.succeeded(name, address)
        return self.new_session(name)

    def new_session(self, name: str) -> str:
        """Starts a session for `name` and returns its token."""
        token = secrets.token_urlsafe(32)
        self.sessions[token] = Session(
            user=name, csrf=secrets.token_urlsafe(32), expires=time.time() + SESSION_SECONDS,
            role=self.roles.get(name, STAFF),
        )
        return token

    def session(self, token: Optional[str]) -> Optional[Session]:
        """The live session for a cookie token, if any."""
        found = self.sessions.get(token or "")
        if found is None:
            return None
        if found.expires < time.time():
            self.sessions.pop(token or "", None)
            return None
        return found

    def logout(self, token: Optional[str]) -> None:
        """Ends a session."""
        self.sessions.pop(token or "", None)

    def api_allowed(self, authorization: Optional[str]) -> bool:
        """Whether an `Authorization: Bearer <token>` header carries the API token."""
        if not self.api_token or not authorization or not authorization.startswith("Bearer "):
            return False
        return constant_time_equal(authorization[len("Bearer "):], self.api_token)
