"""Pages of screening, consent, enrolment and withdrawal.

Each page finds its records through `visible_to` (another site's record is a 404), checks the
user's role with `require(..., Action.SCREEN, ...)` before showing or accepting a form (403), and
calls the same services as the API; a refusal's messages go back onto the form's fields.
"""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trials import catalogues
from trials.concurrency import StaleVersion, conflict_of, posted_at
from trials.enums import StudyStatus
from trials.errors import ServiceError
from trials.forms_errors import add_service_errors, add_signature_refusal, errors_as_messages
from trials.items import item_sections
from trials.locks import refuse_if_study_locked
from trials.models import Site, Study
from trials.scoping import Action, can, require, site_ids_for
from trials.content import pick
from trials.selectors import criteria_in_force, form_items
from trials.signatures import ELIGIBILITY_MEANING

from .locks import refuse_if_screening_locked
from . import eligibility as rules
from . import selectors, services
from .eligibility_text import criterion_shown
from .enums import WithdrawalReason
from .forms import (
    DEFAULT_THERAPY_ROWS,
    MAX_THERAPY_ROWS,
    ConsentForm,
    EligibilityConfirmationForm,
    EnrolForm,
    ReevaluationForm,
    ScreeningEntry,
    style,
)

LOG_OUTCOMES = {
    "eligible": gettext_lazy("Eligible, not enrolled"),
    "screen_failure": gettext_lazy("Screen failure"),
    "pending": gettext_lazy("Pending"),
    "enrolled": gettext_lazy("Enrolled"),
    "withdrawn": gettext_lazy("Withdrawn"),
}
LOG_PAGE_SIZE = 100


def _study(request, code) -> Study:
    return get_object_or_404(Study.objects.visible_to(request.user).prefetch_related("diseases"), code=code)


def _screening(request, pk):
    return get_object_or_404(selectors.screenings_visible(request.user), pk=pk)


def _therapy_rows(request) -> int:
    try:
        rows = int(request.GET.get("therapy_rows", DEFAULT_THERAPY_ROWS))
    except ValueError:
        rows = DEFAULT_THERAPY_ROWS
    return max(1, min(rows, MAX_THERAPY_ROWS))


# ---------------------------------------------------------------------------------------------
# Screening log
# ---------------------------------------------------------------------------------------------

