"""The catalogues as data: diseases, prior therapies and lab analytes loaded from
trials/studies/catalogues.yaml, edited by administrators in the admin, and used at once by the
screening API, the rules and the unit conversion; the snapshot every process reads them from."""
import pytest
import yaml
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse

from enrollment.models import Screening
from enrollment.tests.support import p3_facts
from trials import catalogues
from trials.accounts import administrators_group
from trials.audit import audited_save, change_context
from trials.catalogue import shipped_catalogue
from trials.models import (
    Analyte,
    AnalyteReferenceRange,
    AnalyteUnit,
    Disease,
    EligibilityCriterion,
    ResponseCriteriaSet,
    StudyDisease,
    Therapy,
)
from trials.rule_params import RuleParamsError, validate_params
from trials.services import STUDIES_DIR, LoadReport, StudyDefinitionError, catalogues_load, studies_load, study_load
from trials.tests.admin_forms import form_errors, inline_add, page_data


def post_screening(api, study, facts):
    return api.post(f"/api/v1/studies/{study}/screenings/", facts, format="json")


@pytest.fixture
def rare_disease(admin_client, studies):
    """AAA (aplastic anaemia), added in the admin, and admitted by MSC-ITP-5."""
    add = reverse("admin:trials_disease_add")
    data = page_data(admin_client.get(add))
    data.update({"code": "AAA", "name": "Acquired aplastic anaemia", "lineages": ["platelets", "red_cells"],
                 "response_criteria": str(ResponseCriteriaSet.objects.get(code="MULTILINEAGE").pk), "order": "6"})
    response = admin_client.post(add, data)
    assert response.status_code == 302, form_errors(response)
    return Disease.objects.get(code="AAA")


# --------------------------------------------------------------------------------------------
# Loaded from the file
# --------------------------------------------------------------------------------------------


def test_catalogues_are_loaded_from_the_file_with_the_former_codes(studies):
    assert (Disease.objects.count(), Therapy.objects.count(), Analyte.objects.count()) == (5, 10, 13)
    assert list(Disease.objects.values_list("code", flat=True)) == ["ITP", "AIHA", "PRCA", "EVANS",
                                                                     "SECONDARY_CYTOPENIA"]
    itp = Disease.objects.get(code="ITP")
    assert (itp.name, itp.lineages, itp.response_criteria.code) == ("Immune thrombocytopenia", ["platelets"],
                                                                    "IWG2009-ITP")
    assert Therapy.objects.get(code="tpo_agent").name == "Thrombopoietic agent (TPO-RA, rhTPO)"
    assert Therapy.objects.get(code="rituximab").therapy_class == "anti-CD20 antibody"
    tbil = Analyte.objects.get(code="TBIL")
    assert (tbil.si_unit, tbil.plausible_low, tbil.plausible_high) == ("umol/L", 0.0, 1000.0)
    assert list(tbil.units.values_list("unit", "factor")) == [("mg/dL", 17.1)]
    assert AnalyteUnit.objects.count() == 13


def test_the_snapshot_equals_the_shipped_file(studies):
    assert catalogues.current() == shipped_catalogue()


def test_loading_twice_changes_nothing_and_an_administrators_change_is_kept_and_reported(studies, admin_user):
    itp = Disease.objects.get(code="ITP")
    itp.name = "Primary immune thrombocytopenia"
    audited_save(itp, by=admin_user, reason="Name of the 2019 consensus")

    report = studies_load()

    assert not report.changed
    assert "disease ITP: name" in report.differs
    assert Disease.objects.get(code="ITP").name == "Primary immune thrombocytopenia"


def test_a_catalogue_row_missing_from_the_file_is_reported_not_deleted(studies, admin_user):
    audited_save(Therapy(code="eltrombopag", name="Eltrombopag", therapy_class="TPO-RA"), by=admin_user)

    report = studies_load()

    assert "therapy eltrombopag" in report.not_in_file
    assert Therapy.objects.filter(code="eltrombopag").exists()


# --------------------------------------------------------------------------------------------
# Added in the admin, usable at once
# --------------------------------------------------------------------------------------------


