"""The study dashboard's built part cached (Django's cache: Redis when configured, else in the
process's memory): the rendered HTML of its figures, charts and tables (`_dashboard_body.html`),
everything after the filter form. The HTML rather than the computed `Dashboard`: a hit then costs one
cache read of some 70 KB, where the computed one would still be unpickled (the charted values of
every participant) and rendered.

The key holds everything the HTML depends on, so an entry is never served for other data or
another reader: the study, its data version (`followup.dashboard_version`, read before any of the
data, in one statement), the sites the user sees and the filter narrowed from them, the whole query
string (the filter's fields and the page of lanes, which the lanes' links repeat), the language, and
today's date in the time zone in force with its name (the days on study, the 3+3 counts).
An entry under an older version is never read again; it expires after `TIMEOUT`.
"""
from __future__ import annotations

import gc
import hashlib
import logging
from contextlib import contextmanager

from django.core.cache import cache
from django.utils import timezone, translation

from . import dashboard_version

logger = logging.getLogger(__name__)

TIMEOUT = 24 * 3600


def key(study, *, version: str, visible_site_ids, narrowed, query: str) -> str:
    """The entry's key: every input of the HTML (module docstring), hashed."""
    parts = (study.pk, version, tuple(sorted(visible_site_ids)), narrowed, query, translation.get_language(),
             timezone.get_current_timezone_name(), timezone.localdate().isoformat())
    return f"dashboard:{study.pk}:{hashlib.sha256(repr(parts).encode()).hexdigest()}"


def version_of(study) -> str:
    return dashboard_version.current(study.pk)


def read(entry: str) -> str | None:
    try:
        return cache.get(entry)
    except Exception:  # an unreachable cache server: the dashboard is built as without a cache
        logger.warning("The dashboard cache could not be read.", exc_info=True)
        return None


def keep(entry: str, html: str) -> None:
    try:
        cache.set(entry, html, TIMEOUT)
    except Exception:
        logger.warning("The dashboard cache could not be written.", exc_info=True)


@contextmanager
def collector_paused():
    """Python's cycle collector paused while the dashboard is built: the build allocates some
    hundred thousand small tuples (none in a cycle, freed by their reference counts), and the
    collections they set off, each scanning every object of the process, were a third of its time
    at 10,000 participants."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
