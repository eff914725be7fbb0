"""The web app's own limits: counters (safety/rate_limit.py) per client address or user name.

In memory, per process: the web app runs as one process. nginx limits requests per address in
front of it; these hold without nginx too, and count what nginx cannot see (failed sign-ins per
account, votes per address).
"""

from __future__ import annotations

import logging

from sanic import Request

from safety.rate_limit import MAX_KEYS, WindowLimit

logger = logging.getLogger(__name__)

__all__ = ["MAX_KEYS", "WindowLimit", "client_address"]


def client_address(request: Request) -> str:
    """The client's address: from X-Forwarded-For only when SANIC_PROXIES_COUNT trusts a proxy.

    Behind nginx without SANIC_PROXIES_COUNT=1 every client has nginx's address, so the
    per-address limits would be shared by everyone (docs/web-app-limits.md): said once in the
    log.
    """
    if request.remote_addr:
        return request.remote_addr
    if "x-forwarded-for" in request.headers and not getattr(request.app.ctx, "proxy_noted", False):
        request.app.ctx.proxy_noted = True
        logger.warning("requests come through a proxy (X-Forwarded-For) but SANIC_PROXIES_COUNT "
                       "is not set: per-address limits see the proxy's address for every client")
    return request.ip
