"""Screening to enrolment in headless Chromium (Playwright) against the live server."""
from datetime import timedelta

import pytest
from django.utils import timezone

from enrollment.tests.support import p3_facts

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOT = "/tmp/screening.png"


def sign_in(page, username, password):
    page.goto(f"{page.base}/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def yes_no(value) -> str:
    return "yes" if value is True else "no" if value is False else "unknown"


def fill_screening(page, facts):
    """Type a patient's facts into the new-screening form, as a coordinator would."""
    for key in ("initials", "birth_date", "weight_kg", "height_cm", "diagnosis_date"):
        page.fill(f"#id_{key}", str(facts[key]))
    page.select_option("#id_sex", facts["sex"])
    page.select_option("#id_disease", facts["disease"])
    page.select_option("#id_ecog", str(facts["ecog"]))
    for lab in facts["labs"]:
        code = lab["analyte"]
        page.fill(f"#id_lab-{code}-value", str(lab["value"]))
        page.select_option(f"#id_lab-{code}-unit", lab["unit"])
        if "uln" in lab:
            page.fill(f"#id_lab-{code}-uln", str(lab["uln"]))
    page.check("#id_prior_therapies_recorded")
    for row, course in enumerate(facts["prior_therapies"]):
        page.select_option(f"#id_therapy-{row}-therapy", course["therapy"])
        page.fill(f"#id_therapy-{row}-start", course["start"])
        page.fill(f"#id_therapy-{row}-end", course["end"])
        page.fill(f"#id_therapy-{row}-dose_text", course.get("dose_text", ""))
        page.select_option(f"#id_therapy-{row}-outcome", course["outcome"])
    for name, value in facts["conditions"].items():
        page.check(f"input[name={name}][value={yes_no(value)}]")
    for name in ("childbearing_potential", "agrees_contraception", "stable_maintenance_therapy_4_weeks",
                 "diagnosis_meets_guideline", "understands_and_complies"):
        page.check(f"input[name={name}][value={yes_no(facts[name])}]")
    page.select_option("#id_pregnancy_test", facts["pregnancy_test"])
    page.fill("#id_thrombocytopenia_months", str(facts["thrombocytopenia_months"]))


def test_coordinator_screens_consents_and_enrols_an_eligible_p3_patient(chromium_page, studies, make_user):
    make_user("coordinator", username="zhao", password="Correct-Horse-88")
    make_user("investigator", username="li", password="Correct-Horse-88")
    page = chromium_page
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    sign_in(page, "zhao", "Correct-Horse-88")
    page.get_by_role("link", name="MSC-ITP-5").click()
    with page.expect_navigation():
        page.get_by_role("link", name="Screening log").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Screening log: MSC-ITP-5"
    assert page.locator("[data-count=screened] strong").inner_text() == "0"
    with page.expect_navigation():
        page.get_by_role("link", name="New screening").click()

    assert page.locator("[data-testid=lab-entry] tbody tr").count() == 13
    assert page.locator("[data-testid=therapy-entry] tbody tr").count() == 4
    fill_screening(page, p3_facts())
    page.get_by_role("button", name="Save and evaluate eligibility").click()

    panel = page.locator("[data-testid=result-panel]")
    assert panel.locator("[data-testid=verdict]").inner_text() == "Eligible"
    assert panel.locator("[data-testid=criteria-summary]").inner_text() == "12 met · 0 not met · 0 missing"
    assert panel.locator("tbody tr[data-outcome=met]").count() == 12
    assert page.locator(".alert-success").inner_text() == "Screening MSC-ITP-5-PUMCH-S001 saved: eligible."
    tbil = page.locator("[data-testid=labs] tr[data-analyte=TBIL]").inner_text()
    assert "13.68 umol/L" in tbil and "0.8 mg/dL" in tbil
    page.screenshot(path=SCREENSHOT, full_page=True)

    signed = timezone.localtime() - timedelta(minutes=5)
    page.fill("#id_consent-version", "ICF v2.0")
    page.fill("#id_consent-signed_at", signed.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_consent-obtained_by", "Dr Han")
    with page.expect_navigation():
        page.get_by_role("button", name="Record consent").click()
    assert page.locator(".alert-success").inner_text() == "Consent recorded (ICF v2.0)."
    assert "ICF v2.0" in page.locator("[data-testid=consents]").inner_text()
    # Enrolment waits for the investigator's signed eligibility confirmation.
    assert page.locator("[data-testid=enrol-form]").count() == 0
    assert page.get_by_test_id("eligibility-awaiting").is_visible()
    screening_url = page.url
    page.context.clear_cookies()
    sign_in(page, "li", "Correct-Horse-88")
    page.goto(screening_url)
    confirm = page.get_by_test_id("eligibility-confirm-form")
    assert "meets every eligibility criterion" in confirm.get_by_test_id("eligibility-meaning").inner_text()
    page.fill("#id_password", "Correct-Horse-88")
    confirm.get_by_role("button", name="Confirm eligibility").click()
    assert page.locator(".alert-success").inner_text() == "Eligibility confirmed and signed."
    assert page.get_by_test_id("eligibility-signature").inner_text().startswith("Signed by li (li) on ")
    page.context.clear_cookies()
    sign_in(page, "zhao", "Correct-Horse-88")
    page.goto(screening_url)

    with page.expect_navigation():
        page.locator("[data-testid=enrol-form]").get_by_role("button", name="Enrol").click()

    assert page.get_by_role("heading", level=1).inner_text() == "MSC-ITP-5-PUMCH-001"
    assert page.locator("[data-testid=status]").inner_text() == "Enrolled"
    assert page.locator(".alert-success").inner_text() == "Enrolled as MSC-ITP-5-PUMCH-001."
    facts = page.locator("[data-testid=participant-facts]").inner_text()
    assert "MSC-ITP-5-PUMCH-S001" in facts and "STD" in facts
    assert problems == []
