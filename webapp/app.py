"""App factory and server listeners of the web app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Optional

from jinja2 import Environment, PackageLoader, select_autoescape
from sanic import Sanic

from clinic.resources import get_resources
from escalation.notifier import WebhookNotifier
from escalation.outbox import EscalationOutbox, retry_interval
from escalation.store import EscalationStore
from feedback.store import FeedbackStore
from knowledge.signoffs import content_policy, open_signoffs, unsigned_emergency_warning
from safety.log_redaction import install as install_log_redaction
from webapp.answer_report import answer_report
from webapp.content_review import content_review
from webapp.staff_api import staff_api
from webapp.staff_auth import StaffAuth
from webapp.staff_inbox import staff_inbox
from webapp.widget import widget

logger = logging.getLogger(__name__)


def create_app(name: str = "clinic_webapp", store_url: Optional[str] = None) -> Sanic:
    """Creates the web app: the staff inbox (HTML), its JSON API and the chat widget."""
    # Logging as the process configures it (webapp/__main__.py: LOG_LEVEL), each line once.
    app = Sanic(name, configure_logging=False)
    app.config.RESPONSE_TIMEOUT = 30
    app.config.REQUEST_MAX_SIZE = 64 * 1024
    app.ctx.templates = Environment(
        loader=PackageLoader("webapp", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    app.blueprint(staff_inbox)
    app.blueprint(staff_api)
    app.blueprint(widget)
    app.blueprint(answer_report)
    app.blueprint(content_review)

    @app.before_server_start
    async def open_resources(app: Sanic, _loop: asyncio.AbstractEventLoop) -> None:
        install_log_redaction()  # also where run_services.sh's start-up hook is not used
        app.ctx.store = EscalationStore(store_url)
        app.ctx.feedback = FeedbackStore(store_url)
        # Reviews carried in content/signoffs.yml reach a fresh database here.
        app.ctx.signoffs = open_signoffs(store_url)
        warning = unsigned_emergency_warning(get_resources().content, app.ctx.signoffs)
        if warning:
            logger.warning(warning)
        logger.info("serving policy CONTENT_POLICY=%s", content_policy())
        app.ctx.notifier = WebhookNotifier.from_environment()
        app.ctx.outbox = EscalationOutbox()
        app.ctx.auth = StaffAuth.from_environment()
        app.ctx.cookie_secure = os.environ.get("STAFF_COOKIE_SECURE", "true") != "false"
        if not app.ctx.auth.users:
            logger.warning("no staff accounts configured (STAFF_USERS): the inbox has no users")
        app.ctx.retry_task = asyncio.ensure_future(retry_notifications(app))

    @app.after_server_stop
    async def close_resources(app: Sanic, _loop: asyncio.AbstractEventLoop) -> None:
        app.ctx.retry_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await app.ctx.retry_task
        app.ctx.store.dispose()
        app.ctx.feedback.dispose()
        app.ctx.signoffs.dispose()

    return app


async def retry_notifications(app: Sanic) -> None:
    """Moves outbox cases into the store and delivers due notifications, until stopped."""
    interval = retry_interval()
    while True:
        try:
            # Cases kept while the store was down go in first, then get notified like any.
            await asyncio.to_thread(app.ctx.outbox.drain, app.ctx.store)
            await app.ctx.notifier.deliver_due(app.ctx.store)
        except Exception as exc:  # noqa: BLE001 (a store outage must not end the loop)
            logger.error("escalation notification retry failed (%s); trying again later",
                         type(exc).__name__)
        await asyncio.sleep(interval)
