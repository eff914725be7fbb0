"""Staff accounts, sessions and CSRF protection for the inbox.

Accounts come from STAFF_USERS: comma-separated `name:hash` pairs, the hash made by
`make staff-password` (PBKDF2-SHA256). Sessions are random tokens kept in memory on the server
(the cookie carries nothing else: HttpOnly, SameSite=Strict, Secure). Every form POST carries a
per-session CSRF token; the login form uses a double-submit token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional

USERS_ENV = "STAFF_USERS"
API_TOKEN_ENV = "STAFF_API_TOKEN"  # noqa: S105 (the variable's name)
SESSION_COOKIE = "staff_session"
LOGIN_CSRF_COOKIE = "staff_login_csrf"
SESSION_SECONDS = 8 * 3600
_ITERATIONS = 240_000


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


def parse_users(value: str) -> Dict[str, str]:
    """`name:hash,name:hash` -> {name: hash}; raises ValueError on a malformed entry."""
    users: Dict[str, str] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, _, stored = item.partition(":")
        if not name or not stored.startswith("pbkdf2_sha256$"):
            raise ValueError(f"{USERS_ENV}: entry for '{name}' is not name:pbkdf2_sha256$...")
        users[name] = stored
    return users


@dataclass
class Session:
    """A signed-in staff member."""

    user: str
    csrf: str
    expires: float


@dataclass
class StaffAuth:
    """Accounts, API token and live sessions of one web app process."""

    users: Dict[str, str]
    api_token: Optional[str]
    sessions: Dict[str, Session] = field(default_factory=dict)

    @classmethod
    def from_environment(cls, environ: Optional[Mapping[str, str]] = None) -> StaffAuth:
        """Reads STAFF_USERS and STAFF_API_TOKEN."""
        env = os.environ if environ is None else environ
        return cls(users=parse_users(env.get(USERS_ENV, "")),
                   api_token=env.get(API_TOKEN_ENV) or None)

    def login(self, name: str, password: str) -> Optional[str]:
        """A new session token for valid credentials, else None."""
        stored = self.users.get(name)
        if stored is None:
            # Same work as for a real user, so timing does not reveal valid names.
            check_password(password, hash_password("dummy", b"0" * 16))
            return None
        if not check_password(password, stored):
            return None
        token = secrets.token_urlsafe(32)
        self.sessions[token] = Session(
            user=name, csrf=secrets.token_urlsafe(32), expires=time.time() + SESSION_SECONDS
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
