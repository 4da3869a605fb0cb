"""Dramatiq middleware of socialpub's own."""
from __future__ import annotations

import datetime as dt
import logging

from dramatiq.middleware import Middleware

from . import delivery
from .db import database

logger = logging.getLogger(__name__)


class RecordExpiry(Middleware):
    """Dramatiq's AgeLimit drops a too-old message without running the actor
    (it dead-letters it and skips). Record that in the database, so that no
    publication waits "queued" or "retrying" for a message that will never come."""

    def after_skip_message(self, broker, message):
        if message.actor_name != "publish" or not message.args:
            return
        max_age = message.options.get("max_age") or broker.get_actor("publish").options.get("max_age")
        hours = (max_age or 0) / 3_600_000
        with database.connection_context():
            if delivery.expire(message.args[0], f"not published within {hours:g} h of being queued; "
                                                f"retry it if it should still go out",
                               dt.timedelta(milliseconds=max_age or 0)):
                logger.warning("Publication %s expired: its message was older than %g h.",
                               message.args[0], hours)
