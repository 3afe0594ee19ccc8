"""Infusions, visits and lab results have audit pages of their own, for the sites of the record
only, linked from the participant page."""
from datetime import timedelta

from django.urls import reverse

from dosing.models import Infusion
from dosing.tests.support import day0, give
from followup import services
from followup.models import LabResult, Visit
from trials.audit import _AUDITED, audited_save


def record_platelets(participant, user, day, platelets):
    return services.assessment_record(participant=participant, by=user, data=services.AssessmentInput(
        date=day0() + timedelta(days=day), visit=None, bleeding_grade=0,
        labs=[{"analyte": "PLT", "value": platelets, "unit": "10^9/L"}]))


def test_an_infusions_audit_page_shows_lot_premedication_deviation_and_dose_confirmation(
        client, api, participant, make_user):
    assert give(api, participant, 1, 0).status_code == 201
    response = give(api, participant, 2, 10, deviation_reason="Patient travelled", premedication="Paracetamol 500 mg",
                    cells_infused=1.2e10, dose_confirmation="Second bag thawed by mistake",
                    product={"kind": "msc", "lot": "MSC-2026-099", "viability_pct": 91.0, "passage": 4})
    assert response.status_code == 201, response.json()
    infusion = Infusion.objects.get(participant=participant, number=2)
    client.force_login(make_user("monitor"))

    page = client.get(reverse("audit-trail", args=["infusion", infusion.pk]))

    assert page.status_code == 200
    given = next(entry for entry in page.context["entries"] if entry.reason == "Infusion 2 given")
    changes = {change.field: change.new for change in given.changes}
    assert changes["cell product › lot"] == "MSC-2026-099"
    assert changes["premedication"] == "Paracetamol 500 mg"
    assert changes["deviation reason"] == "Patient travelled"
    assert changes["reason for the dose deviation"] == "Second bag thawed by mistake"
    html = page.content.decode()
    for text in ("MSC-2026-099", "Paracetamol 500 mg", "Patient travelled", "Second bag thawed by mistake"):
        assert text in html


def test_a_visits_audit_page_shows_its_planning_and_re_dating(client, api, participant, make_user):
    give(api, participant, 1, 1)
    visit = Visit.objects.filter(participant=participant).order_by("target_at").first()
    client.force_login(make_user("coordinator"))

    page = client.get(reverse("audit-trail", args=["visit", visit.pk]))

    assert page.status_code == 200
    reasons = [entry.reason for entry in page.context["entries"]]
    assert reasons[-1] == "Planned at enrolment"
    assert page.context["entries"][-1].action == "created"


def test_a_lab_results_audit_page_shows_the_value_as_entered(client, participant, coordinator, make_user):
    record_platelets(participant, coordinator, 1, 25)
    lab = LabResult.objects.get(assessment__participant=participant, analyte="PLT")
    client.force_login(make_user("investigator"))

    page = client.get(reverse("audit-trail", args=["lab-result", lab.pk]))

    assert page.status_code == 200
    created = page.context["entries"][-1]
    assert created.action == "created"
    changes = {change.field: change.new for change in created.changes}
    assert (changes["analyte"], changes["value as entered"], changes["unit as entered"]) == (
        "PLT - Platelets", 25.0, "10^9/L")
    assert "PLT - Platelets" in page.content.decode()


def test_another_sites_infusion_visit_or_lab_result_is_not_found(client, api, participant, coordinator, make_user,
                                                                 other_site_study):
    give(api, participant, 1, 0)
    record_platelets(participant, coordinator, 1, 25)
    records = {"infusion": Infusion.objects.filter(participant=participant).first().pk,
               "visit": Visit.objects.filter(participant=participant).first().pk,
               "lab-result": LabResult.objects.get(assessment__participant=participant).pk}
    client.force_login(make_user("monitor", site="XH"))
    for kind, pk in records.items():
        assert client.get(reverse("audit-trail", args=[kind, pk])).status_code == 404, kind
    client.force_login(make_user("monitor"))
    for kind, pk in records.items():
        assert client.get(reverse("audit-trail", args=[kind, pk])).status_code == 200, kind


