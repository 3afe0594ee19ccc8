"""Benchmarks: time and query count of the main pages and endpoints; prints a table.

Runs against the configured database (SQLite after `make run`, or DATABASE_URL). It loads the
built-in studies if needed and uses a bench user at PUMCH. Timings are medians of repeated
requests through Django's test client, so they measure the application, not the network.

    make bench            # or: DEBUG=1 .venv/bin/python bench/run.py [--repeat 50]
"""
import argparse
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
from django.db import close_old_connections, connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

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
    args = parser.parse_args()
    setup_test_environment()
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


if __name__ == "__main__":
    main()
