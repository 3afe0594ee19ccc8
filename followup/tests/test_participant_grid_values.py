"""The participant x visit grid reads its rows as plain values: every cell's state and monitoring
state equals what the participant page's model-based reads give (`participant_schedule` over the
model instances, `sdv.participant_records` with the records' display methods, the casebook's
signature state and lock), under both SDV plans, through filters and pages; and the rows' HTML,
built in Python, is the markup the template wrote."""
from types import SimpleNamespace

import pytest
from django.template import Context, Template
from django.utils import timezone

from dosing.models import Infusion
from enrollment.locks import lock_of
from enrollment.models import Participant, Screening
from followup import participant_grid as grid
from followup import participant_list
from followup.models import Visit
from followup.participant_schedule import participant_schedule
from followup.record_states import CloseOut
from followup.sdv import participant_records, verification_prefetch
from followup.sdv_models import ItemVerification, SdvPlan
from followup.signoff import casebook_signature_state, signoff_annotations
from followup.tests.test_participant_grid import GRID, states  # noqa: F401 (the hand-built study's fixture)
from trials.models import Study
from trials.tests.support import setup_update


def reference(pk, *, now, scope) -> dict:
    """{(kind, key): (state, monitoring)} of a participant from its model instances, as the
    participant page and the SDV pages read them."""
    participant = (Participant.objects.select_related("study", "site", "screening", "locked_by", "study__locked_by")
                   .annotate(**signoff_annotations())
                   .prefetch_related("infusions", "visits__definition", verification_prefetch()).get(pk=pk))
    schedule = participant_schedule(participant, now=now)
    close_out = CloseOut(signed=casebook_signature_state(participant).valid, locked=lock_of(participant) is not None)
    records = {(record.kind, record.pk): record for record in participant_records(participant, scope=scope)}
    for record in records.values():
        record.close_out = close_out

    def monitoring(kind, pk):
        record = records.get((kind, pk))
        return grid.monitoring_state(record.state if record else None)

    found = {("infusion", i.number): (grid.grid_state(i.status), monitoring("infusion", i.pk))
             for i in schedule["infusions"]}
    found.update({("visit", v.code): (grid.grid_state(v.status), monitoring("visit", v.pk))
                  for v in schedule["visits"]})
    return found


def shown(row) -> dict:
    return {(cell.kind, cell.key): (cell.state, cell.monitoring) for cell in row.cells if cell is not None}


def tick(record, codes, *, version, by):
    for code in codes:
        ItemVerification.objects.create(record_kind=record._meta.model_name, record_pk=record.pk,
                                        participant_id=record.participant_id, item_code=code,
                                        record_version=version, verified_by=by, verified_at=timezone.now())


@pytest.fixture
def verified(states, make_user):  # noqa: F811
    """Beyond the BL visit of A verified: its infusion 1 verified on every key item it holds, its
    D14 (done out of window) verified at an older version, its M1 (missed) on its reason only (not a
    key item: verified under the plan of all items only), and C's (signed) BL verified too."""
    a, _b, c, _locked = states
    monitor = make_user("monitor")
    infusion = Infusion.objects.get(participant=a, number=1)
    held = [s.code for s in next(r for r in participant_records(
        Participant.objects.get(pk=a.pk), scope="key") if r.kind == "infusion" and r.pk == infusion.pk).required]
    assert len(held) >= 2
    tick(infusion, held, version=infusion.row_version, by=monitor)
    late = Visit.objects.get(participant=a, code="D14")
    tick(late, ["done_at", "deviation_reason"], version=late.row_version - 1, by=monitor)
    missed = Visit.objects.get(participant=a, code="M1")
    tick(missed, ["missed_reason"], version=missed.row_version, by=monitor)
    baseline = Visit.objects.get(participant=c, code="BL")
    tick(baseline, ["done_at"], version=baseline.row_version, by=monitor)
    return states


