"""The study dashboard's built parts cached (Django's cache: Redis when configured, else in the
process's memory): the rendered HTML of each part (`followup.dashboard.PARTS`: the CONSORT flow, the
outcomes with their charts, the safety tables; `_dashboard_part_<part>.html`), together everything
after the filter form. The HTML rather than the computed `Dashboard`: a hit then costs one cache read
of some 70 KB, where the computed one would still be unpickled (the charted values of every
participant) and rendered. The parts are read in one cache request; a write rebuilds only the parts
that read its kind of data (`DEPENDS`), so a new lab count rebuilds the outcomes and charts alone.

A part's key holds everything its HTML depends on, so an entry is never served for other data or
another reader: the study, the part, the tokens of the kinds of data it reads (`DEPENDS`; each drawn
again by the triggers of `followup.dashboard_version` when a write of the kind commits, all read
before any of the data, the study's configuration included, in one statement), the sites the user sees
and the filter narrowed from them, the whole query string (the filter's fields and the page of lanes,
which the lanes' links repeat), the language, and today's date in the time zone in force with its name
(the days on study, the 3+3 counts). An entry under older tokens is never read again; it expires after
`TIMEOUT`. A large cohort's outcomes and safety parts are built from sums kept apart, under fewer tokens
(`followup.dashboard_base`).
"""
from __future__ import annotations

import hashlib
import logging

from django.core.cache import cache
from django.utils import timezone, translation

from . import dashboard_version
from .dashboard import FLOW, OUTCOMES, SAFETY

logger = logging.getLogger(__name__)

TIMEOUT = 24 * 3600

# The kinds of data (`dashboard_version.KINDS`) each part reads. The screenings give the participants'
# disease and sex (the outcomes' rows, the disease filter); the configuration the groups, criteria and
# thresholds; the infusions the treated (CONSORT), the 3+3 counts and the outcomes computed again for
# the participants changed since the stored ones; the adverse events the swimmer lanes' marks.
DEPENDS = {
    FLOW: ("screenings", "participants", "infusions", "configuration"),
    OUTCOMES: ("screenings", "participants", "infusions", "casebooks", "adverse_events", "configuration",
               "outcomes"),
    SAFETY: ("screenings", "participants", "infusions", "adverse_events", "escalation", "configuration"),
}


def tokens_of(study) -> dict[str, str]:
    """The study's token of each kind of data (one statement)."""
    return dashboard_version.of_kinds(study.pk)


def key(study, *, part: str, tokens: dict[str, str], visible_site_ids, narrowed, query: str) -> str:
    """The part's entry's key: every input of its HTML (module docstring), hashed."""
    parts = (study.pk, part, tuple(tokens[kind] for kind in DEPENDS[part]), tuple(sorted(visible_site_ids)),
             narrowed, query, translation.get_language(), timezone.get_current_timezone_name(),
             timezone.localdate().isoformat())
    return f"dashboard:{study.pk}:{part}:{hashlib.sha256(repr(parts).encode()).hexdigest()}"


def read(entries: list[str]) -> dict[str, str]:
    """The entries found (one cache request)."""
    try:
        return cache.get_many(entries)
    except Exception:  # an unreachable cache server: the dashboard is built as without a cache
        logger.warning("The dashboard cache could not be read.", exc_info=True)
        return {}


def keep(entries: dict[str, str]) -> None:
    try:
        cache.set_many(entries, TIMEOUT)
    except Exception:
        logger.warning("The dashboard cache could not be written.", exc_info=True)
