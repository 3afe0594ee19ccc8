"""The worklist's visits, infusions and casebooks to sign are read through indexes whose
expressions and predicates are their filters (`Visit`'s `UPCOMING_WINDOW_START`, `Infusion`'s
`PLANNED_WINDOW_START`, `CasebookChange`'s `casebook_to_sign`): what is read equals the rule computed
in Python from every row, in the worklist's order, with the counts of every item, on every page
size, for the sites and filters asked."""
from datetime import timedelta

import pytest
from django.db.models import F, Q
from django.utils import timezone

from dosing.models import Infusion
from enrollment.models import Participant, Screening
from enrollment.tests.support import today
from followup import signoff, worklist_reads
from followup.models import Visit
from followup.signoff_models import CasebookChange
from followup.tests.support import enrol, move_visit, overdue_visit
from followup.tests.test_worklist_reads import infused
from followup.worklist import CASEBOOK_SIGNATURE, DUE, INFUSION, OVERDUE, VISIT
from trials.audit_context import change_context
from trials.models import Site, Study
from trials.tests.support import SIGNER_PASSWORD, setup_update


def _expected_visits(now, site_ids=None):
    rows = (Visit.objects.select_related("participant", "definition")
            .filter(state="upcoming", window_start__lte=now).exclude(participant__status="withdrawn"))
    if site_ids is not None:
        rows = rows.filter(participant__site_id__in=site_ids)
    due = [v for v in rows if not (v.provisional and v.definition.offset > 0)]
    due.sort(key=lambda v: (v.window_end >= now, v.target_at, v.participant.study_number, v.pk))
    return [v.pk for v in due], sum(v.window_end < now for v in due)


def _expected_infusions(site_ids=None):
    day = timezone.localdate()
    rows = (Infusion.objects.select_related("participant").filter(state="planned", window_start__lte=day)
            .exclude(participant__status="withdrawn").order_by("participant", "number"))
    if site_ids is not None:
        rows = rows.filter(participant__site_id__in=site_ids)
    first = {}
    for infusion in rows:
        first.setdefault(infusion.participant_id, infusion)
    due = sorted(first.values(), key=lambda i: (i.window_end >= day, i.target_date, i.participant.study_number, i.pk))
    return [i.pk for i in due], sum(i.window_end < day for i in due)


def _expected_casebooks(site_ids=None, study=None):
    rows = CasebookChange.objects.select_related("participant").filter(recorded=True)
    if site_ids is not None:
        rows = rows.filter(participant__site_id__in=site_ids)
    if study:
        rows = rows.filter(participant__study__code=study)
    to_sign = [c for c in rows if c.signed_at is None or c.changed_at > c.signed_at]
    to_sign.sort(key=lambda c: (c.changed_at, c.participant.study_number, c.participant_id))
    return [c.participant_id for c in to_sign], 0


EXPECTED = {VISIT: _expected_visits, INFUSION: _expected_infusions, CASEBOOK_SIGNATURE: _expected_casebooks}


@pytest.fixture
def work(studies, coordinator, investigator):
    """Visits, infusions and casebooks of every state around the rules' edges."""
    setup_update(Study.objects.filter(code="MSC-ITP-5"), enrolment_target=100)
    waiting = enrol(coordinator)  # nothing opened yet
    late, open_now, withdrawn = enrol(coordinator), enrol(coordinator), enrol(coordinator)
    overdue_visit(late, "BL", days_ago=4)
    move_visit(open_now, "BL", start=today() - timedelta(days=1), end=today() + timedelta(days=2))
    overdue_visit(withdrawn, "BL", days_ago=2)
    setup_update(Participant.objects.filter(pk=withdrawn.pk), status="withdrawn", withdrawn_on=today(),
                 withdrawal_reason="Consent withdrawn")
    # Infusions: one overdue, one opened today (the participant's second, its first still planned
    # and opened: only the first is due), one opened but given.
    first = Infusion.objects.filter(participant=late).order_by("number").first()
    setup_update(Infusion.objects.filter(pk=first.pk), window_start=today() - timedelta(days=5),
                 target_date=today() - timedelta(days=4), window_end=today() - timedelta(days=3))
    two = list(Infusion.objects.filter(participant=open_now).order_by("number")[:2])
    for infusion in two:
        setup_update(Infusion.objects.filter(pk=infusion.pk), window_start=today(), target_date=today(),
                     window_end=today() + timedelta(days=1))
    given = Infusion.objects.filter(participant=waiting).order_by("number").first()
    setup_update(Infusion.objects.filter(pk=given.pk), window_start=today() - timedelta(days=1), target_date=today(),
                 window_end=today() + timedelta(days=1), state="given", started_at=timezone.now(), weight_kg=60)
    # Casebooks: never signed, signed and unchanged, signed then changed, withdrawn (still to sign).
    never, signed, changed = infused(coordinator), infused(coordinator), infused(coordinator)
    for participant in (signed, changed):
        signoff.casebook_sign(participant=participant, password=SIGNER_PASSWORD, by=investigator)
    setup_update(Screening.objects.filter(pk=changed.screening_id), initials="LW")
    setup_update(Participant.objects.filter(pk=never.pk), status="withdrawn", withdrawn_on=today(),
                 withdrawal_reason="Consent withdrawn")
    return {"late": late, "open_now": open_now, "never": never, "signed": signed, "changed": changed}