def test_a_disease_added_in_the_admin_is_accepted_by_the_screening_api_of_a_study_admitting_it(
        rare_disease, api, studies, admin_user):
    audited_save(StudyDisease(study=studies["MSC-ITP-5"], disease="AAA",
                              response_criteria=rare_disease.response_criteria), by=admin_user)

    response = post_screening(api, "MSC-ITP-5", {**p3_facts(), "disease": "AAA"})

    assert response.status_code == 201, response.json()
    assert Screening.objects.get(pk=response.json()["id"]).disease == "AAA"
    assert rare_disease.history.get().history_change_reason == "Created in administration"


def test_a_rule_naming_a_disease_added_in_the_admin_validates(rare_disease, studies):
    criterion = EligibilityCriterion(study=studies["MSC-ITP-5"], code="aaa", kind="inclusion", order=99,
                                     text="Aplastic anaemia", rule_type="disease_in", params={"diseases": ["aaa"]})

    criterion.full_clean()

    assert criterion.params == {"diseases": ["AAA"]}


def test_a_therapy_added_in_the_admin_is_accepted_as_a_prior_therapy(admin_client, api, studies):
    add = reverse("admin:trials_therapy_add")
    data = page_data(admin_client.get(add))
    data.update({"code": "eltrombopag", "name": "Eltrombopag", "therapy_class": "TPO-RA", "order": "11"})
    assert admin_client.post(add, data).status_code == 302
    facts = p3_facts()
    facts["prior_therapies"].append({"therapy": "eltrombopag", "outcome": "none"})

    response = post_screening(api, "MSC-ITP-5", facts)

    assert response.status_code == 201, response.json()
    assert "eltrombopag" in [t["therapy"] for t in response.json()["prior_therapies"]]
    assert validate_params("prior_therapy_failure", {"therapies": ["eltrombopag"]},
                           catalogue=catalogues.current())["therapies"] == ["eltrombopag"]


def test_an_analyte_added_in_the_admin_converts_with_its_unit_factor(admin_client, api, studies):
    add = reverse("admin:trials_analyte_add")
    page = admin_client.get(add)
    data = page_data(page)
    data.update({"code": "FERR", "name": "Ferritin", "si_unit": "ug/L", "plausible_low": "0",
                 "plausible_high": "100000", "order": "14"})
    inline_add(data, page, AnalyteUnit, unit="ng/mL", factor="1")
    inline_add(data, page, AnalyteUnit, unit="mg/L", factor="1000")
    response = admin_client.post(add, data)
    assert response.status_code == 302, form_errors(response)
    facts = p3_facts()
    facts["labs"].append({"analyte": "FERR", "value": 0.35, "unit": "mg/L"})

    response = post_screening(api, "MSC-ITP-5", facts)

    assert response.status_code == 201, response.json()
    ferritin = next(lab for lab in response.json()["labs"] if lab["analyte"] == "FERR")
    assert (ferritin["value"], ferritin["unit"], ferritin["entered_unit"]) == (350.0, "ug/L", "mg/L")


def test_a_default_range_of_the_catalogue_serves_a_site_without_one(studies, api, admin_user):
    ferritin = Analyte(code="FERR", name="Ferritin", si_unit="ug/L", plausible_low=0, plausible_high=100000, order=14)
    audited_save(ferritin, by=admin_user)
    audited_save(AnalyteReferenceRange(analyte=ferritin, sex="female", lln=13, uln=150), by=admin_user)
    facts = p3_facts()
    facts["labs"].append({"analyte": "FERR", "value": 80, "unit": "ug/L"})

    response = post_screening(api, "MSC-ITP-5", facts)

    ferritin_lab = next(lab for lab in response.json()["labs"] if lab["analyte"] == "FERR")
    assert (ferritin_lab["lln"], ferritin_lab["uln"], ferritin_lab["range_source"]) == (13.0, 150.0, "catalogue")
    platelets = next(lab for lab in response.json()["labs"] if lab["analyte"] == "PLT")
    assert platelets["range_source"] == "site"


# --------------------------------------------------------------------------------------------
# Unknown codes, refused with the field named
# --------------------------------------------------------------------------------------------


