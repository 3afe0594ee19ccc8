"""The dose-escalation page: 3+3 counts per level, the proposal, the signed decisions, and the
investigator's decision form (CLINICAL_RULES.md section 4). The form calls the same service as
the API (`dosing.services.escalation_decide`); the page holds no escalation logic."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trials.errors import ConflictError, ServiceError
from trials.forms_errors import add_service_errors, add_signature_refusal
from trials.models import Study
from trials.scoping import Action, can, require, site_ids_for

from . import services
from .escalation_decisions import rule_text, signature_meaning
from .forms import EscalationDecisionForm
from .selectors import COHORT_SIZE, EXPANSION_SIZE, escalation_state

PROPOSAL_LABELS = {
    "wait": gettext_lazy("Wait"),
    "escalate": gettext_lazy("Escalate"),
    "expand": gettext_lazy("Expand"),
    "stop": gettext_lazy("Stop"),
    "choose_expansion_dose": gettext_lazy("Choose the dose to expand"),
}


def _study(request, code) -> Study:
    study = get_object_or_404(Study.objects.visible_to(request.user).prefetch_related("sites"), code=code)
    if not study.uses_dose_escalation:
        raise Http404(_("%(study)s does not use dose escalation.") % {"study": study.code})
    return study


@login_required
def escalation(request, code):
    study = _study(request, code)
    study_sites = [site.pk for site in study.sites.all()]
    can_sign = can(request.user, Action.SIGN, study_sites)
    state = escalation_state(study, today=timezone.localdate())
    offered = services.offered_decisions(state)
    rule = rule_text(state.proposal)
    form_options = {"offered": offered, "level_codes": [row.code for row in state.levels], "rule": rule,
                    "proposal": state.proposal}
    form, status = None, 200
    if request.method == "POST":
        require(request.user, Action.SIGN, study_sites)
        form = EscalationDecisionForm(request.POST, **form_options)
        if form.is_valid():
            data = form.cleaned_data
            action, level = form.decided()
            try:
                decision = services.escalation_decide(
                    study=study, action=action, level_code=level, rationale=data["rationale"],
                    password=data["password"], by=request.user,
                    expected_meaning=(signature_meaning(action, level or None, data["rule_seen"])
                                      if data["rule_seen"] else None))
            except services.SignatureRefused as refused:
                add_signature_refusal(form, refused)
                status = 403
            except ServiceError as error:
                add_service_errors(form, error)
                status = 409 if isinstance(error, ConflictError) else 200
            else:
                messages.success(request, _("Decision signed: %(action)s%(level)s.") % {
                    "action": decision.get_action_display(),
                    "level": f" ({decision.level.code})" if decision.level else ""})
                return redirect("study-escalation", code=study.code)
        messages.error(request, _("The decision was not signed."))
    elif can_sign:
        form = EscalationDecisionForm(**form_options)
    visible_sites = site_ids_for(request.user)
    levels = [
        {"row": row, "participants": row.visible_participants(visible_sites),
         "hidden": len(row.participants) - len(row.visible_participants(visible_sites))}
        for row in state.levels
    ]
    return render(request, "dosing/escalation.html", {
        "study": study,
        "state": state,
        "levels": levels,
        "proposal": state.proposal,
        "proposal_label": PROPOSAL_LABELS.get(state.proposal.action, state.proposal.action),
        "decisions": list(reversed(state.decisions)),
        "form": form if can_sign else None,
        "offered": offered,
        "cohort_size": COHORT_SIZE,
        "expansion_size": EXPANSION_SIZE,
    }, status=status)
