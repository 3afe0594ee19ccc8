"""The Excel writer of a data export: one workbook (Office Open XML, .xlsx), a sheet per domain of
`followup.export_domains` and a "Data dictionary" sheet.

The workbook is written directly as the zip of XML parts that the format is, each sheet's rows
streamed into its part as they are read (text as inline strings, numbers as numbers, empty cells
left out): memory stays constant and the rows go out about as fast as the CSV writer's (a
spreadsheet library building cell objects was several times slower). Any reader of .xlsx files
(Excel, LibreOffice, openpyxl) opens it. On PostgreSQL the database writes the rows' XML
(`followup.export_copy`), byte-for-byte the same.
"""
from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Callable, Iterable
from functools import partial
from xml.sax.saxutils import escape, quoteattr

from django.utils.translation import gettext as _

from . import export_copy
from .export_csv import COMPRESSION, copy_selects, prepared
from .export_domains import DICTIONARY_COLUMNS, dictionary_rows, domain_rows

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
HEADER = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# A control character (other than tab and new lines) has no place in a worksheet cell.
ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f]")  # a text `_cell` changes
MAX_TEXT = 32767  # the longest text a cell holds
STYLES = (f'<styleSheet xmlns="{MAIN}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
          '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
          '</fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
          '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
          '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
          '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')


def clean(value):
    return ILLEGAL.sub("", value) if isinstance(value, str) else value


def sheet_title(name: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", " ", name)[:31]


def column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _cell(ref: str, value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float) and (not isinstance(value, float) or math.isfinite(value)):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    text = escape(ILLEGAL.sub("", str(value))[:MAX_TEXT])
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


class Workbook:
    """Sheets written into the zip `out`, each at its place in the workbook (1 for the first), in any
    order (the sheets copied ahead are written as their copies end); `close` adds the workbook's parts."""

    def __init__(self, out):
        self.archive = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESSION)
        self.titles: dict[int, str] = {}

    def _placed(self, title: str, place: int) -> str:
        """The member of the sheet `title` at `place`."""
        self.titles[place] = sheet_title(title)
        return f"xl/worksheets/sheet{place}.xml"

    def sheet(self, title: str, rows: Iterable[list], tick: Callable[[], None] | None = None, *, place: int) -> int:
        """Write a sheet of `rows` (the first, its header, not counted); the rows written."""
        count, letters = 0, []
        with self.archive.open(self._placed(title, place), "w", force_zip64=True) as raw:
            raw.write(f'{HEADER}<worksheet xmlns="{MAIN}"><sheetData>'.encode())
            parts = []
            for number, row in enumerate(rows, 1):
                while len(letters) < len(row):
                    letters.append(column_letters(len(letters)))
                parts.append(f'<row r="{number}">')
                # What `_cell` writes, the common cases inline (a text needing no change, an int, a float).
                for letter, value in zip(letters, row):
                    kind = type(value)
                    if kind is str:
                        if not value:
                            continue
                        if _SPECIAL.search(value) or len(value) > MAX_TEXT:
                            value = escape(ILLEGAL.sub("", value)[:MAX_TEXT])
                        parts.append(f'<c r="{letter}{number}" t="inlineStr"><is><t xml:space="preserve">{value}'
                                     '</t></is></c>')
                    elif value is None:
                        continue
                    elif kind is int or (kind is float and math.isfinite(value)):
                        parts.append(f'<c r="{letter}{number}"><v>{value!r}</v></c>')
                    else:
                        parts.append(_cell(f"{letter}{number}", value))
                parts.append("</row>")
                if number > 1:
                    count += 1
                    if tick is not None:
                        tick()
                if len(parts) > 20000:
                    raw.write("".join(parts).encode())
                    parts.clear()
            raw.write("".join(parts).encode())
            raw.write(b"</sheetData></worksheet>")
        return count

    def copied_sheet(self, title: str, header: list[str], rows: Callable[[object], int], *, place: int) -> int:
        """Write a sheet of `header` and the rows PostgreSQL writes (`rows` writes them into the
        sheet's member: `export_copy.copy_sheet_rows`, or `export_copy.copied` when copied ahead),
        byte-for-byte what `sheet` writes of the same rows; the rows written."""
        with self.archive.open(self._placed(title, place), "w", force_zip64=True) as raw:
            cells = "".join(_cell(f"{column_letters(i)}1", v) for i, v in enumerate(header))
            raw.write(f'{HEADER}<worksheet xmlns="{MAIN}"><sheetData><row r="1">{cells}</row>'.encode())
            count = rows(raw)
            raw.write(b"</sheetData></worksheet>")
        return count

    def close(self) -> None:
        sheets = range(1, len(self.titles) + 1)
        if sorted(self.titles) != list(sheets):
            raise RuntimeError(f"The workbook's sheets are at places {sorted(self.titles)}: one is left empty.")
        self.archive.writestr("[Content_Types].xml", HEADER + (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/'
                      f'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for n in sheets)
            + "</Types>"))
        self.archive.writestr("_rels/.rels", HEADER + (
            f'<Relationships xmlns="{PACKAGE_RELATIONSHIPS}"><Relationship Id="rId1" '
            f'Type="{RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'))
        self.archive.writestr("xl/workbook.xml", HEADER + (
            f'<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}"><sheets>'
            + "".join(f'<sheet name={quoteattr(title)} sheetId="{n}" r:id="rId{n}"/>'
                      for n, title in sorted(self.titles.items()))
            + "</sheets></workbook>"))
        self.archive.writestr("xl/_rels/workbook.xml.rels", HEADER + (
            f'<Relationships xmlns="{PACKAGE_RELATIONSHIPS}">'
            + "".join(f'<Relationship Id="rId{n}" Type="{RELATIONSHIPS}/worksheet" Target="worksheets/sheet{n}.xml"/>'
                      for n in sheets)
            + f'<Relationship Id="rId{len(self.titles) + 1}" Type="{RELATIONSHIPS}/styles" Target="styles.xml"/>'
            + "</Relationships>"))
        self.archive.writestr("xl/styles.xml", HEADER + STYLES)
        self.archive.close()