def test_unknown_disease_therapy_and_analyte_are_refused_naming_the_field(api, studies):
    facts = {**p3_facts(), "disease": "AAA"}
    facts["prior_therapies"][0]["therapy"] = "eltrombopag"
    facts["labs"][0]["analyte"] = "FERR"

    response = post_screening(api, "MSC-ITP-5", facts)

    assert response.status_code == 400
    errors = response.json()["errors"] if "errors" in response.json() else response.json()
    assert "Unknown disease" in str(errors["disease"])
    assert "Unknown therapy" in str(errors["prior_therapies.0.therapy"])
    assert "Unknown analyte 'FERR'" in str(errors["labs.0.analyte"])


def test_a_rule_naming_an_unknown_disease_is_refused_with_its_path(studies):
    with pytest.raises(RuleParamsError) as refused:
        validate_params("when_disease", {"diseases": ["ITP", "AAA"], "rule": {
            "rule_type": "lab_threshold", "params": {"analyte": "FERR", "op": "<", "value": 1}}},
            catalogue=catalogues.current())

    assert set(refused.value.errors) == {"diseases.1", "rule.params.analyte"}


def test_a_study_disease_outside_the_catalogue_is_refused_on_the_disease_field(studies):
    row = StudyDisease(study=studies["MSC-ITP-5"], disease="AAA",
                       response_criteria=ResponseCriteriaSet.objects.get(code="IWG2009-ITP"))

    with pytest.raises(ValidationError) as refused:
        row.full_clean()

    assert list(refused.value.message_dict) == ["disease"]


def test_a_disease_with_an_unknown_lineage_is_refused_on_the_lineages_field(admin_client, studies):
    add = reverse("admin:trials_disease_add")
    data = page_data(admin_client.get(add))
    data.update({"code": "AAA", "name": "Acquired aplastic anaemia", "lineages": ["bone_marrow"], "order": "6"})

    response = admin_client.post(add, data)

    assert response.status_code == 200
    assert list(form_errors(response)) == ["lineages"]
    assert not Disease.objects.filter(code="AAA").exists()


def test_the_loader_refuses_an_unknown_lineage_naming_the_disease_and_field(studies):
    with pytest.raises(StudyDefinitionError, match="disease AAA: lineages: Give a list of platelets, red_cells, "
                                                   "neutrophils"):
        catalogues_load({"diseases": [{"code": "AAA", "name": "A", "lineages": ["bone_marrow"]}]},
                        by=None, reason="test", report=LoadReport())


# --------------------------------------------------------------------------------------------
# Administrators only; codes fixed; changes with a reason
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "shown"), [("disease", "SECONDARY_CYTOPENIA"), ("therapy", "tpo_agent"),
                                             ("analyte", "RETIC_ABS")])
def test_an_administrator_lists_the_catalogue(admin_client, studies, model, shown):
    response = admin_client.get(reverse(f"admin:trials_{model}_changelist"))

    assert response.status_code == 200
    assert shown in response.content.decode()


