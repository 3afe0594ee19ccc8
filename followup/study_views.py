"""The study page: its configuration (arms and their infusions, visits, criteria in force, protocol
versions and the amendment in preparation), the protocol deviations at the user's sites, the
study's outcomes, and per site its source data verification, data queries not closed and locked
casebooks. It gathers what every app holds about the study, so it lives in the app that sees them
all; the study is found through `visible_to` (404)."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from enrollment.selectors import locked_casebooks_by_site
from trials import selectors
from trials.amendments import pending_changes
from trials.lock_views import study_lock_context
from trials.models import StudyVersion
from trials.scoping import Action, can, site_ids_for

from .deviations import deviations_page
from .exports import export_sites
from .sdv import plan_scope
from .sdv_progress import study_sdv_sites
from .sdv_forms import SdvPlanForm
from .query_selectors import study_query_counts
from .services import outcomes_current
from .survival_chart import duration_rows

# The study page lists the first protocol deviations (by participant) and counts them per kind; the
# deviations page (`followup.deviation_views`) lists them all, and each participant's page its own.
DEVIATIONS_SHOWN = 10


def _administers(user, study) -> bool:
    allowed = set(site_ids_for(user, Action.CONFIGURE_STUDY))
    return bool(allowed) and all(site.pk in allowed for site in study.sites.all())


def _locked_casebooks(user, study, sdv_sites) -> list[dict]:
    """Per site the user sees, its participants and the casebooks locked on their own
    (`locked_casebooks_by_site`): from the SDV progress when it counted them in its own pass over
    the participants (under the key-items plan), else in a statement of their own."""
    if sdv_sites and all(row.locked is not None for row in sdv_sites):
        return [{"site_code": row.site.code, "enrolled": row.participants, "locked": row.locked}
                for row in sorted(sdv_sites, key=lambda row: row.site.code) if row.participants]
    return locked_casebooks_by_site(user, study)


@login_required
def study_detail(request, code):
    study = selectors.study_for_user(request.user, code)
    arms = [(arm, selectors.infusion_rows(arm)) for arm in study.arms.all()]
    outcomes = outcomes_current(study=study, compute_missing=False)
    site_ids = [site.pk for site in study.sites.all()]
    sdv_sites = study_sdv_sites(study, request.user)
    sdv_scope = plan_scope(study)
    deviations = deviations_page(request.user, study=study, per_page=DEVIATIONS_SHOWN)
    return render(
        request,
        "trials/study_detail.html",
        {
            "study": study,
            "arms": arms,
            "visits": selectors.visit_rows(study),
            "criteria": selectors.criteria_by_kind(study),
            "versions": StudyVersion.objects.filter(study=study).order_by("-activated_at", "-id"),
            # The amendment in preparation is the administrators' business (`trials.admin_amendments`).
            "pending_changes": pending_changes(study) if _administers(request.user, study) else [],
            "deviations": deviations.rows,
            "deviations_total": deviations.total,
            "deviations_by_kind": deviations.by_kind,
            "outcomes": outcomes,
            "durations": duration_rows(outcomes.groups if outcomes else []),
            # Source data verification (`followup/_sdv_study.html`): progress per site, the plan.
            "sdv_sites": sdv_sites,
            "sdv_scope": sdv_scope,
            "sdv_plan_form": SdvPlanForm(initial={"scope": sdv_scope})
            if can(request.user, Action.MANAGE_SDV, site_ids) and study.locked_at is None else None,
            "may_verify_study": can(request.user, Action.VERIFY, site_ids),
            "query_counts": study_query_counts(request.user, study),
            "locked_casebooks": _locked_casebooks(request.user, study, sdv_sites),
            "may_export": bool(export_sites(request.user, study)),
            **study_lock_context(request.user, study),
        },
    )
