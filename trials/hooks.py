"""The few points where a lower app hands work to a higher one.

Imports go one way: `trials` <- `enrollment` <- `dosing` <- `followup`. Where a lower app's write
must be followed by a higher app's work (an enrolment creates the infusion plan and the visit
schedule; an infusion recorded re-plans the visits, opens adverse event drafts for its reactions
and queues the study's outcomes), the lower app calls a hook named here, and the higher app
connects its receiver in its `AppConfig.ready`. Receivers run in the caller's transaction, in the
order the apps are installed; a hook with no receiver is refused rather than silently skipped, so a
missing app shows at once. Not signals on save: each hook is called explicitly, at one place, with
keyword arguments documented below.
"""
from __future__ import annotations

from collections.abc import Callable


class Hook:
    def __init__(self, name: str, doc: str) -> None:
        self.name, self.__doc__ = name, doc
        self._receivers: list[Callable] = []

    def connect(self, receiver: Callable) -> Callable:
        if receiver not in self._receivers:
            self._receivers.append(receiver)
        return receiver

    def __call__(self, **kwargs) -> list:
        if not self._receivers:
            raise LookupError(f"No app handles the hook {self.name!r}: is its app installed?")
        return [receiver(**kwargs) for receiver in self._receivers]

    def one(self, **kwargs):
        """The single receiver's answer, for a hook that reads rather than acts."""
        if len(self._receivers) != 1:
            raise LookupError(f"The hook {self.name!r} needs exactly one receiver, not {len(self._receivers)}.")
        return self._receivers[0](**kwargs)


participant_enrolled = Hook(
    "participant_enrolled",
    "(participant, study, by, today) -> None. Creates the infusion plan and the visit schedule.",
)
infusion_changed = Hook(
    "infusion_changed",
    "(participant, infusion, infusions, infusion_plan, by, reason, today) -> None. An infusion was given "
    "or missed and later infusions were re-planned: re-date the visits, open adverse event drafts for "
    "its immediate reactions and queue the study's outcomes.",
)
escalation_events = Hook(
    "escalation_events",
    "() -> Prefetch. The participants' adverse events the 3+3 counts read (dismissed drafts left out), "
    "as a prefetch of `adverse_events` on participants.",
)
participant_schedule = Hook(
    "participant_schedule",
    "(participant, now) -> {'infusions': [...], 'visits': [...]}. The participant's infusions and visits "
    "with their statuses as of `now`, for the participant API.",
)
item_answers = Hook(
    "item_answers",
    "(study, code) -> int. How many of the study's records (screenings, assessments) hold an answer to "
    "the item `code`; each app that stores answers counts its own.",
)
casebook_signed = Hook(
    "casebook_signed",
    "(participant) -> bool. True when the casebook carries an investigator's signature that no later change has "
    "invalidated; a casebook is locked only then (`enrollment.locks.casebook_lock`).",
)