def _read(kind, limit, **scope):
    """The ids of the items read (a visit's, an infusion's, a casebook's participant's) as the
    worklist builds them, and the counts."""
    read = worklist_reads.read_worklist(now=timezone.now(), kinds=[kind], limit=limit, **scope)
    items = read.items()
    assert {item.kind for item in items} <= {kind}
    return [item.object_id for item in items], read.counts


@pytest.mark.parametrize("kind", [VISIT, INFUSION, CASEBOOK_SIGNATURE])
@pytest.mark.parametrize("limit", [None, 1, 2, 100])
def test_each_kind_read_is_its_rule_in_order_with_every_items_counts(work, kind, limit):
    now = timezone.now()
    expected, overdue = EXPECTED[kind](now) if kind == VISIT else EXPECTED[kind]()
    assert expected  # the fixture has items of each kind

    listed, counts = _read(kind, limit, site_ids=None)

    assert listed == expected[:limit]
    assert counts == {OVERDUE: overdue, DUE: len(expected) - overdue}


def test_the_fixture_meets_the_edges(work):
    visits, _ = _expected_visits(timezone.now())
    assert {Visit.objects.get(pk=pk).participant_id for pk in visits} >= {work["late"].pk, work["open_now"].pk}
    infusions, overdue = _expected_infusions()
    assert [Infusion.objects.get(pk=pk).number for pk in infusions if
            Infusion.objects.get(pk=pk).participant_id == work["open_now"].pk] == [1]
    assert overdue == 1
    casebooks, _ = _expected_casebooks()
    assert work["signed"].pk not in casebooks
    assert {work["never"].pk, work["changed"].pk} <= set(casebooks)


@pytest.mark.parametrize("kind", [VISIT, INFUSION, CASEBOOK_SIGNATURE])
def test_each_kind_is_read_for_the_sites_asked_only(work, kind):
    site = Site.objects.get(pk=work["open_now"].site_id)
    # A second site, which P3 now runs too, with the participant of the overdue visit and infusion
    # and the one whose casebook changed after its signature: each kind has items at both sites.
    other = Site.objects.create(code="XH", name="Xiehe Other Hospital")
    with change_context(by=None, reason="Second site opens"):
        Study.objects.get(code="MSC-ITP-5").sites.add(other)
    for moved in (work["late"], work["changed"]):
        setup_update(Screening.objects.filter(pk=moved.screening_id), site=other)
        setup_update(Participant.objects.filter(pk=moved.pk), site=other)
    now = timezone.now()
    read = {}
    for site_ids in ([site.pk], [other.pk], [site.pk, other.pk], []):
        expected, overdue = EXPECTED[kind](now, site_ids) if kind == VISIT else EXPECTED[kind](site_ids)
        listed, counts = _read(kind, 100, site_ids=site_ids)
        assert listed == expected and counts == {OVERDUE: overdue, DUE: len(expected) - overdue}
        read[tuple(site_ids)] = listed
    assert read[(site.pk,)] and read[(other.pk,)] and not set(read[(site.pk,)]) & set(read[(other.pk,)])
    assert sorted(read[(site.pk, other.pk)]) == sorted(read[(site.pk,)] + read[(other.pk,)])
    assert read[()] == []
    assert _read(kind, 100, site_ids=None, site=site.code)[0] == read[(site.pk,)]
    assert _read(kind, 100, site_ids=None, site=other.code)[0] == read[(other.pk,)]
    assert _read(kind, 100, site_ids=None, study="UCB-IRIC") == ([], {OVERDUE: 0, DUE: 0})


def test_a_casebook_signed_after_its_change_leaves_the_list_and_returns_when_changed(work, investigator):
    changed = work["changed"]
    assert changed.pk in _read(CASEBOOK_SIGNATURE, None, site_ids=None)[0]
    signoff.casebook_sign(participant=changed, password=SIGNER_PASSWORD, by=investigator)
    assert changed.pk not in _read(CASEBOOK_SIGNATURE, None, site_ids=None)[0]
    setup_update(Screening.objects.filter(pk=changed.screening_id), initials="ZW")
    listed, counts = _read(CASEBOOK_SIGNATURE, 1, site_ids=None)
    assert listed == _expected_casebooks()[0][:1] and counts[DUE] == len(_expected_casebooks()[0])
    assert CasebookChange.objects.filter(Q(participant=changed), Q(changed_at__gt=F("signed_at"))).exists()
