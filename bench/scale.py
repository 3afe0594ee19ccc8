"""Scale benchmark (issue targets, README "Performance"): for each N, a synthetic study
(`manage.py make_synthetic_study`) built in a transaction rolled back at the end, then each figure
beside a floor measured in the same run: the outcomes computation, full and after one new count, and
the p95, median and statement count of each study page (participant page, study page, participants list,
grid, worklist, dashboard) for a bench investigator at every site of the synthetic study, and the
dashboard's first read after a write (its cache built again: `followup.dashboard_cache`): a new count,
before and after the outcomes task stored its result, an adverse event (the safety tables moved),
a withdrawal (the participants shown moved). A last
table sets the pages' statement counts side by side: a page's count must not grow with N.

    DATABASE_URL=postgres://... DEBUG=1 .venv/bin/python bench/scale.py --sizes 5 1000 10000 [--repeat 20]
    ... bench/scale.py --study SYN10K [--only grid worklist]   (a study of the database, nothing built)

On PostgreSQL the tables are analysed after the build (as autovacuum does on a live database), so the
planner knows their sizes; the SDV figures are kept per casebook after the build, as the periodic
reconcile keeps them. The dashboard is timed twice: repeated reads (from its cache) and the first
read after a new count saved with its history row (its data version moved, so it is built again).
"""
import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.signals import request_finished  # noqa: E402
from django.db import close_old_connections, connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from enrollment.enums import WithdrawalReason  # noqa: E402
from enrollment.models import Participant  # noqa: E402
from followup.models import AdverseEvent, LabResult  # noqa: E402
from followup.outcomes import outcomes_compute, outcomes_refresh  # noqa: E402
from followup.sdv_recount import sdv_counts_refresh  # noqa: E402
from followup.services import queue_outcomes  # noqa: E402
from followup.synthetic import SITES, build_synthetic_study  # noqa: E402
from trials.accounts import user_upsert  # noqa: E402
from trials.audit_context import change_context  # noqa: E402
from trials.models import Study  # noqa: E402
from trials.services import studies_load  # noqa: E402
from config.warmup import warm  # noqa: E402


def timed(action):
    queries = []
    with connection.execute_wrapper(lambda execute, sql, *a: queries.append(sql) or execute(sql, *a)):
        start = time.perf_counter()
        result = action()
        elapsed = (time.perf_counter() - start) * 1000
    return result, elapsed, len(queries)


PAGES = (("participant page", "/participants/{participant}/"), ("study page", "/studies/{code}/"),
         ("participants list", "/participants/?study={code}"), ("grid", "/studies/{code}/grid/"),
         ("worklist", "/worklist/"), ("deviations", "/studies/{code}/deviations/"),
         ("deviations, last page", "/studies/{code}/deviations/?page=100000"),
         ("dashboard", "/studies/{code}/dashboard/"))
# A page slower than this on its first request is timed fewer times (its p95 is then the worst).
SLOW_MS = 2000


def p95(client, url, repeat):
    _, first, _ = timed(lambda: client.get(url))
    _, _, queries = timed(lambda: client.get(url))
    times = []
    for _ in range(repeat if first < SLOW_MS else 3):
        response, elapsed, _ = timed(lambda: client.get(url))
        assert response.status_code == 200, (url, response.status_code)
        times.append(elapsed)
    worst = statistics.quantiles(times, n=20)[-1] if len(times) >= 20 else max(times)
    return worst, statistics.median(times), queries


def cold(client, url, write, repeat):
    """The page's first read after a write (the dashboard's cache under the study's data version is
    then built again): the median and the p95 (the worst below 20 reads)."""
    times = []
    for _ in range(repeat):
        write()
        if connection.vendor == "postgresql":
            # PostgreSQL raises the data version when the write commits (a deferred trigger); the
            # bench runs in one transaction, so the deferred triggers are fired here as a commit would.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        response, elapsed, _ = timed(lambda: client.get(url))
        assert response.status_code == 200, (url, response.status_code)
        times.append(elapsed)
    worst = statistics.quantiles(times, n=20)[-1] if len(times) >= 20 else max(times)
    return statistics.median(times), worst


