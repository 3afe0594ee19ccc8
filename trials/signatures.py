"""Electronic signatures: the signer's own password, re-entered (CLINICAL_RULES.md: the
investigator signs eligibility, dose-escalation decisions and adverse-event causality).

One check for every signature in the product (`dosing` escalation decisions, `enrollment`
eligibility confirmation, `followup` adverse-event confirmation, dismissal and
correction of a signed judgement, and the sign-off of a participant's casebook): a wrong or
missing password raises `SignatureRefused` (403) before anything is written. A wrong password counts against the
account as a failed sign-in does (`trials.throttle`): after LOGIN_FAILURE_LIMIT of them, from any of
sign-in, signing and password change, the account is locked for LOGIN_LOCK_SECONDS - signing too,
so neither a signature nor the password can be guessed. Each signature stores who signed, when,
and the meaning shown to the signer.

One way to show a signature too (21 CFR 11.50: the signer's printed name, the date and time, the
meaning): each signed record gives a `Signature` (`Screening.eligibility_signature`,
`AdverseEvent.confirmation_signature`, `EscalationDecision.signature`,
`CasebookSignature.signature`), which `templates/includes/signature.html` renders; the form that
signs shows the meaning above the password field (`templates/includes/signing_fields.html`).
"""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import throttle
from .signature_record import Signature, printed_name  # noqa: F401 (one place to import signatures from)

# The meanings the signer reads next to the password field; stored with the signature.
ELIGIBILITY_MEANING = gettext_lazy(
    "I confirm that I have reviewed this screening and that the patient meets every eligibility criterion "
    "of the study.")
ADVERSE_EVENT_MEANING = gettext_lazy(
    "I confirm grade, seriousness and relationship to treatment of this adverse event.")
# Dismissing a draft adverse event removes a possible DLT or SAE from every count: it is signed too.
ADVERSE_EVENT_DISMISSAL_MEANING = gettext_lazy("I judge this is not an adverse event: %(reason)s")
# The investigator's sign-off of a participant's casebook (`followup.signoff`).
CASEBOOK_MEANING = gettext_lazy("I approve the data of this casebook as complete and accurate.")


class SignatureRefused(PermissionDenied):
    """The password re-entered as a signature is not the signer's own: 403, nothing recorded.
    `field` names the input that holds the password (a page shows the message beside it)."""

    def __init__(self, message: str = "", *, field: str = "password"):
        super().__init__(message)
        self.field = field


def check_signature(user, password: str, *, field: str = "password", refused: str | None = None) -> None:
    """The signer's own password, re-entered, or `SignatureRefused` naming `field` (with `refused`
    as message, default "the password is not correct: nothing was signed"). A deactivated account
    signs nothing; a locked one neither, until its lock ends (`trials.throttle`)."""
    if not user.is_active:
        raise SignatureRefused(_("This account is deactivated: nothing was signed."), field=field)
    key = throttle.account_key(user.get_username())
    state = throttle.state_of(key)
    if state.lock is not None:
        raise SignatureRefused(_("Too many wrong passwords: signing is locked for %(minutes)d minutes.") % {
            "minutes": state.lock.minutes}, field=field)
    if not password or not user.check_password(password):
        throttle.failed(key)
        raise SignatureRefused(refused or _("The password is not correct: nothing was signed."), field=field)
    if state.counting:
        throttle.succeeded(key)

