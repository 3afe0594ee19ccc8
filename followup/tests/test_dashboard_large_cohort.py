"""The dashboard of a large cohort (above `dashboard_charts.INDIVIDUAL_LIMIT` charted participants)
reads each participant's stored values straight into the per-day spreads and the best changes,
without a series or a row per participant: its band, histogram and counts are exactly those the
series and changes of every participant give (`dashboard_charts.day_spreads`, `best_change`), and
its outcomes part renders the same page."""
import dataclasses
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.template.loader import render_to_string
from django.test import RequestFactory

from followup import dashboard_charts as charts
from followup.dashboard import OUTCOMES, DashboardFilter, dashboard
from followup.dashboard_tables import OutcomeRow, outcome_groups
from followup.dashboard_views import _part_context
from followup.models import LabResult
from followup.outcomes import outcomes_compute
from followup.statistics import duration_of_response_summary
from followup.synthetic import SITES
from trials.accounts import user_upsert
from trials.audit_context import change_context
from trials.models import Study
from trials.scoping import Action, site_ids_for

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 1)


def _as_before(chart) -> charts.BandChart:
    """The large cohort's chart as it was computed from every participant's series and changes."""
    charted = [s for s in chart.series if s.points]
    moved = [change for *_rest, change in chart.changes if change is not None]
    spreads = charts.day_spreads(charted)
    return dataclasses.replace(chart, spaghetti=None, waterfall=None, spreads=spreads,
                               band=charts.build_band(spreads, chart.thresholds),
                               histogram=charts.build_histogram(moved), counted=None)


def _rendered(user, study, data) -> str:
    request = RequestFactory().get("/")
    request.user = user
    return render_to_string("followup/_dashboard_part_outcomes.html", _part_context(request, study, "outcomes", data))


def test_large_cohort_figures_equal_those_of_every_participants_series(monkeypatch):
    call_command("make_synthetic_study", participants=90, seed=7, today=TODAY)
    study = Study.objects.get(code="SYN-90-7")
    for code, _name in SITES:
        user_upsert(username="reader", role="investigator", site_code=code)
    user = get_user_model().objects.get(username="reader")
    outcomes_compute(study=study)
    # a count changed after the stored results: that participant is computed again for the page
    lab = LabResult.objects.filter(assessment__participant__study=study, analyte="PLT").order_by("pk").last()
    with change_context(by=user, reason="Corrected"):
        lab.value += 7
        lab.save()
    narrowed = DashboardFilter(site_ids=tuple(sorted(site_ids_for(user, Action.VIEW))))

    def build(page=1):
        return dashboard(user, study, narrowed, today=TODAY, parts=(OUTCOMES,), swimmer_page=page)

    large = build()
    (platelets, *_others) = large.analytes
    assert platelets.charted > charts.INDIVIDUAL_LIMIT and platelets.band is not None
    assert platelets.series == [] and platelets.changes == []  # not built for a large cohort
    monkeypatch.setattr(charts, "INDIVIDUAL_LIMIT", 10_000)  # every participant's series and changes
    every = build()
    monkeypatch.undo()
    before = dataclasses.replace(every, analytes=[_as_before(a) for a in every.analytes])
    for new, old in zip(large.analytes, before.analytes, strict=True):
        assert (new.spreads, new.band, new.histogram) == (old.spreads, old.band, old.histogram)
        assert (new.charted, new.with_change) == (old.charted, old.with_change) and new.with_change > 0
    assert (large.outcomes, large.swimmer_rows, large.swimmer_total) == (
        before.outcomes, before.swimmer_rows, before.swimmer_total)
    assert _rendered(user, study, large) == _rendered(user, study, before)
    second = build(page=2)
    assert second.swimmer_page == 2 and second.analytes == large.analytes


def test_one_group_and_all_share_one_duration_summary():
    """With a single group its duration-of-response summary is the one of "all", computed once and
    equal to a summary of the same durations computed on its own."""
    rows = [OutcomeRow("A", "CR", (120, True)), OutcomeRow("A", "PR", (45, False)), OutcomeRow("A", "NR")]
    one, every = outcome_groups(rows)
    assert one["duration_of_response"] == every["duration_of_response"] == duration_of_response_summary(
        [(120, True), (45, False)])
    two = outcome_groups(rows + [OutcomeRow("B", "CR", (30, True))])
    assert two[0]["duration_of_response"] == duration_of_response_summary([(120, True), (45, False)])
    assert two[1]["duration_of_response"] == duration_of_response_summary([(30, True)])
    assert two[2]["duration_of_response"] == duration_of_response_summary([(120, True), (45, False), (30, True)])
