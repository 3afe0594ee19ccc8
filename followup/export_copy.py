"""The CSV files of an export streamed by PostgreSQL itself (`COPY (SELECT ...) TO STDOUT WITH
(FORMAT csv)`), for the domains where SQL writes exactly the text the Python writer
(`followup.export_csv`) writes; the others, and every domain on SQLite, go through Python.

Each column is formatted in the SELECT as the Python writer formats its value
(`followup.export_domains.converter`): text as it is (an empty text is an empty field, as NULL
is), integers in decimal, booleans 1/0, dates ISO 8601, times ISO 8601 in the current time zone
with their offset (microseconds only when there are some), numbers as Python's `repr` of the float
(`1.0`, `0.25`, `1e-05`), a JSON list of texts as `json.dumps` writes it (a domain whose JSON
column holds anything else is written by Python). PostgreSQL ends each row with LF; the rows are
received one at a time and each is ended with CRLF, as Python's csv module ends them (a line break
inside a quoted value is kept as it is). The result is byte-for-byte the Python writer's
(`followup/tests/test_export_copy.py`).
"""
from __future__ import annotations

import re

from django.db import connection
from django.utils import timezone

from .export_domains import _lab_querysets, _lab_units, describe

FLUSH = 1 << 20  # bytes gathered before they go to the zip member
_COLUMN = re.compile(r"\{(\d+)\}")  # {0}, {1}...: the columns of the query a SELECT formats


def available() -> bool:
    return connection.vendor == "postgresql"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _text(ref: str) -> str:
    return f"NULLIF({ref}::text, '')"


def _integer(ref: str) -> str:
    return f"{ref}::text"


def _boolean(ref: str) -> str:
    return f"CASE WHEN {ref} THEN '1' WHEN NOT {ref} THEN '0' END"


def _date(ref: str) -> str:
    return f"to_char({ref}, 'YYYY-MM-DD')"


def _number(ref: str) -> str:
    # Python's repr of a float: an integral value below 1e16 with ".0", otherwise the shortest text
    # that reads back the same float (PostgreSQL's float8 output since version 12, as Python's).
    v = f"({ref})::float8"
    return (f"CASE WHEN {v} = 'NaN'::float8 THEN 'nan' WHEN {v} = 'Infinity'::float8 THEN 'inf' "
            f"WHEN {v} = '-Infinity'::float8 THEN '-inf' "
            f"WHEN {v} = trunc({v}) AND abs({v}) < 1e16 THEN ({v})::bigint::text || '.0' "
            f"ELSE ({v})::text END")


def _datetime(ref: str) -> str:
    # In the current time zone, set for the COPY (`copy_rows`).
    return (f"CASE WHEN date_trunc('second', {ref}) = {ref} THEN to_char({ref}, 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM') "
            f"ELSE to_char({ref}, 'YYYY-MM-DD\"T\"HH24:MI:SS.USTZH:TZM') END")


def _json(ref: str) -> str:
    # Checked beforehand (`_json_plain`): a list of texts, written as PostgreSQL writes it, or an
    # object of plain values, its keys sorted by code point as `json.dumps(sort_keys=True)` sorts them.
    return (f"CASE WHEN jsonb_typeof({ref}) = 'array' AND {ref} <> '[]'::jsonb THEN {ref}::text "
            f"WHEN jsonb_typeof({ref}) = 'object' AND {ref} <> '{{}}'::jsonb THEN (SELECT '{{' || string_agg("
            f"to_jsonb(e.key)::text || ': ' || e.value::text, ', ' ORDER BY e.key COLLATE \"C\") || '}}' "
            f"FROM jsonb_each({ref}) AS e) END")


def _formatters() -> dict:
    return {"text": _text, "integer": _integer, "boolean": _boolean, "date": _date, "number": _number,
            "datetime": _datetime, "json": _json}


# A JSON value PostgreSQL writes as `json.dumps` does: a list of texts, or an object whose values are
# texts, booleans, nulls or numbers that Python writes without an exponent (1e-4 <= |x| < 1e16).
_PLAIN_JSON = """jsonb_typeof({c}) = 'null'
    OR (jsonb_typeof({c}) = 'array' AND NOT jsonb_path_exists({c}, 'strict $[*] ? (@.type() != "string")'))
    OR (jsonb_typeof({c}) = 'object' AND NOT jsonb_path_exists({c}, 'strict $.* ? (@.type() == "object"
        || @.type() == "array" || (@.type() == "number" && @ != 0 && ((@ < 0.0001 && @ > -0.0001)
        || @ >= 10000000000000000 || @ <= -10000000000000000)))'))"""


