"""Reading source data verification: each record's items, plan and ticks, the SDV progress of a
study per participant and per site, and the monitor's worklist of records awaiting verification.

Everything is computed from the records as they are (`followup.record_states`): nothing stored
can go stale. A participant's records are read from the participant's prefetched relations
(`SDV_PREFETCH`), so a page of 1 or 50 participants costs the same number of queries.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Aggregate, CharField, Exists, OuterRef, Prefetch, Subquery
from django.utils.translation import gettext as _

from enrollment.models import Participant, ScreeningLab
from trials import catalogues
from trials.scoping import Action, site_ids_for

from .models import Assessment, LabResult, RescueTherapy, Transfusion
from .record_refs import KINDS
from .record_states import (
    COMPLETE,
    CloseOut,
    ItemStatus,
    Tick,
    entered_state,
    item_statuses,
    record_state,
    record_version,
    sdv_complete,
)
from .record_values import RecordParts, held_field_codes, held_values, plan_codes, record_item_defs
from .sdv_models import DEFAULT_SDV_SCOPE, ItemVerification, SdvPlan


def verification_prefetch() -> Prefetch:
    return Prefetch("item_verifications", queryset=ItemVerification.objects.select_related("verified_by"))


class _JoinedText(Aggregate):
    """The values of a text column joined with commas (SQLite's GROUP_CONCAT, PostgreSQL's STRING_AGG)."""

    function = "GROUP_CONCAT"
    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, function="STRING_AGG",
                              template="%(function)s(%(expressions)s, ',')", **extra)


ANALYTES_ATTR = "sdv_lab_analytes"


def screening_analytes() -> dict:
    """An annotation of a participants' queryset: the analytes of the screening's labs, comma-joined,
    so that the participant page knows which screening labs are items without reading the labs."""
    labs = (ScreeningLab.objects.filter(screening=OuterRef("screening_id")).order_by().values("screening")
            .annotate(codes=_JoinedText("analyte")).values("codes"))
    return {ANALYTES_ATTR: Subquery(labs, output_field=CharField())}


def assessment_parts() -> dict:
    """Annotations of an assessments' queryset: which labs it holds (comma-joined analytes) and
    whether it holds transfusions and rescue therapies, without reading those rows."""
    labs = (LabResult.objects.filter(assessment=OuterRef("pk")).order_by().values("assessment")
            .annotate(codes=_JoinedText("analyte")).values("codes"))
    return {ANALYTES_ATTR: Subquery(labs, output_field=CharField()),
            "sdv_transfusions": Exists(Transfusion.objects.filter(assessment=OuterRef("pk"))),
            "sdv_rescue_therapies": Exists(RescueTherapy.objects.filter(assessment=OuterRef("pk")))}


def sdv_prefetch(*, values: bool = True) -> tuple:
    """What `participant_records` reads, to prefetch on a queryset of participants (screening
    selected). Without `values` (the items held, not their values: progress and worklists), the
    screening's and the assessments' rows are not read: annotate the participants with
    `screening_analytes()`."""
    if values:
        return ("screening__labs", "screening__consents", "infusions", "visits", "assessments__labs",
                "assessments__transfusions", "assessments__rescue_therapies", "adverse_events",
                verification_prefetch())
    return ("screening__consents", "infusions", "visits",
            Prefetch("assessments", queryset=Assessment.objects.annotate(**assessment_parts())), "adverse_events",
            verification_prefetch())


def plan_scope(study) -> str:
    """The study's SDV plan ("key" or "all"); key items when none was chosen (reads the plan once
    unless selected with the study)."""
    try:
        return study.sdv_plan.scope
    except SdvPlan.DoesNotExist:
        return DEFAULT_SDV_SCOPE


@dataclass
class SdvRecord:
    kind: str
    pk: int
    participant_id: int
    site_id: int
    label: str
    version: int
    entered: str
    values: dict[str, str]  # the held items, shown
    statuses: dict[str, ItemStatus]  # every item the record holds, required (of the plan) or not
    record: object = None
    participant: object = None  # set by the study-wide readers
    changed: tuple | None = None  # (when, who) of the change that withdrew the verification (`latest_changes`)
    close_out: CloseOut = field(default_factory=CloseOut)

    @property
    def kind_label(self) -> str:
        return str(KINDS[self.kind].label)

    @property
    def required(self) -> list[ItemStatus]:
        return [status for status in self.statuses.values() if status.required]

    @property
    def verified_count(self) -> int:
        return sum(1 for status in self.required if status.verified)

    @property
    def state(self) -> str:
        return record_state(entered=self.entered, verified=sdv_complete(self.statuses), close_out=self.close_out)

    @property
    def withdrawn(self) -> bool:
        """An item of the plan was verified at an earlier version and not since."""
        return any(status.withdrawn is not None for status in self.required)

    @property
    def counted(self) -> bool:
        """Complete data with items of the plan: counted in the progress."""
        return self.entered == COMPLETE and bool(self.required)

    def items(self) -> list[tuple]:
        """(item definition, value shown, `ItemStatus`) of each item the record holds, in form order."""
        return [(item, self.values[item.code], self.statuses[item.code])
                for item in record_item_defs(self.kind, self.values) if item.code in self.statuses]

    @property
    def awaiting(self) -> bool:
        """On the monitor's worklist: complete, with a plan item not verified at this version."""
        return self.counted and self.state == COMPLETE


