"""Chromium with the language set to Chinese: the pages of each role's work (screen, enrol, infuse,
record a visit, an adverse event, the escalation, the dashboard, the worklist, monitoring, a data
query) show no English: the rendered text holds no ASCII word outside the codes and units the
product shows as such (study, site and analyte codes, units, response categories, the people's
usernames).

The study's own texts (title, criteria, site names, visit, item and code-list labels, arms and
dose levels) are written in the study's language and marked so (`lang="en"`): they are not the
interface's to translate, and the scan leaves them out, as it leaves out the language switch's
"English" button (marked the same way). What people typed (reasons, names, free text) is data, shown
as written and marked so (`data-entered`): the scan leaves it out too.

Not yet Chinese, and left out by name (NOT_YET_TRANSLATED): the arithmetic of each eligibility
criterion on the screening page, stored with the screening as English text when it is evaluated;
it becomes a message code with its values, worded at display, with the migration of the stored
evaluations.
"""
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model

from enrollment.tests.support import today
from followup import services
from followup.data_queries import query_open
from followup.models import Assessment
from followup.record_refs import RecordRef
from followup.tests.factories import AdverseEventFactory
from followup.tests.support import enrol
from trials.languages import language_choose
from followup.signoff import casebook_sign
from trials.tests.support import confirm_adverse_event, setup_update

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Correct-Horse-88"
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]")

# The codes and units the product shows as such, in every language (the words of two letters or
# more the scan can find in them: "MSC-ITP-5" reads "MSC-ITP", "10^9/L" nothing).
ALLOWED = frozenset({
    # studies, sites and their numbering, visit, arm and dose-level codes of the shipped studies
    "MSC-ITP", "HUCMSC-ITP-ESC", "UCB-IRIC", "PUMCH", "PUMCH-S", "NCT", "ICF", "BL", "MSC", "STD", "VIR-W",
    # analytes
    "PLT", "HGB", "ANC", "WBC", "LYM", "RETIC", "PCT", "ABS", "ALT", "AST", "LDH", "TBIL", "CREAT", "HAPTO",
    # units
    "kg", "mL", "mg", "dL", "uL", "umol", "mmHg", "min", "cm", "cells",
    # response categories and the clinical abbreviations Chinese clinicians use as they are
    "CR", "NR", "NE", "CTCAE", "ECOG", "SAE", "AE", "DLT", "WHO", "ITP", "IVIG", "TPO", "TPO-RA", "rhTPO",
    "G-CSF", "DMSO", "CONSORT", "Cockcroft-Gault", "Schwartz", "HBV", "HCV", "HIV", "NK", "Th", "Tfh", "Treg",
    "hUC-MSC", "IWG", "AIHA", "PRCA", "Evans",
    # the product's own terms: the programming interface, the system, SI units, reference limits,
    # confidence intervals, the time zone's abbreviation
    "API", "EDC", "SI", "LLN", "ULN", "CI", "CST",
    # the task runner a deployment starts, by its name (the home page tells an administrator to start it)
    "Celery",
    # the names of file formats and standards
    "CDISC", "CSV", "ODM", "XML", "Excel", "zip", "PDF",
})


NOT_YET_TRANSLATED = ".criterion-detail"


def shown_words(page) -> set[str]:
    """The ASCII words of the page as the reader sees it, leaving out what is marked as written
    in English (the study's texts, the "English" button) or as data (what people typed)."""
    text = page.evaluate("""(notYet) => {
        const marked = `[lang^="en"], [data-study-content], [data-entered], ${notYet}`;
        document.querySelectorAll(marked).forEach((element) => element.remove());
        return document.body.innerText;
    }""", NOT_YET_TRANSLATED)
    return set(WORD.findall(text))


def sign_in(page, username):
    page.context.clear_cookies()
    page.goto(f"{page.base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{page.base}/")


