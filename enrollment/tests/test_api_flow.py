"""Screen, consent and enrol through the API (API.md), with refusals."""
from datetime import timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from enrollment.models import Screening, ScreeningLab
from enrollment.tests.support import p3_facts, post_screening, today, years_ago
from trials.tests.support import SIGNER_PASSWORD, client_for, confirm_eligibility, patch_current, site_investigator


def test_screening_post_evaluates_every_criterion_with_its_arithmetic(api, studies):
    response = post_screening(api)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"] == "MSC-ITP-5-PUMCH-S001"
    assert body["eligibility"]["eligible"] is True
    criteria = {c["code"]: c for c in body["eligibility"]["criteria"]}
    assert len(criteria) == 12 and all(c["outcome"] == "met" for c in criteria.values())
    assert criteria["tbil"]["detail"].startswith("TBIL 13.68 umol/L")
    labs = {lab["analyte"]: lab for lab in body["labs"]}
    assert (labs["TBIL"]["value"], labs["TBIL"]["entered_value"], labs["TBIL"]["entered_unit"]) == (13.68, 0.8, "mg/dL")
    assert (labs["ALT"]["uln"], labs["ALT"]["range_source"]) == (40, "report+site")  # LLN from the site
    assert (labs["AST"]["uln"], labs["AST"]["range_source"]) == (35, "site")  # PUMCH female AST range


def test_screening_with_a_missing_value_is_pending(api, studies):
    facts = {**p3_facts(), "labs": [lab for lab in p3_facts()["labs"] if lab["analyte"] != "TBIL"]}
    response = api.post("/api/v1/studies/MSC-ITP-5/screenings/", facts, format="json")
    body = response.json()
    assert body["eligibility"]["eligible"] is None
    assert body["outcome"] == "pending"
    tbil = next(c for c in body["eligibility"]["criteria"] if c["code"] == "tbil")
    assert tbil["outcome"] == "missing" and tbil["detail"].startswith("missing: ")


def test_bad_screening_input_names_every_field_and_stores_nothing(api, studies):
    labs = [{"analyte": "HGB", "value": 26, "unit": "g/dL"}, {"analyte": "PLT", "value": 18, "unit": "furlongs"},
            {"analyte": "XYZ", "value": 1, "unit": "g/L"}]
    response = post_screening(api, labs=labs, weight_kg=0, birth_date=(today() + timedelta(days=3)).isoformat(),
                              disease="AIHA")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"labs.0.value", "labs.1.unit", "labs.2.analyte", "weight_kg", "birth_date", "disease",
                           "diagnosis_date"}
    assert "outside the physiological range" in errors["labs.0.value"][0]
    assert errors["disease"] == ["MSC-ITP-5 admits ITP only."]
    assert Screening.objects.count() == 0 and ScreeningLab.objects.count() == 0


def test_screening_patch_needs_a_reason_and_re_evaluates(api, studies):
    screening_id = post_screening(api, labs=p3_facts()["labs"][:-1]).json()["id"]
    refused = patch_current(api, f"/api/v1/screenings/{screening_id}/",
                            {"labs": [p3_facts()["labs"][-1]]}, format="json")
    assert refused.status_code == 400 and set(refused.json()["errors"]) == {"reason"}
    response = patch_current(api, f"/api/v1/screenings/{screening_id}/",
                         {"labs": [{"analyte": "CREAT", "value": 0.7, "unit": "mg/dL"}],
                          "reason": "Creatinine result arrived"},
                         format="json")
    assert response.status_code == 200
    assert response.json()["eligibility"]["eligible"] is True
    screening = Screening.objects.get(pk=screening_id)
    assert screening.history.first().history_change_reason == "Creatinine result arrived"


def test_consent_then_enrol(api, studies, coordinator):
    screening_id = post_screening(api).json()["id"]
    no_consent = api.post(f"/api/v1/screenings/{screening_id}/enrol/", {}, format="json")
    assert no_consent.status_code == 400 and set(no_consent.json()["errors"]) == {"consent"}
    consent = api.post(f"/api/v1/screenings/{screening_id}/consent/", {
        "version": "ICF v2.0", "signed_at": timezone.now().isoformat(), "obtained_by": "Dr Han"}, format="json")
    assert consent.status_code == 201, consent.json()
    unconfirmed = api.post(f"/api/v1/screenings/{screening_id}/enrol/", {}, format="json")
    assert unconfirmed.status_code == 409 and set(unconfirmed.json()["errors"]) == {"eligibility"}
    signed = client_for(site_investigator()).post(f"/api/v1/screenings/{screening_id}/eligibility-confirmation/",
                                                  {"password": SIGNER_PASSWORD}, format="json")
    assert signed.status_code == 201, signed.json()
    enrolled = api.post(f"/api/v1/screenings/{screening_id}/enrol/", {}, format="json")
    assert enrolled.status_code == 201, enrolled.json()
    body = enrolled.json()
    assert (body["study_number"], body["arm"], body["dose_level"], body["status"]) == (
        "MSC-ITP-5-PUMCH-001", "MSC", "STD", "enrolled")
    again = api.post(f"/api/v1/screenings/{screening_id}/enrol/", {}, format="json")
    assert again.status_code == 409
    participant = api.get(f"/api/v1/participants/{body['id']}/").json()
    assert participant["study_number"] == "MSC-ITP-5-PUMCH-001"


