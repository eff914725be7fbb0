"""Which web origins may use the chat widget (socket.io channel and feedback endpoint)."""

from __future__ import annotations

import os
from typing import List, Mapping, Optional

ALLOWED_ORIGINS_ENV = "WIDGET_ALLOWED_ORIGINS"


def allowed_origins(website: str, environ: Optional[Mapping[str, str]] = None) -> List[str]:
    """The clinic's website, the web app's own origin and WIDGET_ALLOWED_ORIGINS.

    Args:
        website: the clinic's website origin (settings/clinic.yml `website`).
        environ: reads WEBAPP_HOST, WEBAPP_PORT (the demo page) and WIDGET_ALLOWED_ORIGINS
            (comma-separated); defaults to os.environ.
    """
    env = os.environ if environ is None else environ
    origins = [
        website,
        f"http://{env.get('WEBAPP_HOST', '127.0.0.1')}:{env.get('WEBAPP_PORT', '8000')}",
    ]
    origins += [o.strip() for o in env.get(ALLOWED_ORIGINS_ENV, "").split(",") if o.strip()]
    # Browsers send an origin without a trailing slash.
    return sorted({origin.rstrip("/") for origin in origins})
