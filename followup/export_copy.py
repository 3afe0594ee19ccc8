"""The CSV files and worksheets of an export streamed by PostgreSQL itself (`COPY (SELECT ...) TO
STDOUT WITH (FORMAT csv)`), for the domains where SQL writes exactly the text the Python writers
(`followup.export_csv`, `followup.export_xlsx`) write; the others, and every domain on SQLite, go
through Python.

Each column is formatted in the SELECT as the Python writer formats its value
(`followup.export_domains.converter`): text as it is (an empty text is an empty field, as NULL
is), integers in decimal, booleans 1/0, dates ISO 8601, times ISO 8601 in the current time zone
with their offset (microseconds only when there are some), numbers as Python's `repr` of the float
(`1.0`, `0.25`, `1e-05`; a non-integral value between 1e15 and 1e16 would differ), a JSON list
of texts or object of plain values as `json.dumps(sort_keys=True)` writes it (a domain whose JSON
column holds anything else is written by Python). PostgreSQL ends each row with LF; the rows are
received one at a time and each is ended with CRLF, as Python's csv module ends them (a line break
inside a quoted value is kept as it is). A worksheet's rows are each one text, the <row> element
as `export_xlsx` writes it. The result is byte-for-byte the Python writers'
(`followup/tests/test_export_copy.py`).

When the export reads one snapshot (`followup.exports.one_snapshot`) the domains' copies run ahead
(`copies_ahead`), `COPY_WORKERS` at a time, each on a connection of its own reading that same
snapshot (exported by `pg_export_snapshot`, as `pg_dump --jobs` does) into a temporary file, while
the writer deflates the files already copied into the zip in the domains' order: the database's
work (most of an export's time) is shared among its processes.
"""
from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone, translation

from .export_domains import _lab_querysets, _lab_units, describe

FLUSH = 1 << 20  # bytes gathered before they go to the zip member (deflated as they are written)
# The copies run at once when the export reads one snapshot (`copies_ahead`): the database's
# processes sharing the work, the writer deflating beside them.
COPY_WORKERS = 2
# The memory of each of the database's sorts during a copy: the lab values of 10,000 participants
# (100,000 rows) are sorted in memory rather than on disk (4 MB by default).
WORK_MEM = "32MB"
# No JIT compilation during a copy: the long expressions that write each row's text can take the
# database longer to compile than to run (the infusions' worksheet of 10,000 participants, planned
# without parallel workers: 3.6 s of the database's CPU with it, 1.4 s without).
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


@dataclass
class Select:
    """The rows of a queryset, each column a (dictionary type, SQL expression with {0}, {1}... for
    the queryset's columns) formatted as the Python writer writes it."""

    queryset: object
    cells: list[tuple[str, str]]

    def _inner(self) -> tuple[str, list[str]]:
        sql, params = self.queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            inner = cursor.cursor.mogrify(sql, params).decode()
        count = len(self.queryset.query.values_select) + len(self.queryset.query.annotation_select)
        return inner, [f"c{i}" for i in range(count)]

    def _columns(self, refs) -> list[str]:
        return [_COLUMN.sub(lambda m: refs[int(m.group(1))], sql) for _, sql in self.cells]

    def csv(self) -> str:
        """The SELECT of the CSV rows, in the queryset's order (PostgreSQL keeps a sorted subquery's order)."""
        inner, names = self._inner()
        return f"SELECT {', '.join(self._columns([f't.{n}' for n in names]))} FROM ({inner}) AS t({', '.join(names)})"

    def xml(self, letters: list[str], first_row: int) -> str:
        """The SELECT of one text per row: the worksheet's <row> as `export_xlsx` writes it, the
        rows numbered from `first_row` (each value formatted once, in a subquery, then wrapped).
        The texts are searched for what a cell must escape or shorten once per row, all together:
        the rare row that holds any has each of its texts escaped, the others are written as they are."""
        inner, names = self._inner()
        columns = self._columns([f"t.{n}" for n in names])
        values = ", ".join(f"{sql} AS f{i}" for i, sql in enumerate(columns))
        texts = [f"u.f{i}" for i, (kind, _) in enumerate(self.cells) if kind not in PLAIN]

        def row(escaped: bool) -> str:
            cells = ", ".join(_xml_cell(kind, letter, f"u.f{i}", escaped)
                              for i, ((kind, _), letter) in enumerate(zip(self.cells, letters, strict=True)))
            return f"concat('<row r=\"', u.n, '\">', {cells}, '</row>')"

        select = row(True) if not texts else (
            f"CASE WHEN u.s ~ {_SPECIAL} OR length(u.s) > 32767 THEN {row(True)} ELSE {row(False)} END")
        every_text = f", concat({', '.join(t.replace('u.', 't2.') for t in texts)}) AS s" if texts else ""
        numbered = (f"SELECT (row_number() OVER () + {int(first_row) - 1})::text AS n, {values} "
                    f"FROM ({inner}) AS t({', '.join(names)})")
        if not texts:
            return f"SELECT {select} FROM ({numbered}) AS u"
        return (f"SELECT {select} FROM (SELECT t2.*{every_text} FROM ({numbered}) AS t2) AS u")


