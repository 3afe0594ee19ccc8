"""The participant x visit grid of a study: one row per participant (the participants list's page,
`followup.participant_list`), one cell per infusion and per scheduled visit with its state.

The schedule states are the participant page's (`followup.participant_schedule`, over
`dosing.windows.infusion_status` and `followup.schedule.visit_status`: no window arithmetic here):
planned, waiting for an earlier infusion, window open, overdue, done (an infusion given), done out
of window, missed, cancelled (a withdrawn participant's infusion held or visit not done). The
monitoring state of a recorded cell (`followup.record_states`: verified against source, signed
with the casebook, locked) is shown beside it. Each cell links to its form where the user records
it (the visit's form, the next infusion's), else to the participant page. One page of participants
reads its infusions, visits, verifications, signatures and locks in a fixed number of statements.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from urllib.parse import quote

from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from dosing.models import Infusion
from enrollment.enums import ParticipantStatus
from enrollment.selectors import participants_visible
from trials.content import content
from trials.models import InfusionDefinition, VisitDefinition
from trials.scoping import Action, site_ids_for
from trials.selectors import visit_definition_order

from .models import Visit, waits_for_infusion
from .participant_list import ORDER
from .participant_schedule import scheduled_infusion_status, scheduled_visit_status
from .record_states import LOCKED, SIGNED, VERIFIED, CloseOut, Tick
from .record_values import field_item_codes
from .schedule import PlannedVisit
from .sdv import plan_scope, schedule_record_states
from .sdv_models import ItemVerification
from .signoff import CASEBOOK_CHANGED_AT, CASEBOOK_SIGNED_AT, signature_valid, signed_annotations

PLANNED = "planned"
WAITING = "waiting"
WINDOW_OPEN = "window_open"
OVERDUE = "overdue"
DONE = "done"
DONE_OUT_OF_WINDOW = "done_out_of_window"
MISSED = "missed"
CANCELLED = "cancelled"
SCHEDULE_STATES = (PLANNED, WAITING, WINDOW_OPEN, OVERDUE, DONE, DONE_OUT_OF_WINDOW, MISSED, CANCELLED)
MONITORING_STATES = (VERIFIED, SIGNED, LOCKED)

# The statuses of `participant_schedule` (infusions and visits) as the grid's states.
_FROM_SCHEDULE = {
    "upcoming": PLANNED, "planned": PLANNED, "waiting": WAITING, "window_open": WINDOW_OPEN, "overdue": OVERDUE,
    "done": DONE, "given": DONE, "done_out_of_window": DONE_OUT_OF_WINDOW, "given_out_of_window": DONE_OUT_OF_WINDOW,
    "missed": MISSED, "held": CANCELLED, "cancelled": CANCELLED,
}
# The text in each cell beside its colour: the state never rests on the colour alone.
SYMBOLS = {PLANNED: "○", WAITING: "…", WINDOW_OPEN: "◐", OVERDUE: "!", DONE: "✓", DONE_OUT_OF_WINDOW: "✓±",
           MISSED: "✗", CANCELLED: "–", VERIFIED: "☑", SIGNED: "✍", LOCKED: "🔒"}
LABELS = {
    PLANNED: gettext_lazy("planned"), WAITING: gettext_lazy("waiting for an earlier infusion"),
    WINDOW_OPEN: gettext_lazy("window open"), OVERDUE: gettext_lazy("overdue"), DONE: gettext_lazy("done"),
    DONE_OUT_OF_WINDOW: gettext_lazy("done out of window"), MISSED: gettext_lazy("missed"),
    CANCELLED: gettext_lazy("cancelled"), VERIFIED: gettext_lazy("verified"),
    SIGNED: pgettext_lazy("record state", "signed"), LOCKED: gettext_lazy("locked"),
}
# Where a participant can still be recorded (the participant page's "record" links).
_TO_RECORD = ("upcoming", "window_open", "overdue", "planned")


def grid_state(status: str) -> str:
    """The grid's state of a `participant_schedule` status."""
    return _FROM_SCHEDULE[status]


def monitoring_state(record_state: str | None) -> str | None:
    """The monitoring state shown beside a cell: verified, signed or locked; None otherwise."""
    return record_state if record_state in MONITORING_STATES else None


