"""Creates and upgrades the tables: numbered steps, each applied once.

A new step is appended to ``STEPS`` (use ``playhouse.migrate`` for changes to
existing tables); ``upgrade`` runs the ones the database has not seen yet.
"""
from __future__ import annotations

import logging

from .db import database
from .models import TABLES, SchemaVersion

logger = logging.getLogger(__name__)


def _create_tables():
    database.create_tables(TABLES)


#: Step n brings the schema from version n-1 to n.
STEPS = [_create_tables]


def current_version() -> int:
    if not database.table_exists(SchemaVersion._meta.table_name):
        return 0
    row = SchemaVersion.select().order_by(SchemaVersion.version.desc()).first()
    return row.version if row else 0


def upgrade() -> tuple[int, int]:
    """Apply the missing steps; return (version before, version after)."""
    with database.atomic():
        database.create_tables([SchemaVersion])
        before = current_version()
        for number, step in enumerate(STEPS[before:], start=before + 1):
            logger.info("Applying schema step %d (%s).", number, step.__name__)
            step()
            SchemaVersion.create(version=number)
    return before, len(STEPS)