def one_size(size, args, user, client) -> dict[str, int]:
    """Print the figures at `size` participants; the statement count of each page."""
    def built():
        study, build_ms, _ = timed(lambda: build_synthetic_study(
            participants=size, seed=args.seed, by=user, code=f"BENCH-{size}", today=timezone.localdate()))
        print(f"\nN = {size}: synthetic study built in {build_ms / 1000:.1f} s")
        return study
    return rolled_back(built, args, user, client)


def one_study(code, args, user, client) -> dict[str, int]:
    """Print the figures of the study `code` already in the database (`--study`), every change made
    to measure them rolled back; the statement count of each page."""
    def found():
        study = Study.objects.get(code=code)
        print(f"\n{code}: {Participant.objects.filter(study=study).count()} participants")
        return study
    return rolled_back(found, args, user, client)


def rolled_back(study_of, args, user, client) -> dict[str, int]:
    """The figures of the study `study_of` gives, in a transaction rolled back at the end."""
    with transaction.atomic():
        counts = figures(study_of(), args, user, client)
        transaction.set_rollback(True)
    gc.unfreeze()
    return counts


def figures(study, args, user, client) -> dict[str, int]:
    """Print the figures of `study` (in the caller's transaction); the statement count of each page."""
    counts = {}
    for code, _name in SITES:  # the bench investigator sees every participant of the study
        user_upsert(username="bench", role="investigator", site_code=code)
    # The SDV figures kept per casebook, as the periodic reconcile keeps them on a live database.
    sdv_counts_refresh(study=study)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    # What the build left in the process is moved out of the cycle collector's reach, with what a web
    # worker loads before its first request (config/wsgi.py, `warm`): a full collection during a timed
    # read would otherwise scan the build's objects, which no web worker holds, and what the worker
    # loaded and froze.
    warm()
    gc.collect()
    gc.freeze()
    floor = min(timed(lambda: list(LabResult.objects.filter(assessment__participant__study=study)
                                   .values_list("assessment__participant_id", "assessment__date", "analyte",
                                                "value")))[1] for _ in range(3))
    full = min(timed(lambda: outcomes_compute(study=study))[1:] for _ in range(3))
    print(f"  floor, one SELECT of the lab values:  {floor:8.0f} ms")
    print(f"  outcomes, full computation:           {full[0]:8.0f} ms  {full[1]} queries  "
          f"ratio {full[0] / floor:.1f}x (target <= 10x)")
    with_labs = Participant.objects.filter(study=study, assessments__labs__analyte="PLT").order_by("pk")
    participant = with_labs.filter(status="completed").first() or with_labs.first()
    lab = LabResult.objects.filter(assessment__participant=participant, analyte="PLT").first()

    def one_count():
        with change_context(by=user, reason="Benchmark correction"):
            LabResult.objects.filter(pk=lab.pk).update(value=lab.value + 1)
        queue_outcomes(study.pk, participant.pk)
    one_count()
    _, incremental, queries = timed(lambda: outcomes_refresh(study=study))

    def one_recorded_count():
        """A new count saved with its history row, as the services save it (the dashboard's data
        version follows the history tables)."""
        lab.refresh_from_db()
        lab.value += 1
        with change_context(by=user, reason="Benchmark correction"):
            lab.save()
        queue_outcomes(study.pk, participant.pk)
    print(f"  outcomes after one new count:         {incremental:8.0f} ms  {queries} queries (target < 100 ms)")
    for name, url in PAGES:
        if args.only and name not in args.only:
            continue
        worst, median, queries = p95(client, url.format(participant=participant.pk, code=study.code),
                                     args.repeat)
        counts[name] = queries
        print(f"  {name:<36} p95 {worst:6.0f} ms  median {median:4.0f} ms  {queries} queries (target p95 < 150 ms)")
        if name == "dashboard":  # the figures above are of repeated reads, from the cache
            median, worst = cold(client, url.format(participant=participant.pk, code=study.code),
                                 one_recorded_count, min(args.repeat, 10))
            print(f"  {'dashboard, first read after a write':<36} p95 {worst:6.0f} ms  median {median:4.0f} ms")

            def count_and_task():
                """A new count, then the outcomes task's run that stores its result (as after a commit)."""
                one_recorded_count()
                outcomes_refresh(study=study)
            median, worst = cold(client, url.format(participant=participant.pk, code=study.code),
                                 count_and_task, min(args.repeat, 10))
            print(f"  {'  ... after the outcomes task ran':<36} p95 {worst:6.0f} ms  median {median:4.0f} ms")
            event = AdverseEvent.objects.filter(participant__study=study).order_by("pk").first()
            if event is not None:
                edits = iter(range(1_000_000))

                def one_event_edit():
                    """An adverse event's description corrected: the safety tables move."""
                    with change_context(by=user, reason="Benchmark correction"):
                        AdverseEvent.objects.filter(pk=event.pk).update(
                            description=f"{event.description} ({next(edits)})")
                median, worst = cold(client, url.format(participant=participant.pk, code=study.code),
                                     one_event_edit, min(args.repeat, 10))
                print(f"  {'  ... after an adverse event':<36} p95 {worst:6.0f} ms  median {median:4.0f} ms")
            states = iter(range(1_000_000))
            before = Participant.objects.filter(pk=participant.pk).values(
                "status", "withdrawn_on", "withdrawal_reason").get()

            def one_withdrawal():
                """The participant withdrawn, or back as they were (a withdrawal recorded in error):
                the participants shown moved (their status), the sums moved by them."""
                withdrawn = next(states) % 2 == 0
                with change_context(by=user, reason="Benchmark correction"):
                    Participant.objects.filter(pk=participant.pk).update(**(
                        {"status": "withdrawn", "withdrawn_on": timezone.localdate(),
                         "withdrawal_reason": WithdrawalReason.LOST_TO_FOLLOW_UP} if withdrawn else before))
            median, worst = cold(client, url.format(participant=participant.pk, code=study.code),
                                 one_withdrawal, min(args.repeat, 10))
            print(f"  {'  ... after a withdrawal (new)':<36} p95 {worst:6.0f} ms  median {median:4.0f} ms")
    return counts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[200])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--study", help="measure this study of the database (built by make_synthetic_study) instead "
                                        "of building one per size")
    parser.add_argument("--only", nargs="+", choices=[name for name, _url in PAGES],
                        help="time these pages alone")
    args = parser.parse_args()
    # The pages rendered as a web worker renders them, not through the test environment's
    # instrumented templates: with them the bench's process kept some 100,000 objects more (at
    # 10,000 participants, 114,611 against 11,262 after the pages' reads), which each full
    # collection of the cycle collector scanned during a timed read (150-250 ms, one read in ten).
    request_finished.disconnect(close_old_connections)
    settings.ALLOWED_HOSTS = ["testserver"]
    studies_load()
    user = user_upsert(username="bench", role="investigator", site_code="PUMCH", password="Bench-runner-2026").user
    client = Client()
    client.force_login(user)
    print(f"database: {connection.vendor}")
    if args.study:
        counts = {args.study: one_study(args.study, args, user, client)}
        args.sizes = [args.study]
    else:
        counts = {size: one_size(size, args, user, client) for size in args.sizes}
    print("\nstatements per page and N (the same for every N):")
    print(f"  {'':<22}" + "".join(f"{size:>8}" for size in args.sizes))
    for name, _url in PAGES:
        if args.only and name not in args.only:
            continue
        row = [counts[size][name] for size in args.sizes]
        print(f"  {name:<22}" + "".join(f"{n:>8}" for n in row) + ("" if len(set(row)) == 1 else "  grows"))


if __name__ == "__main__":
    main()