def write_xlsx(study, *, sites, out, locked: bool, progress: Callable[[int], None] | None = None,
               copy: bool | None = None) -> int:
    """Write the Excel workbook into `out`; the number of data rows written. On PostgreSQL the
    rows of the domains SQL can write are written by the database (`followup.export_copy`;
    `copy=False`: every sheet through Python)."""
    site_ids, domains, counter = prepared(study, sites, progress)
    copy = export_copy.available() if copy is None else copy
    selects = {domain.name: copy_selects(domain, study, site_ids) for domain in domains} if copy else {}
    letters = {domain.name: [column_letters(i) for i in range(len(domain.columns))] for domain in domains}
    jobs = {name: export_copy.sheet_job(found, letters[name], 2)
            for name, found in selects.items() if found is not None}
    if jobs and export_copy.available():
        jobs = export_copy.largest_first(jobs, selects)
    workbook = Workbook(out)
    rows = 0
    with export_copy.copies_ahead(jobs) as ahead:
        # The sheets copied ahead are written as their copies end, at their places; the others meanwhile.
        for place, domain in enumerate(domains, 1):
            header = [c.name for c in domain.columns]
            if ahead is not None and domain.name in ahead:
                continue
            if selects.get(domain.name) is not None:
                rows += workbook.copied_sheet(domain.name, header, partial(
                    export_copy.copy_sheet_rows, selects[domain.name], counter=counter, letters=letters[domain.name],
                    first_row=2), place=place)
            else:
                rows += workbook.sheet(domain.name, _chain([header], domain_rows(domain, study, site_ids)),
                                       counter.tick, place=place)
        places = {domain.name: (place, domain) for place, domain in enumerate(domains, 1)}
        for name, future in export_copy.as_copied(ahead or {}):
            place, domain = places[name]
            rows += workbook.copied_sheet(name, [c.name for c in domain.columns],
                                          partial(export_copy.copied, future, counter=counter), place=place)
    workbook.sheet(_("Data dictionary"), _chain([DICTIONARY_COLUMNS], dictionary_rows(study, domains, "")),
                   place=len(domains) + 1)
    workbook.close()
    return rows


def _chain(first: list, rest: Iterable) -> Iterable:
    yield from first
    yield from rest