def legend() -> list[tuple[str, str, str]]:
    """(state, symbol, label) of every state, schedule first."""
    return [(state, SYMBOLS[state], str(LABELS[state])) for state in (*SCHEDULE_STATES, *MONITORING_STATES)]


@dataclass(frozen=True)
class Column:
    kind: str  # "infusion" or "visit"
    key: object  # the infusion's number or the visit's code
    heading: str
    title: str


@lru_cache(maxsize=4096)
def _named_state(kind: str, key, state: str, monitoring: str | None, language: str | None) -> str:
    """"Visit BL: done, verified" in `language` (the active one: part of the key), once per page
    and column rather than per cell."""
    name = (_("Infusion %(number)s") % {"number": key} if kind == "infusion"
            else _("Visit %(code)s") % {"code": key})
    states = str(LABELS[state]) + (f", {LABELS[monitoring]}" if monitoring else "")
    return f"{name}: {states}"


@dataclass(frozen=True)
class Cell:
    kind: str
    key: object
    state: str
    monitoring: str | None
    url: str
    when: object  # the date given or done, else the target date

    @property
    def symbol(self) -> str:
        return SYMBOLS[self.state] + (SYMBOLS[self.monitoring] if self.monitoring else "")

    @property
    def label(self) -> str:
        named = _named_state(self.kind, self.key, self.state, self.monitoring, get_language())
        return f"{named} ({self.when:%Y-%m-%d})" if self.when else named

    def html(self, language: str | None = None) -> str:
        """The cell's link (escaped here: the grid has hundreds of cells a page, too many for template
        variables); what every cell of a column and state shares is made once (`_cell_parts`),
        `language` the active one (read once a row)."""
        start, named, end = _cell_parts(self.kind, self.key, self.state, self.monitoring,
                                        get_language() if language is None else language)
        label = f"{named} ({self.when.isoformat()})" if self.when else named
        return f'{start}href="{escape(self.url)}" title="{label}" aria-label="{label}"{end}'


@lru_cache(maxsize=4096)
def _cell_parts(kind: str, key, state: str, monitoring: str | None, language: str | None) -> tuple[str, str, str]:
    """A cell's link around its address and label: (start, the escaped state's name, end)."""
    mark = monitoring or ""
    symbol = SYMBOLS[state] + (SYMBOLS[monitoring] if monitoring else "")
    return (f'<a class="grid-cell state-{state}{f" mon-{mark}" if mark else ""}" ',
            escape(_named_state(kind, key, state, monitoring, language)),
            f' data-testid="grid-cell" data-kind="{kind}" data-key="{escape(key)}" data-state="{state}" '
            f'data-monitoring="{mark}">{symbol}</a>')


@dataclass(frozen=True)
class GridRow:
    participant: object  # a row of plain values (`grid_shown`): pk, study_number, screening__initials, ...
    cells: list  # a Cell or None (not planned for this participant) per column

    def cells_html(self) -> str:
        """A table cell per column, safe HTML."""
        not_planned = escape(_("not planned"))
        empty = f'<td class="text-center p-0"><span class="text-muted small" title="{not_planned}">·</span></td>'
        language = get_language()
        return mark_safe("".join(f'<td class="text-center p-0">{cell.html(language)}</td>' if cell else empty
                                 for cell in self.cells))

    def html(self, detail: str) -> str:
        """The row's `<tr>` (escaped here, as the cells: no template variables per row), `detail` the
        participant page's address, escaped."""
        participant = self.participant
        return (f'\n  <tr data-participant="{participant.pk}">\n    <th scope="row" class="text-nowrap">'
                f'<a href="{detail}">{escape(participant.study_number)}</a> <span class="small text-muted">'
                f'{escape(participant.screening__initials)}</span></th>\n    {self.cells_html()}\n  </tr>\n  ')


def rows_html(rows: list[GridRow]) -> SafeString:
    """The table's rows, safe HTML (`followup/participant_grid.html` puts them in its `<tbody>`)."""
    links = _Links()
    return mark_safe("".join(row.html(escape(links(links.detail, row.participant.pk))) for row in rows))


