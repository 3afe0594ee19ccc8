"""Electronic signatures: the signer's own password, re-entered (CLINICAL_RULES.md: the
investigator signs eligibility, dose-escalation decisions and adverse-event causality).

One check for every signature in the product (`dosing` escalation decisions, `enrollment`
eligibility confirmation, `followup` adverse-event confirmation, dismissal and
correction of a signed judgement): a wrong or missing password
raises `SignatureRefused` (403) before anything is written. After LOGIN_FAILURE_LIMIT wrong
passwords signing is locked for LOGIN_LOCK_SECONDS, as sign-in is, so a signature cannot be
guessed. Each signature stores who signed, when, and the meaning shown to the signer.
"""
from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# The meanings the signer reads next to the password field; stored with the signature.
ELIGIBILITY_MEANING = gettext_lazy(
    "I confirm that I have reviewed this screening and that the patient meets every eligibility criterion "
    "of the study.")
ADVERSE_EVENT_MEANING = gettext_lazy(
    "I confirm grade, seriousness and relationship to treatment of this adverse event.")
# Dismissing a draft adverse event removes a possible DLT or SAE from every count: it is signed too.
ADVERSE_EVENT_DISMISSAL_MEANING = gettext_lazy("I judge this is not an adverse event: %(reason)s")


class SignatureRefused(PermissionDenied):
    """The password re-entered as a signature is not the signer's own: 403, nothing recorded."""


def _signature_key(user) -> str:
    return f"signature-failures:user:{user.pk}"


def check_signature(user, password: str, *, refused: str | None = None) -> None:
    """The signer's own password, re-entered, or `SignatureRefused` (with `refused` as message,
    default "the password is not correct: nothing was signed")."""
    key = _signature_key(user)
    if (cache.get(key) or 0) >= settings.LOGIN_FAILURE_LIMIT:
        raise SignatureRefused(_("Too many wrong passwords: signing is locked for %(minutes)d minutes.") % {
            "minutes": max(1, settings.LOGIN_LOCK_SECONDS // 60)})
    if not password or not user.check_password(password):
        if not cache.add(key, 1, timeout=settings.LOGIN_LOCK_SECONDS):
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, timeout=settings.LOGIN_LOCK_SECONDS)
        raise SignatureRefused(refused or _("The password is not correct: nothing was signed."))
    cache.delete(key)
