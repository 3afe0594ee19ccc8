"""The participant x visit grid (`/studies/<code>/grid/`): each cell's state on a hand-built study,
its link, the legend, the same filters as the list, and the statements a page costs."""
from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dosing.models import Infusion
from dosing.tests.factories import InfusionFactory
from enrollment.models import Participant, Screening
from enrollment.tests.support import today
from followup import participant_grid as grid
from followup.models import Visit
from followup.record_refs import RecordRef
from followup.services import items_verify
from followup.signoff import casebook_sign
from followup.tests.support import enrol, move_visit
from trials.models import Study
from trials.tests.support import SIGNER_PASSWORD, setup_update

TZ = timezone.get_current_timezone()
GRID = reverse("study-grid", args=["MSC-ITP-5"])


def at(day, hour=9):
    return datetime.combine(day, time(hour), tzinfo=TZ)


def visit(participant, code, *, start, end, **fields) -> Visit:
    move_visit(participant, code, start=start, end=end)
    setup_update(Visit.objects.filter(participant=participant, code=code), **fields)
    return Visit.objects.get(participant=participant, code=code)


def initials(participant, text):
    setup_update(Screening.objects.filter(pk=participant.screening_id), initials=text)


@pytest.fixture
def states(p3, coordinator, make_user):
    """A: one cell of each schedule state and a verified visit; B withdrawn; C signed; D locked."""
    d = today()
    day0 = d - timedelta(days=40)
    a = enrol(coordinator, day0=day0, enrolled_on=d - timedelta(days=50))
    initials(a, "AAA")
    # Infusion 1 given on day 0; 2 (day 7 +/- 1) overdue; 3 and 4 wait for it; 5 (day 49) planned.
    InfusionFactory(participant=a, number=1, started_at=at(day0), by=coordinator)
    baseline = visit(a, "BL", start=day0 - timedelta(days=14), end=day0, state="done",
                     done_at=at(day0 - timedelta(days=1)))
    visit(a, "D14", start=d - timedelta(days=30), end=d - timedelta(days=25), state="done",
          done_at=at(d - timedelta(days=20)), deviation=True, deviation_reason="Came late")
    visit(a, "M1", start=d - timedelta(days=15), end=d - timedelta(days=12), state="missed", missed_reason="Unwell")
    visit(a, "M2", start=d - timedelta(days=2), end=d + timedelta(days=2), provisional=False)
    visit(a, "M3", start=d - timedelta(days=10), end=d - timedelta(days=8), provisional=False)
    visit(a, "M6", start=d + timedelta(days=30), end=d + timedelta(days=40), provisional=False)
    visit(a, "M9", start=d - timedelta(days=1), end=d + timedelta(days=1), provisional=True)
    items_verify(record_ref=RecordRef("visit", baseline.pk), item_codes=["done_at"], by=make_user("monitor"),
                 version=baseline.row_version)

    b = enrol(coordinator)
    initials(b, "BBB")
    setup_update(Participant.objects.filter(pk=b.pk), status="withdrawn", withdrawn_on=d,
                 withdrawal_reason="consent_withdrawn")

    c = enrol(coordinator, day0=d - timedelta(days=5), enrolled_on=d - timedelta(days=20))
    initials(c, "CCC")
    visit(c, "BL", start=d - timedelta(days=19), end=d - timedelta(days=5), state="done",
          done_at=at(d - timedelta(days=6)))
    casebook_sign(participant=Participant.objects.get(pk=c.pk), password=SIGNER_PASSWORD,
                  by=make_user("investigator"))

    locked = enrol(coordinator)
    initials(locked, "DDD")
    setup_update(Participant.objects.filter(pk=locked.pk), locked_at=timezone.now(),
                 locked_by=make_user("data_manager"), lock_reason="Casebook clean")
    return a, b, c, locked


def cells(response, participant) -> dict:
    row = next(row for row in response.context["rows"] if row.participant.pk == participant.pk)
    return {(cell.kind, cell.key): cell for cell in row.cells if cell is not None}


def shown(found, kind, key):
    cell = found[(kind, key)]
    return cell.state, cell.monitoring


def test_each_state_once_on_a_hand_built_study(client, coordinator, states):
    a, b, c, locked = states
    client.force_login(coordinator)
    response = client.get(GRID)
    assert response.status_code == 200
    found = cells(response, a)
    assert shown(found, "infusion", 1) == (grid.DONE, None)
    assert shown(found, "infusion", 2) == (grid.OVERDUE, None)
    assert shown(found, "infusion", 3) == (grid.WAITING, None)
    assert shown(found, "infusion", 5) == (grid.PLANNED, None)
    assert shown(found, "visit", "BL") == (grid.DONE, grid.VERIFIED)
    assert shown(found, "visit", "D14") == (grid.DONE_OUT_OF_WINDOW, None)
    assert shown(found, "visit", "M1") == (grid.MISSED, None)
    assert shown(found, "visit", "M2") == (grid.WINDOW_OPEN, None)
    assert shown(found, "visit", "M3") == (grid.OVERDUE, None)
    assert shown(found, "visit", "M6") == (grid.PLANNED, None)
    assert shown(found, "visit", "M9") == (grid.WAITING, None)
    withdrawn = cells(response, b)
    assert shown(withdrawn, "visit", "BL") == (grid.CANCELLED, None)
    assert shown(withdrawn, "infusion", 1) == (grid.CANCELLED, None)
    assert shown(cells(response, c), "visit", "BL") == (grid.DONE, grid.SIGNED)
    assert {cell.monitoring for cell in cells(response, locked).values()} == {grid.LOCKED}