@login_required
def screening_log(request, code):
    study = _study(request, code)
    outcome = request.GET.get("outcome") or ""
    if outcome not in LOG_OUTCOMES:
        outcome = ""
    page = Paginator(selectors.screening_log(request.user, study=study, outcome=outcome or None),
                     LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    consort = selectors.consort_counts(request.user, study)
    criteria_text = {code: pick(text, text_zh) for code, text, text_zh in study.criteria.values_list("code", "text",
                                                                                                      "text_zh")}
    return render(request, "enrollment/screening_log.html", {
        "study": study,
        "page": page,
        "outcome": outcome,
        "outcomes": LOG_OUTCOMES,
        "consort": consort,
        "failed_by_criterion": [(code, criteria_text.get(code, ""), n) for code, n in consort.failed_by_criterion],
        "withdrawn_by_reason": [(_reason_label(reason), n) for reason, n in consort.withdrawn_by_reason],
        "can_screen": (study.status == StudyStatus.ACTIVE
                       and can(request.user, Action.SCREEN, [s.pk for s in study.sites.all()])),
    })


def _reason_label(reason: str) -> str:
    try:
        return WithdrawalReason(reason).label
    except ValueError:
        return reason


# ---------------------------------------------------------------------------------------------
# New and edited screening
# ---------------------------------------------------------------------------------------------

@login_required
def screening_new(request, code):
    study = _study(request, code)
    study_sites = [site.pk for site in study.sites.all()]
    require(request.user, Action.SCREEN, study_sites)
    refuse_if_study_locked(study)
    if study.status != StudyStatus.ACTIVE:  # the service refuses it too; the log says why
        messages.error(request, _("Study %(study)s is not active (status: %(status)s): it records no screening "
                                  "until an administrator activates it.") % {
            "study": study.code, "status": study.get_status_display()})
        return redirect("screening-log", code=study.code)
    sites = Site.objects.filter(pk__in=set(site_ids_for(request.user, Action.SCREEN)) & set(study_sites))
    entry = ScreeningEntry(study=study, sites=sites, data=request.POST if request.method == "POST" else None,
                           therapy_rows=_therapy_rows(request))
    if entry.is_bound and not entry.is_valid():  # the service's checks too, so that every problem shows at once
        site = entry.site() or (sites.get() if len(sites) == 1 else None)
        entry.add_service_errors(services.screening_problems(study=study, site=site, data=entry.to_input()),
                                 beside_form_errors=True)
    elif entry.is_bound:
        site = entry.site() or sites.get()
        try:
            screening = services.screening_create(study=study, site=site, data=entry.to_input(), by=request.user)
        except ServiceError as error:
            entry.add_service_errors(error)
        else:
            messages.success(request, _("Screening %(number)s saved: %(verdict)s.") % {
                "number": screening.number, "verdict": _verdict_text(screening)})
            return redirect("screening-detail", pk=screening.pk)
    return render(request, "enrollment/screening_form.html", {
        "study": study, "entry": entry, "editing": False, **_form_context(request),
    })


@login_required
def screening_edit(request, pk):
    screening = _screening(request, pk)
    require(request.user, Action.SCREEN, [screening.site_id])
    refuse_if_screening_locked(screening)
    entry = ScreeningEntry(study=screening.study, screening=screening,
                           data=request.POST if request.method == "POST" else None, therapy_rows=_therapy_rows(request))
    conflict = None
    if entry.is_bound and not entry.is_valid():  # the service's checks too, so that every problem shows at once
        entry.add_service_errors(services.screening_change_problems(
            screening=screening, data=entry.to_input(), reason=entry.reason()), beside_form_errors=True)
    elif entry.is_bound:
        try:
            services.screening_update(screening=screening, data=entry.to_input(), reason=entry.reason(),
                                      by=request.user, version=entry.version())
        except StaleVersion as stale:
            conflict = conflict_of(stale, entry.version())
            entry = ScreeningEntry(study=screening.study, screening=screening,
                                   data=posted_at(request.POST, conflict.version), therapy_rows=_therapy_rows(request))
            entry.is_valid()
        except ServiceError as error:
            entry.add_service_errors(error)
        else:
            messages.success(request, _("Screening %(number)s changed: %(verdict)s.") % {
                "number": screening.number, "verdict": _verdict_text(screening)})
            return redirect("screening-detail", pk=screening.pk)
    return render(request, "enrollment/screening_form.html", {
        "study": screening.study, "screening": screening, "entry": entry, "editing": True, "conflict": conflict,
        **_form_context(request),
    })


def _form_context(request) -> dict:
    rows = _therapy_rows(request)
    return {
        "more_rows": min(rows + DEFAULT_THERAPY_ROWS, MAX_THERAPY_ROWS),
        "can_add_rows": rows < MAX_THERAPY_ROWS,
        "analytes": catalogues.current().analytes,
    }


def _verdict_text(screening) -> str:
    if screening.eligible is True:
        return _("eligible")
    if screening.eligible is False:
        return _("not eligible (%(codes)s)") % {"codes": ", ".join(screening.failed_criteria)}
    return _("pending, missing %(codes)s") % {"codes": ", ".join(screening.missing_criteria)}


# ---------------------------------------------------------------------------------------------
# Screening page, consent and enrolment
# ---------------------------------------------------------------------------------------------

def _is_minor(screening) -> bool:
    if not screening.birth_date:
        return False
    return rules.age_in_years(screening.birth_date, timezone.localdate()) < 18


def _screening_page(request, screening, *, consent_form=None, enrol_form=None, confirm_form=None,
                    reevaluation_form=None):

    participant = getattr(screening, "participant", None)
    consents = list(screening.consents.all())
    can_screen = can(request.user, Action.SCREEN, [screening.site_id])
    awaiting_confirmation = (screening.study.eligibility_confirmation_required and screening.eligible is True
                             and screening.eligibility_confirmed_at is None and participant is None)
    can_confirm = awaiting_confirmation and can(request.user, Action.SIGN, [screening.site_id])
    show_enrol = (can_screen and participant is None and screening.eligible is True and bool(consents)
                  and not awaiting_confirmation)
    if can_screen and consent_form is None:
        consent_form = ConsentForm(minor=_is_minor(screening))
    if show_enrol and enrol_form is None:
        enrol_form = EnrolForm(options=selectors.enrolment_options(screening.study))
    elif not show_enrol and enrol_form is not None:
        errors_as_messages(request, enrol_form)  # enrolled or changed meanwhile: the form is gone
    if not can_confirm and confirm_form is not None:
        errors_as_messages(request, confirm_form)  # confirmed, enrolled or changed meanwhile: the form is gone
    analytes = catalogues.current().analytes
    order = list(analytes)
    labs = sorted(screening.labs.all(),
                  key=lambda lab: order.index(lab.analyte) if lab.analyte in order else len(order))
    criteria = [
        {**criterion_shown(c), "failing": (c["kind"] == "inclusion" and c["outcome"] == "not_met")
            or (c["kind"] == "exclusion" and c["outcome"] == "met")}
        for c in screening.eligibility
    ]
    context = {
        "screening": screening,
        "study": screening.study,
        "participant": participant,
        "criteria": criteria,
        "criteria_counts": {
            outcome: sum(1 for c in criteria if c["outcome"] == outcome) for outcome in ("met", "not_met", "missing")
        },
        "labs": [(lab, analytes.get(lab.analyte)) for lab in labs],
        "therapies": list(screening.prior_therapies.all()),
        "item_sections": item_sections(form_items(screening.study), screening.items),
        "age": rules.age_in_years(screening.birth_date, screening.screening_date)
        if screening.birth_date and screening.screening_date else None,
        "consents": consents,
        "can_screen": can_screen,
        "consent_form": consent_form if can_screen else None,
        "enrol_form": enrol_form if show_enrol else None,
        "awaiting_confirmation": awaiting_confirmation,
        "confirm_form": (confirm_form or EligibilityConfirmationForm()) if can_confirm else None,
        "eligibility_meaning": ELIGIBILITY_MEANING,
        "other_criteria_now": screening.evaluated_under_other_criteria(criteria_in_force(screening.study)),
        "reevaluation_form": (reevaluation_form or ReevaluationForm()) if can_screen and participant is None else None,
    }
    return render(request, "enrollment/screening_detail.html", context)


@login_required
def screening_detail(request, pk):
    return _screening_page(request, _screening(request, pk))


@login_required
def screening_consent(request, pk):
    screening = _screening(request, pk)
    require(request.user, Action.SCREEN, [screening.site_id])
    refuse_if_screening_locked(screening)
    if request.method != "POST":
        return redirect(reverse("screening-detail", args=[pk]) + "#consent")
    form = ConsentForm(request.POST, minor=_is_minor(screening))
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.consent_record(screening=screening, version=data["version"], signed_at=data["signed_at"],
                                    obtained_by=data["obtained_by"], guardian_name=data["guardian_name"],
                                    guardian_relationship=data["guardian_relationship"], by=request.user)
        except ServiceError as error:
            add_service_errors(form, error)
            style(form)
        else:
            messages.success(request, _("Consent recorded (%(version)s).") % {"version": data["version"]})
            return redirect("screening-detail", pk=pk)
    messages.error(request, _("The consent was not recorded."))
    return _screening_page(request, _screening(request, pk), consent_form=form)


@login_required
def screening_eligibility_confirm(request, pk):
    """An investigator of the site confirms eligibility with their password, through
    `services.screening_eligibility_confirm` (the service of the API)."""
    screening = _screening(request, pk)
    require(request.user, Action.SIGN, [screening.site_id])
    refuse_if_screening_locked(screening)
    if request.method != "POST":
        return redirect(reverse("screening-detail", args=[pk]) + "#eligibility-confirmation")
    form = EligibilityConfirmationForm(request.POST)
    if form.is_valid():
        try:
            services.screening_eligibility_confirm(screening=screening, password=form.cleaned_data["password"],
                                                   by=request.user)
        except PermissionDenied as refused:  # the password is not the signer's: nothing written
            add_signature_refusal(form, refused)
        except ServiceError as error:
            add_service_errors(form, error)
            style(form)
        else:
            messages.success(request, _("Eligibility confirmed and signed."))
            return redirect("screening-detail", pk=pk)
    messages.error(request, _("Eligibility was not confirmed."))
    return _screening_page(request, _screening(request, pk), confirm_form=form)


@login_required
def screening_reevaluate(request, pk):
    """Evaluate the screening again under the study's current criteria, with a reason
    (`services.screening_reevaluate`, the service of the API)."""
    screening = _screening(request, pk)
    require(request.user, Action.SCREEN, [screening.site_id])
    refuse_if_screening_locked(screening)
    if request.method != "POST":
        return redirect("screening-detail", pk=pk)
    form = ReevaluationForm(request.POST)
    if form.is_valid():
        try:
            services.screening_reevaluate(screening=screening, reason=form.cleaned_data["reason"], by=request.user)
        except ServiceError as error:
            add_service_errors(form, error)
            style(form)
        else:
            messages.success(request, _("Eligibility evaluated again under the current criteria."))
            return redirect("screening-detail", pk=pk)
    messages.error(request, _("The screening was not evaluated again."))
    return _screening_page(request, _screening(request, pk), reevaluation_form=form)


@login_required
def screening_enrol(request, pk):
    screening = _screening(request, pk)
    require(request.user, Action.SCREEN, [screening.site_id])
    refuse_if_screening_locked(screening)
    if request.method != "POST":
        return redirect(reverse("screening-detail", args=[pk]) + "#enrol")
    form = EnrolForm(request.POST, options=selectors.enrolment_options(screening.study))
    if form.is_valid():
        try:
            participant = services.participant_enrol(screening=screening, by=request.user, **form.enrolment())
        except ServiceError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Enrolled as %(number)s.") % {"number": participant.study_number})
            return redirect("participant-detail", pk=participant.pk)
    messages.error(request, _("The patient was not enrolled."))
    return _screening_page(request, _screening(request, pk), enrol_form=form)
