"""A bad screening is refused once, with every problem on its field (page and API)."""
from datetime import timedelta

from enrollment.models import Screening
from enrollment.tests.support import form_data, new_url, p3_facts, today


def bad_facts():
    labs = [{**lab, "value": 5_000_000} if lab["analyte"] == "PLT" else lab for lab in p3_facts()["labs"]]
    return {"birth_date": (today() + timedelta(days=3)).isoformat(), "weight_kg": -70, "labs": labs,
            "initials": "12", "diagnosis_date": (today() + timedelta(days=5)).isoformat()}


def test_page_shows_every_error_at_once(coordinator_client, studies):
    data = form_data(**bad_facts())
    data["height_cm"] = "tall"  # a shape error beside the service's
    response = coordinator_client.post(new_url(), data)
    entry = response.context["entry"]
    print(entry.facts.errors, [l.errors for l in entry.labs if l.errors], entry.non_field_errors)
    assert Screening.objects.count() == 0
