"""The ground of every table: the base model on the one database, ids that are never handed out
twice (IdField), JSON columns, UTC times."""
from __future__ import annotations

import datetime as dt
import json

from peewee import SQL, AutoField, DatabaseProxy, IntegerField, Model, NodeList, SqliteDatabase, TextField

from ..db import database


def utcnow() -> dt.datetime:
    """Naive UTC: stored the same way on SQLite and PostgreSQL."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 with an explicit UTC offset, for the API."""
    return None if value is None else value.replace(tzinfo=dt.timezone.utc).isoformat()


class BaseModel(Model):
    class Meta:
        database = database


class IdField(AutoField):
    """An id handed out once, never again after its row is deleted: pages,
    links, API clients, webhook consumers, Meta's callbacks and queued messages
    name rows by it. SQLite's plain INTEGER PRIMARY KEY gives the highest
    deleted id to the next row; AUTOINCREMENT does not (its ``sqlite_sequence``
    remembers). PostgreSQL's SERIAL sequences never go back, and know no such
    keyword — which is why this is not playhouse's AutoIncrementField, whose
    DDL fails there."""

    def ddl(self, ctx):
        column = super().ddl(ctx)
        database = self.model._meta.database
        if isinstance(database, DatabaseProxy):
            database = database.obj
        return NodeList((column, SQL("AUTOINCREMENT"))) if isinstance(database, SqliteDatabase) else column


class JSONField(TextField):
    def db_value(self, value):
        return None if value is None else json.dumps(value)

    def python_value(self, value):
        return None if value is None else json.loads(value)


class SchemaVersion(BaseModel):
    version = IntegerField()
