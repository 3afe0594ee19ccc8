"""Rows read and held FOR KEY SHARE until the transaction ends (PostgreSQL).

A write checks a record's lock inside its own transaction (`enrollment.locks.hold_unlocked`):
it reads the participant's and the study's rows FOR KEY SHARE, the weakest row lock PostgreSQL
has. It conflicts only with FOR UPDATE, which `casebook_lock` and `study_lock` take on the same
rows (Django's `select_for_update()`), so a lock waits for the writes in progress, and a write that
starts while a lock is being taken waits for it and then reads the row as locked. Writes of one
study never wait for one another on these rows, and an UPDATE of the participant's row by the write
itself (a withdrawal) is not blocked by another write's share lock.

Django has no share lock: the query is built with `select_for_update(of=...)` and its clause
rewritten to FOR KEY SHARE through `connection.execute_wrapper` (Django's "database
instrumentation"), for this one statement. `updating_held` keeps FOR UPDATE on the rows a write
changes and holds the others FOR KEY SHARE, in one statement. SQLite has no row locks: it serialises writers itself,
and the query is read as it is.
"""
from __future__ import annotations

from django.db import connections
from django.db.models import QuerySet

_FOR_UPDATE = " FOR UPDATE"
_KEY_SHARE = " FOR KEY SHARE"


def _as_key_share(execute, sql, params, many, context):
    head, found, tail = sql.rpartition(_FOR_UPDATE)
    return execute(f"{head}{_KEY_SHARE}{tail}" if found else sql, params, many, context)


def _split_locks(count: int):
    """A wrapper that turns the clause `FOR UPDATE OF a, b, c` into `FOR UPDATE OF <the first
    count> FOR KEY SHARE OF <the others>` (Django names the tables in the order of `of`)."""
    def wrapper(execute, sql, params, many, context):
        head, found, tail = sql.rpartition(_FOR_UPDATE + " OF ")
        if not found:
            return execute(sql, params, many, context)
        tables = tail.split(", ")
        clause = f"{_FOR_UPDATE} OF {', '.join(tables[:count])}{_KEY_SHARE} OF {', '.join(tables[count:])}"
        return execute(head + clause, params, many, context)
    return wrapper


def updating_held(queryset: QuerySet, update: tuple[str, ...], share: tuple[str, ...]) -> list:
    """The rows of `queryset`: those of `update` locked FOR UPDATE (the rows the write changes),
    those of `share` held FOR KEY SHARE (rows whose lock the write checks), until the transaction
    ends; one statement. Inside `transaction.atomic()`; as `select_for_update` on SQLite."""
    queryset = queryset.select_for_update(of=(*update, *share))
    connection = connections[queryset.db]
    if not connection.features.has_select_for_update_of:
        return list(queryset)
    with connection.execute_wrapper(_split_locks(len(update))):
        return list(queryset)


def held(queryset: QuerySet, *of: str) -> list:
    """The rows of `queryset`, those of `of` (as `select_for_update`'s: "self" and relations it
    selects) held FOR KEY SHARE until the transaction ends. Call it inside `transaction.atomic()`
    (PostgreSQL refuses it outside one, as `select_for_update`)."""
    queryset = queryset.select_for_update(of=of)
    connection = connections[queryset.db]
    if not connection.features.has_select_for_update:
        return list(queryset)
    with connection.execute_wrapper(_as_key_share):
        return list(queryset)