NUMERIC = {"integer", "number", "boolean"}
# Written as they are in a worksheet: no markup, no control character, never long.
PLAIN = NUMERIC | {"date", "datetime"}
# The control characters a worksheet cell cannot hold (other than tab and line breaks), left out.
_CONTROL = "E'" + "".join(f"\\x{c:02x}" for c in range(1, 32) if c not in (9, 10, 13)) + "'"
_SPECIAL = "E'[&<>" + "".join(f"\\x{c:02x}" for c in range(1, 32) if c not in (9, 10, 13)) + "]'"


def _xml_cell(kind: str, letter: str, value: str, escaped: bool = True) -> str:
    """A cell as `export_xlsx._cell` writes it: a number as a number, any other value as an inline
    text (escaped, without control characters, at most 32,767 characters; not `escaped`: a text
    known to need none of it); NULL: no cell (the cell's `||` is NULL, which the row's `concat`
    leaves out)."""
    start = f"'<c r=\"{letter}' || u.n || '\""
    text = value if kind in PLAIN or not escaped else (
        f"CASE WHEN {value} ~ {_SPECIAL} OR length({value}) > 32767 THEN replace(replace(replace(left(translate("
        f"{value}, {_CONTROL}, ''), 32767), '&', '&amp;'), '<', '&lt;'), '>', '&gt;') ELSE {value} END")
    inline = f"({start} t=\"inlineStr\"><is><t xml:space=\"preserve\">' || {text} || '</t></is></c>')"
    if kind not in NUMERIC:
        return inline
    number = f"({start}><v>' || {value} || '</v></c>')"
    if kind == "number":  # not a finite number: a text, as Python writes it
        return f"CASE WHEN {value} IN ('nan', 'inf', '-inf') THEN {inline} ELSE {number} END"
    return number


def plain_select(domain, queryset) -> Select | None:
    """The rows of the domain as the Python writer writes them; None when SQL cannot."""
    formatters = _formatters()
    cells = []
    for column in domain.columns:
        kind = describe(domain.model, column).type
        format_ = formatters.get(kind)
        if format_ is None:
            return None
        if kind == "json":
            fld = domain.model._meta.get_field(column.path) if "__" not in column.path else None
            if fld is None or not _json_plain(domain.model, fld.column):
                return None
        cells.append((kind, format_("{%d}" % len(cells))))
    return Select(queryset, cells)


