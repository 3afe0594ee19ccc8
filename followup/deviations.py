"""Protocol deviations of a study or a participant: infusions outside their window, missed or off
their dose (`dosing.selectors.infusion_deviation_rows`, CLINICAL_RULES.md sections 4 and 8) and
visits done outside their window."""
from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Case, Count, F, IntegerField, Q, Sum, Value, When, Window
from django.db.models.functions import Collate
from django.utils import timezone
from django.utils.translation import gettext as _

from dosing.models import Infusion
from dosing.selectors import Deviation, infusion_deviation_rows, sorted_deviations

from .models import Visit

# What a deviation row reads of its record and participant (`infusion_deviation_rows`, `_visit_rows`):
# the page's first rows are sorted and counted among all the study's deviations, narrow rows cost less.
INFUSION_FIELDS = ("participant__study_number", "participant__site_id", "number", "window_start", "window_end",
                   "state", "missed_reason", "deviation", "started_at", "deviation_reason", "dose_deviation",
                   "computed_dose", "cells_infused", "weight_kg", "dose_confirmation")
VISIT_FIELDS = ("participant__study_number", "participant__site_id", "code", "window_start", "window_end", "timed",
                "done_at", "deviation_reason")


# The kinds of deviation, as `Deviation.kind` names them, in the order the pages show them.
KINDS = ("out_of_window", "missed", "dose")
# The rows of an infusion of each kind (`infusion_deviation_rows`): a missed one is missed alone; one
# given can be both outside its window and off its dose, two rows.
_INFUSION_KINDS = {"out_of_window": Q(deviation=True) & ~Q(state="missed"), "missed": Q(state="missed"),
                   "dose": Q(dose_deviation=True) & ~Q(state="missed")}


@dataclass(frozen=True)
class DeviationPage:
    """The deviations of one page (`rows`), how many there are in all (`total`) and of each kind
    (`by_kind`), and the page's place (`number` of `pages`)."""
    rows: list[Deviation]
    total: int
    by_kind: dict[str, int]
    number: int = 1
    pages: int = 1


def _infusions(user, study, kind: str = "", site_id: int | None = None):
    rows = Infusion.objects.visible_to(user).filter(participant__study=study).select_related("participant")
    if site_id is not None:
        rows = rows.filter(participant__site_id=site_id)
    if kind:
        return rows.filter(_INFUSION_KINDS[kind])
    return rows.filter(Q(deviation=True) | Q(state="missed") | Q(dose_deviation=True))


def _visits(user, study, kind: str = "", site_id: int | None = None):
    if kind not in ("", "out_of_window"):
        return Visit.objects.none()
    rows = Visit.objects.visible_to(user).filter(participant__study=study, deviation=True).select_related("participant")
    return rows.filter(participant__site_id=site_id) if site_id is not None else rows


def protocol_deviations(user, *, study, limit: int | None = None) -> tuple[list[Deviation], int]:
    """Infusions and visits outside their window, infusions missed, and dose deviations (CLINICAL_RULES.md
    section 4: more than 10 % off the computed dose), at the user's sites, and how many there are
    (2 queries). With a `limit`, the first `limit` of them in the same order (`deviations_page`)."""
    if limit is None:
        rows = sorted_deviations(infusion_deviation_rows(_infusions(user, study)) + _visit_rows(_visits(user, study)))
        return rows, len(rows)
    page = deviations_page(user, study=study, per_page=limit)
    return page.rows, page.total


