"""Reading the reasons that signed escalation decisions stored as text before they kept messages
(``dosing.escalation_messages``).

Until then a decision kept its proposal's reason as worded at signing, in the signer's language
(English or Chinese). :func:`proposal_message_of` reads such a text back into the message the rule
gives, trying each wording of each code in every language of the interface; a reading counts only
if the message is worded again letter for letter as stored. A text it cannot read so (an older
wording, a row moved by hand) becomes a ``text`` message holding it unchanged, so nothing is lost.
Used by the data migration ``dosing/migrations/0011_escalation_decision_messages``.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from trials.messages import Message, message, render, text

from .escalation_messages import TEMPLATES

_NUMBER, _CODE, _TEXT = "number", "code", "text"
_COUNT = ("escalation_dlt_count", "escalation_still_open")
_WAITING = ("escalation_sentence", "escalation_wait_window", "escalation_replace", "escalation_draft_first")
_WHY = ("escalation_exceeded", "escalation_exceeded_at_once")

# Each code's parameters: a number, a code (a level, a date, a study number), a text (a tally, an
# error), or one of the codes that may stand there.
PARAMS: dict[str, dict[str, str | tuple[str, ...]]] = {
    "escalation_dlt_count": {"dlts": _NUMBER, "evaluable": _NUMBER, "level": _CODE},
    "escalation_still_open": {"text": ("escalation_dlt_count", "escalation_enrol_more"), "n": _NUMBER},
    "escalation_sentence": {"sentence": ("escalation_enrol_more", "escalation_still_open")},
    "escalation_enrol_more": {"level": _CODE, "enrolled": _NUMBER, "target": _NUMBER, "more": _NUMBER},
    "escalation_wait_window": {"level": _CODE, "evaluable": _NUMBER, "target": _NUMBER, "inside": _NUMBER,
                               "dlts": _NUMBER},
    "escalation_replace": {"level": _CODE, "enrolled": _NUMBER, "evaluable": _NUMBER, "target": _NUMBER,
                           "more": _NUMBER},
    "escalation_draft": {"participant": _CODE, "onset": _CODE},
    "escalation_draft_first": {"draft": ("escalation_draft",), "then": _WAITING},
    "escalation_exceeded": {"count": _COUNT},
    "escalation_exceeded_at_once": {"why": ("escalation_exceeded",), "n": _NUMBER},
    "escalation_lowest_too_toxic": {"why": _WHY},
    "escalation_needs_below": {"level": _CODE, "n": _NUMBER},
    "escalation_expand_below": {"why": _WHY, "needs": ("escalation_needs_below",), "treated": _NUMBER,
                                "dlts": _NUMBER, "more": _NUMBER, "level": _CODE},
    "escalation_wait_below": {"why": _WHY, "needs": ("escalation_needs_below",), "pending": _WAITING},
    "escalation_stop_below": {"why": _WHY, "count": _COUNT, "level": _CODE},
    "escalation_none_open": {"level": _CODE},
    "escalation_expand": {"count": _COUNT, "more": _NUMBER, "level": _CODE},
    "escalation_choose_top": {"count": _COUNT, "n": _NUMBER, "tally": _TEXT},
    "escalation_choose_done": {"level": _CODE, "tally": _TEXT, "count": _COUNT, "n": _NUMBER},
    "escalation_escalate": {"count": _COUNT, "level": _CODE},
    "escalation_inconsistent": {"error": _TEXT},
}
# What a proposal's reason may be.
REASONS = (*_WAITING, "escalation_lowest_too_toxic", "escalation_expand_below", "escalation_wait_below",
           "escalation_stop_below", "escalation_none_open", "escalation_expand", "escalation_choose_top",
           "escalation_choose_done", "escalation_escalate", "escalation_inconsistent")
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _pieces(code: str) -> tuple[list[str], list[str]]:
    """The code's wording in the active language cut at its placeholders: the literal pieces (one
    more than the names) and the names."""
    parts = _PLACEHOLDER.split(gettext(TEMPLATES[code]).replace("%%", "%"))
    return parts[0::2], parts[1::2]


def _values(kind, said: str) -> Iterator:
    if kind == _NUMBER:
        if re.fullmatch(r"-?\d+", said):
            yield int(said)
    elif kind == _CODE:
        if re.fullmatch(r"[\w.-]+", said):
            yield said
    elif kind == _TEXT:
        if said:
            yield said
    else:
        for code in kind:
            yield from _readings(code, said)


def _readings(code: str, said: str) -> Iterator[Message]:
    """Every message of `code` whose pieces fit `said` (in the active language)."""
    literals, names = _pieces(code)
    if not said.startswith(literals[0]) or not said.endswith(literals[-1]) or (
            len(said) < len(literals[0]) + len(literals[-1])):
        return

    def fill(position: int, index: int, params: dict) -> Iterator[dict]:
        if index == len(names):
            if position == len(said):
                yield params
            return
        follower = literals[index + 1]
        if index + 1 == len(names):  # the last placeholder takes everything up to the last piece
            ends = [len(said) - len(follower)] if len(said) - len(follower) >= position else []
        else:
            ends = [match.start() for match in re.finditer(f"(?={re.escape(follower)})", said[position:])]
            ends = [position + end for end in ends] if follower else range(position + 1, len(said) + 1)
        for end in ends:
            for value in _values(PARAMS[code][names[index]], said[position:end]):
                yield from fill(end + len(follower), index + 1, {**params, names[index]: value})

    for params in fill(len(literals[0]), 0, {}):
        yield message(code, **params)


def proposal_message_of(stored: str) -> Message:
    """The message of a proposal's reason stored as text, in English or any language of the
    interface (a ``text`` message when it cannot be read back exactly; none for an empty text)."""
    stored = str(stored or "")
    if not stored:
        return {}
    for language in ["en", *(code for code, _name in settings.LANGUAGES if code != "en")]:
        with translation.override(language):
            for code in REASONS:
                for reading in _readings(code, stored):
                    if render(reading) == stored:
                        return reading
    return text(stored)
