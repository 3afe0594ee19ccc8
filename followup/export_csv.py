"""The CSV writer of a data export (`followup.export_domains` says what they hold); the Excel
writer (`followup.export_xlsx`) shares its progress reports.

A zip with one UTF-8 file per domain (with a byte-order mark, so that Excel reads the Chinese
text) and `data_dictionary.csv`. It streams: rows are read in chunks and written
as they come, so memory stays constant whatever the study's size. Each writer takes the study,
the sites whose data it exports, the binary file to write into, and returns the rows written.
"""
from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable

from . import export_copy
from .export_domains import (DICTIONARY_COLUMNS, described_domains, dictionary_rows, domain_count, domain_queryset,
                             domain_rows)

TICK = 2000  # rows between two progress reports
# zlib's level: 1 deflates about three times faster than the default 6, into files about a fifth larger.
COMPRESSION = 1


class Progress:
    """Reports the share of rows written (0-99; the caller says 100 once the file is stored)."""

    def __init__(self, report: Callable[[int], None] | None, total: int):
        self.report, self.total, self.done, self._next = report, max(total, 1), 0, TICK

    def tick(self) -> None:
        self.done += 1
        if self.report is not None and self.done >= self._next:
            self._next += TICK
            self.report(min(99, self.done * 100 // self.total))

    def advance(self, rows: int) -> None:
        """`rows` more rows written at once."""
        self.done += rows
        if self.report is not None and self.done >= self._next:
            self._next = self.done + TICK
            self.report(min(99, self.done * 100 // self.total))


def prepared(study, sites, progress):
    site_ids = sorted(site.pk for site in sites)
    domains = described_domains()
    total = sum(domain_count(d, study, site_ids) for d in domains) if progress is not None else 1
    return site_ids, domains, Progress(progress, total)


def write_csv(study, *, sites, out, locked: bool, progress: Callable[[int], None] | None = None,
              copy: bool | None = None) -> int:
    """Write the zip of CSV files into `out`; the number of data rows written (`locked` is the
    export's record of the lock, said in the dictionary's file name comment). On PostgreSQL the
    domains SQL can write are copied by the database (`followup.export_copy`; `copy=False`: every
    domain through Python)."""
    site_ids, domains, counter = prepared(study, sites, progress)
    copy = export_copy.available() if copy is None else copy
    selects = {domain.name: copy_selects(domain, study, site_ids) for domain in domains} if copy else {}
    jobs = {name: export_copy.csv_job(found) for name, found in selects.items() if found is not None}
    rows = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESSION) as archive, \
            export_copy.copies_ahead(jobs) as ahead:
        for domain in domains:
            with archive.open(f"{domain.name}.csv", "w") as raw:
                header = io.StringIO()
                csv.writer(header).writerow([c.name for c in domain.columns])
                raw.write(header.getvalue().encode("utf-8-sig"))
                if ahead is not None and domain.name in ahead:
                    rows += export_copy.copied(ahead[domain.name], raw, counter)
                    continue
                if selects.get(domain.name) is not None:
                    rows += export_copy.copy_rows(selects[domain.name], raw, counter)
                    continue
                text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                writer = csv.writer(text)
                for row in domain_rows(domain, study, site_ids):
                    writer.writerow(row)
                    rows += 1
                    counter.tick()
                text.flush()
                text.detach()
        with archive.open("data_dictionary.csv", "w") as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            writer = csv.writer(text)
            writer.writerow(DICTIONARY_COLUMNS)
            writer.writerows(dictionary_rows(study, domains, ".csv"))
            text.flush()
            text.detach()
    return rows


def copy_selects(domain, study, site_ids) -> list | None:
    """The `export_copy.Select`s of the domain's rows; None when Python writes them."""
    if domain.name == "labs":
        return export_copy.lab_selects(study, site_ids)
    if domain.rows is not None:
        return None  # the study-defined items: one row per answer of a JSON object, written by Python
    select = export_copy.plain_select(domain, domain_queryset(domain, study, site_ids))
    return [select] if select is not None else None
