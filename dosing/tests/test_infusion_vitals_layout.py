"""The infusion form's vital signs: before and after side by side, each group under its heading, every
field with its own label and its own error."""
import re

from django.urls import reverse

from dosing.forms import VITALS
from dosing.tests.support import form_data


def _fieldset(html: str, moment: str) -> str:
    return re.search(rf'<fieldset id="vitals-{moment}".*?</fieldset>', html, re.S).group(0)


def test_infusion_page_groups_vitals_before_and_after_in_two_columns(client, participant, coordinator):
    client.force_login(coordinator)

    html = client.get(reverse("infusion-record", args=[participant.pk])).content.decode()

    row = re.search(r'<div\s+class="row vitals-row"\s+data-testid="vitals">', html)
    assert row is not None
    columns = re.findall(r'<div\s+class="col-12 col-md-6"\s*>\s*<fieldset id="vitals-(\w+)"', html[row.end():])
    assert columns == ["before", "after"]
    for moment, legend in (("before", "Before the infusion"), ("after", "After the infusion")):
        block = _fieldset(html, moment)
        assert f"<legend>{legend}</legend>" in block
        assert re.findall(r'name="(\w+)"', block) == [f"{moment}_{key}" for key, _label in VITALS]
        for key, label in VITALS:
            assert re.search(rf'<label\s+for="id_{moment}_{key}" class="form-label">\s*{re.escape(str(label))}',
                             block), (moment, key)


def test_infusion_page_shows_a_vital_sign_error_on_its_field_in_its_column(client, participant, coordinator):
    client.force_login(coordinator)

    response = client.post(reverse("infusion-record", args=[participant.pk]),
                           form_data(0, before_temperature_c="55", after_heart_rate="400"))

    html = response.content.decode()
    before, after = _fieldset(html, "before"), _fieldset(html, "after")
    temperature = re.search(r'<div id="div_id_before_temperature_c".*?</div>\s*</div>', before, re.S).group(0)
    assert "is-invalid" in temperature and "Temperature before the infusion: 55 is outside 25-45 °C." in temperature
    heart_rate = re.search(r'<div id="div_id_after_heart_rate".*?</div>\s*</div>', after, re.S).group(0)
    assert "is-invalid" in heart_rate and "Heart rate after the infusion: 400 is outside 20-250 /min." in heart_rate
    assert "is-invalid" not in re.search(r'<div id="div_id_after_temperature_c".*?</div>', after, re.S).group(0)


def test_infusion_page_in_chinese_heads_the_vitals_in_chinese(client, participant, coordinator):
    client.force_login(coordinator)

    url = reverse("infusion-record", args=[participant.pk])
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "<legend>输注前</legend>" in _fieldset(html, "before")
    assert "<legend>输注后</legend>" in _fieldset(html, "after")
