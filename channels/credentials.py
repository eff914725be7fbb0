"""Writes the credentials file Rasa runs with: credentials.yml plus the enabled messaging apps.

A messaging app is switched on only when all its required environment variables are set; an
app with some of them set is left off with a warning (never half-configured, never
unauthenticated). Secrets are not written to the file: it holds ${VAR} references, which Rasa
substitutes when it loads the file (and which are always set, since only enabled apps are
written).

Usage: python -m channels.credentials credentials.yml var/credentials.yml
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Sequence

import yaml

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MessagingApp:
    """One messaging app: its Rasa channel class and credential keys -> env variables."""

    title: str
    channel: str
    required: Dict[str, str]
    optional: Dict[str, str]


MESSAGING_APPS: Sequence[MessagingApp] = (
    MessagingApp(
        title="WhatsApp (Twilio)",
        channel="channels.twilio_whatsapp.TwilioWhatsAppInput",
        required={"account_sid": "TWILIO_ACCOUNT_SID", "auth_token": "TWILIO_AUTH_TOKEN",
                  "whatsapp_number": "TWILIO_WHATSAPP_NUMBER"},
        optional={"api_base": "TWILIO_API_BASE", "webhook_url": "TWILIO_WEBHOOK_URL"},
    ),
    MessagingApp(
        title="Telegram",
        channel="channels.telegram.ClinicTelegramInput",
        required={"access_token": "TELEGRAM_ACCESS_TOKEN",
                  "secret_token": "TELEGRAM_SECRET_TOKEN"},
        optional={"verify": "TELEGRAM_VERIFY", "webhook_url": "TELEGRAM_WEBHOOK_URL",
                  "api_base": "TELEGRAM_API_BASE"},
    ),
    MessagingApp(
        title="Facebook Messenger",
        channel="channels.messenger.ClinicMessengerInput",
        required={"verify": "MESSENGER_VERIFY", "secret": "MESSENGER_SECRET",
                  "page-access-token": "MESSENGER_PAGE_ACCESS_TOKEN"},
        optional={"api_base": "MESSENGER_API_BASE"},
    ),
)


def enabled_apps(env: Mapping[str, str]) -> List[MessagingApp]:
    """The messaging apps whose required variables are all set (non-empty)."""
    enabled = []
    for app in MESSAGING_APPS:
        present = [var for var in app.required.values() if env.get(var, "").strip()]
        if len(present) == len(app.required):
            enabled.append(app)
        elif present:
            missing = sorted(set(app.required.values()) - set(present))
            logger.warning("%s stays off: %s not set", app.title, ", ".join(missing))
    return enabled


def app_entry(app: MessagingApp, env: Mapping[str, str]) -> str:
    """The app's credentials.yml entry, with ${VAR} references for the set variables."""
    keys = {**app.required, **{k: v for k, v in app.optional.items() if env.get(v, "").strip()}}
    # Plain (unquoted) values: Rasa substitutes ${VAR} only there.
    lines = [f"{app.channel}:"] + [f"  {key}: ${{{var}}}" for key, var in keys.items()]
    return "\n".join(lines) + "\n"


def build_credentials(base_text: str, env: Mapping[str, str]) -> str:
    """credentials.yml as it is, plus an entry per enabled messaging app it does not have."""
    existing = yaml.safe_load(base_text) or {}
    added = [app_entry(app, env) for app in enabled_apps(env) if app.channel not in existing]
    if not added:
        return base_text
    header = "\n# Messaging apps switched on by their environment variables (channels/).\n"
    return base_text.rstrip("\n") + "\n" + header + "".join(added)


def write_credentials(base: Path, out: Path, env: Mapping[str, str]) -> List[str]:
    """Writes the credentials file; returns the titles of the enabled messaging apps."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build_credentials(base.read_text(encoding="utf-8"), env), encoding="utf-8")
    return [app.title for app in enabled_apps(env)]


def main(argv: Sequence[str]) -> int:
    """Command line: base file, output file."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if len(argv) != 2:
        print("usage: python -m channels.credentials BASE_CREDENTIALS OUT", file=sys.stderr)
        return 2
    titles = write_credentials(Path(argv[0]), Path(argv[1]), os.environ)
    print("Messaging apps: " + (", ".join(titles) if titles else "none (no secrets set)"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
