"""A bad screening is refused once, with every problem on its field: the form's own (a number that
is not a number) and the rules' (a birth date in the future, an implausible lab value) together,
on the page and in the API."""
import re
from datetime import timedelta

from django.urls import reverse

from enrollment.models import Screening
from enrollment.tests.support import create_screening, form_data, new_url, p3_facts, post_screening, today

FIVE_FIELDS = {"birth_date", "weight_kg", "initials", "height_cm", "labs.0.value"}


def bad_facts() -> dict:
    labs = [{**lab, "value": 5_000_000} if lab["analyte"] == "PLT" else lab for lab in p3_facts()["labs"]]
    return {"birth_date": (today() + timedelta(days=3)).isoformat(), "weight_kg": -70, "labs": labs,
            "initials": "12", "diagnosis_date": None}


def field_block(html: str, name: str) -> str:
    """The input of field `name` and the message under it (crispy-free markup of the screening form)."""
    found = re.search(rf'<(?:input|select|textarea)[^>]*name="{name}"[^>]*>.*?</div>', html, re.S)
    assert found, name
    return found.group(0)


def test_page_shows_the_forms_and_the_rules_errors_in_one_response(coordinator_client, studies):
    data = form_data(**bad_facts())
    data["height_cm"] = "tall"  # refused by the form itself, beside the four the rules refuse
    response = coordinator_client.post(new_url(), data)
    assert response.status_code == 200 and Screening.objects.count() == 0
    entry = response.context["entry"]
    assert {name: [str(m) for m in texts] for name, texts in entry.facts.errors.items()} == {
        "birth_date": ["The date of birth cannot be in the future."],
        "weight_kg": ["A weight of -70.0 kg is not plausible (0.5-350 kg)."],
        "initials": ["Initials are up to 10 letters."],
        "height_cm": ["Enter a number."],
    }
    assert {lab.analyte.code: list(lab.errors) for lab in entry.labs if lab.errors} == {"PLT": ["value"]}
    assert entry.error_count == 5 and entry.non_field_errors == []
    html = response.content.decode()
    assert "5 problems" in html
    for name, text in (("birth_date", "The date of birth cannot be in the future."),
                       ("weight_kg", "A weight of -70.0 kg is not plausible"), ("height_cm", "Enter a number."),
                       ("initials", "Initials are up to 10 letters."), ("lab-PLT-value", "Platelets 5000000")):
        block = field_block(html, name)
        assert "is-invalid" in block and text in block, (name, block)


def test_edit_page_shows_every_error_at_once(coordinator_client, studies, coordinator):
    screening = create_screening(coordinator)
    data = {**form_data(**bad_facts()), "height_cm": "tall", "reason": "", "version": screening.row_version}
    response = coordinator_client.post(reverse("screening-edit", args=[screening.pk]), data)
    facts = response.context["entry"].facts.errors
    assert set(facts) == {"birth_date", "weight_kg", "initials", "height_cm", "reason"}
    assert facts["reason"] == ["Say why the screening facts change (kept in the audit trail)."]


def test_api_names_every_field_in_one_refusal(api, studies):
    response = post_screening(api, **bad_facts(), height_cm="tall")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == FIVE_FIELDS, errors
    assert errors["height_cm"] == ["A valid number is required."]
    assert errors["birth_date"] == ["The date of birth cannot be in the future."]
    assert "outside the physiological range" in errors["labs.0.value"][0]
    assert Screening.objects.count() == 0


def test_api_row_refused_by_shape_keeps_the_other_rows_places(api, studies):
    labs = p3_facts()["labs"]
    labs[1] = {**labs[1], "value": "high"}  # ALT: not a number
    labs[2] = {**labs[2], "value": 9_000_000}  # AST: implausible
    response = post_screening(api, labs=labs, weight_kg=-70)
    errors = response.json()["errors"]
    assert set(errors) == {"labs.1.value", "labs.2.value", "weight_kg"}, errors
    assert "outside the physiological range" in errors["labs.2.value"][0]


def test_api_change_names_every_field_in_one_refusal(api, studies, coordinator):
    screening = create_screening(coordinator)
    response = api.patch(f"/api/v1/screenings/{screening.pk}/", {
        "weight_kg": "heavy", "birth_date": (today() + timedelta(days=1)).isoformat(), "initials": "12",
        "diagnosis_date": None,
        "version": screening.row_version}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"weight_kg", "birth_date", "initials", "reason"}