def walk(page, journeys: dict[str, list[str]]) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Each user's pages opened in turn: the status of each, and the English words each shows
    (user names, in any case, are the people's own)."""
    usernames = {name.lower() for name in get_user_model().objects.values_list("username", flat=True)}
    found, statuses = {}, {}
    for username, paths in journeys.items():
        sign_in(page, username)
        for path in paths:
            response = page.goto(f"{page.base}{path}")
            statuses[f"{username} {path}"] = response.status
            assert page.locator("html").get_attribute("lang") == "zh-hans", path
            words = {word for word in shown_words(page) - ALLOWED if word.lower() not in usernames}
            if words:
                found[f"{username} {path}"] = sorted(words)
    for key, words in found.items():
        print(key, words)
    return statuses, found


def casebook_of(coordinator, monitor):
    """An enrolled participant with a baseline assessment and a data query on its platelets."""
    participant = enrol(coordinator, day0=today() - timedelta(days=5), enrolled_on=today() - timedelta(days=20))
    setup_update(participant.screening.consents, obtained_by="韩医生")
    services.assessment_record(participant=participant, by=coordinator, data=services.AssessmentInput(
        date=today() - timedelta(days=6), visit="BL", bleeding_grade=0,
        labs=[{"analyte": "PLT", "value": 42, "unit": "10^9/L"}]))
    assessment = Assessment.objects.get(participant=participant)
    query = query_open(RecordRef("assessment", assessment.pk), "lab:PLT", "血小板计数是 42 还是 24？", monitor)
    return participant, assessment, query


def test_every_page_of_the_journeys_is_chinese(chromium_page, studies, make_user):
    coordinator = make_user("coordinator", username="mei", password=PASSWORD)
    investigator = make_user("investigator", username="li", password=PASSWORD)
    monitor = make_user("monitor", username="wang", password=PASSWORD)
    for user in (coordinator, investigator, monitor):
        language_choose(user, "zh-hans", by=user, reason="test setup")
    participant, assessment, query = casebook_of(coordinator, monitor)
    event = AdverseEventFactory(participant=participant, by=coordinator, term="输注后寒战", term_other=True,
                                onset_date=today(), grade=2, serious=False, relationship="possible")
    confirm_adverse_event(event)
    study = participant.screening.study.code
    common = ["/", f"/studies/{study}/", f"/studies/{study}/dashboard/", f"/studies/{study}/participants/",
              f"/studies/{study}/screenings/", f"/screenings/{participant.screening.pk}/",
              f"/participants/{participant.pk}/", "/worklist/", "/studies/HUCMSC-ITP-ESC/escalation/",
              f"/queries/{query.pk}/", f"/adverse-events/{event.pk}/", f"/studies/{study}/deviations/"]
    recording = [f"/studies/{study}/screenings/new/", f"/participants/{participant.pk}/infusions/new/",
                 f"/participants/{participant.pk}/assessments/new/",
                 f"/participants/{participant.pk}/adverse-events/new/"]
    journeys = {"mei": common + recording, "li": common + recording, "wang": common + [f"/studies/{study}/sdv/"]}
    statuses, found = walk(chromium_page, journeys)
    assert set(statuses.values()) == {200}, statuses
    assert found == {}


def test_the_data_managers_and_the_administrators_pages_are_chinese(chromium_page, studies, make_user):
    coordinator = make_user("coordinator", username="mei", password=PASSWORD)
    investigator = make_user("investigator", username="li", password=PASSWORD)
    monitor = make_user("monitor", username="wang", password=PASSWORD)
    data_manager = make_user("data_manager", username="chen", password=PASSWORD)
    admin = make_user("admin", username="zhou", password=PASSWORD)
    for user in (data_manager, admin):
        language_choose(user, "zh-hans", by=user, reason="test setup")
    participant, assessment, query = casebook_of(coordinator, monitor)
    casebook_sign(participant=participant, password=PASSWORD, by=investigator)
    study = participant.screening.study
    code = study.code
    managing = ["/", f"/studies/{code}/", f"/studies/{code}/participants/", f"/studies/{code}/grid/",
                f"/participants/{participant.pk}/", f"/participants/{participant.pk}/audit/",
                f"/participants/{participant.pk}/casebook/", f"/queries/{query.pk}/", "/worklist/",
                f"/studies/{code}/exports/",
                f"/audit/assessment/{assessment.pk}/"]
    # An administrator looks after their sites' accounts through the API tokens, the wrong-password counts
    # and each account's audit trail (`trials.admin_accounts`); Django's user pages and the memberships
    # are the superusers'. The worklist is the clinical roles' (an administrator is refused it).
    administering = [*[path for path in managing if path != "/worklist/"], "/admin/",
                     f"/admin/auth/user/{coordinator.pk}/audit/", "/admin/authtoken/tokenproxy/",
                     "/admin/trials/passwordfailurecount/",
                     "/admin/trials/study/", f"/admin/trials/study/{study.pk}/change/",
                     f"/admin/trials/study/{study.pk}/versions/", "/admin/trials/item/", "/admin/trials/analyte/"]
    statuses, found = walk(chromium_page, {"chen": managing, "zhou": administering})
    assert {k: v for k, v in statuses.items() if v != 200} == {}
    assert found == {}