def _ticks(participant, verifications=None) -> dict[tuple[str, int], list[Tick]]:
    found: dict[tuple[str, int], list[Tick]] = {}
    for row in participant.item_verifications.all() if verifications is None else verifications:
        found.setdefault((row.record_kind, row.record_pk), []).append(Tick(
            item_code=row.item_code, version=row.record_version, verified_by=row.verified_by.get_username(),
            verified_at=row.verified_at))
    return found


def _lab_text(lab) -> str:
    return f"{format(lab.entered_value, 'g')} {lab.entered_unit}"


def _record(kind, record, parts, *, participant, scope, ticks, label) -> SdvRecord | None:
    entered = entered_state(kind, record)
    if entered is None:
        return None
    values = held_values(kind, record, parts)
    codes = [item.code for item in record_item_defs(kind, values) if item.code in values]
    required = set(plan_codes(kind, values, scope))
    version = record_version(record)
    return SdvRecord(kind=kind, pk=record.pk, participant_id=participant.pk, site_id=participant.site_id,
                     label=label, version=version, entered=entered, values=values,
                     statuses=item_statuses(codes, required, ticks.get((kind, record.pk), []), version),
                     record=record)


def _assessment_parts(assessment) -> RecordParts:
    return RecordParts(labs={lab.analyte: _lab_text(lab) for lab in assessment.labs.all()}, rows={
        "transfusions": [f"{t.get_kind_display()} {t.date.isoformat()}" for t in assessment.transfusions.all()],
        "rescue_therapies": [f"{r.get_therapy_display()} {r.start.isoformat()}"
                             + (f" – {r.end.isoformat()}" if r.end else "")
                             for r in assessment.rescue_therapies.all()]})


def _annotated_parts(record) -> RecordParts:
    """The parts of a record annotated with `assessment_parts` (or a participant's screening with
    `screening_analytes`): which items it holds, not their values."""
    analytes = [code for code in (getattr(record, ANALYTES_ATTR) or "").split(",") if code]
    rows = {code: [""] for code in ("transfusions", "rescue_therapies") if getattr(record, f"sdv_{code}", False)}
    return RecordParts(labs=dict.fromkeys(analytes, ""), rows=rows)


def record_parts(kind: str, record, *, prior_therapies: bool = False) -> RecordParts | None:
    """The rows `record` holds (through its relations, prefetched or read here); `prior_therapies`
    reads the screening's prior therapies to show them."""
    if kind == "assessment":
        return _annotated_parts(record) if hasattr(record, ANALYTES_ATTR) else _assessment_parts(record)
    if kind != "screening":
        return None
    rows = {}
    if prior_therapies:
        therapies = catalogues.current()
        rows["prior_therapies"] = [f"{therapies.therapy_name(therapy.therapy)} ({therapy.get_outcome_display()})"
                                   for therapy in record.prior_therapies.all()]
    return RecordParts(labs={lab.analyte: _lab_text(lab) for lab in record.labs.all()}, rows=rows)