@pytest.mark.parametrize("scope", ["key", "all"])
def test_every_cell_is_the_participant_pages_state(client, coordinator, verified, scope, monkeypatch):
    a, b, c, locked = verified
    study = Study.objects.get(code="MSC-ITP-5")
    if scope == "all":
        SdvPlan.objects.update_or_create(study=study, defaults={"scope": "all", "reason": "Test",
                                                                "changed_at": timezone.now()})
    client.force_login(coordinator)
    monkeypatch.setattr(participant_list, "PAGE_SIZE", 3)
    seen = []
    for params in ({"page": 1}, {"page": 2}, {"page": 9}, {"status": "withdrawn"}, {"q": "ccc"}, {"overdue": "1"}):
        response = client.get(GRID, params)
        now = timezone.now()
        for row in response.context["rows"]:
            assert shown(row) == reference(row.participant.pk, now=now, scope=scope), (params, row.participant.pk)
            seen.append((tuple(params.items()), row.participant.pk))
    pages = [pk for params, pk in seen if params[0][0] == "page"]
    assert pages == [a.pk, b.pk, c.pk, locked.pk, locked.pk]  # 3 a page; beyond the last: the last
    assert [pk for params, pk in seen if params[0][0] in ("status", "q")] == [b.pk, c.pk]
    assert a.pk in [pk for params, pk in seen if params[0][0] == "overdue"]
    cells = shown(next(row for row in client.get(GRID).context["rows"] if row.participant.pk == a.pk))
    # Its key items verified: verified under the key-items plan, not under the plan of all items.
    assert cells[("infusion", 1)] == (grid.DONE, grid.VERIFIED if scope == "key" else None)
    assert cells[("visit", "D14")] == (grid.DONE_OUT_OF_WINDOW, None)  # verified before its change
    assert cells[("visit", "M1")] == (grid.MISSED, grid.VERIFIED if scope == "all" else None)
    signed = shown(next(row for row in client.get(GRID).context["rows"] if row.participant.pk == c.pk))
    assert signed[("visit", "BL")] == (grid.DONE, grid.SIGNED)  # the signature outranks verification


def test_a_locked_study_locks_every_recorded_cell(client, coordinator, verified, make_user):
    setup_update(Study.objects.filter(code="MSC-ITP-5"), locked_at=timezone.now(), locked_by=make_user("data_manager"),
                 lock_reason="Database lock")
    client.force_login(coordinator)
    response = client.get(GRID)
    now = timezone.now()
    rows = response.context["rows"]
    assert len(rows) == 4
    for row in rows:
        assert shown(row) == reference(row.participant.pk, now=now, scope="key")
        assert {cell.url for cell in row.cells if cell} == {f"/participants/{row.participant.pk}/"}
    assert grid.LOCKED in {cell.monitoring for row in rows for cell in row.cells if cell}


# The rows as `followup/participant_grid.html` wrote them with the template engine.
TEMPLATE_ROWS = ("{% for row in rows %}\n  <tr data-participant=\"{{ row.participant.pk }}\">\n"
                 "    <th scope=\"row\" class=\"text-nowrap\">"
                 "<a href=\"{% url 'participant-detail' row.participant.pk %}\">"
                 "{{ row.participant.study_number }}</a> <span class=\"small text-muted\">"
                 "{{ row.participant.screening.initials }}</span></th>\n    {{ row.cells_html }}\n  </tr>\n"
                 "  {% endfor %}")


def test_the_rows_html_is_the_templates(client, coordinator, verified):
    a, *_others = verified
    setup_update(Screening.objects.filter(pk=a.screening_id), initials="A&<'\">")
    client.force_login(coordinator)
    response = client.get(GRID, HTTP_ACCEPT_LANGUAGE="zh-hans")
    rows = response.context["rows"]
    as_models = [SimpleNamespace(participant=Participant.objects.select_related("screening").get(pk=row.participant.pk),
                                 cells_html=row.cells_html()) for row in rows]
    written = Template(TEMPLATE_ROWS).render(Context({"rows": as_models}))
    html = response.context["rows_html"]
    assert html == written
    assert f"<tbody>\n  {html}\n  </tbody>" in response.content.decode()
    assert (f'<tr data-participant="{a.pk}">\n    <th scope="row" class="text-nowrap"><a href="/participants/{a.pk}/">'
            f'{a.study_number}</a> <span class="small text-muted">A&amp;&lt;&#x27;&quot;&gt;</span></th>\n    '
            f'<td class="text-center p-0"><a class="grid-cell state-done mon-verified" ') in html
