"""The schema's two paths lead to one schema, and its steps are frozen.

A new database is made from today's models (schema.py's baseline); an
existing one runs the steps of schema_steps.py it has not seen. A database
made by step 1 — the schema socialpub started with — and upgraded through
every step must end with the tables, columns, indexes, keys and triggers of a
new one, on SQLite and on PostgreSQL: a model changed without a step, or a step
that no longer works on the schema it was written for, fails here. And no step
takes a definition from today's models, so changing a model changes no step.
"""
from __future__ import annotations

import ast
import importlib
import re
import types
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from peewee import CharField, Field, Index, Model, SqliteDatabase

from socialpub import db, encryption, schema
from socialpub.metrics import tally
from socialpub.models import Channel, Contact, Event, SchemaVersion

ROOT = Path(__file__).resolve().parents[2]

# The shape of a database, compared between two made different ways.

#: SQLite's reading of a declared type (https://sqlite.org/datatype3.html, 3.1): what it enforces.
AFFINITY = (("INT", "INTEGER"), ("CHAR", "TEXT"), ("CLOB", "TEXT"), ("TEXT", "TEXT"), ("BLOB", "BLOB"),
            ("REAL", "REAL"), ("FLOA", "REAL"), ("DOUB", "REAL"))


def affinity(declared: str) -> str:
    return next((kind for part, kind in AFFINITY if part in declared.upper()), "NUMERIC")


def normal(sql: str) -> str:
    """SQL as written by either path: without quotes, IF NOT EXISTS or runs of white space."""
    return re.sub(r"\s+", " ", sql.replace('"', "").replace("IF NOT EXISTS ", "")).strip()


def shape(database) -> dict:
    """Every table's columns (SQLite: by affinity, since a step cannot change a
    declared type there and SQLite enforces only the affinity), indexes,
    keys and constraints; the triggers; on PostgreSQL also the trigger
    functions, extensions and sequences."""
    def rows(sql, *args):
        return database.execute_sql(sql, args).fetchall()

    if isinstance(database, SqliteDatabase):
        def index(name, unique, origin, partial):
            [(sql,)] = rows("SELECT sql FROM sqlite_master WHERE name = ?", name) or [("",)]
            columns = tuple(c[2] for c in rows(f'PRAGMA index_info("{name}")'))
            return bool(unique), origin, bool(partial), columns, normal(sql or "").partition(" WHERE ")[2]

        tables = {name: {
            "autoincrement": "AUTOINCREMENT" in sql.upper(),
            "columns": {c[1]: (affinity(c[2]), "not null" if c[3] else "null", f"default {c[4]}", f"key {c[5]}")
                        for c in rows(f'PRAGMA table_info("{name}")')},
            "indexes": {i[1]: index(*i[1:5]) for i in rows(f'PRAGMA index_list("{name}")')},
            "foreign keys": sorted(f[2:7] for f in rows(f'PRAGMA foreign_key_list("{name}")')),
        } for name, sql in rows("SELECT name, sql FROM sqlite_master WHERE type = 'table' "
                                "AND name NOT LIKE 'sqlite_%'")}
        triggers = {name: (table, normal(sql)) for name, table, sql in
                    rows("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")}
        return {"tables": tables, "triggers": triggers}
    tables = {name: {
        "columns": {c[0]: c[1:] for c in rows(
            "SELECT column_name, data_type, character_maximum_length, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s", name)},
        "indexes": dict(rows("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
                             "AND tablename = %s", name)),
        "constraints": sorted(rows("SELECT contype, pg_get_constraintdef(oid) FROM pg_constraint "
                                   "WHERE conrelid = %s::regclass", f'"{name}"')),
    } for (name,) in rows("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
                          "AND table_type = 'BASE TABLE'")}
    return {"tables": tables,
            "triggers": dict(rows("SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal")),
            "functions": dict(rows("SELECT proname, prosrc FROM pg_proc WHERE proname LIKE 'socialpub%%'")),
            "extensions": sorted(rows("SELECT extname FROM pg_extension")),
            "sequences": sorted(rows("SELECT sequence_name FROM information_schema.sequences "
                                     "WHERE sequence_schema = 'public'"))}


def differences(first, second, path="") -> list:
    """Where two shapes differ, one line each (``[]``: nowhere)."""
    if not (isinstance(first, dict) and isinstance(second, dict)):
        return [] if first == second else [f"{path}: {first!r} by the steps, {second!r} new"]
    found = []
    for key in sorted(set(first) | set(second), key=str):
        if key not in second:
            found.append(f"{path}/{key}: only by the steps: {first[key]!r}")
        elif key not in first:
            found.append(f"{path}/{key}: only new: {second[key]!r}")
        else:
            found += differences(first[key], second[key], f"{path}/{key}")
    return found


# The two paths.

@pytest.fixture
def keys(monkeypatch):
    """An encryption key for the steps that encrypt, this test's own."""
    monkeypatch.setattr(encryption, "_fernets", [])
    encryption.use_keys([Fernet.generate_key().decode()])


def insert(database, table: str, **values) -> None:
    marks = ", ".join([database.param] * len(values))
    database.execute_sql(f'INSERT INTO "{table}" ({", ".join(values)}) VALUES ({marks})', list(values.values()))