def test_cells_show_symbol_and_words_and_link_to_their_form(client, coordinator, states):
    a, _b, _c, locked = states
    client.force_login(coordinator)
    response = client.get(GRID)
    found = cells(response, a)
    detail = reverse("participant-detail", args=[a.pk])
    assert found[("visit", "M2")].url == reverse("assessment-new", args=[a.pk]) + "?visit=M2"
    assert found[("infusion", 2)].url == reverse("infusion-record", args=[a.pk])  # the next infusion
    assert found[("infusion", 3)].url == detail and found[("visit", "BL")].url == detail
    assert {cell.url for cell in cells(response, locked).values()} == {reverse("participant-detail", args=[locked.pk])}
    page = response.content.decode()
    baseline = found[("visit", "BL")]
    assert baseline.symbol == "✓☑"
    assert baseline.label == f"Visit BL: done, verified ({baseline.when:%Y-%m-%d})"
    assert (f'<a class="grid-cell state-done mon-verified" href="{detail}" title="{baseline.label}" '
            f'aria-label="{baseline.label}"') in page
    legend = response.context["legend"]
    assert [state for state, _symbol, _label in legend] == [*grid.SCHEDULE_STATES, *grid.MONITORING_STATES]
    for _state, symbol, label in legend:
        assert f'aria-hidden="true">{symbol}</span> {label}</li>' in page


def test_a_monitor_is_sent_to_the_participant_page(client, make_user, states):
    a, *_others = states
    client.force_login(make_user("monitor"))
    found = cells(client.get(GRID), a)
    assert {cell.url for cell in found.values()} == {reverse("participant-detail", args=[a.pk])}


def test_grid_filters_and_searches_as_the_list(client, coordinator, states):
    a, b, _c, _locked = states
    client.force_login(coordinator)
    rows = client.get(GRID, {"q": "aaa"}).context["rows"]
    assert [row.participant.pk for row in rows] == [a.pk]
    rows = client.get(GRID, {"status": "withdrawn"}).context["rows"]
    assert [row.participant.pk for row in rows] == [b.pk]
    overdue = client.get(GRID, {"overdue": "1"}).context["rows"]
    assert a.pk in [row.participant.pk for row in overdue] and b.pk not in [row.participant.pk for row in overdue]


def test_grid_page_is_in_chinese(client, coordinator, states):
    client.force_login(coordinator)
    page = client.get(GRID, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "图例" in page and "窗口外完成" in page


def many(by, count):
    setup_update(Study.objects.filter(code="MSC-ITP-5"), enrolment_target=100)
    participants = [enrol(by, day0=today() - timedelta(days=5), enrolled_on=today() - timedelta(days=20))
                    for _ in range(count)]
    setup_update(Infusion.objects.filter(participant__in=participants, number=1), state="missed",
                 missed_reason="Fever")
    return participants


@pytest.mark.parametrize("count", [1, 50])
def test_grid_costs_the_same_for_1_and_50(client, studies, coordinator, count, django_assert_num_queries):
    many(coordinator, count)
    client.force_login(coordinator)
    # session, user, study, count, page (signatures and latest changes with it), infusions, visits,
    # verifications, 2 columns, SDV plan, 4 filter choices, the session's save (savepoint, update, release)
    with django_assert_num_queries(18):
        response = client.get(GRID)
    page = response.content.decode()
    assert page.count('data-kind="infusion" data-key="1" data-state="missed"') == count
    assert page.count('data-kind="visit" data-key="BL" data-state="overdue"') == count


def test_the_rows_read_the_visit_definitions_once_for_the_page(coordinator, states):
    """The visits are read without their definitions: the study's (the columns') are given to the
    rows, and those missing from what is given are read in one statement, never one per visit."""
    study = states[0].study
    participants = list(grid.grid_shown(coordinator).filter(study=study))
    definitions = grid.grid_definitions(study)
    columns = grid.grid_columns(study, definitions)
    grid.grid_rows(coordinator, participants, columns, study=study, definitions=definitions)  # caches
    with CaptureQueriesContext(connection) as with_definitions:
        given = grid.grid_rows(coordinator, participants, columns, study=study, definitions=definitions)
    assert sum(cell is not None and cell.kind == "visit" for row in given for cell in row.cells) > 10
    with CaptureQueriesContext(connection) as without:
        read = grid.grid_rows(coordinator, participants, columns, study=study, definitions={})

    def definitions_read(context):
        return sum('FROM "trials_visitdefinition"' in query["sql"] for query in context.captured_queries)

    assert (definitions_read(with_definitions), definitions_read(without)) == (0, 1)
    assert len(without.captured_queries) == len(with_definitions.captured_queries) + 1
    assert [[cell and cell.html() for cell in row.cells] for row in read] == \
        [[cell and cell.html() for cell in row.cells] for row in given]
