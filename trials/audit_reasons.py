"""The reasons the product itself writes into the audit trail ("Consent recorded", "Planned at
enrolment", "BL done"), shown in the reader's language.

A history row keeps its reason as text: the product's own reasons are written in the language of
the user whose action wrote them (or in English). `reason_shown` finds such a text among the fixed
reasons below, in English or in any language of the interface, and shows it in the reader's; any
other reason is what a person typed and is shown as written (`ShownReason.entered`).

A reason composed around a person's words or a product's code ("Adverse event dismissed: <reason>",
"Signature withdrawn: <fields> changed by <user>: <reason>", "Escalation decision 4: escalate B") is
found by pattern among `COMPOSED_REASONS` (and those the apps register, `register_composed_reason`)
in every language of the interface: its fixed part is shown in the reader's language, the person's
words as written and marked (`ShownReason.parts`), a label the product words (a withdrawal reason)
in the reader's language.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
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


# What a composed reason's placeholder holds: a person's words (shown as written and marked as
# typed), or a code, a name or a number of the product (shown as written); a sequence of labels
# (lazy translations) is a label the product words, shown in the reader's language.
ENTERED = "entered"
WRITTEN = "written"

# The reasons services compose (the placeholders' kinds); the apps register theirs that name their
# own labels (`register_composed_reason`).
COMPOSED_REASONS: dict[str, dict[str, object]] = {
    gettext_noop("Casebook locked: %(reason)s"): {"reason": ENTERED},
    gettext_noop("Casebook unlocked: %(reason)s"): {"reason": ENTERED},
    gettext_noop("Study data locked: %(reason)s"): {"reason": ENTERED},
    gettext_noop("Study data unlocked: %(reason)s"): {"reason": ENTERED},
    gettext_noop("Query re-opened: %(reason)s"): {"reason": ENTERED},
    gettext_noop("Adverse event dismissed: %(reason)s"): {"reason": ENTERED},
    gettext_noop("Signature withdrawn: %(fields)s changed by %(user)s: %(reason)s"): {
        "fields": WRITTEN, "user": WRITTEN, "reason": ENTERED},
    gettext_noop("Adverse event confirmed and signed at grade %(grade)s (suggested %(suggested)s)"): {
        "grade": WRITTEN, "suggested": WRITTEN},
    gettext_noop("Adverse event confirmed and signed at grade %(grade)s"): {"grade": WRITTEN},
    gettext_noop("Escalation decision %(id)d: %(action)s %(level)s"): {
        "id": WRITTEN, "action": WRITTEN, "level": WRITTEN},
}


def register_composed_reason(msgid: str, **kinds) -> None:
    """Add a reason an app composes: each placeholder's kind (`ENTERED`, `WRITTEN`, or the labels
    it may hold)."""
    COMPOSED_REASONS[msgid] = kinds
    _composed.cache_clear()


@dataclass(frozen=True)
class ShownReason:
    text: str
    entered: bool  # typed by a person: shown as written, in whatever language it was written
    # a composed reason cut into its pieces, each (text, typed by a person); empty for any other
    parts: tuple[tuple[str, bool], ...] = ()


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


_PLACEHOLDER = re.compile(r"%\((\w+)\)([sd])")


@dataclass(frozen=True)
class _Composed:
    msgid: str
    pattern: re.Pattern
    kinds: dict


@cache
def _composed() -> list[_Composed]:
    """A pattern for each composed reason in every language of the interface, the longest msgids
    first (so that a reason is not read as a shorter one it begins with)."""
    found = []
    for msgid in sorted(COMPOSED_REASONS, key=len, reverse=True):
        kinds = COMPOSED_REASONS[msgid]
        for wording in {msgid, *(_in(language, msgid) for language in _languages())}:
            pattern, last = [], 0
            for match in _PLACEHOLDER.finditer(wording):
                pattern.append(re.escape(wording[last:match.start()]))
                said = r"-?\d+" if match[2] == "d" else r".*?" if kinds.get(match[1]) == WRITTEN else r".+?"
                pattern.append(rf"(?P<{match[1]}>{said})")
                last = match.end()
            pattern.append(re.escape(wording[last:]))
            # a service may strip the trailing space of an empty last placeholder
            found.append(_Composed(msgid, re.compile("".join(pattern) + r"\s*"), kinds))
    return found


def _label(said: str, labels: Sequence) -> str | None:
    """The label among `labels` worded `said` in some language of the interface, in the reader's."""
    for label in labels:
        for language in _languages():
            with translation.override(language):
                worded = str(label)
            if worded == said:
                return str(label)
    return None


def _composed_shown(stored: str) -> ShownReason | None:
    for composed in _composed():
        match = composed.pattern.fullmatch(stored) or composed.pattern.fullmatch(stored + " ")
        if match is None:
            continue
        values = {}
        for name, said in match.groupdict().items():
            kind = composed.kinds.get(name, ENTERED)
            if kind in (ENTERED, WRITTEN):
                values[name] = (said, kind == ENTERED)
            else:
                label = _label(said, kind)
                values[name] = (label if label is not None else said, label is None)
        parts, last, wording = [], 0, gettext(composed.msgid)
        for placeholder in _PLACEHOLDER.finditer(wording):
            parts.append((wording[last:placeholder.start()], False))
            parts.append(values.get(placeholder[1], ("", False)))
            last = placeholder.end()
        parts.append((wording[last:], False))
        parts = [part for part in parts if part[0]]
        if parts and not parts[-1][1]:
            parts[-1] = (parts[-1][0].rstrip(), False)
        return ShownReason("".join(text for text, _entered in parts), entered=False, parts=tuple(parts))
    return None


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
    composed = _composed_shown(stored)
    if composed is not None:
        return composed
    return ShownReason(stored, entered=bool(stored))