def _json_plain(model, column: str) -> bool:
    """Whether every value of the model's JSON column is written by SQL as Python writes it."""
    table = connection.ops.quote_name(model._meta.db_table)
    name = connection.ops.quote_name(column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {name} IS NOT NULL AND NOT ("
                       f"{_PLAIN_JSON.format(c=name)}))")
        return not cursor.fetchone()[0]


def _select(queryset, expressions: list[str]) -> str:
    """The SELECT of `expressions` (with {0}, {1}... for the queryset's columns) over the
    queryset's rows, in its order (PostgreSQL keeps a sorted subquery's order)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        inner = cursor.cursor.mogrify(sql, params).decode()
    count = len(queryset.query.values_select) + len(queryset.query.annotation_select)
    refs = [f"t.c{i}" for i in range(count)]
    columns = ", ".join(_COLUMN.sub(lambda m: refs[int(m.group(1))], e) for e in expressions)
    return f"SELECT {columns} FROM ({inner}) AS t({', '.join(f'c{i}' for i in range(count))})"


def plain_select(domain, queryset) -> str | None:
    """The SELECT writing the domain's rows as the Python writer does; None when SQL cannot."""
    formatters = _formatters()
    expressions = []
    for column in domain.columns:
        kind = describe(domain.model, column).type
        format_ = formatters.get(kind)
        if format_ is None:
            return None
        if kind == "json":
            fld = domain.model._meta.get_field(column.path) if "__" not in column.path else None
            if fld is None or not _json_plain(domain.model, fld.column):
                return None
        expressions.append(format_("{%d}" % len(expressions)))
    return _select(queryset, expressions)


def lab_selects(study, site_ids) -> list[str]:
    """The two SELECTs of the labs file (screening labs, then visit labs), its columns as
    `export_domains._lab_rows` writes them."""
    f = _formatters()
    number, text = f["number"], f["text"]
    units = _lab_units()
    si = ("CASE {0} " + " ".join(f"WHEN {_literal(code)} THEN {_literal(unit)}" for code, unit in units.items() if unit)
          + " END") if any(units.values()) else "NULL"
    screening, visits = _lab_querysets(study, site_ids)
    # screening: study_number, number, sampled_on, analyte, entered_value, entered_unit, value, report_lln,
    # report_uln, lln, uln, range_source
    values = [number("{4}"), text("{5}"), number("{6}"), si.format("{3}"), number("{7}"), number("{8}"),
              number("{9}"), number("{10}"), text("{11}")]
    first = _select(screening, [text("{0}"), text("{1}"), "'screening'", "NULL", f["date"]("{2}"), text("{3}"),
                                *values])
    # visits: study_number, number, visit, assessment, date, analyte, then as above one place further
    values = [number("{6}"), text("{7}"), number("{8}"), si.format("{5}"), number("{9}"), number("{10}"),
              number("{11}"), number("{12}"), text("{13}")]
    second = _select(visits, [text("{0}"), text("{1}"), "COALESCE(NULLIF({2}, ''), 'unscheduled')",
                              _integer("{3}"), f["date"]("{4}"), text("{5}"), *values])
    return [first, second]


class _Rows:
    """The file object PostgreSQL's rows are copied into (one `write` per row): each row ended with
    CRLF, gathered and written to the zip member by the megabyte."""

    def __init__(self, raw, counter):
        self.raw, self.counter, self.buffer, self.rows, self.reported = raw, counter, bytearray(), 0, 0

    def write(self, row: bytes) -> None:
        buffer = self.buffer
        buffer += row[:-1]
        buffer += b"\r\n"
        self.rows += 1
        if len(buffer) > FLUSH:
            self.flush()

    def flush(self) -> None:
        self.raw.write(self.buffer)
        self.buffer.clear()
        self.counter.advance(self.rows - self.reported)
        self.reported = self.rows


def copy_rows(selects: list[str], raw, counter) -> int:
    """Copy the rows of `selects`, one after the other, into the zip member `raw`; the rows written."""
    rows = _Rows(raw, counter)
    zone = getattr(timezone.get_current_timezone(), "key", None) or timezone.get_current_timezone_name()
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('TimeZone')")
        session = cursor.fetchone()[0]
        cursor.execute("SELECT set_config('TimeZone', %s, false)", [zone])
        try:
            for select in selects:
                cursor.cursor.copy_expert(f"COPY ({select}) TO STDOUT WITH (FORMAT csv)", rows)
        finally:
            cursor.execute("SELECT set_config('TimeZone', %s, false)", [session])
    rows.flush()
    return rows.rows
