"""The CTCAE v5.0 term list (`followup/ctcae_terms.yaml`): its content, the terms the product itself
writes, the API that serves it, and recording an adverse event under a listed or an "other,
specify" term."""
import importlib
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from rest_framework.test import APIClient

from dosing.services import REACTION_EVENTS, REACTIONS
from dosing.tests.support import day0, give
from followup import grading
from followup.ctcae_terms import DATA_FILE, CtcaeTerm, ctcae_terms, parse
from followup.models import AdverseEvent
from followup.tests.support import assess_labs
from trials.tests.support import setup_update

MEDDRA_SOCS = {
    "Blood and lymphatic system disorders", "Cardiac disorders", "Congenital, familial and genetic disorders",
    "Ear and labyrinth disorders", "Endocrine disorders", "Eye disorders", "Gastrointestinal disorders",
    "General disorders and administration site conditions", "Hepatobiliary disorders", "Immune system disorders",
    "Infections and infestations", "Injury, poisoning and procedural complications", "Investigations",
    "Metabolism and nutrition disorders", "Musculoskeletal and connective tissue disorders",
    "Neoplasms benign, malignant and unspecified (incl cysts and polyps)", "Nervous system disorders",
    "Pregnancy, puerperium and perinatal conditions", "Psychiatric disorders", "Renal and urinary disorders",
    "Reproductive system and breast disorders", "Respiratory, thoracic and mediastinal disorders",
    "Skin and subcutaneous tissue disorders", "Social circumstances", "Surgical and medical procedures",
    "Vascular disorders"}

# The infusion-related, haematological and infectious events of cell therapy the list must offer.
CELL_THERAPY_TERMS = [
    "Fever", "Infusion related reaction", "Allergic reaction", "Anaphylaxis", "Chills", "Hypotension", "Hypertension",
    "Headache", "Nausea", "Vomiting", "Diarrhea", "Rash maculo-papular", "Dyspnea", "Hypoxia", "Sinus tachycardia",
    "Fatigue", "Hemolysis", "Hemoglobinuria", "Lung infection", "Sepsis", "Upper respiratory infection",
    "Thromboembolic event", "Febrile neutropenia", "Cytokine release syndrome", "Urticaria", "Epistaxis",
    "Intracranial hemorrhage"]


# --- the list (pure) ----------------------------------------------------------------------------

def test_the_list_is_ctcae_v5_with_60_to_100_unique_terms_each_in_a_meddra_soc():
    terms = ctcae_terms()
    assert terms.version == "CTCAE v5.0"
    assert 60 <= len(terms.terms) <= 100
    assert len({t.term.casefold() for t in terms.terms}) == len(terms.terms)
    assert {t.soc for t in terms.terms} <= MEDDRA_SOCS


def test_the_list_names_every_term_the_product_grades_or_opens_a_draft_under():
    graded = {rule.term for rule in grading.CTCAE_V5.terms.values()}
    reactions = {term for term, _category in REACTION_EVENTS.values()}
    missing = {term for term in graded | reactions if ctcae_terms().find(term) is None}
    assert missing == set()
    assert all(ctcae_terms().find(term).term == term for term in graded | reactions)  # spelt as listed


@pytest.mark.parametrize("term", CELL_THERAPY_TERMS)
def test_the_list_offers_the_common_cell_therapy_events(term):
    assert ctcae_terms().find(term) == CtcaeTerm(term=term, soc=ctcae_terms().find(term).soc)


@pytest.mark.parametrize("term, soc", [
    ("Infusion related reaction", "Injury, poisoning and procedural complications"),
    ("Allergic reaction", "Immune system disorders"), ("Platelet count decreased", "Investigations"),
    ("Anemia", "Blood and lymphatic system disorders"), ("Lung infection", "Infections and infestations"),
    ("Fever", "General disorders and administration site conditions"),
])
def test_terms_sit_in_their_ctcae_system_organ_class(term, soc):
    assert ctcae_terms().find(term).soc == soc


@pytest.mark.parametrize("typed, found", [("anemia", "Anemia"),
                                          ("  Platelet  count decreased ", "Platelet count decreased"),
                                          ("Anaemia", None), ("Pneumonia", None), ("", None)])
