"""Benchmarks: time and query count of the main pages and endpoints; prints a table.

Runs against the configured database (SQLite after `make run`, or DATABASE_URL). It loads the
built-in studies if needed and uses a bench user at PUMCH. Timings are medians of repeated
requests through Django's test client, so they measure the application, not the network.

    make bench            # or: DEBUG=1 .venv/bin/python bench/run.py [--repeat 50] [--cohort 40]

A second table measures a P3 cohort (`bench/cohort.py`: enrolled, five infusions, follow-up to
month 12) built through the services inside a transaction that is rolled back at the end.
"""
import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.signals import request_finished  # noqa: E402
from django.db import close_old_connections, connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from django.urls import NoReverseMatch, resolve  # noqa: E402
from django.urls.exceptions import Resolver404  # noqa: E402

from bench.cohort import build, p3_participant  # noqa: E402
from followup.services import outcomes_compute  # noqa: E402
from trials.accounts import user_upsert  # noqa: E402
from trials.services import studies_load  # noqa: E402


def measure(client, url, repeat):
    client.get(url)  # warm caches and the session renewal
    queries = []
    with connection.execute_wrapper(lambda execute, sql, *a: queries.append(sql) or execute(sql, *a)):
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times), len(queries)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--cohort", type=int, default=40, help="P3 participants in the cohort table")
    args = parser.parse_args()
    # The pages rendered as a web worker renders them, not through the test environment's
    # instrumented templates: with them the bench's process kept some 100,000 objects more (at
    # 10,000 participants, 114,611 against 11,262 after the pages' reads), which each full
    # collection of the cycle collector scanned during a timed read (150-250 ms, one read in ten).
    # Keep one connection across requests, as a pooled production server does.
    request_finished.disconnect(close_old_connections)
    settings.ALLOWED_HOSTS = ["testserver"]

    start = time.perf_counter()
    report = studies_load()
    load_ms = (time.perf_counter() - start) * 1000
    user = user_upsert(username="bench", role="investigator", site_code="PUMCH", password="Bench-runner-2026").user
    client = Client()
    client.force_login(user)

    print(f"database: {connection.vendor}; repeat: {args.repeat}")
    print(f"load_studies: {load_ms:.0f} ms ({len(report.created)} created, {len(report.updated)} updated)")
    print(f"{'request':<40} {'median ms':>10} {'max ms':>8} {'queries':>8}")
    for url in ("/", "/studies/UCB-IRIC/", "/studies/HUCMSC-ITP-ESC/", "/studies/MSC-ITP-5/",
                "/api/v1/studies/", "/api/v1/studies/HUCMSC-ITP-ESC/"):
        median, worst, queries = measure(client, url, args.repeat)
        print(f"{url:<40} {median:>10.1f} {worst:>8.1f} {queries:>8}")
    cohort_bench(client, args)


def timed(action):
    queries = []
    with connection.execute_wrapper(lambda execute, sql, *a: queries.append(sql) or execute(sql, *a)):
        start = time.perf_counter()
        result = action()
        elapsed = (time.perf_counter() - start) * 1000
    return result, elapsed, len(queries)


def cohort_bench(client, args):
    coordinator = user_upsert(username="bench-coordinator", role="coordinator", site_code="PUMCH",
                              password="Bench-runner-2026").user
    with transaction.atomic():
        cohort, build_ms, _ = timed(lambda: build(coordinator, args.cohort))
        print(f"\nP3 cohort of {len(cohort)} participants (rolled back): built in {build_ms:.0f} ms "
              f"({build_ms / len(cohort):.0f} ms each: screening, consent, signed eligibility, enrolment, 5 infusions, "
              f"8 assessments)")
        _, one_ms, one_queries = timed(lambda: p3_participant(
            coordinator, day0=cohort[0].enrolled_on + timedelta(days=2),
            platelets=[18, 45, 60, 120, 130, 110, 25, 20]))
        print(f"one more participant's whole course: {one_ms:.0f} ms, {one_queries} queries")
        study = cohort[0].study
        _, compute_ms, compute_queries = timed(lambda: outcomes_compute(study=study))
        print(f"outcomes_compute ({len(cohort) + 1} participants): {compute_ms:.0f} ms, {compute_queries} queries")
        print(f"{'request':<40} {'median ms':>10} {'max ms':>8} {'queries':>8}")
        pk = cohort[0].pk
        for url in (f"/participants/{pk}/", f"/api/v1/participants/{pk}/", f"/api/v1/participants/{pk}/response/",
                    "/studies/MSC-ITP-5/", "/api/v1/studies/MSC-ITP-5/outcomes/", "/api/v1/worklist/", "/worklist/"):
            try:
                resolve(url)
            except (Resolver404, NoReverseMatch):
                continue
            median, worst, queries = measure(client, url, args.repeat)
            print(f"{url:<40} {median:>10.1f} {worst:>8.1f} {queries:>8}")
        transaction.set_rollback(True)


if __name__ == "__main__":
    main()