class _Links:
    """The grid's links: each reversed once a page with a placeholder key, then filled in per cell
    (hundreds of cells a page)."""

    PK = 987654321
    CODE = "GRIDVISITCODE"

    def __init__(self):
        self.detail = reverse("participant-detail", args=[self.PK])
        self.infusion = reverse("infusion-record", args=[self.PK])
        self.visit = reverse("visit-record", args=[self.PK, self.CODE])
        self.assessment = reverse("assessment-new", args=[self.PK])

    def __call__(self, pattern: str, pk: int, code: str = "") -> str:
        url = pattern.replace(str(self.PK), str(pk))
        return url.replace(self.CODE, quote(code, safe=RFC3986_SUBDELIMS + "/~:@")) if code else url


def grid_definitions(study) -> dict[int, VisitDefinition]:
    """The study's visit definitions by id (one statement): the grid's columns and its visits' own."""
    return {definition.pk: definition for definition in VisitDefinition.objects.filter(study=study)}


def grid_columns(study, definitions: dict[int, VisitDefinition] | None = None) -> list[Column]:
    """An infusion column per infusion number of the study's arms, then a visit column per visit
    definition in schedule order (two statements; one when the `definitions` are given)."""
    numbers = sorted(set(InfusionDefinition.objects.filter(arm__study=study).values_list("number", flat=True)))
    columns = [Column("infusion", number, _("I%(number)s") % {"number": number},
                      _("Infusion %(number)s") % {"number": number}) for number in numbers]
    seen = set()
    definitions = grid_definitions(study) if definitions is None else definitions
    for definition in sorted(definitions.values(), key=visit_definition_order):
        if definition.code not in seen:
            seen.add(definition.code)
            columns.append(Column("visit", definition.code, definition.code, content(definition, "label")))
    return columns


# What the grid reads of each participant of a page, as plain values (no model instances).
GRID_PARTICIPANT = ("pk", "study_number", "screening__initials", "site_id", "status", "locked_at",
                    "study__locked_at", CASEBOOK_SIGNED_AT, CASEBOOK_CHANGED_AT)
_INFUSION = tuple(dict.fromkeys(("participant_id", "pk", "number", "target_date", "window_start", "window_end",
                                 "state", "started_at", "row_version", *field_item_codes("infusion"))))
_VISIT = tuple(dict.fromkeys(("participant_id", "pk", "code", "definition_id", "target_at", "window_start",
                              "window_end", "provisional", "timed", "state", "done_at", "row_version",
                              *field_item_codes("visit"))))
_TICK = ("participant_id", "record_kind", "record_pk", "item_code", "record_version", "verified_at")


def grid_shown(user):
    """The participants of the user's sites as the grid's rows read them (`KeyedPaginator`'s `shown`):
    plain values (`GRID_PARTICIPANT`: the casebook's and the study's locks, the time of the casebook's
    latest signature and of its latest change), in the list's order."""
    return (participants_visible(user).annotate(**signed_annotations()).order_by(*ORDER)
            .values_list(*GRID_PARTICIPANT, named=True))


@dataclass
class _Records:
    """A page's infusions, visits and verification ticks by participant id, as plain values."""

    infusions: dict
    visits: dict
    ticks: dict


def _records(ids: list[int]) -> _Records:
    """Three statements (none for an empty page), unordered: the rows are put in order per participant."""
    found = _Records({}, {}, {})
    if not ids:
        return found
    for row in Infusion.objects.filter(participant_id__in=ids).order_by().values_list(*_INFUSION, named=True):
        found.infusions.setdefault(row.participant_id, []).append(row)
    for row in Visit.objects.filter(participant_id__in=ids).order_by().values_list(*_VISIT, named=True):
        found.visits.setdefault(row.participant_id, []).append(row)
    ticks = (ItemVerification.objects.filter(participant_id__in=ids, record_kind__in=("infusion", "visit"))
             .order_by().values_list(*_TICK))
    for participant_id, kind, pk, code, version, verified_at in ticks:
        found.ticks.setdefault(participant_id, {}).setdefault((kind, pk), []).append(
            Tick(item_code=code, version=version, verified_by="", verified_at=verified_at))
    return found


def _visit_url(participant, visit, status: str, record: bool, links: _Links) -> str:
    if not record or status not in _TO_RECORD:
        return links(links.detail, participant.pk)
    if visit.timed:
        return links(links.visit, participant.pk, visit.code)
    return links(links.assessment, participant.pk) + f"?visit={visit.code}"