def lab_selects(study, site_ids) -> list[Select]:
    """The rows of the labs file (screening labs, then visit labs), its columns as
    `export_domains._lab_rows` writes them."""
    f = _formatters()
    number, text = f["number"], f["text"]
    units = _lab_units()
    si = ("CASE {0} " + " ".join(f"WHEN {_literal(code)} THEN {_literal(unit)}" for code, unit in units.items() if unit)
          + " END") if any(units.values()) else "NULL"

    def values(at: int) -> list[tuple[str, str]]:
        # entered_value, entered_unit, value, the SI unit of the analyte (one place before), report_lln,
        # report_uln, lln, uln, range_source
        n = [f"{{{at + i}}}" for i in range(8)]
        return [("number", number(n[0])), ("text", text(n[1])), ("number", number(n[2])),
                ("text", si.format(f"{{{at - 1}}}")), ("number", number(n[3])), ("number", number(n[4])),
                ("number", number(n[5])), ("number", number(n[6])), ("text", text(n[7]))]

    screening, visits = _lab_querysets(study, site_ids)
    # screening: study_number, number, sampled_on, analyte, then the values
    first = Select(screening, [("text", text("{0}")), ("text", text("{1}")), ("text", "'screening'"),
                               ("integer", "NULL"), ("date", f["date"]("{2}")), ("text", text("{3}")), *values(4)])
    # visits: study_number, number, visit, assessment, date, analyte, then the values
    second = Select(visits, [("text", text("{0}")), ("text", text("{1}")),
                             ("text", "COALESCE(NULLIF({2}, ''), 'unscheduled')"), ("integer", _integer("{3}")),
                             ("date", f["date"]("{4}")), ("text", text("{5}")), *values(6)])
    return [first, second]


class _Rows:
    """The file object PostgreSQL's rows are copied into (one `write` per row): each row's line end
    replaced by `end`, gathered and written to the zip member by the megabyte (without `strip`)."""

    def __init__(self, raw, counter, end: bytes, strip: bytes | None):
        self.raw, self.counter, self.end, self.strip = raw, counter, end, strip
        self.buffer, self.rows, self.reported = bytearray(), 0, 0

    def write(self, row: bytes) -> None:
        buffer = self.buffer
        buffer += row[:-1]
        buffer += self.end
        self.rows += 1
        if len(buffer) > FLUSH:
            self.flush()

    def flush(self) -> None:
        buffer = self.buffer
        # The quote is there only around a row holding a line break: most blocks are written as they are.
        self.raw.write(buffer.replace(self.strip, b"") if self.strip and self.strip in buffer else buffer)
        buffer.clear()
        if self.counter is not None:
            self.counter.advance(self.rows - self.reported)
        self.reported = self.rows


_SETTINGS = "SELECT set_config('TimeZone', %s, false), set_config('work_mem', %s, false), set_config('jit', %s, false)"


def _copy(statements, rows: _Rows, options: str) -> int:
    zone = getattr(timezone.get_current_timezone(), "key", None) or timezone.get_current_timezone_name()
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('TimeZone'), current_setting('work_mem'), current_setting('jit')")
        session = cursor.fetchone()
        cursor.execute(_SETTINGS, [zone, WORK_MEM, "off"])
        try:
            for statement in statements:
                cursor.cursor.copy_expert(f"COPY ({statement(rows.rows)}) TO STDOUT WITH ({options})", rows)
        finally:
            cursor.execute(_SETTINGS, session)
    rows.flush()
    return rows.rows


def copy_rows(selects: list[Select], raw, counter) -> int:
    """Copy the CSV rows of `selects`, one after the other, into the zip member `raw` (each row
    ended with CRLF); the rows written."""
    return _copy([lambda _, select=select: select.csv() for select in selects], _Rows(raw, counter, b"\r\n", None),
                 "FORMAT csv")


def copy_sheet_rows(selects: list[Select], raw, counter, letters: list[str], first_row: int) -> int:
    """Copy the worksheet rows of `selects` into the zip member `raw`, numbered from `first_row`; the
    rows written. Each row is one field of a CSV whose quote (\\x01) and delimiter (\\x02) are
    characters no cell holds: a row is quoted only when a text holds a line break, and the quotes
    are taken out."""
    statements = [lambda done, select=select: select.xml(letters, first_row + done) for select in selects]
    return _copy(statements, _Rows(raw, counter, b"", b"\x01"),
                 "FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02'")


