"""An investigator goes from the study page to all its protocol deviations, filters them by kind and
site, pages through them and opens a participant from the list."""
import pytest
from django.core.management import call_command

from dosing.models import Infusion
from followup.deviations import protocol_deviations
from followup.synthetic import SITES
from trials.accounts import user_upsert
from trials.models import Study
from trials.tests.support import setup_update

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "Correct-Horse-88"


def test_investigator_filters_and_pages_the_deviations(chromium_page, studies):
    call_command("make_synthetic_study", participants=120, seed=5)
    study = Study.objects.get(code="SYN-120-5")
    given = Infusion.objects.filter(participant__study=study, state="given").order_by("pk")
    setup_update(Infusion.objects.filter(pk__in=list(given.values_list("pk", flat=True)[::7])), dose_deviation=True,
                 dose_confirmation="Weighed again")
    investigator = None
    for code, _name in SITES:
        investigator = user_upsert(username="zhou", role="investigator", site_code=code).user
    investigator.set_password(PASSWORD)
    investigator.save()
    every = protocol_deviations(investigator, study=study)[0]
    doses = [d for d in every if d.kind == "dose"]
    assert len(every) > 50 and doses
    page = chromium_page
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{page.base}/accounts/login/")
    page.fill("#id_username", "zhou")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{page.base}/studies/{study.code}/")
    counted = page.locator("[data-testid=deviation-kinds]").inner_text()
    assert f"{len(every)} protocol deviations at your sites" in counted
    with page.expect_navigation():
        page.click("[data-testid=deviations-link]")

    table = page.locator("[data-testid=deviations] tbody tr")
    assert table.count() == 50
    assert page.locator("[data-testid=page-current]").inner_text() == f"Page 1 of {-(-len(every) // 50)}"
    with page.expect_navigation():
        page.click("[data-testid=page-next]")
    assert table.first.locator("td").first.inner_text() == every[50].participant.study_number

    page.select_option("#id_kind", "dose")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    assert table.count() == min(len(doses), 50)
    assert {row.get_attribute("data-kind") for row in table.all()} == {"dose"}
    assert page.locator("#id_kind").input_value() == "dose"
    site = doses[0].participant.site
    page.select_option("#id_site", str(site.pk))
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    assert [row.locator("td").first.inner_text() for row in table.all()] == [
        d.participant.study_number for d in doses if d.participant.site_id == site.pk][:50]
    with page.expect_navigation():
        page.click("[data-testid=deviations] tbody tr >> nth=0 >> a")
    assert page.url.endswith(f"/participants/{doses[0].participant.pk}/")
    assert problems == []