@dataclass(frozen=True)
class _Page:
    """What every row of a page shares."""

    now: datetime
    today: object
    zone: object
    scope: str
    capture: set
    links: _Links
    offsets: dict  # the visit definitions' offsets by id


def _row(participant, records: _Records, columns, page: _Page) -> GridRow:
    """The participant's cells: the schedule's statuses (`participant_schedule`'s, from plain values)
    and the record states (`sdv.schedule_record_states`) of its infusions and visits."""
    pk, zone, links = participant.pk, page.zone, page.links
    held = participant.status == ParticipantStatus.WITHDRAWN
    locked = participant.locked_at is not None or participant.study__locked_at is not None
    close_out = CloseOut(signed=signature_valid(participant.casebook_signed_at, participant.casebook_changed_at),
                         locked=locked)
    infusions = sorted(records.infusions.get(pk, ()), key=lambda r: r.number)
    visits = sorted(records.visits.get(pk, ()), key=lambda r: (r.target_at, r.pk))
    states = schedule_record_states(scope=page.scope, close_out=close_out, ticks=records.ticks.get(pk, {}), records=[
        *(("infusion", row.pk, row.state, row.row_version, row._asdict()) for row in infusions),
        *(("visit", row.pk, row.state, row.row_version, row._asdict()) for row in visits)])
    record = participant.site_id in page.capture and not held and not locked
    detail = links(links.detail, pk)
    cells: dict[tuple[str, object], Cell] = {}
    pending = False  # an earlier infusion neither given nor missed
    scheduled = []
    for row in infusions:
        scheduled.append((row, scheduled_infusion_status(row, today=page.today, held=held, pending=pending, zone=zone)))
        pending = pending or row.state == "planned"
    next_infusion = next((row.number for row, status in scheduled if status in _TO_RECORD + ("waiting",)), None)
    for row, status in scheduled:
        url = links(links.infusion, pk) if record and row.number == next_infusion else detail
        when = timezone.localtime(row.started_at, zone).date() if row.state == "given" else row.target_date
        cells[("infusion", row.number)] = Cell("infusion", row.number, grid_state(status),
                                               monitoring_state(states.get(("infusion", row.pk))), url, when)
    for row in visits:
        planned = PlannedVisit(code=row.code, label="", target=row.target_at, window_start=row.window_start,
                               window_end=row.window_end, provisional=row.provisional, timed=row.timed)
        status = scheduled_visit_status(row, planned, now=page.now, held=held,
                                        waits=waits_for_infusion(row.provisional, page.offsets[row.definition_id]))
        when = timezone.localtime(row.done_at if row.done_at else row.target_at, zone).date()
        cells[("visit", row.code)] = Cell(
            "visit", row.code, grid_state(status), monitoring_state(states.get(("visit", row.pk))),
            _visit_url(participant, row, status, record, links), when)
    return GridRow(participant, [cells.get((column.kind, column.key)) for column in columns])


def _offsets(records: _Records, definitions: dict[int, VisitDefinition]) -> dict[int, int]:
    """The offset of each visit definition of `records`: from `definitions`, those of another study
    (which a page of the study's participants never holds) read in one statement."""
    offsets = {pk: definition.offset for pk, definition in definitions.items()}
    missing = {row.definition_id for rows in records.visits.values() for row in rows} - offsets.keys()
    if missing:
        offsets.update(VisitDefinition.objects.filter(pk__in=missing).values_list("pk", "offset"))
    return offsets


def grid_rows(user, participants, columns, *, study, now: datetime | None = None,
              definitions: dict[int, VisitDefinition] | None = None) -> list[GridRow]:
    """The grid's rows for `participants` (rows of `grid_shown`), in their order: their infusions,
    visits and verifications read in three statements, the visit definitions (`grid_definitions`)
    read here when not given."""
    now = now or timezone.now()
    zone = timezone.get_current_timezone()
    participants = list(participants)
    records = _records([participant.pk for participant in participants])
    page = _Page(now=now, today=timezone.localdate(now, zone), zone=zone, scope=plan_scope(study),
                 capture=set(site_ids_for(user, Action.CAPTURE)), links=_Links(),
                 offsets=_offsets(records, grid_definitions(study) if definitions is None else definitions))
    return [_row(participant, records, columns, page) for participant in participants]
