"""With no messaging secrets set, the servers start, and no messaging app is on or called."""

from __future__ import annotations

import os
import urllib.error
import urllib.request

import pytest
import yaml

from channels.credentials import MESSAGING_APPS
from clinic.paths import PROJECT_ROOT
from local.services import running_services
from tests.stand_in_apis import StandInAPIs

MODEL = PROJECT_ROOT / "models" / "clinic.tar.gz"

pytestmark = pytest.mark.integration


def test_disabled_apps_do_not_fail_startup_or_call_out(tmp_path, monkeypatch):
    assert MODEL.exists(), f"{MODEL} is missing: run `make train` (make test does it first)"
    for app in MESSAGING_APPS:
        for var in [*app.required.values(), *app.optional.values()]:
            monkeypatch.delenv(var, raising=False)
    credentials = tmp_path / "credentials.yml"
    with StandInAPIs() as stand_in:
        # API bases alone (no secrets) switch nothing on.
        env = {"CREDENTIALS_FILE": str(credentials), "TWILIO_API_BASE": stand_in.url,
               "TELEGRAM_API_BASE": stand_in.url, "MESSENGER_API_BASE": stand_in.url}
        with running_services(MODEL, tmp_path, extra_env=env) as services:
            assert services.send("it-disabled", "does it hurt?")
            for path in ("whatsapp", "telegram", "facebook"):
                with pytest.raises(urllib.error.HTTPError) as missing:
                    urllib.request.urlopen(  # noqa: S310 (loopback)
                        f"{services.rasa_url}/webhooks/{path}/webhook", data=b"{}", timeout=10)
                assert missing.value.code == 404
        assert stand_in.requests == []
    base = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text())
    assert yaml.safe_load(credentials.read_text()) == base
    assert "TWILIO_AUTH_TOKEN" not in os.environ
