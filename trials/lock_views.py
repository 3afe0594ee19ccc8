"""Locking and unlocking a study's data from the study page (the services of the API,
`trials.locks`): the page shows the lock and, to a data manager or an administrator of every site
of the study, the form to lock it; to an administrator of every site, the form to unlock it."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .errors import ServiceError
from .locks import allowed_at_every_site, study_lock, study_unlock
from .models import Study
from .scoping import PERMISSIONS, ROLE_RULES, Action


def study_lock_context(user, study) -> dict:
    """What `trials/_study_lock.html` shows (the study read with `locked_by` and its sites: no query)."""
    return {
        "study_locked_by": study.locked_by.get_username() if study.locked_by_id else "",
        "can_lock_study": study.locked_at is None and allowed_at_every_site(user, study, PERMISSIONS[Action.LOCK]),
        "can_unlock_study": study.locked_at is not None and allowed_at_every_site(user, study, ROLE_RULES["unlock"]),
    }


def _post(request, code, service, done: str):
    study = get_object_or_404(Study.objects.visible_to(request.user).prefetch_related("sites"), code=code)
    try:
        service(study=study, by=request.user, reason=request.POST.get("reason", ""))
    except ServiceError as error:
        for texts in error.errors.values():
            for text in texts:
                messages.error(request, text)
    else:
        messages.success(request, done % {"study": study.code})
    return redirect("study-detail", code=study.code)


@login_required
@require_POST
def study_lock_page(request, code):
    return _post(request, code, study_lock, _("The data of %(study)s are locked."))


@login_required
@require_POST
def study_unlock_page(request, code):
    return _post(request, code, study_unlock, _("The data of %(study)s are unlocked."))
