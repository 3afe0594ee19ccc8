"""A bad infusion is refused once, every problem on its field: the form's own and the service's,
vital signs named ("Temperature before the infusion: ...") and shown on their own fields; the
fields the service requires are marked required."""
import re

from django.urls import reverse

from dosing.models import Infusion
from dosing.tests.support import MSC, at, form_data, give

TEMPERATURE = "Temperature before the infusion: 55 is outside 25-45 °C."


def bad_form(**changes):
    return form_data(0, weight_kg="heavy", before_temperature_c="55", after_heart_rate="400", product_lot="",
                     product_viability_pct="130", **changes)


def test_infusion_page_shows_every_error_on_its_field_at_once(client, participant, coordinator):
    client.force_login(coordinator)
    response = client.post(reverse("infusion-record", args=[participant.pk]), bad_form())
    assert response.status_code == 200
    form = response.context["form"]
    errors = {name: [str(m) for m in texts] for name, texts in form.errors.items()}
    assert set(errors) == {"weight_kg", "before_temperature_c", "after_heart_rate", "product_lot",
                           "product_viability_pct"}, errors
    assert errors["weight_kg"] == ["Enter a number."]
    assert errors["before_temperature_c"] == [TEMPERATURE]
    assert errors["after_heart_rate"] == ["Heart rate after the infusion: 400 is outside 20-250 /min."]
    assert errors["product_viability_pct"] == ["The viability (%) 130 is outside 0-100."]
    assert form.non_field_errors() == []  # nothing only at the top of the form
    html = response.content.decode()
    block = re.search(r'<div[^>]*id="div_id_before_temperature_c".*?</div>\s*</div>', html, re.S).group(0)
    assert "is-invalid" in block and TEMPERATURE in block
    assert Infusion.objects.get(participant=participant, number=1).state == "planned"


def test_infusion_dose_and_window_are_checked_beside_the_other_problems(client, participant, coordinator):
    """The dose against the hard limits is checked in the same refusal as a bad vital sign."""
    client.force_login(coordinator)
    response = client.post(reverse("infusion-record", args=[participant.pk]),
                           form_data(0, cells_infused="9e12", before_temperature_c="55"))
    errors = response.context["form"].errors
    assert set(errors) == {"cells_infused", "before_temperature_c"}, errors
    assert "hard limits" in errors["cells_infused"][0] and "CLINICAL_RULES" not in errors["cells_infused"][0]


def test_infusion_api_names_every_field_in_one_refusal(api, participant):
    response = give(api, participant, 1, 0, weight_kg="heavy", ended_at=at(0, 8),
                    vitals={"before": {"temperature_c": 55}, "after": {"heart_rate": 400}},
                    product={**MSC, "lot": "", "viability_pct": 130})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"weight_kg", "ended_at", "vitals.before.temperature_c", "vitals.after.heart_rate",
                           "product.lot", "product.viability_pct"}, errors
    assert errors["vitals.before.temperature_c"] == [TEMPERATURE]
    assert Infusion.objects.get(participant=participant, number=1).state == "planned"


def test_required_fields_of_the_infusion_form_are_marked(client, participant, coordinator):
    client.force_login(coordinator)
    html = client.get(reverse("infusion-record", args=[participant.pk])).content.decode()
    assert 'data-testid="required-legend"' in html
    for name in ("started_at", "weight_kg", "product_lot", "product_viability_pct", "cells_infused"):
        label = re.search(rf'<label[^>]*for="id_{name}"[^>]*>.*?</label>', html, re.S).group(0)
        assert 'class="asteriskField"' in label, name
        widget = re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)
        assert 'aria-required="true"' in widget and " required" in widget, name
    passage = re.search(r'<label[^>]*for="id_product_passage"[^>]*>.*?</label>', html, re.S).group(0)
    assert "asteriskField" not in passage  # optional


def test_a_product_field_required_by_the_service_is_refused_with_its_message(client, participant, coordinator):
    client.force_login(coordinator)
    response = client.post(reverse("infusion-record", args=[participant.pk]), form_data(0, product_lot=""))
    errors = response.context["form"].errors
    assert list(errors) == ["product_lot"] and errors["product_lot"] != ["This field is required."]
