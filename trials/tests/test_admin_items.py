"""The data dictionary in the admin (trials/admin_items.py): an administrator adds an item (choices
typed "code = label"), places it on the screening form or a visit's form, and criteria can read it;
a criterion naming an item the study lacks, or of the wrong type, is refused with its path, in the
admin and in a study definition alike."""
import pytest
from django.urls import reverse

from enrollment.tests.support import create_screening
from trials.models import EligibilityCriterion, Item, ItemPlacement, Study
from trials.selectors import form_items
from trials.services import LoadReport, StudyDefinitionError, study_load
from trials.tests.admin_forms import activate_amendment, form_errors, inline_add, inline_errors, page_data
from trials.tests.test_admin import post_study_with

MARROW = {"code": "marrow_finding", "label": "Bone marrow finding", "type": "choice", "section": "Marrow",
          "order": "99", "choices": "normal = Normal\nhypo = Hypocellular\n\nfibrosis = Fibrosis"}


def add_item(client, study, **values):
    url = reverse("admin:trials_item_add") + f"?study__code={study.code}"
    page = client.get(url)
    return page, client.post(url, page_data(page) | values)


def test_an_administrator_adds_a_choice_item_to_the_screening_form(admin_client, admin_user, studies):
    study = studies["MSC-ITP-5"]

    page, response = add_item(admin_client, study, on_screening_form="on", **MARROW)

    assert page.context["adminform"].form.initial["study"] == study.pk  # from the study page's link
    assert response.status_code == 302, form_errors(response)
    item = Item.objects.get(study=study, code="marrow_finding")
    assert item.choices == [{"code": "normal", "label": "Normal"}, {"code": "hypo", "label": "Hypocellular"},
                            {"code": "fibrosis", "label": "Fibrosis"}]
    assert "marrow_finding" not in [spec.code for _section, spec in form_items(study)]  # not in force yet
    activate_amendment(admin_client, study)
    assert form_items(study)[-1] == ("Marrow", item.spec)
    created = item.history.get()
    assert (created.history_user, created.history_change_reason) == (admin_user, "Created in administration")
    screening_page = admin_client.get(reverse("admin:trials_item_change", args=[item.pk]))
    assert "normal = Normal\nhypo = Hypocellular\nfibrosis = Fibrosis" in screening_page.content.decode()


@pytest.mark.parametrize(("values", "errors"), [
    ({"choices": "normal Normal"}, {"choices": ['Line 1: write each choice as "code = label".']}),
    ({"choices": ""}, {"choices": ["List the choices (a code and a label each)."]}),
    ({"code": "sex"}, {"code": ["'sex' is a fact of the screening itself; give the item another code."]}),
    ({"code": "Marrow"}, {"code": ["Use lower-case letters, digits and underscores, starting with a letter."]}),
    ({"type": "number", "min_value": "5", "max_value": "1", "choices": ""},
     {"min_value": ["The lowest plausible value is above the highest."]}),
])
def test_a_bad_item_is_refused_on_its_field(admin_client, studies, values, errors):
    _page, response = add_item(admin_client, studies["MSC-ITP-5"], **(MARROW | values))

    assert response.status_code == 200
    assert form_errors(response) == errors
    assert not Item.objects.filter(code__in=["marrow_finding", "sex", "Marrow"]).exists()


