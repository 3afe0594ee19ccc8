"""The rows that loading the built-in studies writes into an emptied test database, kept in memory
the first time and written back in one statement per table afterwards.

A transactional test (``django_db(transaction=True)``, ``live_server``) empties every table when it
ends, so the next one that asks for ``studies`` finds none: loading them again from their YAML
files through the audited services takes seconds each time, copying the same rows back a few
milliseconds. The rows are kept only when the database was as emptying leaves it (content types
and permissions alone), and written back only into tables that are all empty; otherwise the
caller loads the files as before. Catalogue rows written back renew the catalogue generation, as
a change of them does (`trials.catalogues`).
"""
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction

from trials.catalogues import catalogue_changed

# What emptying the database (`flush`, then post_migrate) leaves in it.
LEFT_BY_FLUSH = {ContentType._meta.db_table, Permission._meta.db_table}


def _tables() -> list[str]:
    return sorted(connection.introspection.django_table_names(only_existing=True, include_views=False))


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)


def _counts(tables: list[str]) -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {_quoted(table)}")  # noqa: S608 (Django's own table names)
            counts[table] = cursor.fetchone()[0]
    return counts


def _read(table: str):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # As JSON, written back by json_populate_recordset: every column type round-trips.
            cursor.execute(f"SELECT COALESCE(json_agg(t), '[]')::text FROM {_quoted(table)} AS t")  # noqa: S608
            return cursor.fetchone()[0]
        cursor.execute(f"SELECT * FROM {_quoted(table)}")  # noqa: S608
        return [column[0] for column in cursor.description], cursor.fetchall()


def _write(cursor, table: str, rows) -> None:
    if connection.vendor == "postgresql":
        cursor.execute(f"INSERT INTO {_quoted(table)} SELECT * FROM json_populate_recordset("  # noqa: S608
                       f"NULL::{_quoted(table)}, %s::json)", [rows])
        return
    columns, values = rows
    cursor.executemany(f"INSERT INTO {_quoted(table)} ({', '.join(_quoted(c) for c in columns)}) "  # noqa: S608
                       f"VALUES ({', '.join(['%s'] * len(columns))})", values)


class LoadedRows:
    """`load_or_restore(load)`: the rows of `load()` written back when kept, else `load()` run
    (and its rows kept when the database was empty before it)."""

    def __init__(self):
        self.rows: dict[str, object] | None = None

    def load_or_restore(self, load) -> None:
        if self.rows is not None and self._restore():
            return
        tables = _tables()
        before = _counts(tables)
        load()
        if self.rows is not None or any(count for table, count in before.items() if table not in LEFT_BY_FLUSH):
            return
        after = _counts(tables)
        if any(after[table] != before[table] for table in LEFT_BY_FLUSH if table in before):
            return
        self.rows = {table: _read(table) for table in tables if after[table] and table not in LEFT_BY_FLUSH}

    def _restore(self) -> bool:
        with connection.cursor() as cursor:
            for table in self.rows:
                cursor.execute(f"SELECT 1 FROM {_quoted(table)} LIMIT 1")  # noqa: S608
                if cursor.fetchone() is not None:
                    return False
        with transaction.atomic(), connection.cursor() as cursor:
            # Foreign keys are checked at commit (Django declares them deferrable): any table order.
            for table, rows in self.rows.items():
                _write(cursor, table, rows)
            catalogue_changed()
        return True
