"""The follow-up forms refuse once, every problem on its field (the form's own and the service's);
adverse event messages name the choices as the form shows them, never their codes; no page of
data entry shows a developer's file name; required fields are marked."""
import re

import pytest
from django.urls import reverse

from followup.models import AdverseEvent, Assessment
from followup.tests.support import assessment_form_as_posted, days_ago, filled, form_body, form_url

FILE_NAMES = ("CLINICAL_RULES", "PROTOCOLS.md", ".md")


def bad_assessment():
    return filled(**{"date": days_ago(-5), "lab-PLT-value": "5000000000", "lab-HGB-value": "abc",
                     "transfusion-0-kind": "", "steroid_dose_mg_per_day": "20"})


def test_assessment_page_shows_every_error_on_its_field_at_once(client, woman, coordinator):
    client.force_login(coordinator)
    response = client.post(form_url(woman, "W1"), bad_assessment())
    assert response.status_code == 200 and Assessment.objects.count() == 0
    ctx = response.context
    errors = {name: [str(m) for m in texts] for name, texts in ctx["form"].errors.items()}
    assert errors == {"date": ["A date cannot be in the future."],
                      "steroid_drug": [errors["steroid_drug"][0]]}, errors
    assert "prednisone" in errors["steroid_drug"][0]
    labs = {lab.analyte.code: {k: [str(m) for m in v] for k, v in lab.errors.items()} for lab in ctx["labs"]
            if lab.errors}
    assert labs["HGB"] == {"value": ["Enter a number."]}
    assert "outside the physiological range" in labs["PLT"]["value"][0] and set(labs) == {"HGB", "PLT"}
    assert {k: [str(m) for m in v] for k, v in ctx["transfusions"][0].errors.items()} == {
        "kind": ["Choose the transfusion: Red cells, Platelets."]}
    html = response.content.decode()
    for name, text in (("date", "A date cannot be in the future."), ("lab-HGB-value", "Enter a number."),
                       ("transfusion-0-kind", "Choose the transfusion")):
        found = re.search(rf'name="{name}".*?</div>', html, re.S).group(0)
        assert "is-invalid" in found and text in found, name


