"""Screening, consent, enrolment and withdrawal pages: access, forms, errors on fields, queries."""
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from enrollment import selectors, services
from enrollment.forms import EnrolForm
from enrollment.models import Consent, Participant, PriorTherapy, Screening, ScreeningLab
from enrollment.tests.support import consent, create_screening, form_data, new_url, p3_facts, today, years_ago
from trials import catalogues
from trials.audit import change_context
from trials.models import Site
from trials.tests.support import audit_changes_shown, confirm_eligibility

ROLES = ["coordinator", "investigator", "monitor", "admin"]
# --- arrangement helpers ------------------------------------------------------------------------

def enrol(user, **changes) -> Participant:
    screening = create_screening(user, **changes)
    consent(screening, user)
    confirm_eligibility(screening)
    return services.participant_enrol(screening=screening, by=user)


# --- access -------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_pages_render_for_each_role(client, studies, make_user, coordinator, role):
    participant = enrol(coordinator)
    pending = create_screening(coordinator, labs=p3_facts()["labs"][:-1])
    client.force_login(make_user(role))
    for url in (reverse("screening-log", args=["MSC-ITP-5"]), reverse("screening-detail", args=[pending.pk]),
                reverse("screening-detail", args=[participant.screening_id]),
                reverse("participant-detail", args=[participant.pk]),
                reverse("audit-trail", args=["screening", pending.pk]),
                reverse("audit-trail", args=["participant", participant.pk])):
        assert client.get(url).status_code == 200, url
    screens = role in ("coordinator", "investigator")
    assert client.get(new_url()).status_code == (200 if screens else 403)
    assert client.get(reverse("screening-edit", args=[pending.pk])).status_code == (200 if screens else 403)


def test_monitor_is_refused_every_form(client, studies, make_user, coordinator):
    participant = enrol(coordinator)
    screening = create_screening(coordinator)
    client.force_login(make_user("monitor"))
    refused = [
        client.get(new_url()), client.post(new_url(), form_data()),
        client.get(reverse("screening-edit", args=[screening.pk])),
        client.post(reverse("screening-edit", args=[screening.pk]), {**form_data(), "reason": "x"}),
        client.get(reverse("screening-consent", args=[screening.pk])),
        client.post(reverse("screening-consent", args=[screening.pk]), {"consent-version": "v1"}),
        client.get(reverse("screening-enrol", args=[screening.pk])),
        client.post(reverse("screening-enrol", args=[screening.pk]), {}),
        client.get(reverse("participant-withdraw", args=[participant.pk])),
        client.post(reverse("participant-withdraw", args=[participant.pk]),
                    {"withdraw-withdrawn_on": today().isoformat(), "withdraw-reason": "adverse_event"}),
    ]
    assert [r.status_code for r in refused] == [403] * 10
    assert Screening.objects.count() == 2 and Consent.objects.count() == 1
    participant.refresh_from_db()
    assert participant.status == "enrolled"


def test_monitor_sees_no_form_on_the_screening_and_participant_pages(client, studies, make_user, coordinator):
    participant = enrol(coordinator)
    eligible = create_screening(coordinator)
    consent(eligible, coordinator)
    client.force_login(make_user("monitor"))
    page = client.get(reverse("screening-detail", args=[eligible.pk]))
    assert (page.context["consent_form"], page.context["enrol_form"]) == (None, None)
    assert reverse("screening-edit", args=[eligible.pk]) not in page.content.decode()
    participant_page = client.get(reverse("participant-detail", args=[participant.pk]))
    assert participant_page.context["can_withdraw"] is False
    assert reverse("participant-withdraw", args=[participant.pk]) not in participant_page.content.decode()
    log = client.get(reverse("screening-log", args=["MSC-ITP-5"]))
    assert log.context["can_screen"] is False and new_url() not in log.content.decode()


def test_coordinator_sees_the_new_screening_button(coordinator_client, studies):
    log = coordinator_client.get(reverse("screening-log", args=["MSC-ITP-5"]))
    assert log.context["can_screen"] is True
    assert f'href="{new_url()}"' in log.content.decode()