def test_minor_consent_needs_a_guardian(api, studies):
    screening_id = post_screening(api, birth_date=years_ago(10), height_cm=140).json()["id"]
    response = api.post(f"/api/v1/screenings/{screening_id}/consent/", {
        "version": "ICF v2.0", "signed_at": timezone.now().isoformat(), "obtained_by": "Dr Han"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"guardian", "guardian_relationship"}


def test_monitor_may_read_but_not_screen(studies, make_user, api):
    screening_id = post_screening(api).json()["id"]
    monitor = APIClient()
    monitor.force_authenticate(make_user("monitor"))
    assert monitor.get(f"/api/v1/screenings/{screening_id}/").status_code == 200
    assert monitor.post("/api/v1/studies/MSC-ITP-5/screenings/", p3_facts(), format="json").status_code == 403
    assert patch_current(monitor, f"/api/v1/screenings/{screening_id}/",
                         {"reason": "x"}, format="json").status_code == 403


def test_other_site_cannot_see_a_screening(studies, make_user, api, other_site_study):
    screening_id = post_screening(api).json()["id"]
    other = APIClient()
    other.force_authenticate(make_user("coordinator", site="XH"))
    assert other.get(f"/api/v1/screenings/{screening_id}/").status_code == 404
    assert other.post("/api/v1/studies/MSC-ITP-5/screenings/", p3_facts(), format="json").status_code == 404


def test_report_with_only_a_lower_limit_takes_the_upper_from_the_site(api, studies):
    labs = [lab if lab["analyte"] != "ALT" else {"analyte": "ALT", "value": 35, "unit": "U/L", "lln": 5}
            for lab in p3_facts()["labs"]]
    body = post_screening(api, labs=labs).json()
    alt = next(lab for lab in body["labs"] if lab["analyte"] == "ALT")
    assert (alt["lln"], alt["uln"], alt["range_source"]) == (5, 40, "report+site")  # PUMCH female ALT ULN 40
    assert body["eligibility"]["eligible"] is True


def test_consent_error_names_the_guardian_field_of_the_request(api, studies):
    screening_id = post_screening(api, birth_date=years_ago(10), height_cm=140).json()["id"]
    response = api.post(f"/api/v1/screenings/{screening_id}/consent/", {
        "version": "ICF v2.0", "signed_at": timezone.now().isoformat(), "obtained_by": "Dr Han"}, format="json")
    assert set(response.json()["errors"]) == {"guardian", "guardian_relationship"}


def test_screening_at_a_site_where_the_user_does_not_screen_is_403(api, studies):
    assert post_screening(api, site="XH").status_code == 403


def test_enrolment_plans_day_0_on_the_date_given(api, studies):
    screening_id = post_screening(api).json()["id"]
    api.post(f"/api/v1/screenings/{screening_id}/consent/", {
        "version": "ICF v2.0", "signed_at": timezone.now().isoformat(), "obtained_by": "Dr Han"}, format="json")
    confirm_eligibility(Screening.objects.get(pk=screening_id))
    day0 = today() + timedelta(days=5)
    body = api.post(f"/api/v1/screenings/{screening_id}/enrol/", {"first_infusion_on": day0.isoformat()},
                    format="json").json()
    assert body["planned_day0"] == day0.isoformat()
    schedule = api.get(f"/api/v1/participants/{body['id']}/").json()["schedule"]
    assert schedule["infusions"][0]["target_date"] == day0.isoformat()


def test_report_limit_crossing_the_sites_other_limit_is_refused_on_its_lab_and_nothing_is_written(api, studies):
    labs = [lab if lab["analyte"] != "ALT" else {"analyte": "ALT", "value": 35, "unit": "U/L", "lln": 50}
            for lab in p3_facts()["labs"]]

    response = post_screening(api, labs=labs)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["labs.1.lln"]
    assert (Screening.objects.count(), ScreeningLab.objects.count(), Screening.history.count()) == (0, 0, 0)