def sheet_job(selects: list[Select], letters: list[str], first_row: int) -> Callable:
    """The worksheet rows of `selects` copied into a file (`copy_sheet_rows`), for `copies_ahead`."""
    return lambda raw: copy_sheet_rows(selects, raw, None, letters, first_row)


def csv_job(selects: list[Select]) -> Callable:
    """The CSV rows of `selects` copied into a file (`copy_rows`), for `copies_ahead`."""
    return lambda raw: copy_rows(selects, raw, None)


def _exported_snapshot() -> str | None:
    """The snapshot the export reads, exported for other connections to read the same data; None
    unless the export reads one (a REPEATABLE READ transaction on PostgreSQL)."""
    if not available() or not connection.in_atomic_block:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('transaction_isolation')")
        if cursor.fetchone()[0] != "repeatable read":
            return None
        cursor.execute("SELECT pg_export_snapshot()")
        return cursor.fetchone()[0]


@contextmanager
def copies_ahead(jobs: dict[str, Callable]) -> Iterator[dict[str, Future] | None]:
    """Each job (rows copied into the file it is given; the rows copied) started at once on
    `COPY_WORKERS` threads, each job on a connection of its own reading the export's snapshot, in
    the time zone and language of the caller: per job a future of (the temporary file at its start,
    the rows). None (nothing started) unless the export reads one snapshot. The files are closed,
    and the jobs not started cancelled, on leaving."""
    snapshot = _exported_snapshot() if jobs else None
    if snapshot is None:
        yield None
        return
    zone, language = timezone.get_current_timezone(), translation.get_language()

    def run(job):
        timezone.activate(zone)
        translation.activate(language)
        out = tempfile.TemporaryFile()
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    cursor.execute("SET TRANSACTION SNAPSHOT %s", [snapshot])
                rows = job(out)
        except BaseException:
            out.close()
            raise
        finally:
            connection.close()
        out.seek(0)
        return out, rows

    pool = ThreadPoolExecutor(max_workers=COPY_WORKERS, thread_name_prefix="export-copy")
    futures = {key: pool.submit(run, job) for key, job in jobs.items()}
    try:
        yield futures
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for future in futures.values():
            if future.done() and not future.cancelled() and future.exception() is None:
                future.result()[0].close()


def largest_first(jobs: dict[str, Callable], selects: dict[str, list[Select]]) -> dict[str, Callable]:
    """`jobs` (of `copies_ahead`, keyed as `selects`), the largest first: the planner's count of rows
    of each select's table times its columns. Copied in that order by two connections, the longest
    copy does not start last and end alone (one statement)."""
    tables = {name: [(found.queryset.model._meta.db_table, len(found.cells)) for found in selects[name]]
              for name in jobs}
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%s)",
                       [sorted({table for found in tables.values() for table, _cells in found})])
        rows = {name: max(count, 0) for name, count in cursor.fetchall()}
    weight = {name: sum(rows.get(table, 0) * cells for table, cells in found) for name, found in tables.items()}
    return dict(sorted(jobs.items(), key=lambda job: -weight[job[0]]))


def as_copied(futures: dict[str, Future]) -> Iterator[tuple[str, Future]]:
    """The jobs of `copies_ahead` (key, future) as their copies end."""
    keys = {future: key for key, future in futures.items()}
    for future in as_completed(keys):
        yield keys[future], future


def copied(future: Future, raw, counter) -> int:
    """The rows a job of `copies_ahead` copied, written into the zip member `raw`; the rows."""
    out, rows = future.result()
    with out:
        shutil.copyfileobj(out, raw, FLUSH)
    if counter is not None:
        counter.advance(rows)
    return rows