def test_another_sites_records_are_not_found(client, studies, other_site_study, make_user, coordinator):
    participant = enrol(coordinator)
    screening = create_screening(coordinator)
    client.force_login(make_user("coordinator", site="XH"))
    responses = [
        client.get(reverse("screening-log", args=["MSC-ITP-5"])), client.get(new_url()),
        client.post(new_url(), form_data()),
        client.get(reverse("screening-detail", args=[screening.pk])),
        client.get(reverse("screening-edit", args=[screening.pk])),
        client.post(reverse("screening-edit", args=[screening.pk]), {**form_data(), "reason": "x"}),
        client.post(reverse("screening-consent", args=[screening.pk]), {}),
        client.post(reverse("screening-enrol", args=[screening.pk]), {}),
        client.get(reverse("participant-detail", args=[participant.pk])),
        client.post(reverse("participant-withdraw", args=[participant.pk]), {}),
        client.get(reverse("audit-trail", args=["screening", screening.pk])),
    ]
    assert [r.status_code for r in responses] == [404] * 11
    assert client.get(reverse("screening-log", args=["XH-MSC"])).status_code == 200


def test_pages_require_sign_in(client, studies, coordinator):
    screening = create_screening(coordinator)
    for url in (reverse("screening-log", args=["MSC-ITP-5"]), new_url(),
                reverse("screening-detail", args=[screening.pk]), reverse("screening-edit", args=[screening.pk])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url


# --- new screening ------------------------------------------------------------------------------

def test_new_screening_form_has_a_row_per_analyte_and_four_therapy_rows(coordinator_client, studies):
    response = coordinator_client.get(new_url())
    entry = response.context["entry"]
    assert [lab.analyte.code for lab in entry.labs] == list(catalogues.current().analytes)
    hgb = entry.labs[0]
    assert (hgb.fields["unit"].choices, hgb["unit"].value()) == ([("g/L", "g/L"), ("g/dL", "g/dL")], "g/L")
    assert len(entry.therapies.forms) == 4
    assert entry.facts["screening_date"].value() == today()
    assert entry.facts.fields["disease"].choices == [("", "—"), ("ITP", "Immune thrombocytopenia (ITP)")]
    assert "site" not in entry.facts.fields
    sections = entry.facts.item_sections()  # the study's screening items, as its definition places them
    assert [section for section, _fields in sections] == ["Conditions", "Other answers"]
    assert [f.name for f in sections[0][1]][:3] == ["abnormal_cardiac_function", "tumour", "carcinoma_in_situ_only"]
    html = response.content.decode()
    assert 'href="?therapy_rows=8"' in html
    # strict CSP: no inline script or style; the scripts are the site's own files
    assert re.findall(r"<script[^>]*>", html) == [
        '<script defer src="/static/js/formset_rows.js">',
        '<script src="/static/vendor/bootstrap-5.3.9/bootstrap.bundle.min.js">',
        '<script src="/static/js/focus.js" defer>']
    assert ' style="' not in html
    template = re.search(r'<template data-formset-template="therapy">(.*?)</template>', html, re.S).group(1)
    assert re.findall(r'name="([\w-]+)"', template) == [
        f"therapy-__prefix__-{name}" for name in ("therapy", "start", "end", "dose_text", "outcome")]
    assert 'data-formset-add="therapy"' in html and 'data-formset-rows="therapy"' in html


def test_more_therapy_rows_link_gives_more_rows(coordinator_client, studies):
    response = coordinator_client.get(new_url() + "?therapy_rows=8")
    assert len(response.context["entry"].therapies.forms) == 8
    assert 'href="?therapy_rows=12"' in response.content.decode()


def test_new_screening_bad_input_shows_messages_on_the_fields_and_stores_nothing(coordinator_client, studies):
    labs = [{"analyte": "HGB", "value": 26, "unit": "g/dL"}, *p3_facts()["labs"][:-1],
            {"analyte": "CREAT", "value": 40, "unit": "mg/dL"}]
    therapies = [{"therapy": "glucocorticoid", "start": years_ago(1), "end": years_ago(2), "outcome": "none"}]
    response = coordinator_client.post(new_url(), form_data(labs=labs, weight_kg=0, prior_therapies=therapies,
                                                            first_therapy_row=1))
    assert response.status_code == 200
    entry = response.context["entry"]
    rows = {lab.analyte.code: lab for lab in entry.labs}
    assert rows["HGB"].errors == {"value": [
        "Haemoglobin 26 g/dL (260 g/L) is outside the physiological range 20-250 g/L; check the value and unit."]}
    assert rows["CREAT"].errors == {"value": [
        "Creatinine 40 mg/dL (3536 umol/L) is outside the physiological range 0-3000 umol/L; "
        "check the value and unit."]}
    assert entry.facts.errors == {"weight_kg": ["A weight of 0.0 kg is not plausible (0.5-350 kg)."]}
    assert entry.therapies.forms[0].errors == {}
    assert entry.therapies.forms[1].errors == {"end": ["The course ends before it starts."]}
    assert entry.error_count == 4
    html = response.content.decode()
    assert "The screening was not saved: 4 problems, marked below." in html
    assert "The course ends before it starts." in html
    assert ('<input type="number" name="lab-HGB-value" value="26" step="any" aria-label="HGB Value" '
            'class="form-control is-invalid" aria-invalid="true" aria-describedby="id_lab-HGB-value_error" '
            'id="id_lab-HGB-value"><div class="invalid-feedback d-block" id="id_lab-HGB-value_error">'
            'Haemoglobin 26 g/dL'
            ) in html
    assert (Screening.objects.count(), ScreeningLab.objects.count(), PriorTherapy.objects.count()) == (0, 0, 0)


def test_new_screening_shape_errors_are_shown_without_calling_the_service(coordinator_client, studies):
    data = form_data(weight_kg="heavy", history=False)
    data["lab-ALT-value"] = ""  # an upper limit with no value
    response = coordinator_client.post(new_url(), data)
    entry = response.context["entry"]
    assert entry.facts.errors == {
        "weight_kg": ["Enter a number."],
        "prior_therapies_recorded": ["Tick this to save the prior therapies entered below, or clear those rows."],
    }
    assert {lab.analyte.code: lab.errors for lab in entry.labs if lab.errors} == {
        "ALT": {"value": ["Enter the value, or clear the row (an empty value means not done)."]}}
    assert Screening.objects.count() == 0


def test_new_screening_therapy_row_without_outcome_is_refused(coordinator_client, studies):
    therapies = [{"therapy": "rituximab", "start": years_ago(1)}]
    response = coordinator_client.post(new_url(), form_data(prior_therapies=therapies))
    assert response.context["entry"].therapies.forms[0].errors == {"outcome": ["Choose the outcome, or clear the row."]}
    assert Screening.objects.count() == 0


def test_new_screening_valid_post_creates_the_screening_with_si_values(coordinator_client, studies, coordinator):
    response = coordinator_client.post(new_url(), form_data())
    screening = Screening.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("screening-detail", args=[screening.pk])
    assert (screening.number, screening.site.code, screening.created_by) == (
        "MSC-ITP-5-PUMCH-S001", "PUMCH", coordinator)
    assert (screening.weight_kg, screening.height_cm, screening.ecog, screening.disease) == (58.0, 162.0, 1, "ITP")
    labs = {lab.analyte: lab for lab in screening.labs.all()}
    assert sorted(labs) == ["ALT", "AST", "CREAT", "PLT", "TBIL"]
    assert (labs["TBIL"].value, labs["TBIL"].entered_value, labs["TBIL"].entered_unit) == (13.68, 0.8, "mg/dL")
    assert (labs["CREAT"].value, labs["CREAT"].entered_value, labs["CREAT"].entered_unit) == (61.88, 0.7, "mg/dL")
    assert (labs["ALT"].uln, labs["ALT"].range_source) == (40.0, "report+site")
    assert (labs["AST"].uln, labs["AST"].range_source) == (35.0, "site")
    assert [(t.therapy, t.outcome) for t in screening.prior_therapies.all()] == [
        ("glucocorticoid", "none"), ("tpo_agent", "none"), ("rituximab", "none")]
    assert screening.prior_therapies_recorded is True
    assert screening.items["thrombocytopenia_months"] == 24
    assert (screening.items["lactating"], screening.items.get("tumour")) == (False, None)
    assert screening.eligible is True
    assert [c["outcome"] for c in screening.eligibility] == ["met"] * 12
    page = coordinator_client.get(response["Location"])
    assert "Screening MSC-ITP-5-PUMCH-S001 saved: eligible." in [str(m) for m in page.context["messages"]]


def test_new_screening_asks_for_the_site_when_the_user_screens_at_several(client, studies, make_user):
    make_user("coordinator", username="li")
    user = make_user("coordinator", site="XH", username="li")
    xh = Site.objects.get(code="XH")
    with change_context(by=None, reason="Second site opens"):
        studies["MSC-ITP-5"].sites.add(xh)
    client.force_login(user)
    field = client.get(new_url()).context["entry"].facts.fields["site"]
    assert [site.code for site in field.queryset] == ["PUMCH", "XH"]
    refused = client.post(new_url(), form_data())
    assert refused.context["entry"].facts.errors == {"site": ["This field is required."]}
    client.post(new_url(), {**form_data(), "site": str(xh.pk)})
    assert Screening.objects.get().number == "MSC-ITP-5-XH-S001"


def test_new_screening_without_the_history_ticked_leaves_refractory_missing(coordinator_client, studies):
    coordinator_client.post(new_url(), form_data(prior_therapies=[], history=False))
    screening = Screening.objects.get()
    assert (screening.prior_therapies_recorded, screening.eligible, screening.missing_criteria) == (
        False, None, ["refractory"])


def test_new_screening_history_ticked_with_no_rows_means_none(coordinator_client, studies):
    coordinator_client.post(new_url(), form_data(prior_therapies=[]))
    screening = Screening.objects.get()
    assert (screening.prior_therapies_recorded, screening.eligible, screening.failed_criteria) == (
        True, False, ["refractory"])


# --- screening page and edit --------------------------------------------------------------------

def test_screening_page_shows_the_result_panel_and_labs(coordinator_client, studies, coordinator):
    screening = create_screening(coordinator, labs=p3_facts()["labs"][:-1])
    response = coordinator_client.get(reverse("screening-detail", args=[screening.pk]))
    assert response.context["criteria_counts"] == {"met": 11, "not_met": 0, "missing": 1}
    creat = next(c for c in response.context["criteria"] if c["code"] == "creatinine")
    assert creat["outcome"] == "missing"
    html = response.content.decode()
    assert '<h2 class="h5 mb-0" data-testid="verdict">Pending</h2>' in html
    assert "Still missing: <strong>creatinine</strong>" in html
    assert 'data-code="creatinine" data-outcome="missing"' in html
    assert "13.68 umol/L" in html and "0.8 mg/dL" in html
    assert response.context["enrol_form"] is None
    assert [lab.analyte for lab, _analyte in response.context["labs"]] == ["PLT", "ALT", "AST", "TBIL"]


def test_screening_edit_form_is_prefilled_as_entered(coordinator_client, studies, coordinator):
    screening = create_screening(coordinator)
    entry = coordinator_client.get(reverse("screening-edit", args=[screening.pk])).context["entry"]
    rows = {lab.analyte.code: lab for lab in entry.labs}
    assert (rows["TBIL"]["value"].value(), rows["TBIL"]["unit"].value()) == (0.8, "mg/dL")
    assert (rows["ALT"]["uln"].value(), rows["AST"]["uln"].value()) == (40, None)  # AST's range is the site's
    assert [f["therapy"].value() for f in entry.therapies.forms] == [
        "glucocorticoid", "tpo_agent", "rituximab", None, None, None, None]
    assert entry.facts["lactating"].value() == "no"
    assert entry.facts["childbearing_potential"].value() == "yes"
    assert entry.facts["thrombocytopenia_months"].value() == 24


def test_screening_edit_without_reason_is_refused(coordinator_client, studies, coordinator):
    screening = create_screening(coordinator)
    history_rows = screening.history.count()
    response = coordinator_client.post(reverse("screening-edit", args=[screening.pk]),
                                       {**form_data(weight_kg=60), "reason": ""})
    assert response.status_code == 200
    assert response.context["entry"].facts.errors == {
        "reason": ["Say why the screening facts change (kept in the audit trail)."]}
    screening.refresh_from_db()
    assert (screening.weight_kg, screening.history.count()) == (58.0, history_rows)


def test_screening_edit_with_reason_re_evaluates(coordinator_client, studies, coordinator):
    screening = create_screening(coordinator, labs=p3_facts()["labs"][:-1])
    assert screening.eligible is None
    response = coordinator_client.post(reverse("screening-edit", args=[screening.pk]),
                                       {**form_data(), "reason": "Creatinine result arrived",
                                        "version": screening.row_version})
    assert response.status_code == 302
    screening.refresh_from_db()
    assert screening.eligible is True
    assert screening.history.first().history_change_reason == "Creatinine result arrived"
    assert ScreeningLab.objects.get(screening=screening, analyte="CREAT").value == 61.88
    assert ScreeningLab.objects.get(screening=screening, analyte="AST").range_source == "site"


def test_the_screening_audit_trail_names_each_item_by_its_label(coordinator_client, studies, coordinator):
    screening = create_screening(coordinator)
    response = coordinator_client.post(reverse("screening-edit", args=[screening.pk]), {
        **form_data(thrombocytopenia_months=30, pregnancy_test="not_applicable"), "reason": "Dates checked",
        "version": screening.row_version})
    assert response.status_code == 302, response.context and response.context["entry"].facts.errors

    html = coordinator_client.get(reverse("audit-trail", args=["screening", screening.pk])).content.decode()

    # Each change as the reader reads it (the item's label is marked as the study's text, its code too).
    page = audit_changes_shown(html)
    assert ("<strong>items › Months of thrombocytopenia (thrombocytopenia_months)</strong>: <del>24 months</del> → "
            "30 months") in page
    assert "<strong>items › Pregnancy test (pregnancy_test)</strong>: <del>Negative</del> → Not applicable" in page
    assert "<strong>items › Breastfeeding (lactating)</strong>: No" in page  # as recorded
    assert '<code data-study-content>thrombocytopenia_months</code>' in html


def test_screening_edit_cannot_remove_a_recorded_lab_value(coordinator_client, studies, coordinator):
    screening = create_screening(coordinator)
    data = {**form_data(), "reason": "typo"}
    data["lab-CREAT-value"] = ""
    response = coordinator_client.post(reverse("screening-edit", args=[screening.pk]), data)
    rows = {lab.analyte.code: lab for lab in response.context["entry"].labs}
    assert rows["CREAT"].errors == {"value": ["A recorded value cannot be removed; correct it instead."]}
    assert ScreeningLab.objects.filter(screening=screening).count() == 5


def test_screening_edit_of_an_enrolled_patient_is_refused(coordinator_client, studies, coordinator):
    participant = enrol(coordinator)
    response = coordinator_client.post(reverse("screening-edit", args=[participant.screening_id]),
                                       {**form_data(weight_kg=61), "reason": "late correction"})
    assert response.context["entry"].non_field_errors == [
        "This patient is enrolled; screening facts can no longer change."]
    assert Screening.objects.get(pk=participant.screening_id).weight_kg == 58.0


# --- consent and enrolment ----------------------------------------------------------------------

def test_consent_for_a_minor_without_guardian_is_refused(coordinator_client, studies, coordinator):
    screening = create_screening(coordinator, birth_date=years_ago(10), height_cm=140)
    page = coordinator_client.get(reverse("screening-detail", args=[screening.pk]))
    form = page.context["consent_form"]
    assert (form.fields["guardian_name"].required, form.fields["guardian_relationship"].required) == (True, True)
    html = page.content.decode()
    assert "Required: the patient is a minor." in html
    assert ('<input type="text" name="consent-guardian_name" maxlength="200" '
            'class="form-control textinput" required') in html
    signed = timezone.localtime() - timedelta(minutes=5)
    response = coordinator_client.post(reverse("screening-consent", args=[screening.pk]), {
        "consent-version": "ICF v2.0", "consent-signed_at": signed.strftime("%Y-%m-%dT%H:%M"),
        "consent-obtained_by": "Dr Han"})
    assert response.status_code == 200
    assert response.context["consent_form"].errors == {
        "guardian_name": ["The patient is a minor: name the legal guardian who signed."],
        "guardian_relationship": ["Give the guardian's relationship to the patient."]}
    assert Consent.objects.count() == 0


def test_consent_for_a_minor_with_guardian_is_recorded(coordinator_client, studies, coordinator):
    screening = create_screening(coordinator, birth_date=years_ago(10), height_cm=140)
    signed = timezone.localtime() - timedelta(minutes=5)
    response = coordinator_client.post(reverse("screening-consent", args=[screening.pk]), {
        "consent-version": "ICF v2.0 (paediatric)", "consent-signed_at": signed.strftime("%Y-%m-%dT%H:%M"),
        "consent-obtained_by": "Dr Han", "consent-guardian_name": "Wang Fang",
        "consent-guardian_relationship": "mother"})
    assert response.status_code == 302
    assert Consent.objects.get().guardian_name == "Wang Fang"


def test_adult_consent_form_does_not_ask_for_a_guardian(coordinator_client, studies, coordinator):
    screening = create_screening(coordinator)
    form = coordinator_client.get(reverse("screening-detail", args=[screening.pk])).context["consent_form"]
    assert (form.fields["guardian_name"].required, form.fields["guardian_relationship"].required) == (False, False)


def test_enrol_form_appears_only_once_eligible_consented_and_confirmed(coordinator_client, studies, coordinator):
    screening = create_screening(coordinator)
    url = reverse("screening-detail", args=[screening.pk])
    assert coordinator_client.get(url).context["enrol_form"] is None
    consent(screening, coordinator)
    waiting = coordinator_client.get(url)
    assert waiting.context["enrol_form"] is None
    assert "Enrolment opens when an investigator has confirmed eligibility." in waiting.content.decode()
    confirm_eligibility(screening)
    form = coordinator_client.get(url).context["enrol_form"]
    assert "option" not in form.fields  # one arm, one level: nothing to choose
    assert form["enrolled_on"].value() == today()


def test_consent_then_enrol_shows_the_study_number(coordinator_client, studies, coordinator):
    screening = create_screening(coordinator)
    signed = timezone.localtime() - timedelta(minutes=5)
    consented = coordinator_client.post(reverse("screening-consent", args=[screening.pk]), {
        "consent-version": "ICF v2.0", "consent-signed_at": signed.strftime("%Y-%m-%dT%H:%M"),
        "consent-obtained_by": "Dr Han"})
    assert consented.status_code == 302
    confirm_eligibility(screening)
    enrolled = coordinator_client.post(reverse("screening-enrol", args=[screening.pk]),
                                       {"enrol-enrolled_on": today().isoformat()})
    participant = Participant.objects.get()
    assert enrolled["Location"] == reverse("participant-detail", args=[participant.pk])
    page = coordinator_client.get(enrolled["Location"])
    html = page.content.decode()
    assert '<h1 class="h3 mb-1" data-testid="study-number">MSC-ITP-5-PUMCH-001</h1>' in html
    assert "Enrolled as MSC-ITP-5-PUMCH-001." in [str(m) for m in page.context["messages"]]
    assert (participant.arm.code, participant.dose_level.code, participant.enrolled_on) == ("MSC", "STD", today())
    detail = coordinator_client.get(reverse("screening-detail", args=[screening.pk])).content.decode()
    assert reverse("participant-detail", args=[participant.pk]) in detail


def test_enrol_before_consent_is_refused_with_the_services_message(coordinator_client, studies, coordinator):
    screening = create_screening(coordinator)
    response = coordinator_client.post(reverse("screening-enrol", args=[screening.pk]), {})
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [
        "The patient was not enrolled.", "Record the patient's informed consent before enrolment."]
    assert Participant.objects.count() == 0


def test_enrol_form_lists_dose_levels_with_status_and_places(studies, coordinator):
    form = EnrolForm(options=selectors.enrolment_options(studies["HUCMSC-ITP-ESC"]))
    assert form.fields["option"].choices == [
        ("MSC:A", "A – Group A: 0.5 x10^6 cells/kg · Open · 0 of 3 places taken"),
        ("MSC:B", "B – Group B: 1.0 x10^6 cells/kg · Planned · 0 of 3 places taken"),
        ("MSC:C", "C – Group C: 2.0 x10^6 cells/kg · Planned · 0 of 3 places taken")]
    assert form.fields["option"].initial == "MSC:A"


def test_enrol_form_puts_a_dose_level_refusal_on_the_level_select(studies):
    form = EnrolForm({"enrol-option": "MSC:B"}, options=selectors.enrolment_options(studies["HUCMSC-ITP-ESC"]))
    assert form.is_valid()
    assert form.enrolment() == {"enrolled_on": None, "first_infusion_on": None, "arm_code": "MSC",
                                 "dose_level_code": "B"}
    form.add_service_errors({"dose_level": ["Dose level B is planned, not open for enrolment."],
                             "study": ["HUCMSC-ITP-ESC has reached its enrolment target of 9."]})
    assert form.errors == {"option": ["Dose level B is planned, not open for enrolment."],
                           "__all__": ["HUCMSC-ITP-ESC has reached its enrolment target of 9."]}


# --- participant and withdrawal -----------------------------------------------------------------

def test_participant_page_links_to_the_withdrawal_page_without_a_form(coordinator_client, studies, coordinator):
    participant = enrol(coordinator)

    page = coordinator_client.get(reverse("participant-detail", args=[participant.pk]))

    html = page.content.decode()
    assert page.context["can_withdraw"] is True
    assert f'href="{reverse("participant-withdraw", args=[participant.pk])}" data-testid="withdraw-link"' in html
    assert 'data-testid="withdraw-form"' not in html and "withdraw-withdrawn_on" not in html


def test_withdrawal_page_explains_and_asks_for_the_date_unfilled(coordinator_client, studies, coordinator):
    participant = enrol(coordinator)

    page = coordinator_client.get(reverse("participant-withdraw", args=[participant.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="withdraw-consequences"' in html
    assert "No further infusion can be recorded" in html
    assert page.context["form"]["withdrawn_on"].value() is None
    assert 'name="withdraw-withdrawn_on"' in html and f'value="{today().isoformat()}"' not in html


def test_participant_withdrawal_records_date_and_reason(coordinator_client, studies, coordinator):
    participant = enrol(coordinator)
    url = reverse("participant-detail", args=[participant.pk])
    response = coordinator_client.post(reverse("participant-withdraw", args=[participant.pk]), {
        "withdraw-withdrawn_on": today().isoformat(), "withdraw-reason": "adverse_event", "withdraw-detail": ""})
    assert response.status_code == 302 and response["Location"] == url
    participant.refresh_from_db()
    assert (participant.status, participant.withdrawn_on, participant.withdrawal_reason) == (
        "withdrawn", today(), "adverse_event")
    page = coordinator_client.get(url)
    assert page.context["can_withdraw"] is False
    assert 'data-testid="withdraw-link"' not in page.content.decode()
    assert f"Withdrawn on {today().isoformat()}: Adverse event." in page.content.decode()


def test_withdrawal_page_of_a_withdrawn_participant_goes_back_to_the_participant(coordinator_client, studies,
                                                                                coordinator):
    participant = enrol(coordinator)
    url = reverse("participant-withdraw", args=[participant.pk])
    coordinator_client.post(url, {"withdraw-withdrawn_on": today().isoformat(), "withdraw-reason": "adverse_event"})

    response = coordinator_client.get(url)

    assert response.status_code == 302
    assert response["Location"] == reverse("participant-detail", args=[participant.pk])


def test_participant_withdrawal_without_a_date_is_refused_on_its_field(coordinator_client, studies, coordinator):
    participant = enrol(coordinator)
    response = coordinator_client.post(reverse("participant-withdraw", args=[participant.pk]), {
        "withdraw-withdrawn_on": "", "withdraw-reason": "adverse_event", "withdraw-detail": ""})
    assert response.status_code == 200
    assert response.context["form"].errors == {"withdrawn_on": ["This field is required."]}
    html = response.content.decode()
    assert 'name="withdraw-withdrawn_on" value="" class="form-control dateinput is-invalid"' in html
    assert 'id="id_withdraw-withdrawn_on_error"' in html
    participant.refresh_from_db()
    assert participant.status == "enrolled"


def test_participant_withdrawal_for_other_needs_details(coordinator_client, studies, coordinator):
    participant = enrol(coordinator)
    response = coordinator_client.post(reverse("participant-withdraw", args=[participant.pk]), {
        "withdraw-withdrawn_on": today().isoformat(), "withdraw-reason": "other", "withdraw-detail": " "})
    assert response.status_code == 200
    assert response.context["form"].errors == {"detail": ["Say what the other reason is."]}
    participant.refresh_from_db()
    assert participant.status == "enrolled"


# --- screening log ------------------------------------------------------------------------------

def test_screening_log_queries_do_not_grow_with_rows(coordinator_client, studies, coordinator,
                                                     django_assert_max_num_queries):
    url = reverse("screening-log", args=["MSC-ITP-5"])
    enrol(coordinator)
    coordinator_client.get(url)  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as one:
        assert coordinator_client.get(url).status_code == 200
    for index in range(29):
        if index % 3 == 0:
            enrol(coordinator)
        else:
            create_screening(coordinator, understands_and_complies=bool(index % 2))
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = coordinator_client.get(url)
    assert len(response.context["page"].object_list) == 30


def test_screening_log_counts_the_flow_and_filters_by_outcome(coordinator_client, studies, coordinator):
    enrol(coordinator)
    withdrawn = enrol(coordinator)
    services.participant_withdraw(participant=withdrawn, withdrawn_on=today(), reason="adverse_event", by=coordinator)
    failed = create_screening(coordinator, understands_and_complies=False)
    pending = create_screening(coordinator, labs=p3_facts()["labs"][:-1])
    waiting = create_screening(coordinator)
    url = reverse("screening-log", args=["MSC-ITP-5"])
    response = coordinator_client.get(url)
    consort = response.context["consort"]
    assert (consort.screened, consort.failed, consort.pending, consort.eligible_not_enrolled, consort.enrolled,
            consort.withdrawn) == (5, 1, 1, 1, 2, 1)
    assert response.context["failed_by_criterion"] == [
        ("compliance", "Able to understand and comply with the study.", 1)]
    assert [(str(label), n) for label, n in response.context["withdrawn_by_reason"]] == [("Adverse event", 1)]
    html = response.content.decode()
    assert '<div class="consort-box" data-count="screened"><span>Screened</span><strong>5</strong></div>' in html
    assert ('data-outcome="screen_failure">Screen failure</span> '
            '<span class="small text-danger-emphasis">compliance') in html
    assert 'missing: creatinine' in html
    assert "MSC-ITP-5-PUMCH-002" in html
    filtered = {
        outcome: [s.pk for s in coordinator_client.get(url, {"outcome": outcome}).context["page"].object_list]
        for outcome in ("screen_failure", "pending", "eligible", "withdrawn")
    }
    assert filtered == {"screen_failure": [failed.pk], "pending": [pending.pk], "eligible": [waiting.pk],
                        "withdrawn": [withdrawn.screening_id]}
    assert len(coordinator_client.get(url, {"outcome": "enrolled"}).context["page"].object_list) == 2
    assert len(coordinator_client.get(url, {"outcome": "nonsense"}).context["page"].object_list) == 5


def test_screening_log_of_another_site_shows_none_of_ours(client, studies, other_site_study, make_user, coordinator):
    create_screening(coordinator)
    client.force_login(make_user("coordinator", site="XH"))
    response = client.get(reverse("screening-log", args=["XH-MSC"]))
    assert list(response.context["page"].object_list) == [] and response.context["consort"].screened == 0


def test_study_page_links_to_the_screening_log(coordinator_client, studies):
    html = coordinator_client.get(reverse("study-detail", args=["MSC-ITP-5"])).content.decode()
    assert f'href="{reverse("screening-log", args=["MSC-ITP-5"])}"' in html
