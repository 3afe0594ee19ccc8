"""The reasons the product itself writes into the audit trail ("Consent recorded", "Planned at
enrolment", "BL done"), shown in the reader's language.

A history row keeps its reason as text: the product's own reasons are written in the language of
the user whose action wrote them (or in English). `reason_shown` finds such a text among the fixed
reasons below, in English or in any language of the interface, and shows it in the reader's; any
other reason is what a person typed and is shown as written (`ShownReason.entered`).

Reasons composed around a person's words ("Withdrawn: <reason>", "Adverse event dismissed:
<reason>", "Signature withdrawn: ...") and the escalation's decisions are shown as written.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

# The reasons services write as they are.
FIXED_REASONS = (
    gettext_noop("Screening created"), gettext_noop("Eligibility confirmed and signed by the investigator"),
    gettext_noop("Consent recorded"), gettext_noop("Enrolled"), gettext_noop("Planned at enrolment"),
    gettext_noop("Assessment recorded"), gettext_noop("Casebook signed by the investigator"),
    gettext_noop("Query opened"), gettext_noop("Query answered"), gettext_noop("Query closed"),
    gettext_noop("Query opened by an edit check"), gettext_noop("Query closed by an edit check"),
    gettext_noop("Verified against source"), gettext_noop("Opened from an infusion reaction"),
    gettext_noop("Suggested from a lab value"),
    gettext_noop("Adverse event recorded and confirmed, signed by the investigator"),
    gettext_noop("Escalation decision signed"), gettext_noop("Export started"), gettext_noop("Export finished"),
    gettext_noop("Export failed"),
    # the accounts'
    gettext_noop("Account created by add_user"), gettext_noop("Password set by add_user"),
    gettext_noop("User added to the site"), gettext_noop("Made by add_user"), gettext_noop("Replaced once expired"),
    gettext_noop("Replaced by a new token"), gettext_noop("Changed by its user"),
    gettext_noop("Made on the API token page"), gettext_noop("Too many wrong passwords"),
    gettext_noop("Password set by an administrator"), gettext_noop("Account history begins"),
)

# The reasons that name a code of the study (a visit's) and nothing a person typed.
CODED_REASONS = (gettext_noop("%(code)s done"), gettext_noop("%(code)s missed"))


@dataclass(frozen=True)
class ShownReason:
    text: str
    entered: bool  # typed by a person: shown as written, in whatever language it was written


def _languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def _in(language: str, msgid: str) -> str:
    with translation.override(language):
        return gettext(msgid)


@cache
def _fixed() -> dict[str, str]:
    """Each fixed reason in every language of the interface -> its msgid."""
    found = {}
    for msgid in FIXED_REASONS:
        found[msgid] = msgid
        for language in _languages():
            found.setdefault(_in(language, msgid), msgid)
    return found


@cache
def _coded() -> list[tuple[re.Pattern, str]]:
    """A pattern for each coded reason in every language of the interface, with its msgid."""
    patterns = []
    for msgid in CODED_REASONS:
        for wording in {msgid, *(_in(language, msgid) for language in _languages())}:
            head, _placeholder, tail = wording.partition("%(code)s")
            patterns.append((re.compile(re.escape(head) + r"(?P<code>[\w.-]+)" + re.escape(tail)), msgid))
    return patterns


def reason_shown(stored) -> ShownReason:
    """A history row's reason as the reader sees it: the product's own reason in the reader's
    language, any other as written."""
    stored = str(stored or "")
    msgid = _fixed().get(stored)
    if msgid is not None:
        return ShownReason(gettext(msgid), entered=False)
    for pattern, template in _coded():
        match = pattern.fullmatch(stored)
        if match:
            return ShownReason(gettext(template) % {"code": match["code"]}, entered=False)
    return ShownReason(stored, entered=bool(stored))
