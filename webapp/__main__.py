"""Runs the web app: `python -m webapp` (WEBAPP_HOST, WEBAPP_PORT; default 127.0.0.1:8000)."""

import logging
import os
import sys

from webapp import create_app
from webapp.staff_auth import USERS_ENV, parse_users

if __name__ == "__main__":
    # Checked here, once: raised in a server listener, the error was printed three times.
    try:
        parse_users(os.environ.get(USERS_ENV, ""))
    except ValueError as error:
        sys.exit(f"The web app did not start: {error} (`make staff-password` makes one)")
    # LOG_LEVEL (scripts/run_services.sh passes it on) for the project's own loggers.
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING").upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Production mode is what this runs in; Sanic's advice to use --debug is not for the clinic.
    logging.getLogger("sanic.error").addFilter(
        lambda record: "PRODUCTION mode" not in record.getMessage())
    create_app().run(
        host=os.environ.get("WEBAPP_HOST", "127.0.0.1"),
        port=int(os.environ.get("WEBAPP_PORT", "8000")),
        access_log=False,
        motd=False,
    )
