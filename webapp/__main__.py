"""Runs the web app: `python -m webapp` (WEBAPP_HOST, WEBAPP_PORT; default 127.0.0.1:8000)."""

import logging
import os

from webapp import create_app

if __name__ == "__main__":
    # LOG_LEVEL (scripts/run_services.sh passes it on) for the project's own loggers.
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING").upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    create_app().run(
        host=os.environ.get("WEBAPP_HOST", "127.0.0.1"),
        port=int(os.environ.get("WEBAPP_PORT", "8000")),
        access_log=False,
        motd=False,
    )
