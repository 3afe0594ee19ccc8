"""The study dashboard in headless Chromium, under the strict CSP: an investigator of two sites opens
it from the study page, the charts render without a console error, and choosing a site changes the
counts."""
import pytest

from enrollment.models import Participant, Screening
from followup.tests.support import NON_RESPONDER, treated_participant
from trials.models import Site
from trials.tests.support import change_context, setup_update

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOT = "/tmp/study-dashboard.png"


def test_investigator_opens_and_filters_the_dashboard(chromium_page, p3, coordinator, make_user):
    treated_participant(coordinator, [(30, 110), (37, 125)])
    treated_participant(coordinator, NON_RESPONDER)
    elsewhere = treated_participant(coordinator, [(30, 110), (37, 125)])
    xh, _ = Site.objects.get_or_create(code="XH", defaults={"name": "Xiehe Other Hospital"})
    with change_context(by=None, reason="A second site joins"):
        p3.sites.add(xh)
    setup_update(Screening.objects.filter(pk=elsewhere.screening_id), site=xh)
    setup_update(Participant.objects.filter(pk=elsewhere.pk), site=xh)
    make_user("investigator", username="zhou", password="Correct-Horse-88")
    make_user("investigator", site="XH", username="zhou", password="Correct-Horse-88")
    page = chromium_page
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(f"{page.base}/")
    page.fill("#id_username", "zhou")
    page.fill("#id_password", "Correct-Horse-88")
    page.click("button[type=submit]")
    page.get_by_role("link", name="MSC-ITP-5").click()
    page.get_by_test_id("dashboard-link").click()

    treated = page.locator("[data-count=treated] strong")
    assert treated.inner_text() == "3"
    for testid in ("spaghetti-PLT", "waterfall-PLT", "swimmer", "duration-curve-all"):
        svg = page.locator(f"[data-testid={testid}] svg")
        svg.scroll_into_view_if_needed()
        box = svg.bounding_box()
        assert box["width"] > 200 and box["height"] > 100, testid
    assert page.locator("[data-testid=spaghetti-PLT] polyline.series").count() == 3
    # the numbers are one click away
    numbers = page.locator("[data-testid=swimmer] details")
    assert not numbers.locator("table").is_visible()
    numbers.locator("summary").click()
    assert numbers.locator("tbody tr").count() == 3
    page.screenshot(path=SCREENSHOT, full_page=True)
    page.emulate_media(media="print")  # the print stylesheet leaves out the navigation and the filter
    assert not page.get_by_test_id("dashboard-filter").is_visible()
    assert page.locator("[data-testid=swimmer] svg").is_visible()
    page.emulate_media(media="screen")

    page.select_option("#id_site", label="Xiehe Other Hospital (XH)")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/dashboard/?*site=*")
    assert page.locator("[data-count=treated] strong").inner_text() == "1"
    assert page.locator("[data-count=screened] strong").inner_text() == "1"
    assert page.locator("[data-testid=outcomes] tbody tr").last.locator("td").nth(5).inner_text() == \
        "100.0 % (2.5-100.0 %)"
    assert page.locator("[data-testid=spaghetti-PLT] polyline.series").count() == 1
    assert problems == []
