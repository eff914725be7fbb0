"""Notifies the clinic's system of new escalations: a signed JSON webhook, retried until sent.

Configured by ESCALATION_WEBHOOK_URL and ESCALATION_WEBHOOK_SECRET. Each POST carries the
escalation as JSON and an `X-Clinic-Signature: sha256=<hex>` header, the HMAC-SHA256 of the
body with the secret, so the receiver can tell the request is ours. A failed delivery leaves
the case flagged `failed` with the time of the next try (exponential backoff); the retry loop
(`deliver_due`) runs in the web app, so a case is never lost while the receiver is down.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass
from typing import Dict, Optional

import aiohttp

from escalation.store import Escalation, EscalationStore

logger = logging.getLogger(__name__)

URL_ENV = "ESCALATION_WEBHOOK_URL"
SECRET_ENV = "ESCALATION_WEBHOOK_SECRET"  # noqa: S105 (the variable's name, not a secret)
SIGNATURE_HEADER = "X-Clinic-Signature"
#: Backoff after the n-th failed attempt: 30 s, 1 min, 2 min, ... capped at 30 min.
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 30 * 60


def sign(body: bytes, secret: str) -> str:
    """The signature header value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str) -> bool:
    """Whether `header` is the right signature for `body` (constant-time comparison)."""
    return hmac.compare_digest(sign(body, secret), header or "")


def retry_delay(attempts: int) -> dt.timedelta:
    """How long to wait after `attempts` failed attempts."""
    seconds = FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, MAX_RETRY_SECONDS))


@dataclass(frozen=True)
class WebhookNotifier:
    """Posts escalations to the configured webhook."""

    url: Optional[str]
    secret: str
    timeout_seconds: float = 5.0

    @classmethod
    def from_environment(cls, environ: Optional[Dict[str, str]] = None) -> WebhookNotifier:
        """Reads the webhook URL and secret from the environment."""
        env = os.environ if environ is None else environ
        url = env.get(URL_ENV) or None
        secret = env.get(SECRET_ENV, "")
        if url and not secret:
            raise ValueError(
                f"{URL_ENV} is set but {SECRET_ENV} is empty: refusing to send unsigned"
            )
        return cls(url=url, secret=secret)

    @property
    def enabled(self) -> bool:
        """Whether a webhook is configured at all."""
        return bool(self.url)

    async def send(self, escalation: Escalation) -> Optional[str]:
        """One delivery attempt; returns None when delivered, else the error."""
        if not self.url:
            return "no webhook configured"
        body = json.dumps({"event": "escalation.created", "escalation": escalation.payload()},
                          sort_keys=True).encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, self.secret)}
        try:
            timeout = aiohttp.ClientTimeout(total=self.timeout_seconds)
            async with aiohttp.ClientSession(timeout=timeout) as session, session.post(
                self.url, data=body, headers=headers
            ) as response:
                if 200 <= response.status < 300:
                    return None
                return f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return f"{type(exc).__name__}: {exc}"[:200]

    async def deliver(self, store: EscalationStore, escalation: Escalation) -> bool:
        """Tries to deliver one case and records the outcome in the store."""
        if not self.enabled:
            # Nothing to deliver to: staff see the case in the inbox; keep it pending.
            return False
        error = await self.send(escalation)
        if error is None:
            store.record_notification(escalation.reference, delivered=True)
            logger.info("escalation %s delivered to the webhook", escalation.reference)
            return True
        retry_at = dt.datetime.now(dt.timezone.utc) + retry_delay(
            escalation.notification_attempts + 1
        )
        store.record_notification(
            escalation.reference, delivered=False, error=error, retry_at=retry_at
        )
        logger.warning(
            "escalation %s: webhook delivery failed (%s); next try at %s",
            escalation.reference, error, retry_at.isoformat(),
        )
        return False

    async def deliver_due(
        self, store: EscalationStore, now: Optional[dt.datetime] = None
    ) -> int:
        """Delivers every case that is due (at `now`); returns how many were delivered."""
        if not self.enabled:
            return 0
        delivered = 0
        for escalation in store.due_notifications(now):
            delivered += await self.deliver(store, escalation)
        return delivered