def record_label(kind: str, record, visit_code: str | None = None) -> str:
    """How the record is named on the pages (`visit_code`: an assessment's visit, None unscheduled)."""
    if kind == "screening":
        return _("Screening %(number)s") % {"number": record.number}
    if kind == "consent":
        return _("Consent, version %(version)s") % {"version": record.version}
    if kind == "infusion":
        return _("Infusion %(number)s") % {"number": record.number}
    if kind == "visit":
        return _("Visit %(code)s") % {"code": record.code}
    if kind == "assessment":
        return _("Assessment %(date)s (%(visit)s)") % {"date": record.date.isoformat(),
                                                       "visit": visit_code or _("unscheduled")}
    return _("Adverse event: %(term)s, %(onset)s") % {"term": record.term, "onset": record.onset_date.isoformat()}


def record_participant(kind: str, record):
    """The participant a record belongs to (following `RecordKind.participant_path`)."""
    found = record
    for step in KINDS[kind].participant_path.split("__"):
        found = getattr(found, step)
    return found


def single_record(kind: str, record, participant) -> SdvRecord | None:
    """One record with its items shown (prior therapies too) and its ticks, for its verification
    page and the verification service (a few queries)."""
    rows = ItemVerification.objects.filter(record_kind=kind, record_pk=record.pk).select_related("verified_by")
    ticks: dict[tuple[str, int], list[Tick]] = {(kind, record.pk): [
        Tick(item_code=row.item_code, version=row.record_version, verified_by=row.verified_by.get_username(),
             verified_at=row.verified_at) for row in rows]}
    visit_code = record.visit.code if kind == "assessment" and record.visit_id else None
    return _record(kind, record, record_parts(kind, record, prior_therapies=True), participant=participant,
                   scope=plan_scope(participant.study), ticks=ticks, label=record_label(kind, record, visit_code))


def participant_records(participant, *, scope: str, prior_therapies: bool = False) -> list[SdvRecord]:
    """The participant's case report forms under the SDV plan `scope`, in casebook order, read from
    the participant's relations (prefetched: `sdv_prefetch`, or with `screening_analytes` annotated
    in place of the screening's labs); `prior_therapies` shows the screening's prior therapies (from
    its prefetched `prior_therapies`)."""
    ticks = _ticks(participant)
    screening = participant.screening
    found: list[SdvRecord | None] = []

    def add(kind, record, label):
        parts = record_parts(kind, record, prior_therapies=prior_therapies)
        found.append(_record(kind, record, parts, participant=participant, scope=scope, ticks=ticks, label=label))

    if hasattr(participant, ANALYTES_ATTR):  # the analytes only: their values are not shown here
        found.append(_record("screening", screening, _annotated_parts(participant), participant=participant,
                             scope=scope, ticks=ticks, label=record_label("screening", screening)))
    else:
        add("screening", screening, record_label("screening", screening))
    for consent in sorted(screening.consents.all(), key=lambda c: (c.signed_at, c.pk)):
        add("consent", consent, record_label("consent", consent))
    for infusion in sorted(participant.infusions.all(), key=lambda i: i.number):
        add("infusion", infusion, record_label("infusion", infusion))
    visits = sorted(participant.visits.all(), key=lambda v: (v.target_at, v.pk))
    codes = {visit.pk: visit.code for visit in visits}
    for visit in visits:
        add("visit", visit, record_label("visit", visit))
    for assessment in sorted(participant.assessments.all(), key=lambda a: (a.date, a.pk)):
        add("assessment", assessment, record_label("assessment", assessment, codes.get(assessment.visit_id)))
    for event in sorted(participant.adverse_events.all(), key=lambda e: (e.onset_date, e.pk)):
        add("adverse_event", event, record_label("adverse_event", event))
    return [record for record in found if record is not None]


def latest_changes(records) -> dict[tuple[str, int], tuple]:
    """{(kind, pk): (when, who)} of the latest saved change of each record whose verification was
    withdrawn: one query per kind of record among them."""
    wanted: dict[str, list[int]] = {}
    for record in records:
        if record.withdrawn:
            wanted.setdefault(record.kind, []).append(record.pk)
    found: dict[tuple[str, int], tuple] = {}
    for kind, pks in wanted.items():
        history = KINDS[kind].model_class().history.filter(id__in=pks).select_related("history_user")
        for row in history.order_by("id", "-history_date", "-history_id"):
            if (kind, row.id) not in found:
                found[(kind, row.id)] = (row.history_date, row.history_user.get_username() if row.history_user
                                         else _("someone"))
    return found


