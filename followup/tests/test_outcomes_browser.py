"""The study page's duration-of-response curve in headless Chromium, under the strict CSP."""
import pytest

from followup import services
from followup.tests.support import CHECK_VECTOR, responder_counts, treated_participant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOT = "/tmp/study-outcomes.png"


def test_monitor_sees_the_duration_of_response_curve(chromium_page, p3, coordinator, make_user):  # noqa: F811
    for months, lost in CHECK_VECTOR:
        treated_participant(coordinator, responder_counts(months, lost=lost))
    services.outcomes_compute(study=p3)
    make_user("monitor", username="qian", password="Correct-Horse-88")
    page = chromium_page
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(f"{page.base}/")
    page.fill("#id_username", "qian")
    page.fill("#id_password", "Correct-Horse-88")
    page.click("button[type=submit]")
    with page.expect_navigation():
        page.get_by_role("link", name="MSC-ITP-5").click()

    row = page.locator("[data-testid=duration-of-response] tbody tr").last
    assert row.locator("td").all_inner_texts() == ["all", "7", "4", "3", "10.0 (3.0 – NR)", "51.4 % (11.8-81.3 %)"]
    curve = page.locator("[data-testid=duration-curve-all] svg")
    curve.scroll_into_view_if_needed()
    box = curve.bounding_box()
    assert box["width"] > 200 and box["height"] > 100
    # The stylesheet, not an inline style, draws the curve: the step line has a stroke and no fill.
    stroke, fill = page.eval_on_selector("[data-testid=duration-curve-all] path.curve",
                                         "e => [getComputedStyle(e).stroke, getComputedStyle(e).fill]")
    assert stroke != "none" and fill == "none"
    assert page.locator("[data-testid=duration-curve-all] line.censor").count() == 3
    assert page.locator("[data-testid=duration-curve-all] path.band").count() == 2
    page.locator("[data-testid=duration-of-response]").screenshot(path=SCREENSHOT)
    curve.screenshot(path=SCREENSHOT.replace(".png", "-curve.png"))
    assert problems == []

