"""Chromium with axe-core: the pages a coordinator and an investigator work in (screening, infusion,
visit, participant, the study's dashboard) have no serious or critical accessibility violation and
are no wider than the viewport, at 1280 px and at 390 px, in English and in Chinese."""
from datetime import timedelta

import pytest

from followup import services
from followup.tests.support import enrol
from enrollment.tests.support import today
from trials.languages import language_choose

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Correct-Horse-88"
WIDTHS = (1280, 390)
# The elements that make the page wider than the viewport: past its right edge, not inside a
# scrolling or clipping box, and whose parent is not itself past the edge (the outermost culprit).
WIDE_ELEMENTS = """(() => {
  const width = document.documentElement.clientWidth, found = [];
  for (const element of document.querySelectorAll('body *')) {
    let ancestor = element.parentElement, clipped = false;
    for (; ancestor; ancestor = ancestor.parentElement) {
      if (getComputedStyle(ancestor).overflowX !== 'visible') { clipped = true; break; }
    }
    const parent = element.parentElement;
    if (!clipped && element.getBoundingClientRect().right > width + 1
        && !(parent && parent.getBoundingClientRect().right > width + 1)) {
      found.push(`${element.tagName.toLowerCase()}.${[...element.classList].join('.')}`);
    }
  }
  return found.slice(0, 5);
})()"""


def serious_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe  # noqa: PLC0415 (only the browser tests need axe)

    response = Axe().run(page).response
    return [f"{rule['id']} ({rule['impact']}): {[node['target'] for node in rule['nodes']][:5]}"
            for rule in response["violations"] if rule["impact"] in ("serious", "critical")]


def overflow(page) -> list[str]:
    extra = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    return [f"{extra} px too wide: {page.evaluate(WIDE_ELEMENTS)}"] if extra > 0 else []


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_working_pages_pass_axe_and_fit_a_phone(chromium_page, studies, make_user, language):
    investigator = make_user("investigator", username="li", password=PASSWORD)
    if language != "en":
        language_choose(investigator, language, by=investigator, reason="test setup")
    coordinator = make_user("coordinator", username="mei", password=PASSWORD)
    participant = enrol(coordinator, day0=today() - timedelta(days=5), enrolled_on=today() - timedelta(days=20))
    services.assessment_record(participant=participant, by=coordinator, data=services.AssessmentInput(
        date=today() - timedelta(days=6), visit="BL", bleeding_grade=0,
        labs=[{"analyte": "PLT", "value": 42, "unit": "10^9/L"}]))
    page = chromium_page
    page.goto(f"{page.base}/accounts/login/")
    page.fill("#id_username", "li")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    study = participant.screening.study.code
    paths = [f"/studies/{study}/screenings/new/", f"/participants/{participant.pk}/infusions/new/",
             f"/participants/{participant.pk}/assessments/new/", f"/participants/{participant.pk}/",
             f"/participants/{participant.pk}/withdraw/",
             f"/studies/{study}/", f"/studies/{study}/dashboard/", "/participants/", f"/studies/{study}/grid/",
             f"/participants/{participant.pk}/casebook/", f"/studies/{study}/exports/", f"/studies/{study}/deviations/"]
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for path in paths:
            response = page.goto(f"{page.base}{path}")
            assert response.status == 200, path
            assert page.locator("html").get_attribute("lang") == language
            problems += [f"{width} px {path}: {problem}" for problem in serious_violations(page) + overflow(page)]
    assert problems == []