def test_assessment_api_names_every_field_in_one_refusal(api, woman):
    body = {"date": days_ago(-5), "visit": "W1", "bleeding_grade": 1, "steroid_dose_mg_per_day": 20,
            "labs": [{"analyte": "PLT", "value": 5e6, "unit": "10^9/L"},
                     {"analyte": "HGB", "value": "abc", "unit": "g/L"}],
            "transfusions": [{"kind": "blood", "date": days_ago(2)}]}
    response = api.post(f"/api/v1/participants/{woman.pk}/assessments/", body, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {"date", "steroid_drug", "labs.0.value", "labs.1.value", "transfusions.0.kind"} <= set(errors), errors
    assert errors["transfusions.0.kind"] == ["Choose the transfusion: Red cells, Platelets."]
    assert Assessment.objects.count() == 0


def test_adverse_event_messages_name_the_choices_not_their_codes(client, participant, coordinator):
    client.force_login(coordinator)
    response = client.post(reverse("adverse-event-new", args=[participant.pk]), {
        **form_body(), "term": "Liver damage", "category": "", "relationship": "", "serious": "yes",
        "seriousness": [], "grade": ""})
    assert response.status_code == 200 and AdverseEvent.objects.count() == 0
    errors = {name: " ".join(str(m) for m in texts) for name, texts in response.context["form"].errors.items()}
    assert set(errors) == {"term", "category", "relationship", "seriousness", "grade"}, errors
    assert errors["category"] == ("Choose the category: Haematological, Non-haematological, Infusion-related "
                                  "reaction, Allergic reaction, Fever.")
    assert errors["relationship"] == "Give the relationship to treatment: Unrelated, Unlikely, Possible, Probable, " \
                                     "Definite."
    assert "Results in death" in errors["seriousness"]
    for message in errors.values():
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", message), message  # no code such as non_haematological
        assert "API" not in message and "term_other" not in message


def test_adverse_event_api_refusal_speaks_plainly_too(api, participant):
    response = api.post(f"/api/v1/participants/{participant.pk}/adverse-events/", {
        "term": "Liver damage", "category": "cardiac", "onset_date": days_ago(3), "grade": 2, "serious": False,
        "relationship": "maybe"}, format="json")
    errors = response.json()["errors"]
    assert "term_other" not in errors["term"][0] and "Non-haematological" in errors["category"][0]
    assert errors["relationship"] == ["Give the relationship to treatment: Unrelated, Unlikely, Possible, Probable, "
                                      "Definite."]


def test_required_fields_are_marked_on_the_adverse_event_and_assessment_forms(client, participant, coordinator):
    client.force_login(coordinator)
    html = client.get(reverse("adverse-event-new", args=[participant.pk])).content.decode()
    assert 'data-testid="required-legend"' in html
    for name in ("term", "category", "onset_date", "grade", "serious", "relationship"):
        label = re.search(rf'<label[^>]*for="id_{name}"[^>]*>.*?</label>', html, re.S).group(0)
        assert 'class="asteriskField"' in label, name
        widget = re.search(rf'<(?:input|select)[^>]*name="{name}"[^>]*>', html).group(0)
        assert 'aria-required="true"' in widget and " required" in widget, name
    description = re.search(r'<label[^>]*for="id_description"[^>]*>.*?</label>', html, re.S).group(0)
    assert "asteriskField" not in description
    html = client.get(form_url(participant)).content.decode()
    assert 'data-testid="required-legend"' in html
    assert 'aria-required="true"' in re.search(r'<input[^>]*name="date"[^>]*>', html).group(0)


@pytest.mark.parametrize("page", ["screening", "infusion", "assessment", "visit", "adverse_event", "escalation",
                                  "study"])
def test_no_page_of_data_entry_names_a_developer_file(client, participant, woman, coordinator, investigator,
                                                      page):
    client.force_login(investigator if page == "escalation" else coordinator)
    url = {
        "screening": reverse("screening-new", args=["MSC-ITP-5"]),
        "infusion": reverse("infusion-record", args=[participant.pk]),
        "assessment": form_url(woman, "W1"),
        "visit": reverse("visit-record", args=[woman.pk, "PK30M"]),
        "adverse_event": reverse("adverse-event-new", args=[participant.pk]),
        "escalation": reverse("study-escalation", args=["HUCMSC-ITP-ESC"]),
        "study": reverse("study-detail", args=["MSC-ITP-5"]),
    }[page]
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    for name in FILE_NAMES:
        assert name not in html, (page, name, html[max(0, html.find(name) - 200):html.find(name) + 50])


def test_adverse_event_page_shows_a_bad_date_beside_the_services_problems(client, participant, coordinator):
    client.force_login(coordinator)
    response = client.post(reverse("adverse-event-new", args=[participant.pk]), {
        **form_body(), "onset_date": "next tuesday", "category": "", "relationship": ""})
    errors = {name: [str(m) for m in texts] for name, texts in response.context["form"].errors.items()}
    assert set(errors) == {"onset_date", "category", "relationship"}, errors
    assert errors["onset_date"] == ["Enter a valid date."]
    assert AdverseEvent.objects.count() == 0


def test_correction_page_shows_the_forms_and_the_services_errors_at_once(client, assessment, coordinator):
    """A correction the form refuses (a value that is not a number) is checked by the service too:
    the future date and the missing reason show in the same response, each on its field."""
    client.force_login(coordinator)
    url = reverse("assessment-edit", args=[assessment.pk])
    body = {**assessment_form_as_posted(client.get(url)), "date": days_ago(-5), "lab-HGB-value": "abc", "reason": ""}
    response = client.post(url, body)
    assert response.status_code == 200
    errors = {name: [str(m) for m in texts] for name, texts in response.context["form"].errors.items()}
    assert errors["date"] == ["A date cannot be in the future."]
    assert errors["reason"]
    labs = {lab.analyte.code: [str(m) for m in lab.errors.get("value", [])] for lab in response.context["labs"]
            if lab.errors}
    assert labs == {"HGB": ["Enter a number."]}
    stored = Assessment.objects.get(pk=assessment.pk)
    assert (stored.date, stored.row_version) == (assessment.date, assessment.row_version)