def test_an_item_is_placed_on_a_visit_of_its_own_study_only(admin_client, studies):
    study, other = studies["MSC-ITP-5"], studies["UCB-IRIC"]
    m1 = study.visit_definitions.get(code="M1")
    _page, response = add_item(admin_client, study, **MARROW)
    item = Item.objects.get(study=study, code="marrow_finding")
    url = reverse("admin:trials_item_change", args=[item.pk])
    page = admin_client.get(url)
    offered = list(page.context["inline_admin_formsets"][0].formset.empty_form.fields["visit_definition"].queryset)
    assert offered and {visit.study_id for visit in offered} == {study.pk}

    data = page_data(page) | {"change_reason": "Asked at month 1"}
    inline_add(data, page, ItemPlacement, visit_definition=other.visit_definitions.first().pk)
    assert admin_client.post(url, data).status_code == 200  # another study's visit is not offered

    data = page_data(page) | {"change_reason": "Asked at month 1", "on_screening_form": "on"}
    inline_add(data, page, ItemPlacement, visit_definition=m1.pk)
    assert admin_client.post(url, data).status_code == 302
    activate_amendment(admin_client, study)
    assert form_items(study, m1) == [("Marrow", item.spec)]
    assert form_items(study)[-1] == ("Marrow", item.spec)
    assert {row.history_change_reason for row in ItemPlacement.history.filter(item_id=item.pk)} == {
        "Asked at month 1"}

    data = page_data(admin_client.get(url)) | {"change_reason": "Not asked at screening"}
    data.pop("on_screening_form")
    assert admin_client.post(url, data).status_code == 302
    assert item.placements.filter(visit_definition__isnull=True).exists() is False
    assert ItemPlacement.history.filter(item_id=item.pk, history_type="-").get().history_change_reason == (
        "Not asked at screening")


def test_a_criterion_on_an_item_the_study_lacks_is_refused_with_its_path(admin_client, studies):
    criterion = {"code": "marrow", "kind": "inclusion", "order": 30, "text": "Hypocellular marrow.",
                 "rule_type": "answer_in", "params": {"field": "marrow_finding", "values": ["hypo"]}}

    refused = post_study_with(admin_client, studies["MSC-ITP-5"], EligibilityCriterion, **criterion)

    assert refused.status_code == 200
    [errors] = inline_errors(refused, EligibilityCriterion)
    assert errors["params"][0].startswith("field: The study has no item 'marrow_finding'; add it to the data "
                                          "dictionary first")

    add_item(admin_client, studies["MSC-ITP-5"], **MARROW)
    accepted = post_study_with(admin_client, studies["MSC-ITP-5"], EligibilityCriterion, **criterion)
    assert accepted.status_code == 302
    assert EligibilityCriterion.objects.get(code="marrow").params == {"field": "marrow_finding", "values": ["hypo"]}


def test_a_criterion_on_an_item_of_the_wrong_type_or_code_is_refused(admin_client, studies):
    add_item(admin_client, studies["MSC-ITP-5"], **MARROW)
    wrong_type = {"code": "marrow", "kind": "inclusion", "order": 30, "text": "x", "rule_type": "condition",
                  "params": {"name": "marrow_finding", "value": True}}
    wrong_code = wrong_type | {"rule_type": "answer_in", "params": {"field": "marrow_finding", "values": ["low"]}}

    assert inline_errors(post_study_with(admin_client, studies["MSC-ITP-5"], EligibilityCriterion, **wrong_type),
                         EligibilityCriterion) == [
        {"params": ["name: 'marrow_finding' is a single choice item; this rule reads a yes/no item."]}]
    assert inline_errors(post_study_with(admin_client, studies["MSC-ITP-5"], EligibilityCriterion, **wrong_code),
                         EligibilityCriterion) == [
        {"params": ["values: low: not among the codes of 'marrow_finding' (normal, hypo, fibrosis)."]}]


def test_a_definition_whose_rule_reads_an_unknown_item_loads_nothing(studies):
    definition = {"code": "NEW-1", "title": "New", "version": "1", "effective_date": "2026-01-01",
                  "enrolment_target": 5, "sites": [{"code": "PUMCH", "name": "Peking Union Medical College Hospital, "
                                                                             "Beijing"}],
                  "items": [{"code": "splenectomy_date", "label": "Date of splenectomy", "type": "date"}],
                  "criteria": [{"code": "spleen", "kind": "inclusion", "text": "Splenectomy over 6 months ago.",
                                "rule_type": "days_since",
                                "params": {"field": "splenectomy", "unit": "months", "op": ">=", "value": 6}}]}

    with pytest.raises(StudyDefinitionError) as refused:
        study_load(definition, by=None, reason="test", report=LoadReport())

    assert "NEW-1 criterion spleen: params: field: The study has no item 'splenectomy'" in str(refused.value)


