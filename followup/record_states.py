"""The state of a case report form in monitoring: in progress -> complete -> verified.

- in progress: data still being entered; a draft adverse event (the investigator has not confirmed
  it), a planned infusion not given yet, a visit still upcoming. Nothing to verify yet.
- complete: the form holds its data; it waits for source data verification while an item of the
  SDV plan that it holds is not verified at its current version.
- verified: every item of the plan that the record holds was verified against source, and the
  record has not changed since.

One rule decides whether a verification still holds: the record's `row_version` (the number every
saved change moves on, `trials.concurrency`) equals the version the item was verified at. A change
through any edit service therefore withdraws the verification of every item of the record, without
any change to those services: the form is complete again, back on the monitor's worklist, and its
page says when and by whom it was changed. A consent is written once and has no version (1).

A dismissed adverse event draft is no adverse event: it is left out of SDV (`entered_state` None).

Extension point for the later steps (signature, lock): `record_state` takes their facts as a
`CloseOut`. The investigator's signature and the data manager's lock each fill their field when
they are built (reading their own rows in bulk, as `followup.sdv` reads the ticks) and pass it in;
the states they add sit above "verified" in `ORDER` and are decided in `record_state` only, so every
page, the API and the worklists stay consistent. A locked record is locked whatever else holds; a
signed one is signed once its data are complete (the signature does not wait for SDV; a change to a
signed record withdraws both). The casebook sign-off (`followup.signoff`) signs a participant's
casebook as a whole: `CloseOut(signed=casebook_signature_state(participant).valid)` for each of its
records is the wiring (one query per participant, or read with the participants in bulk).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

IN_PROGRESS = "in_progress"
COMPLETE = "complete"
VERIFIED = "verified"
SIGNED = "signed"  # layered on by the signature feature (`CloseOut.signed`)
LOCKED = "locked"  # layered on by the lock feature (`CloseOut.locked`)

ORDER = (IN_PROGRESS, COMPLETE, VERIFIED, SIGNED, LOCKED)


def entered_state(kind: str, record) -> str | None:
    """in_progress or complete from the record's own data; None for a record outside SDV."""
    if kind == "adverse_event":
        return {"draft": IN_PROGRESS, "dismissed": None}.get(record.status, COMPLETE)
    if kind == "infusion":
        return IN_PROGRESS if record.state == "planned" else COMPLETE
    if kind == "visit":
        return IN_PROGRESS if record.state == "upcoming" else COMPLETE
    return COMPLETE


def record_version(record) -> int:
    """The version a verification of `record` is compared with (1 for a record written once)."""
    return getattr(record, "row_version", 1)


@dataclass(frozen=True)
class Tick:
    """One item verified: at which version of the record, by whom, when."""

    item_code: str
    version: int
    verified_by: str
    verified_at: datetime


@dataclass(frozen=True)
class CloseOut:
    """The facts of the steps after verification, for `record_state` (see the module's docstring)."""

    signed: bool = False
    locked: bool = False


@dataclass
class ItemStatus:
    code: str
    required: bool  # an item of the plan held by the record
    current: Tick | None = None  # the tick at the record's version
    withdrawn: Tick | None = None  # the latest tick at an older version, when none is current
    history: list[Tick] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return self.current is not None


def item_statuses(codes, required, ticks: list[Tick], version: int) -> dict[str, ItemStatus]:
    """The verification of each item in `codes` (`required`: those of the plan), from its `ticks`."""
    statuses = {code: ItemStatus(code=code, required=code in required) for code in codes}
    for tick in sorted(ticks, key=lambda t: t.verified_at):
        status = statuses.get(tick.item_code)
        if status is None:
            continue
        status.history.append(tick)
        if tick.version == version:
            status.current = tick
    for status in statuses.values():
        if status.current is None and status.history:
            status.withdrawn = status.history[-1]
    return statuses


def sdv_complete(statuses: dict[str, ItemStatus]) -> bool:
    """Every required item verified at the record's version (and at least one to verify)."""
    required = [status for status in statuses.values() if status.required]
    return bool(required) and all(status.verified for status in required)


def record_state(*, entered: str, verified: bool, close_out: CloseOut | None = None) -> str:
    """The record's state from its data (`entered_state`), its SDV (`sdv_complete`) and the facts
    of the later steps (`CloseOut`)."""
    close_out = close_out or CloseOut()
    if close_out.locked:
        return LOCKED
    if entered == IN_PROGRESS:
        return IN_PROGRESS
    if close_out.signed:
        return SIGNED
    return VERIFIED if verified else COMPLETE