def at_step_one(database) -> None:
    """Step 1 alone, as a database made before step 2 was, with a row in each table."""
    schema.STEPS[0]()
    database.create_tables([SchemaVersion])
    SchemaVersion.create(version=1)
    for channel_id, network, recipients in ((1, "facebook", "[]"),
                                            (2, "whatsapp", '["+33 6 12 34 56 78", "not a number"]')):
        insert(database, "channel", id=channel_id, network=network, name=network, account_id="1",
               token=f"plain {network} token", base_url="https://example.com", recipients=recipients, enabled=True,
               created_at="2026-01-01 10:00:00", updated_at="2026-01-01 10:00:00")
    insert(database, "post", id=1, text="A post", status="published", created_at="2026-01-01 10:00:00",
           updated_at="2026-01-01 10:00:00")
    insert(database, "publication", id=1, post_id=1, channel_id=1, network="facebook", text="A post",
           status="published", attempts=1, external_id="1_2", created_at="2026-01-01 10:00:00",
           updated_at="2026-01-01 10:00:00", finished_at="2026-01-01 10:00:01")
    insert(database, "attempt", id=1, publication_id=1, number=1, started_at="2026-01-01 10:00:00",
           finished_at="2026-01-01 10:00:01", outcome="published")


def made_by_the_steps(database) -> dict:
    at_step_one(database)
    # Really the first schema: four tables, and a channel without the columns later steps add.
    assert set(database.get_tables()) == {"channel", "post", "publication", "attempt", "schemaversion"}
    assert {c.name for c in database.get_columns("channel")} == {
        "id", "network", "name", "account_id", "token", "base_url", "recipients", "api_version", "enabled",
        "created_at", "updated_at"}
    assert schema.upgrade() == (1, len(schema.STEPS))
    return shape(database)


def made_new(database) -> dict:
    assert schema.upgrade() == (0, len(schema.STEPS))
    return shape(database)


def emptied(database) -> None:
    """The database as it was before the test: nothing in it."""
    if isinstance(database, SqliteDatabase):
        database.execute_sql("PRAGMA foreign_keys = OFF")  # a dropped table's rows would be deleted one by one
        for (table,) in database.execute_sql("SELECT name FROM sqlite_master WHERE type = 'table' "
                                             "AND name NOT LIKE 'sqlite_%'").fetchall():
            database.execute_sql(f'DROP TABLE "{table}"')
        database.execute_sql("PRAGMA foreign_keys = ON")
    else:
        database.execute_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")


@pytest.fixture
def bound(database_url):
    database = db.bind(database_url)
    yield database
    if isinstance(database, SqliteDatabase):
        database.close()
    else:
        database.close_all()


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_database_from_step_one_upgraded_through_every_step_has_the_schema_of_a_new_one(bound, keys):
    with bound.connection_context():
        stepped = made_by_the_steps(bound)
        # The rows came through every step, and the steps that change rows did.
        assert Channel.get_by_id(2).token == "plain whatsapp token"
        assert bound.execute_sql("SELECT token FROM channel WHERE id = 2").fetchone()[0].startswith(
            encryption.FERNET_PREFIX)
        [contact] = Contact.select().where(Contact.channel == 2)
        assert (contact.phone, contact.opt_in_method) == ("+33612345678", "listed as a recipient of the channel")
        assert contact.opted_in_at is not None
        assert Event.get(Event.subject == "channel", Event.subject_id == 2).detail == {
            "count": 1, "opted_in": 1, "kept_opted_out": []}
        assert tally.counts() == {("facebook", "published"): 1}

        emptied(bound)
        new = made_new(bound)
    assert stepped["tables"].keys() == new["tables"].keys()
    assert not differences(stepped, new), "\n".join(differences(stepped, new))


def test_a_model_changed_in_memory_changes_no_step(bound, keys):
    """What a model says today reaches a new database, never a step."""
    was_null = Channel.name.null
    Channel.name.null = True
    Channel._meta.add_field("surprise", CharField(null=True))
    try:
        with bound.connection_context():
            stepped = made_by_the_steps(bound)
            emptied(bound)
            changed = made_new(bound)
            emptied(bound)
    finally:
        Channel._meta.remove_field("surprise")
        Channel.name.null = was_null
    with bound.connection_context():
        new = made_new(bound)

    assert "surprise" in changed["tables"]["channel"]["columns"] and changed != new  # the change was in force
    assert not differences(stepped, new), "\n".join(differences(stepped, new))


# No step names a model.

def is_todays_table(thing) -> bool:
    """A model of socialpub.models, one of its fields or indexes, a list of them, or a models module."""
    if isinstance(thing, types.ModuleType):
        return thing.__name__.startswith("socialpub.models")
    if isinstance(thing, type):
        return issubclass(thing, Model) and thing.__module__.startswith("socialpub.models")
    if isinstance(thing, (list, tuple)):
        return any(is_todays_table(t) for t in thing)
    return isinstance(thing, (Field, Index))


def todays_tables_named(path: Path) -> set:
    """The names a module imports (anywhere in it, functions too) that are today's tables."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("socialpub.models")}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            source = importlib.import_module(".".join(base + ([node.module] if node.module else [])))
            for alias in node.names:
                thing = getattr(source, alias.name, None)
                if thing is None:  # a submodule not imported by its package
                    thing = importlib.import_module(f"{source.__name__}.{alias.name}")
                if is_todays_table(thing):
                    found.add(alias.name)
    return found


def test_no_step_takes_a_definition_from_todays_models():
    assert todays_tables_named(ROOT / "socialpub" / "schema_steps.py") == set()
    # The finder finds them where they are: the baseline creates today's tables.
    assert todays_tables_named(ROOT / "socialpub" / "schema.py") == {"TABLES", "SchemaVersion"}