@dataclass
class Progress:
    required: int = 0
    verified: int = 0

    def add(self, record: SdvRecord) -> None:
        if record.counted:
            self.required += len(record.required)
            self.verified += record.verified_count

    @property
    def percent(self) -> float | None:
        """Plan items verified, % of the plan items of complete records; None with none to verify."""
        return None if not self.required else round(100 * self.verified / self.required, 1)


@dataclass
class SiteProgress:
    site: object
    participants: int
    progress: Progress
    # The site's casebooks locked on their own, when counted with the progress (`kept_by_site`), else None.
    locked: int | None = None


def _participants(study, site_ids):
    return (Participant.objects.filter(study=study, site_id__in=site_ids).select_related("screening", "site")
            .annotate(**screening_analytes()).prefetch_related(*sdv_prefetch(values=False))
            .order_by("site__code", "sequence"))


def study_sdv(study, user, action: Action = Action.VIEW) -> tuple[dict[int, Progress], list[SiteProgress], list]:
    """SDV of a study at the user's sites where their role allows `action`: progress by participant
    id, by site (every such site of the study, one row each, in site code order), and every record
    of those participants (`SdvRecord`). A constant number of queries whatever the participants."""
    allowed = set(site_ids_for(user, action))
    sites = [site for site in study.sites.all() if site.pk in allowed]
    scope = plan_scope(study)
    by_participant: dict[int, Progress] = {}
    by_site = {site.pk: SiteProgress(site=site, participants=0, progress=Progress()) for site in sites}
    records: list[SdvRecord] = []
    for participant in _participants(study, list(by_site)):
        progress = by_participant.setdefault(participant.pk, Progress())
        by_site[participant.site_id].participants += 1
        for record in participant_records(participant, scope=scope):
            record.participant = participant
            progress.add(record)
            by_site[participant.site_id].progress.add(record)
            records.append(record)
    return by_participant, list(by_site.values()), records


def sdv_worklist(study, user) -> list[SdvRecord]:
    """The records of the study awaiting verification at the sites where the user verifies:
    complete, with an item of the plan not verified at the record's version (never verified, or
    verified before a change: withdrawn first, with when and by whom it changed), by site,
    participant and casebook order."""
    _progress, _sites, records = study_sdv(study, user, Action.VERIFY)
    awaiting = [record for record in records if record.awaiting]
    changes = latest_changes(awaiting)
    for record in awaiting:
        record.changed = changes.get((record.kind, record.pk))
    return sorted(awaiting, key=lambda r: not r.withdrawn)


def schedule_record_states(*, scope: str, close_out: CloseOut, records, ticks) -> dict[tuple[str, int], str]:
    """{(kind, pk): state} (`followup.record_states`) of a participant's infusions and visits read as
    plain values (the participant x visit grid reads them for a page at once): `records` of (kind, pk,
    state, row_version, {field: value} of the kind's item fields, `record_values.field_item_codes`),
    `ticks` {(kind, pk): [item code and version verified]}; `close_out` holds the casebook's signature and
    lock. The states `participant_records` gives the same records, without their model instances."""
    states: dict[tuple[str, int], str] = {}
    for kind, pk, state, version, values in records:
        entered = entered_state(kind, _Entered(state))
        if entered is None:
            continue
        if close_out.locked or close_out.signed or (kind, pk) not in ticks:
            # The items held decide nothing here: a lock or a signature outranks verification,
            # and a record with no tick is not verified.
            states[(kind, pk)] = record_state(entered=entered, verified=False, close_out=close_out)
            continue
        codes = held_field_codes(kind, values)
        held = dict.fromkeys(codes, "")
        statuses = item_statuses(codes, set(plan_codes(kind, held, scope)), ticks[(kind, pk)], version)
        states[(kind, pk)] = record_state(entered=entered, verified=sdv_complete(statuses), close_out=close_out)
    return states


@dataclass(frozen=True)
class _Entered:
    """What `entered_state` reads of an infusion or a visit."""

    state: str