@pytest.mark.parametrize("model", ["disease", "therapy", "analyte"])
def test_catalogue_pages_refuse_a_coordinator(client, make_user, studies, model):
    client.force_login(make_user("coordinator"))

    response = client.get(reverse(f"admin:trials_{model}_changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("model", ["disease", "therapy", "analyte"])
def test_catalogue_pages_refuse_staff_without_the_administrator_role(client, make_user, studies, model):
    """Even with the administrators' permissions, only an administrator's role opens them."""
    monitor = make_user("monitor")
    monitor.is_staff = True
    with change_context(by=None, reason="Test: staff with the administrators' permissions"):
        monitor.save()
        monitor.groups.add(administrators_group())
    client.force_login(monitor)

    assert client.get(reverse(f"admin:trials_{model}_changelist")).status_code == 403
    assert client.get(reverse(f"admin:trials_{model}_add")).status_code == 403


def test_a_change_without_a_reason_is_refused_and_the_code_is_fixed(admin_client, studies):
    itp = Disease.objects.get(code="ITP")
    change = reverse("admin:trials_disease_change", args=[itp.pk])
    page = admin_client.get(change)
    data = page_data(page)
    data.update({"name": "Primary immune thrombocytopenia", "code": "PITP"})

    refused = admin_client.post(change, data)
    data["change_reason"] = "Name of the 2019 consensus"
    accepted = admin_client.post(change, data)

    assert list(form_errors(refused)) == ["change_reason"]
    assert accepted.status_code == 302
    itp.refresh_from_db()
    assert (itp.code, itp.name) == ("ITP", "Primary immune thrombocytopenia")
    assert itp.history.latest("history_date").history_change_reason == "Name of the 2019 consensus"
    assert catalogues.current().disease_name("ITP") == "Primary immune thrombocytopenia"


def test_catalogue_rows_are_not_deleted_in_the_admin(admin_client, studies):
    itp = Disease.objects.get(code="ITP")

    assert admin_client.get(reverse("admin:trials_disease_delete", args=[itp.pk])).status_code == 403


# --------------------------------------------------------------------------------------------
# The snapshot: no statement per request, renewed on a committed change, the database without cache
# --------------------------------------------------------------------------------------------


def test_a_current_snapshot_costs_no_query(studies, django_assert_num_queries):
    catalogues.current()

    with django_assert_num_queries(0):
        assert "ITP" in catalogues.current().diseases


def test_a_committed_change_gives_every_process_a_new_generation(studies, admin_user,
                                                                 django_capture_on_commit_callbacks):
    catalogues.current()
    before = cache.get(catalogues.GENERATION_KEY)

    with django_capture_on_commit_callbacks(execute=True):
        audited_save(Therapy(code="eltrombopag", name="Eltrombopag", therapy_class="TPO-RA"), by=admin_user)

    assert cache.get(catalogues.GENERATION_KEY) not in (None, before)
    assert "eltrombopag" in catalogues.current().therapies


def test_a_generation_changed_by_another_process_makes_this_one_reread(studies, django_assert_num_queries):
    catalogues.current()
    cache.set(catalogues.GENERATION_KEY, "set-by-another-process")

    with django_assert_num_queries(5):
        catalogues.current()
    with django_assert_num_queries(0):
        catalogues.current()


def test_without_a_cache_the_catalogues_are_read_from_the_database(studies, monkeypatch, django_assert_num_queries):
    def unavailable(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get", unavailable)

    with django_assert_num_queries(5):
        assert "ITP" in catalogues.current().diseases


def test_a_change_in_an_open_transaction_is_read_there_and_forgotten_when_it_rolls_back(studies, admin_user):
    catalogues.current()
    audited_save(Therapy(code="eltrombopag", name="Eltrombopag", therapy_class="TPO-RA"), by=admin_user)

    assert "eltrombopag" in catalogues.current().therapies
    assert catalogues._snapshot is not None and "eltrombopag" not in catalogues._snapshot[1].therapies


def test_the_loader_refuses_a_disease_with_an_unknown_response_criteria_set(studies):
    with pytest.raises(StudyDefinitionError, match="disease AAA: unknown response criteria set 'NOPE'"):
        catalogues_load({"diseases": [{"code": "AAA", "name": "A", "lineages": ["platelets"],
                                       "response_criteria": "NOPE"}]}, by=None, reason="test", report=LoadReport())


def test_a_study_disease_without_its_own_set_uses_the_catalogues(studies, admin_user):
    data = yaml.safe_load((STUDIES_DIR / "MSC-ITP-5.yaml").read_text(encoding="utf-8"))
    data.update({"code": "MSC-EVANS", "diseases": [{"disease": "EVANS"}], "criteria": []})

    study = study_load(data, by=admin_user, reason="Copy for Evans syndrome", report=LoadReport())

    assert list(study.diseases.values_list("disease", "response_criteria__code")) == [("EVANS", "MULTILINEAGE")]


@pytest.mark.parametrize("row", [{"disease": "AAA"}, {"disease": "AAA", "response_criteria": "MULTILINEAGE"}])
def test_a_study_file_naming_a_disease_outside_the_catalogue_is_refused_with_its_path(studies, admin_user, row):
    data = yaml.safe_load((STUDIES_DIR / "MSC-ITP-5.yaml").read_text(encoding="utf-8"))
    data.update({"code": "MSC-AAA", "diseases": [row], "criteria": []})

    with pytest.raises(StudyDefinitionError) as refused:
        study_load(data, by=admin_user, reason="Copy for aplastic anaemia", report=LoadReport())

    assert list(refused.value.errors) == ["diseases.0.disease"]
    assert "Unknown disease" in refused.value.errors["diseases.0.disease"][0]
