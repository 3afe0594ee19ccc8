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

from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from dosing.models import Infusion
from enrollment.enums import ParticipantStatus
from enrollment.locks import lock_of
from trials.content import content
from trials.models import InfusionDefinition, VisitDefinition
from trials.scoping import Action, site_ids_for
from trials.selectors import visit_definition_order

from .models import Visit
from .participant_schedule import participant_schedule
from .record_states import LOCKED, SIGNED, VERIFIED, CloseOut
from .sdv import plan_scope, schedule_record_states, verification_prefetch
from .signoff import casebook_signature_state, signoff_annotations

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
    participant: object
    cells: list  # a Cell or None (not planned for this participant) per column

    def cells_html(self) -> str:
        """A table cell per column, safe HTML."""
        not_planned = escape(_("not planned"))
        empty = f'<td class="text-center p-0"><span class="text-muted small" title="{not_planned}">·</span></td>'
        language = get_language()
        return mark_safe("".join(f'<td class="text-center p-0">{cell.html(language)}</td>' if cell else empty
                                 for cell in self.cells))


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


def grid_prefetch(rows):
    """What the grid reads of each participant of a page, in a fixed number of statements: lists
    (`grid_infusions`, `grid_visits`, `grid_verifications`), which cost no query set per participant.
    The visits without their definitions: `grid_rows` gives them the study's (`grid_definitions`),
    read once rather than once per visit."""
    verifications = verification_prefetch()
    return (rows.prefetch_related(
        Prefetch("infusions", queryset=Infusion.objects.order_by("number"), to_attr="grid_infusions"),
        Prefetch("visits", queryset=Visit.objects.all(), to_attr="grid_visits"),
        Prefetch(verifications.prefetch_through, queryset=verifications.queryset, to_attr="grid_verifications"))
            .annotate(**signoff_annotations()))


def _visit_url(participant, visit, record: bool, links: _Links) -> str:
    if not record or visit.status not in _TO_RECORD:
        return links(links.detail, participant.pk)
    if visit.timed:
        return links(links.visit, participant.pk, visit.code)
    return links(links.assessment, participant.pk) + f"?visit={visit.code}"


def _row(participant, columns, *, now: datetime, scope: str, capture: set[int], links: _Links) -> GridRow:
    infusions, visits = participant.grid_infusions, participant.grid_visits
    schedule = participant_schedule(participant, now=now, infusion_rows=infusions, visit_rows=visits)
    lock = lock_of(participant)
    close_out = CloseOut(signed=casebook_signature_state(participant).valid, locked=lock is not None)
    states = schedule_record_states(participant, scope=scope, close_out=close_out, infusions=infusions,
                                    visits=visits, verifications=participant.grid_verifications)
    record = (participant.site_id in capture and participant.status != ParticipantStatus.WITHDRAWN
              and lock is None)
    detail = links(links.detail, participant.pk)
    cells: dict[tuple[str, object], Cell] = {}
    next_infusion = next((i.number for i in schedule["infusions"] if i.status in _TO_RECORD + ("waiting",)), None)
    for infusion in schedule["infusions"]:
        url = links(links.infusion, participant.pk) if record and infusion.number == next_infusion else detail
        when = timezone.localtime(infusion.given_at).date() if infusion.given_at else infusion.target_date
        cells[("infusion", infusion.number)] = Cell(
            "infusion", infusion.number, grid_state(infusion.status),
            monitoring_state(states.get(("infusion", infusion.pk))), url, when)
    visits_done = {row.pk: row.done_at for row in visits}
    for visit in schedule["visits"]:
        done_at = visits_done.get(visit.pk)
        when = timezone.localtime(done_at).date() if done_at else visit.target_date
        cells[("visit", visit.code)] = Cell(
            "visit", visit.code, grid_state(visit.status), monitoring_state(states.get(("visit", visit.pk))),
            _visit_url(participant, visit, record, links), when)
    return GridRow(participant, [cells.get((column.kind, column.key)) for column in columns])


def _with_definitions(participants, definitions: dict[int, VisitDefinition]) -> None:
    """Each visit of `participants` given its definition from `definitions` (those of another study,
    which a page of the study's participants never holds, read in one statement)."""
    visits = [visit for participant in participants for visit in participant.grid_visits]
    missing = {visit.definition_id for visit in visits} - definitions.keys()
    if missing:
        definitions = {**definitions, **VisitDefinition.objects.in_bulk(missing)}
    for visit in visits:
        visit.definition = definitions[visit.definition_id]


def grid_rows(user, participants, columns, *, study, now: datetime | None = None,
              definitions: dict[int, VisitDefinition] | None = None) -> list[GridRow]:
    """The grid's rows for `participants` (read through `grid_prefetch`), in their order, their
    visits given their definitions (`grid_definitions`: read here when not given)."""
    now = now or timezone.now()
    scope = plan_scope(study)
    capture = set(site_ids_for(user, Action.CAPTURE))
    links = _Links()
    participants = list(participants)
    _with_definitions(participants, grid_definitions(study) if definitions is None else definitions)
    return [_row(participant, columns, now=now, scope=scope, capture=capture, links=links)
            for participant in participants]
