"""An infusion given at a dose level with a dose must say how many cells were infused: without the
number the dose cannot be checked against the hard limits (CLINICAL_RULES.md section 4)."""
from types import SimpleNamespace

import pytest
from django.urls import reverse

from dosing.models import Infusion
from dosing.services import cells_required
from dosing.tests.support import MSC, at, form_data, give

MESSAGE = ("The number of cells infused is required to check the dose against the computed dose of level STD "
           "(1 x10^8 cells/kg x the weight on the day; the study's hard dose limits): give it.")


def history_count(participant):
    return Infusion.history.filter(participant_id=participant.pk).count()


@pytest.mark.parametrize("cells", [None, "omitted"])
def test_infusion_api_without_cells_at_a_level_with_a_dose_is_400_and_writes_nothing(api, participant, cells):
    body = {"number": 1, "started_at": at(0), "ended_at": at(0, 10, 5), "weight_kg": 60.0, "product": MSC}
    if cells is None:
        body["cells_infused"] = None
    before = history_count(participant)

    response = api.post(f"/api/v1/participants/{participant.pk}/infusions/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"errors": {"cells_infused": [MESSAGE]}}
    row = Infusion.objects.get(participant=participant, number=1)
    assert (row.state, row.cells_infused, row.computed_dose) == ("planned", None, None)
    assert history_count(participant) == before


def test_infusion_api_with_cells_at_a_level_with_a_dose_is_recorded(api, participant):
    response = give(api, participant, 1, 0)

    assert response.status_code == 201, response.json()
    assert (response.json()["cells_infused"], response.json()["computed_dose"]) == (6e9, 6e9)


@pytest.mark.parametrize(("dose_per_kg", "flat_dose", "kind", "required"), [
    (1e8, None, "msc", True),  # P3: 1 x10^8 cells/kg
    (None, 1e9, "msc", True),  # a flat dose is checked too
    (1e8, None, "cord_blood", False),  # the unit's TNC gives the number of cells (a required product field)
    (None, None, "msc", False),  # no dose to check against
])
def test_cells_required_when_the_level_has_a_dose_and_the_product_gives_no_count(dose_per_kg, flat_dose, kind,
                                                                                 required):
    level = SimpleNamespace(dose_per_kg=dose_per_kg, flat_dose=flat_dose)
    assert cells_required(level, kind) is required


def test_cells_required_without_a_dose_level_is_false():
    assert cells_required(None, "msc") is False


def test_infusion_page_marks_cells_required_and_refuses_the_form_without_them(client, participant, coordinator):
    client.force_login(coordinator)
    url = reverse("infusion-record", args=[participant.pk])

    page = client.get(url)
    assert page.context["form"].fields["cells_infused"].required is True
    assert 'name="cells_infused"' in page.content.decode()
    field_html = page.content.decode().split('name="cells_infused"', 1)[1].split(">", 1)[0]
    assert "required" in field_html

    response = client.post(url, form_data(0, cells_infused=""))

    assert response.status_code == 200
    assert response.context["form"].errors["cells_infused"] == [
        "The number of cells infused is required to check the dose against the level's computed dose."]
    assert Infusion.objects.get(participant=participant, number=1).state == "planned"
