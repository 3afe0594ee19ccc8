"""Export benchmark (issue 15 target: exports > 50,000 lab rows/s with < 200 MB peak memory).

For each format (CSV zip, Excel workbook, ODM XML), the study's export at all its sites written
by the format's writer into a temporary file, as the export task does: the lab rows (screening
and visit lab values) per second of the whole export, the rows written, the file's size, and the
peak memory in two ways: the peak of the Python allocations (tracemalloc, a second run, since
tracing slows the run down) and the peak growth of the process's resident memory over the run
(sampled every 20 ms from /proc/self/statm; the growth of ru_maxrss where there is no /proc). The
rate is over the wall time of the whole export (every table, not the labs alone); the CPU time of
this process is printed beside it (on a shared machine the wall time varies with the load). The
ODM export runs twice: `odm-all` writes every subject (none kept: the study's first ODM export, or
the first after the product's code or the study's metadata changed), `odm-kept` is the next one,
which copies the subjects kept by the first (`followup.export_odm_kept`); `--odm-changes 10 100`
then changes that many participants' data and exports again (`odm-10`, `odm-100`: those written
again, the others copied).

    DEBUG=1 .venv/bin/python bench/exports.py --sizes 200            # a synthetic study, rolled back
    DATABASE_URL=postgres://... DEBUG=1 .venv/bin/python bench/exports.py --study SYN10K

`--sizes` builds each synthetic study (`followup.synthetic`) in a transaction rolled back at the
end; `--study` exports a study already in the database (a copy of a large one).
"""
import argparse
import os
import resource
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from django.db.models import F, QuerySet  # noqa: E402

from enrollment.models import Participant, ScreeningLab  # noqa: E402
from followup.exports import WRITERS, one_snapshot  # noqa: E402
from followup.models import KeptOdmSubject, LabResult  # noqa: E402
from followup.synthetic import build_synthetic_study  # noqa: E402
from trials.accounts import user_upsert  # noqa: E402
from trials.audit_context import change_context  # noqa: E402
from trials.models import Study  # noqa: E402
from trials.services import studies_load  # noqa: E402

TARGET_ROWS_PER_S = 50_000
TARGET_PEAK_MB = 200
MB = 1024 * 1024
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident() -> int | None:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * PAGE
    except OSError:
        return None


class RssPeak:
    """The peak growth of the resident memory while in the block (sampled in a thread)."""

    def __enter__(self):
        self.start = resident()
        self.maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self.peak, self._stop = self.start or 0, threading.Event()
        if self.start is not None:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, resident() or 0)

    def __exit__(self, *exc):
        self._stop.set()
        if self.start is None:
            self.growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - self.maxrss
        else:
            self._thread.join()
            self.peak = max(self.peak, resident() or 0)
            self.growth = self.peak - self.start


def write(fmt: str, study, sites) -> tuple[int, int]:
    """Run the format's writer as the export task does; (rows written, file size)."""
    writer = WRITERS[fmt]
    function = writer.load()
    # In one snapshot, as the task reads (its copies then run ahead, `export_copy.copies_ahead`); a
    # study built by the bench is read in the bench's transaction, the copies one after the other.
    with tempfile.TemporaryFile() as out, one_snapshot(0):
        rows = function(study, sites=sites, out=out, locked=False, progress=lambda percent: None)
        return rows, out.tell()


def lab_rows(study, sites) -> int:
    site_ids = [s.pk for s in sites]
    return (ScreeningLab.objects.filter(screening__study=study, screening__site_id__in=site_ids).count()
            + LabResult.objects.filter(assessment__participant__study=study,
                                       assessment__participant__site_id__in=site_ids).count())


def measure(study, formats, changes=()) -> None:
    sites = list(study.sites.order_by("code"))
    labs = lab_rows(study, sites)
    print(f"  {study.code}: {labs} lab rows, sites {', '.join(s.code for s in sites)}")
    print(f"  {'format':<8} {'seconds':>8} {'CPU s':>6} {'lab rows/s':>11} {'rows':>9} {'file MB':>8} "
          f"{'tracemalloc peak MB':>20} {'RSS growth MB':>14}")
    for fmt in formats:
        if WRITERS[fmt].load() is None:
            print(f"  {fmt:<8} not available")
            continue
        # The ODM export twice: every subject written (none kept: a study's first export, or the
        # first after the product's code changed), then the next export, the subjects kept copied.
        for label, forget in ((("odm-all", True), ("odm-kept", False)) if fmt == "odm" else ((fmt, False),)):
            with RssPeak() as rss:
                if forget:
                    forget_kept(study)
                start, cpu = time.perf_counter(), time.process_time()
                rows, size = write(fmt, study, sites)
                seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            if forget:
                forget_kept(study)
            tracemalloc.start()
            write(fmt, study, sites)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rate = labs / seconds if seconds else 0
            verdict = "ok" if rate > TARGET_ROWS_PER_S and max(peak, rss.growth) < TARGET_PEAK_MB * MB else "MISSES"
            print(f"  {label:<8} {seconds:>8.1f} {cpu:>6.1f} {rate:>11,.0f} {rows:>9} {size / MB:>8.1f} "
                  f"{peak / MB:>20.1f} {rss.growth / MB:>14.1f}  {verdict}")
        for n in changes if fmt == "odm" else ():
            change(study, n)
            start, cpu = time.perf_counter(), time.process_time()
            rows, size = write(fmt, study, sites)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            print(f"  {f'odm-{n}':<8} {seconds:>8.1f} {cpu:>6.1f} {labs / seconds:>11,.0f} {rows:>9} {size / MB:>8.1f}"
                  f"  (after {n} participants' data changed)")


def change(study, n: int) -> None:
    """`n` participants' data changed: a seventh of their lab values corrected through the history,
    their participant rows outside it (the next ODM export writes them again)."""
    ids = list(Participant.objects.filter(study=study).order_by("?").values_list("pk", flat=True)[:n])
    labs = list(LabResult.objects.filter(assessment__participant__in=ids).values_list("pk", flat=True))
    with transaction.atomic(), change_context(by=None, reason="Bench: values corrected"):
        LabResult.objects.filter(pk__in=labs[::7]).update(value=F("value") + 1)
        QuerySet.update(Participant.objects.filter(pk__in=ids), withdrawal_detail=f"Bench: {n} changed")


def forget_kept(study) -> None:
    """The study's kept ODM subjects deleted: the next ODM export writes every subject."""
    KeptOdmSubject.objects.filter(study=study).delete()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[])
    parser.add_argument("--study", help="export this study of the database instead of building one")
    parser.add_argument("--formats", nargs="+", default=list(WRITERS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--odm-changes", type=int, nargs="*", default=[],
                        help="after the ODM exports, change that many participants' data and export again")
    args = parser.parse_args()
    print(f"database: {connection.vendor}; target > {TARGET_ROWS_PER_S:,} lab rows/s, "
          f"< {TARGET_PEAK_MB} MB peak memory")
    if args.study:
        measure(Study.objects.get(code=args.study), args.formats, args.odm_changes)
    if not args.study and not args.sizes:
        args.sizes = [200]
    if args.sizes:
        studies_load()
        user = user_upsert(username="bench", role="investigator", site_code="PUMCH",
                           password="Bench-runner-2026").user
    for size in args.sizes:
        with transaction.atomic():
            study = build_synthetic_study(participants=size, seed=args.seed, by=user, code=f"BENCH-EXP-{size}",
                                          today=timezone.localdate())
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
            print(f"\nN = {size}")
            measure(study, args.formats, args.odm_changes)
            transaction.set_rollback(True)


if __name__ == "__main__":
    main()