def test_a_term_is_found_whatever_its_case_and_spacing(typed, found):
    listed = ctcae_terms().find(typed)
    assert (listed.term if listed else None) == found


def test_close_spellings_are_offered_as_hints():
    assert ctcae_terms().closest("Anaemia") == ["Anemia"]
    assert ctcae_terms().closest("Diarrhoea") == ["Diarrhea"]
    assert ctcae_terms().closest("Something else entirely") == []


@pytest.mark.parametrize("text, message", [
    ("terms:\n  - {term: Fever, soc: X}\n  - {term: fever, soc: X}\n", "terms.1: 'fever' is listed twice."),
    ("terms:\n  - {term: Fever}\n", "terms.0: give the term and its system organ class (soc)."),
    ("terms:\n  - Fever\n", "terms.0: give the term and its system organ class (soc)."),
])
def test_a_malformed_list_is_refused(text, message):
    with pytest.raises(ValueError) as refused:
        parse(text)
    assert str(refused.value) == message


# --- the API ------------------------------------------------------------------------------------

def test_the_api_serves_the_list_to_any_signed_in_user(db, make_user):
    client = APIClient()
    client.force_authenticate(make_user("monitor"))

    response = client.get("/api/v1/ctcae-terms/")

    assert response.status_code == 200
    body = response.json()
    assert body["version"] == "CTCAE v5.0" and len(body["terms"]) == len(ctcae_terms().terms)
    assert {"term": "Infusion related reaction", "soc": "Injury, poisoning and procedural complications",
            "term_zh": "输液相关反应", "soc_zh": "各类损伤、中毒及操作并发症"} in body["terms"]


def test_the_api_list_needs_a_signed_in_user(db):
    assert APIClient().get("/api/v1/ctcae-terms/").status_code == 401


# --- recording under a listed or an "other, specify" term --------------------------------------


def event_body():
    return {"category": "non_haematological", "onset_date": (day0() + timedelta(days=10)).isoformat(), "grade": 2,
            "serious": False, "relationship": "unlikely"}


def record(api, participant, **body):
    return api.post(f"/api/v1/participants/{participant.pk}/adverse-events/", {**event_body(), **body}, format="json")


def test_an_unlisted_term_is_refused_with_the_way_to_record_it(api, participant):
    response = record(api, participant, term="Pneumonia")

    assert response.status_code == 400
    assert response.json() == {"errors": {"term": [
        "'Pneumonia' is not in this product's CTCAE v5.0 term list (the terms common in these studies). "
        "Choose a listed term or, for an event the list does not name, tick \"Other, specify\". "
        "Closest listed terms: Pneumonitis."]}}
    assert AdverseEvent.objects.count() == 0


def test_an_unlisted_term_is_recorded_as_other_specify(api, participant):
    response = record(api, participant, term="Tumour lysis of the spleen", term_other=True)
    assert response.status_code == 201, response.json()
    assert (response.json()["term"], response.json()["term_other"]) == ("Tumour lysis of the spleen", True)
    assert AdverseEvent.objects.get().term_other is True


def test_a_listed_term_sent_as_other_is_stored_as_the_listed_term(api, participant):
    response = record(api, participant, term="lung infection", term_other=True)
    assert (response.json()["term"], response.json()["term_other"]) == ("Lung infection", False)


def test_a_listed_term_is_stored_in_its_ctcae_spelling(api, participant):
    response = record(api, participant, term=" lung   INFECTION")
    assert response.status_code == 201, response.json()
    assert AdverseEvent.objects.get().term == "Lung infection"


def test_drafts_opened_by_infusion_reactions_use_listed_terms(api, participant):
    response = give(api, participant, 1, 0, reactions=list(REACTIONS))

    assert response.status_code == 201, response.json()
    drafts = list(AdverseEvent.objects.filter(participant=participant).order_by("id"))
    assert len(drafts) == len(REACTIONS)
    assert all(ctcae_terms().find(d.term) is not None and ctcae_terms().find(d.term).term == d.term for d in drafts)
    dmso = drafts[REACTIONS.index("dmso_reaction")]
    assert (dmso.term, dmso.description) == (
        "Infusion related reaction", "Immediate reaction to the cryoprotectant (DMSO) recorded with infusion 1.")