def test_the_participant_page_links_each_infusion_visit_and_lab_result_to_its_history(
        client, api, participant, coordinator):
    give(api, participant, 1, 0)
    record_platelets(participant, coordinator, 1, 25)
    client.force_login(coordinator)

    html = client.get(reverse("participant-detail", args=[participant.pk])).content.decode()

    for infusion in Infusion.objects.filter(participant=participant):
        assert reverse("audit-trail", args=["infusion", infusion.pk]) in html
    for visit in Visit.objects.filter(participant=participant):
        assert reverse("audit-trail", args=["visit", visit.pk]) in html
    lab = LabResult.objects.get(assessment__participant=participant)
    assert reverse("audit-trail", args=["lab-result", lab.pk]) in html


def test_audit_values_read_as_names_and_labels_not_ids(client, api, participant, make_user):
    give(api, participant, 1, 0)
    infusion = Infusion.objects.get(participant=participant, number=1)
    client.force_login(make_user("monitor"))

    entries = client.get(reverse("audit-trail", args=["infusion", infusion.pk])).context["entries"]

    created = {change.field: change.new for change in entries[-1].changes}
    assert (created["participant"], created["dose level"], created["state"], created["outside the window"]) == (
        participant.study_number, "MSC-ITP-5 / STD", "Planned", "no")
    given = {change.field: (change.old, change.new) for change in entries[0].changes}
    assert given["recorded by"] == (None, "coordinator1-pumch")
    assert given["state"] == ("Planned", "Given")


def test_an_audit_page_costs_the_same_queries_however_long_its_history(client, api, participant, make_user,
                                                                      django_assert_max_num_queries):
    give(api, participant, 1, 0)
    infusion = Infusion.objects.get(participant=participant, number=1)
    url = reverse("audit-trail", args=["infusion", infusion.pk])
    client.force_login(make_user("monitor"))
    client.get(url)  # the session and caches warm
    with django_assert_max_num_queries(9):
        assert client.get(url).status_code == 200

    for number in range(12):
        infusion.recorded_by = make_user("coordinator")
        infusion.premedication = f"Paracetamol {number}"
        audited_save(infusion, by=make_user("investigator"), reason=f"Source data correction {number}")

    with django_assert_max_num_queries(9):
        page = client.get(url)
    assert len(page.context["entries"]) == 14
    recorded_by = [change.new for entry in page.context["entries"] for change in entry.changes
                   if change.field == "recorded by"]
    assert all(isinstance(name, str) and name.startswith("coordinator") for name in recorded_by)


def test_every_kind_of_record_has_an_audit_page_that_names_what_it_links_to(client, api, participant, coordinator,
                                                                            make_user):
    give(api, participant, 1, 0)
    record_platelets(participant, coordinator, 1, 25)
    onset = (day0() + timedelta(days=2)).isoformat()
    event = api.post(f"/api/v1/participants/{participant.pk}/adverse-events/",
                     {"term": "Headache", "category": "non_haematological", "onset_date": onset, "grade": 1,
                      "serious": False, "relationship": "possible"}, format="json")
    assert event.status_code == 201
    client.force_login(make_user("monitor"))
    opened = []
    for kind, model in sorted(_AUDITED.items()):
        record = model.objects.visible_to(make_user("monitor")).first()
        if record is None:
            continue
        page = client.get(reverse("audit-trail", args=[kind, record.pk]))
        assert page.status_code == 200, kind
        opened.append(kind)
        links = {str(field.verbose_name) for field in model._meta.concrete_fields if field.many_to_one}
        for entry in page.context["entries"]:
            for change in entry.changes:
                if change.field in links:
                    assert not isinstance(change.new, int), (kind, change)
    assert {"infusion", "visit", "lab-result", "assessment", "adverse-event", "participant", "study"} <= set(opened)
