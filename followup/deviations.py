"""Protocol deviations of a study or a participant: infusions outside their window, missed or off
their dose (`dosing.selectors.infusion_deviation_rows`, CLINICAL_RULES.md sections 4 and 8) and
visits done outside their window."""
from __future__ import annotations

from django.db import connection
from django.db.models import Count, F, Q, Window
from django.db.models.functions import Collate
from django.utils import timezone
from django.utils.translation import gettext as _

from dosing.models import Infusion
from dosing.selectors import Deviation, infusion_deviation_rows, sorted_deviations

from .models import Visit

# What a deviation row reads of its record and participant (`infusion_deviation_rows`, `_visit_rows`):
# the page's first rows are sorted and counted among all the study's deviations, narrow rows cost less.
INFUSION_FIELDS = ("participant__study_number", "number", "window_start", "window_end", "state", "missed_reason",
                   "deviation", "started_at", "deviation_reason", "dose_deviation", "computed_dose",
                   "cells_infused", "weight_kg", "dose_confirmation")
VISIT_FIELDS = ("participant__study_number", "code", "window_start", "window_end", "timed", "done_at",
                "deviation_reason")


def protocol_deviations(user, *, study, limit: int | None = None) -> tuple[list[Deviation], int]:
    """Infusions and visits outside their window, infusions missed, and dose deviations (CLINICAL_RULES.md
    section 4: more than 10 % off the computed dose), at the user's sites, and how many there are
    (2 queries). With a `limit`, the first `limit` of them in the same order: each query reads its
    first `limit` rows in that order (participant, then window), and counts them all."""
    infusions = (Infusion.objects.visible_to(user).filter(participant__study=study)
                 .filter(Q(deviation=True) | Q(state="missed") | Q(dose_deviation=True)).select_related("participant"))
    visits = (Visit.objects.visible_to(user).filter(participant__study=study, deviation=True)
              .select_related("participant"))
    if limit is None:
        rows = sorted_deviations(infusion_deviation_rows(infusions) + _visit_rows(visits))
        return rows, len(rows)
    number = F("participant__study_number")
    if connection.vendor == "postgresql":  # code point order, as Python sorts the page
        number = Collate(number, "C")
    infusions = list(infusions.only(*INFUSION_FIELDS).annotate(total=Window(Count("pk")))
                     .order_by(number, "window_start", "window_end", "pk")[:limit])
    visits = list(visits.only(*VISIT_FIELDS).annotate(total=Window(Count("pk"))).order_by(number, "window_start", "pk")
                  [:limit])
    total = (infusions[0].total if infusions else 0) + (visits[0].total if visits else 0)
    return sorted_deviations(infusion_deviation_rows(infusions) + _visit_rows(visits))[:limit], total


def participant_deviations(participant) -> list[Deviation]:
    """The participant's deviations, from its prefetched `infusions` and `visits` (no query)."""
    infusions = [i for i in participant.infusions.all() if i.deviation or i.dose_deviation or i.state == "missed"]
    visits = [v for v in participant.visits.all() if v.deviation]
    return sorted_deviations(infusion_deviation_rows(infusions) + _visit_rows(visits))


def _visit_rows(visits) -> list[tuple[str, Deviation]]:
    rows = []
    for visit in visits:
        shown = "%Y-%m-%d %H:%M" if visit.timed else "%Y-%m-%d"
        window = (f"{timezone.localtime(visit.window_start).strftime(shown)} – "
                  f"{timezone.localtime(visit.window_end).strftime(shown)}")
        rows.append((window, Deviation(visit.participant, _("Visit %(code)s") % {"code": visit.code}, "out_of_window",
                                       window, timezone.localtime(visit.done_at).strftime(shown),
                                       visit.deviation_reason)))
    return rows