def test_drafts_suggested_from_labs_use_listed_terms(api, participant):

    assess_labs(api, participant, 3, ("ALT", 130, "U/L", 0, 40), ("HGB", 70, "g/L", 120, 160))

    terms = sorted(AdverseEvent.objects.values_list("term", flat=True))
    assert terms == ["Alanine aminotransferase increased", "Anemia"]
    assert all(ctcae_terms().find(term).term == term for term in terms)


def test_the_record_form_offers_the_list_and_the_other_specify_box(client, participant, coordinator):
    client.force_login(coordinator)
    url = reverse("adverse-event-new", args=[participant.pk])

    page = client.get(url).content.decode()
    refused = client.post(url, {**event_body(), "term": "Pneumonia", "serious": "no"})
    accepted = client.post(url, {**event_body(), "term": "Pneumonia", "term_other": "on", "serious": "no"})

    assert ('list="ctcae-terms"' in page
            and '<option value="Lung infection">Infections and infestations</option>' in page)
    assert 'name="term_other"' in page
    assert refused.status_code == 200 and 'tick "Other, specify"' in refused.context["form"].errors["term"][0]
    assert accepted.status_code == 302, accepted.context and accepted.context["form"].errors
    assert AdverseEvent.objects.get().term == "Pneumonia"
    detail = client.get(reverse("adverse-event-detail", args=[AdverseEvent.objects.get().pk])).content.decode()
    assert 'data-testid="term-other">(other, specify: not in the CTCAE v5.0 list)' in detail


# --- corrections against the CTCAE v5.0 list (the file's header) ------------------------------

@pytest.mark.parametrize("term", ["Gum hemorrhage", "Retinal hemorrhage"])
def test_terms_ctcae_v5_does_not_have_are_not_offered(term):
    assert ctcae_terms().find(term) is None


@pytest.mark.parametrize("term, soc", [
    ("Oral hemorrhage", "Gastrointestinal disorders"),  # bleeding from the gums is graded here
    ("Vitreous hemorrhage", "Eye disorders"),
])
def test_the_ctcae_bleeding_terms_that_replace_them_are_offered(term, soc):
    assert ctcae_terms().find(term) == CtcaeTerm(term=term, soc=soc)


def test_the_file_records_its_source_and_how_it_was_checked():
    header = DATA_FILE.read_text(encoding="utf-8").split("version:")[0]
    assert "Version 5.0" in header and "November 27, 2017" in header and "How it was checked" in header


def test_stored_events_under_corrected_terms_are_renamed_or_marked_other_with_history(api, participant):


    migration = importlib.import_module("followup.migrations.0011_ctcae_term_corrections")
    gum, retina, fever = (record(api, participant, term=term).json()["id"]
                          for term in ("Oral hemorrhage", "Vitreous hemorrhage", "Fever"))
    # As recorded before the correction, when both terms were listed.
    setup_update(AdverseEvent.objects.filter(pk=gum), term="Gum hemorrhage")
    setup_update(AdverseEvent.objects.filter(pk=retina), term="Retinal hemorrhage")

    # Run as migrate runs it: with the models as the migrations describe them (Django's plain
    # querysets), which write the history rows themselves.
    migration.correct_terms(MigrationExecutor(connection).loader.project_state().apps, None)

    assert {e.pk: (e.term, e.term_other) for e in AdverseEvent.objects.all()} == {
        gum: ("Oral hemorrhage", False), retina: ("Retinal hemorrhage", True), fever: ("Fever", False)}
    assert AdverseEvent.objects.get(pk=gum).history.latest().history_change_reason == (
        "CTCAE v5.0 term list corrected: Gum hemorrhage is graded as Oral hemorrhage")
    assert AdverseEvent.objects.get(pk=retina).history.latest().history_change_reason == (
        "CTCAE v5.0 term list corrected: Retinal hemorrhage is not a CTCAE term (other, specify)")
    assert AdverseEvent.objects.get(pk=fever).history.count() == 1  # untouched
