"""In headless Chromium: an administrator adds a number item and a choice item to the data dictionary,
places them on a visit's form and activates the amendment; a coordinator answers them on that
visit's assessment page (an answer outside the plausible range is refused on its field first) and
reads them on the participant page."""
import pytest

from enrollment.tests.test_browser import sign_in
from followup.models import Assessment
from followup.tests.support import days_ago
from trials.models import Item
from trials.tests.support import SIGNER_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OUT_OF_RANGE = "42 cm is outside the plausible range 5-30 cm."


def add_item(page, study, fields: dict, *, choose: dict = (), visit: str):
    """On the study's admin page, "Add an item"; fill its definition, save it, then place it on the
    form of `visit` with a reason."""
    page.goto(f"{page.base}/admin/trials/study/{study.pk}/change/")
    with page.expect_navigation():
        page.get_by_role("link", name="Add an item").click()
    for selector, value in fields.items():
        page.fill(selector, value)
    for selector, value in dict(choose).items():
        page.select_option(selector, value)
    page.get_by_role("button", name="Save and continue editing").click()
    assert "was added successfully" in page.locator(".messagelist").inner_text()

    page.locator(".add-row a", has_text="Add another Visit form").click()  # the admin's own script
    page.locator(".dynamic-placements select[name$=-visit_definition]").last.select_option(
        label=f"{study.code} / {visit}")
    page.fill("#id_change_reason", f"Amendment 5: asked at {visit}")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    assert "was changed successfully" in page.locator(".messagelist").inner_text()


def test_items_placed_on_a_visit_in_the_admin_are_asked_checked_and_shown(chromium_page, woman, make_user):
    make_user("admin", username="qian", password=SIGNER_PASSWORD)
    make_user("coordinator", username="zhao", password=SIGNER_PASSWORD)
    study = woman.study
    page = chromium_page
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))

    # The administrator: a spleen length (cm, 5-30, one decimal) and a marrow finding, on W1's form.
    sign_in(page, "qian", SIGNER_PASSWORD)
    add_item(page, study, {"#id_code": "spleen_length", "#id_label": "Spleen length", "#id_unit": "cm",
                           "#id_min_value": "5", "#id_max_value": "30", "#id_decimals": "1",
                           "#id_section": "Abdominal ultrasound", "#id_order": "300"},
             choose={"#id_type": "number"}, visit="W1")
    add_item(page, study, {"#id_code": "marrow_finding", "#id_label": "Bone-marrow finding",
                           "#id_choices": "normal = Normal\nhypocellular = Hypocellular",
                           "#id_section": "Bone marrow", "#id_order": "301"},
             choose={"#id_type": "choice"}, visit="W1")
    w1 = woman.visits.get(code="W1").definition
    assert sorted(Item.objects.filter(study=study, placements__visit_definition=w1).values_list("code", flat=True)) \
        == ["marrow_finding", "spleen_length"]
    # In a running study they wait for the amendment, which the administrator activates.
    assert "not in force yet" in page.locator(".messagelist").inner_text()
    page.goto(f"{page.base}/admin/trials/study/{study.pk}/change/")
    page.get_by_role("link", name="Protocol versions").click()
    assert "spleen_length" in page.get_by_test_id("pending-changes").inner_text()
    page.get_by_label("New protocol version").fill("5")
    page.get_by_label("Effective date (approval)").fill(days_ago(0))
    page.get_by_label("Reason (kept in the audit trail)").fill("Amendment 5 approved")
    page.get_by_role("button", name="Activate the amendment").click()
    assert "Protocol version 5 of" in page.locator(".messagelist").inner_text()

    # The coordinator opens W1 from the participant's visit plan and answers them.
    page.context.clear_cookies()
    sign_in(page, "zhao", SIGNER_PASSWORD)
    page.goto(f"{page.base}/participants/{woman.pk}/")
    w1_row = page.locator("[data-testid=visit-plan] tr").filter(has=page.get_by_role("cell", name="W1", exact=True))
    with page.expect_navigation():
        w1_row.get_by_role("link", name="record").click()
    assert page.get_by_role("heading", level=1).inner_text() == "W1 – Week 1"
    page.get_by_label("Date of the assessment").fill(days_ago(3))
    page.get_by_label("WHO bleeding grade").select_option("0")
    page.locator("[data-testid=lab-entry] tr[data-analyte=PLT] input[name$=-value]").fill("42")
    page.get_by_label("Spleen length (cm)").fill("42")
    page.get_by_label("Bone-marrow finding").select_option(label="Hypocellular")
    with page.expect_navigation():
        page.get_by_role("button", name="Record the assessment").click()

    refused = page.locator("[data-testid=visit-items] tr[data-item=spleen_length]")
    assert "table-danger" in refused.get_attribute("class")
    assert OUT_OF_RANGE in refused.inner_text()
    assert OUT_OF_RANGE not in page.locator("[data-testid=visit-items] tr[data-item=marrow_finding]").inner_text()
    assert Assessment.objects.filter(participant=woman).count() == 0
    page.get_by_label("Spleen length (cm)").fill("12.5")
    with page.expect_navigation():
        page.get_by_role("button", name="Record the assessment").click()

    assert page.url == f"{page.base}/participants/{woman.pk}/"
    answers = page.locator("[data-testid=assessment-items]").first
    assert answers.locator("[data-item=spleen_length]").inner_text() == "Spleen length 12.5 cm"
    assert answers.locator("[data-item=marrow_finding]").inner_text() == "Bone-marrow finding Hypocellular"
    assert Assessment.objects.get(participant=woman).items == {"spleen_length": 12.5, "marrow_finding": "hypocellular"}
    assert problems == []
