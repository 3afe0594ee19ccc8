"""Locking and unlocking a participant's casebook from the participant page (the services of the
API, `enrollment.locks`). The page shows the lock (who, when, why) and, to a data manager or an
administrator of the site, the form to lock it; to an administrator, the form to unlock it."""
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from trials.errors import ServiceError
from trials.limits import LimitedForm
from trials.lock_models import LOCK_REASON_MAX_LENGTH
from trials.scoping import Action, can, may_at

from . import selectors
from .locks import Lock, casebook_lock, casebook_unlock


class LockReasonForm(LimitedForm, forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=LOCK_REASON_MAX_LENGTH,
                             widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}))


def casebook_lock_context(user, participant, lock: Lock | None) -> dict:
    """What `enrollment/_casebook_lock.html` shows: the lock, and the forms the user's role allows
    (no query: the user's roles are read once per request)."""
    return {
        "lock": lock,
        "can_lock_casebook": lock is None and can(user, Action.LOCK, [participant.site_id]),
        "can_unlock_casebook": participant.locked_at is not None and may_at(user, "unlock", participant.site_id),
        "lock_form": LockReasonForm(auto_id="id_lock_%s"),
    }


def _post(request, pk, service, done: str):
    participant = get_object_or_404(selectors.participants_visible(request.user), pk=pk)
    reason = request.POST.get("reason", "")  # the service checks it after the user's role (403 first)
    try:
        service(participant=participant, by=request.user, reason=reason)
    except ServiceError as error:
        for texts in error.errors.values():
            for text in texts:
                messages.error(request, text)
    else:
        messages.success(request, done % {"number": participant.study_number})
    return redirect("participant-detail", pk=pk)


@login_required
@require_POST
def participant_lock(request, pk):
    return _post(request, pk, casebook_lock, _("The casebook of %(number)s is locked."))


@login_required
@require_POST
def participant_unlock(request, pk):
    return _post(request, pk, casebook_unlock, _("The casebook of %(number)s is unlocked."))
