"""The project's Sanic web app: the staff escalation inbox (and its JSON API).

`create_app()` is the app factory; each feature is a blueprint; the escalation store and the
notifier are opened in server listeners and kept on `app.ctx`.
"""

from webapp.app import create_app

__all__ = ["create_app"]
