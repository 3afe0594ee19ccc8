"""The CTCAE terms in Chinese (`followup/ctcae_terms.yaml`, `term_zh` and `soc_zh`): a Chinese
reader sees each term's Chinese name on the adverse event pages, the pick list, the participant
page, the dashboard's safety table and the casebook, while the term stored and exchanged stays the
English CTCAE term."""
from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from dosing.tests.support import day0
from followup import dashboard_tables
from followup.casebook import _signatures
from followup.ctcae_terms import ctcae_terms, parse, shown_term
from followup.models import AdverseEvent


@pytest.fixture(autouse=True)
def english_after_each_test():
    yield
    translation.deactivate()


def form_body(term="Lung infection"):
    return {"term": term, "category": "non_haematological",
            "onset_date": (day0() + timedelta(days=5)).isoformat(), "grade": "2", "serious": "no",
            "relationship": "unlikely", "action_taken": "none", "outcome": "recovering", "description": ""}


def test_every_shipped_term_and_organ_class_has_a_chinese_name_of_its_own():
    terms = ctcae_terms().terms
    assert all(t.term_zh and t.soc_zh for t in terms)
    assert len({t.term_zh for t in terms}) == len(terms)
    assert ctcae_terms().find("Anemia").term_zh == "贫血"
    assert ctcae_terms().find("Neutrophil count decreased").term_zh == "中性粒细胞计数降低"
    assert ctcae_terms().find("Platelet count decreased").term_zh == "血小板计数降低"
    assert ctcae_terms().find("Fever").term_zh == "发热"
    assert ctcae_terms().find("Infusion related reaction").term_zh == "输液相关反应"


def test_a_chinese_name_is_found_as_its_english_term():
    assert ctcae_terms().find(" 贫血 ").term == "Anemia"
    assert ctcae_terms().find("输液相关反应").term == "Infusion related reaction"


def test_a_chinese_name_given_twice_is_refused():
    text = ("version: v\nterms:\n  - {term: Fever, term_zh: 发热, soc: S}\n"
            "  - {term: Chills, term_zh: 发热, soc: S}\n")
    with pytest.raises(ValueError, match="given twice"):
        parse(text)


def test_a_term_reads_in_the_readers_language_and_an_unlisted_one_as_recorded():
    with translation.override("zh-hans"):
        assert (shown_term("Anemia"), shown_term("Retinal haemorrhage")) == ("贫血", "Retinal haemorrhage")
        assert shown_term("Anemia").lang == "zh-Hans"
    with translation.override("en"):
        assert shown_term("Anemia") == "Anemia"


def test_the_adverse_event_pages_show_the_chinese_name_and_store_the_english_term(client, participant,
                                                                                   coordinator):
    client.force_login(coordinator)
    # The Chinese name typed on the form is stored as its CTCAE term.
    response = client.post(reverse("adverse-event-new", args=[participant.pk]), form_body("肺部感染"),
                           HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 302, response.context["form"].errors
    event = AdverseEvent.objects.get()
    assert (event.term, event.term_other) == ("Lung infection", False)

    detail = client.get(reverse("adverse-event-detail", args=[event.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    participant_page = client.get(reverse("participant-detail", args=[participant.pk]),
                                  HTTP_ACCEPT_LANGUAGE="zh-hans")
    english = client.get(reverse("adverse-event-detail", args=[event.pk]), HTTP_ACCEPT_LANGUAGE="en")

    page = detail.content.decode()
    assert ('<h1 class="h3">肺部感染 <small class="text-muted fs-6" lang="en" data-testid="ctcae-term">'
            'Lung infection') in page
    assert f'{event.pk}/">肺部感染</a>' in participant_page.content.decode()
    assert '<h1 class="h3">Lung infection' in english.content.decode() and "肺部感染" not in english.content.decode()


def test_the_pick_list_labels_each_term_in_chinese_keeping_the_english_value(client, participant, coordinator):
    client.force_login(coordinator)

    chinese = client.get(reverse("adverse-event-new", args=[participant.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    english = client.get(reverse("adverse-event-new", args=[participant.pk]), HTTP_ACCEPT_LANGUAGE="en")

    assert '<option value="Anemia">贫血 · 血液及淋巴系统疾病</option>' in chinese.content.decode()
    assert '<option value="Anemia">Blood and lymphatic system disorders</option>' in english.content.decode()


def test_the_dashboard_safety_table_names_terms_in_chinese():
    events = [dashboard_tables.EventRow(1, "Anemia", 3, True), dashboard_tables.EventRow(2, "Retinal haemorrhage", 1,
                                                                                         False)]
    rows, overall = dashboard_tables.adverse_events_by_term(events)
    data = {"adverse_events": rows, "any_adverse_event": overall, "serious": dashboard_tables.serious_events(events),
            "dlts": []}
    with translation.override("zh-hans"):
        html = render_to_string("followup/_dashboard_safety.html", {"data": data})

    assert '<tr data-term="Anemia"><td>贫血</td>' in html
    assert '<td>Retinal haemorrhage</td>' in html
    assert '<span class="badge text-bg-light">贫血: 1</span>' in html


def test_the_casebook_names_a_signed_event_by_its_chinese_term():
    class Event:
        onset_date = day0()
        pk = 1
        shown_term = property(lambda self: shown_term("Fever"))
        confirmation_signature = "signed"

    class Participant:
        class screening:
            eligibility_signature = None

        class adverse_events:
            @staticmethod
            def all():
                return [Event()]

    with translation.override("zh-hans"):
        (label, _signature), = _signatures(Participant())
    assert "发热" in label and "Fever" not in label