def deviations_page(user, *, study, number: int = 1, per_page: int = 50, kind: str = "",
                    site_id: int | None = None) -> DeviationPage:
    """The page `number` of the study's deviations at the user's sites (at `site_id` alone, of
    `kind` alone, when given), `per_page` a page, in the order of `protocol_deviations`: by
    participant, then window. Each query reads its records in that order up to the page's end (an
    infusion gives one row or more) and counts them all, per kind (window aggregates): the first
    page's records whole (two queries), a later page's order keys alone, then the records shown
    (four queries). A page beyond the last is the last."""
    end = max(1, number) * per_page
    study_number = F("participant__study_number")
    if connection.vendor == "postgresql":  # code point order, as Python sorts the page
        study_number = Collate(study_number, "C")
    counted = {name: Window(Sum(Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())))
               for name, condition in _INFUSION_KINDS.items()}
    infusions = (_infusions(user, study, kind, site_id).annotate(**counted)
                 .order_by(study_number, "window_start", "window_end", "pk"))
    visits = _visits(user, study, kind, site_id).annotate(total=Window(Count("pk"))).order_by(
        study_number, "window_start", "pk")
    if end <= per_page:
        infusions, visits = list(infusions.only(*INFUSION_FIELDS)[:end]), list(visits.only(*VISIT_FIELDS)[:end])
        counts = [getattr(infusions[0], name) for name in KINDS] if infusions else None
        total, by_kind = _totals(counts, visits[0].total if visits else 0, kind)
        rows = [row for row in sorted_deviations(infusion_deviation_rows(infusions) + _visit_rows(visits))
                if not kind or row.kind == kind]
        return DeviationPage(rows[:end], total, by_kind, 1, max(1, -(-total // per_page)))
    infusion_keys = list(infusions.values_list("pk", "participant__study_number", "window_start", "window_end",
                                               "state", "deviation", "dose_deviation", *KINDS)[:end])
    visit_keys = list(visits.values_list("pk", "participant__study_number", "window_start", "window_end", "timed",
                                         "total")[:end])
    total, by_kind = _totals(infusion_keys[0][7:] if infusion_keys else None,
                             visit_keys[0][5] if visit_keys else 0, kind)
    pages = max(1, -(-total // per_page))
    number = min(number, pages)  # beyond the last: the keys read are every row's, the last page among them
    placed = []  # (order key, record, kind) of every row up to the page's end, in the order of `sorted_deviations`
    for pk, participant, start, finish, state, deviation, dose, *_counts in infusion_keys:
        kinds = ["missed"] if state == "missed" else [name for name, on in (("out_of_window", deviation),
                                                                          ("dose", dose)) if on]
        placed += [((participant, f"{start.isoformat()} – {finish.isoformat()}"), ("infusion", pk), name)
                   for name in kinds if not kind or name == kind]
    for pk, participant, start, finish, timed, _total in visit_keys:
        placed.append(((participant, _visit_window(start, finish, timed)[0]), ("visit", pk), "out_of_window"))
    placed.sort(key=lambda row: row[0])
    shown = placed[(number - 1) * per_page:end]
    wanted = {source: [pk for (name, pk) in {row[1] for row in shown} if name == source]
              for source in ("infusion", "visit")}
    found = {}
    for infusion in _infusions(user, study).filter(pk__in=wanted["infusion"]).only(*INFUSION_FIELDS):
        found.update({(("infusion", infusion.pk), row.kind): row
                      for _window, row in infusion_deviation_rows([infusion])})
    if wanted["visit"]:
        for visit in _visits(user, study).filter(pk__in=wanted["visit"]).only(*VISIT_FIELDS):
            found.update({(("visit", visit.pk), row.kind): row for _window, row in _visit_rows([visit])})
    return DeviationPage([found[(record, name)] for _key, record, name in shown], total, by_kind, number, pages)


def _totals(infusion_counts, visits: int, kind: str) -> tuple[int, dict[str, int]]:
    """How many deviations there are, and of each kind, from an infusion row's window counts (in the
    order of `KINDS`) and the visits' count. With a `kind`, the infusions of the kind may be of
    another kind too: those rows are not listed, nor counted."""
    by_kind = dict(zip(KINDS, infusion_counts or (0,) * len(KINDS), strict=True))
    if kind:
        by_kind = {name: count if name == kind else 0 for name, count in by_kind.items()}
    by_kind["out_of_window"] += visits
    return sum(by_kind.values()), by_kind


def participant_deviations(participant) -> list[Deviation]:
    """The participant's deviations, from its prefetched `infusions` and `visits` (no query)."""
    infusions = [i for i in participant.infusions.all() if i.deviation or i.dose_deviation or i.state == "missed"]
    visits = [v for v in participant.visits.all() if v.deviation]
    return sorted_deviations(infusion_deviation_rows(infusions) + _visit_rows(visits))


def _visit_window(start, finish, timed: bool) -> tuple[str, str]:
    """A visit's window as shown ("2026-01-05 – 2026-01-09", with the times of a timed visit), and
    the format of its times."""
    shown = "%Y-%m-%d %H:%M" if timed else "%Y-%m-%d"
    return (f"{timezone.localtime(start).strftime(shown)} – {timezone.localtime(finish).strftime(shown)}",
            shown)


def _visit_rows(visits) -> list[tuple[str, Deviation]]:
    rows = []
    for visit in visits:
        window, shown = _visit_window(visit.window_start, visit.window_end, visit.timed)
        rows.append((window, Deviation(visit.participant, _("Visit %(code)s") % {"code": visit.code}, "out_of_window",
                                       window, timezone.localtime(visit.done_at).strftime(shown),
                                       visit.deviation_reason)))
    return rows
