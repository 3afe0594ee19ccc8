"""The language switch in headless Chromium: by keyboard, under the Content-Security-Policy."""
import pytest

from trials.models import AccountSettings

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_switch_turns_the_pages_chinese_and_keeps_the_choice(chromium_page, studies, make_user):
    user = make_user("coordinator", username="liu", password="Correct-Horse-88")
    page = chromium_page
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{page.base}/")
    page.fill("#id_username", "liu")
    page.fill("#id_password", "Correct-Horse-88")
    page.click("button[type=submit]")
    with page.expect_navigation():
        page.get_by_role("link", name="MSC-ITP-5").click()
    study_page = page.url

    switch = page.get_by_role("group", name="Language of the pages")
    switch.get_by_role("button", name="简体中文").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert page.url == study_page
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.get_by_role("button", name="退出登录").is_visible()
    assert page.get_by_role("group", name="页面语言").get_by_role("button", name="简体中文").get_attribute(
        "aria-pressed") == "true"
    assert AccountSettings.objects.get(user=user).language == "zh-hans"
    assert errors == []
