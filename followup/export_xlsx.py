"""The Excel writer of a data export: one workbook written in openpyxl's write-only mode (rows
streamed to the file as they come, constant memory), a sheet per domain of
`followup.export_domains` and a "Data dictionary" sheet. Without openpyxl installed this module
does not import and the export format says it is not available (`followup.exports.WRITERS`).
"""
from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from .export_csv import prepared
from .export_domains import DICTIONARY_COLUMNS, dictionary_rows, domain_rows


def clean(value):
    # A control character (other than tab and new lines) has no place in a worksheet cell.
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def sheet_title(name: str) -> str:
    return name[:31]


def write_xlsx(study, *, sites, out, locked: bool, progress: Callable[[int], None] | None = None) -> int:
    """Write the Excel workbook into `out`; the number of data rows written."""
    site_ids, domains, counter = prepared(study, sites, progress)
    workbook = Workbook(write_only=True)
    rows = 0
    for domain in domains:
        sheet = workbook.create_sheet(sheet_title(domain.name))
        sheet.append([c.name for c in domain.columns])
        for row in domain_rows(domain, study, site_ids):
            sheet.append([clean(value) for value in row])
            rows += 1
            counter.tick()
    sheet = workbook.create_sheet(sheet_title(_("Data dictionary")))
    sheet.append(DICTIONARY_COLUMNS)
    for row in dictionary_rows(study, domains, ""):
        sheet.append(row)
    workbook.save(out)
    return rows