def test_a_definition_placing_an_item_on_a_visit_it_does_not_have_is_refused(studies):
    definition = {"code": "NEW-2", "title": "New", "version": "1", "effective_date": "2026-01-01",
                  "enrolment_target": 5, "items": [{"code": "qol", "label": "QoL", "type": "number",
                                                    "forms": ["screening", "M7"]}]}

    with pytest.raises(StudyDefinitionError) as refused:
        study_load(definition, by=None, reason="test", report=LoadReport())

    assert str(refused.value) == "NEW-2 item qol: no visit M7 (forms are screening or the study's visit codes)."


def test_the_study_page_links_to_its_data_dictionary(admin_client, studies):
    study = studies["MSC-ITP-5"]
    page = admin_client.get(reverse("admin:trials_study_change", args=[study.pk])).content.decode()
    assert f'{reverse("admin:trials_item_changelist")}?study__code=MSC-ITP-5' in page
    listed = admin_client.get(reverse("admin:trials_item_changelist") + "?study__code=MSC-ITP-5")
    assert {item.study.code for item in listed.context["cl"].result_list} == {"MSC-ITP-5"}
    assert len(listed.context["cl"].result_list) == study.items.count() == 18


def test_only_administrators_of_the_studys_sites_see_its_items(client, studies, make_user):
    item = Item.objects.get(study__code="MSC-ITP-5", code="lactating")
    client.force_login(make_user("coordinator"))
    assert client.get(reverse("admin:trials_item_changelist")).status_code in (302, 403)
    client.force_login(make_user("admin", site="PUMCH"))
    assert client.get(reverse("admin:trials_item_change", args=[item.pk])).status_code == 200
    other_site = Study.objects.exclude(sites__code="PUMCH").first()
    if other_site is not None:
        foreign = other_site.items.first()
        assert client.get(reverse("admin:trials_item_change", args=[foreign.pk])).status_code == 302


def test_an_item_answered_or_read_by_a_criterion_keeps_its_code_and_type_and_is_not_deleted(admin_client, studies,
                                                                                           coordinator):
    create_screening(coordinator)  # answers lactating (and a criterion of MSC-ITP-5 reads it)
    item = Item.objects.get(study__code="MSC-ITP-5", code="lactating")

    page = admin_client.get(reverse("admin:trials_item_change", args=[item.pk]))
    assert {"code", "type"} <= set(page.context["adminform"].readonly_fields)
    refused = admin_client.post(reverse("admin:trials_item_delete", args=[item.pk]),
                                {"post": "yes", "change_reason": "Not asked"})
    assert refused.status_code == 200 and Item.objects.filter(pk=item.pk).exists()
    protected = " ".join(str(row) for row in refused.context["protected"])
    assert "lactating: 1 record holds an answer to it" in protected
    assert "lactating: criteria women_childbearing read it" in protected


def test_an_unused_item_is_deleted_with_a_reason(admin_client, studies):
    add_item(admin_client, studies["MSC-ITP-5"], **MARROW)
    item = Item.objects.get(code="marrow_finding")
    assert "code" not in admin_client.get(reverse("admin:trials_item_change", args=[item.pk])).context[
        "adminform"].readonly_fields

    response = admin_client.post(reverse("admin:trials_item_delete", args=[item.pk]),
                                 {"post": "yes", "change_reason": "Not in the protocol"})

    assert response.status_code == 302 and not Item.objects.filter(pk=item.pk).exists()
    assert Item.history.filter(id=item.pk, history_type="-").get().history_change_reason == "Not in the protocol"
