"""Response configuration refused in the admin when it could not judge a response: a criteria set
missing a threshold its rules read (trials/response_thresholds.py), a response period that cuts a
visit window (trials/response_period.py). Forms are posted back as a browser would."""
import json

import pytest
from django.urls import reverse

from trials.models import ResponseCriteriaSet, VisitDefinition
from trials.services import LoadReport, StudyDefinitionError, response_criteria_load
from trials.tests.admin_forms import form_errors, inline_errors, inline_row, page_data

IWG_MISSING = ["r_fold_baseline", "bleeding_grade_counts_from", "confirm_response_days", "confirm_failure_days",
               "rescue_exclusion_days"]


def test_criteria_set_with_thresholds_missing_is_refused_with_a_message_per_key(admin_client):
    url = reverse("admin:trials_responsecriteriaset_add")
    data = page_data(admin_client.get(url)) | {
        "code": "ITP-HALF", "name": "ITP, half a set", "version": "1", "family": "itp", "source": "Test",
        "thresholds": json.dumps({"cr_platelets": 100, "r_platelets": 30}),
    }

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert form_errors(response) == {"thresholds": [f"{key}: missing; the ITP (IWG 2009) rule needs it."
                                                    for key in IWG_MISSING]}
    assert not ResponseCriteriaSet.objects.filter(code="ITP-HALF").exists()


def test_criteria_set_with_a_negative_a_non_numeric_and_an_unknown_threshold_is_refused(admin_client):
    neutropenia = ResponseCriteriaSet.objects.get(code="NEUTROPENIA-STD")
    url = reverse("admin:trials_responsecriteriaset_change", args=[neutropenia.pk])
    thresholds = neutropenia.thresholds | {"cr_anc": -1.5, "pr_anc": "0.5", "gcsf_exclusion_days": 7.5,
                                           "cr_platelets": 100}
    data = page_data(admin_client.get(url)) | {"thresholds": json.dumps(thresholds), "change_reason": "Test"}

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert form_errors(response) == {"thresholds": [
        "cr_anc: -1.5 is not a number of 0 or more.",
        "pr_anc: '0.5' is not a number of 0 or more.",
        "gcsf_exclusion_days: 7.5 is not a whole number.",
        "cr_platelets: not a threshold of the Neutropenia rule (known: cr_anc, pr_anc, pr_fold_baseline, "
        "gcsf_exclusion_days, confirm_response_days, baseline_lookback_days, confirm_failure_days).",
    ]}
    neutropenia.refresh_from_db()
    assert neutropenia.thresholds["cr_anc"] == 1.5


def test_complete_criteria_set_is_saved(admin_client):
    url = reverse("admin:trials_responsecriteriaset_add")
    thresholds = {"cr_platelets": 100, "r_platelets": 30, "r_fold_baseline": 2, "bleeding_grade_counts_from": 2,
                  "confirm_response_days": 7, "confirm_failure_days": 1, "rescue_exclusion_days": 14}
    data = page_data(admin_client.get(url)) | {
        "code": "ITP-FULL", "name": "ITP", "version": "1", "family": "itp", "source": "Test",
        "thresholds": json.dumps(thresholds),
    }

    response = admin_client.post(url, data)

    assert response.status_code == 302
    assert ResponseCriteriaSet.objects.get(code="ITP-FULL").thresholds == thresholds


def test_thresholds_field_lists_each_familys_required_thresholds(admin_client):
    html = admin_client.get(reverse("admin:trials_responsecriteriaset_add")).content.decode()
    assert "<dt>AIHA, Chinese 2017 consensus</dt><dd>Required: pr_hb, pr_retic_pct, pr_tbil, " in html
    assert "lineage_pairing_days (default 3)" in html


def p1_change_page(client, study, **values):
    url = reverse("admin:trials_study_change", args=[study.pk])
    page = client.get(url)
    return url, page, page_data(page) | {**values, "change_reason": "Protocol amendment"}


def test_study_period_cutting_the_m05_window_is_refused_on_the_visit_row(admin_client, studies):
    study = studies["UCB-IRIC"]
    url, page, data = p1_change_page(admin_client, study, response_from_day="15")

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert inline_errors(response, VisitDefinition) == [{"__all__": [
        "The response period (days 15 to 734 after the first infusion) cuts the window of visit M0.5 (days 8 to "
        "22): a count inside the visit's window would not be evaluable. The period must take in the whole "
        "window: start it on day 8 or earlier (the opening of the window), or after day 22."]}]
    study.refresh_from_db()
    assert study.response_from_day == 8


def test_visit_window_widened_beyond_the_study_period_is_refused(admin_client, studies):
    study = studies["UCB-IRIC"]
    url, page, data = p1_change_page(admin_client, study)
    data[f"{inline_row(page, VisitDefinition, code='M24')}-window_after"] = "30"

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert [list(errors) for errors in inline_errors(response, VisitDefinition)] == [["__all__"]]
    assert "cuts the window of visit M24 (days 706 to 750)" in inline_errors(response, VisitDefinition)[0]["__all__"][0]


def test_study_period_and_visit_window_changed_together_are_saved(admin_client, studies):
    study = studies["UCB-IRIC"]
    url, page, data = p1_change_page(admin_client, study, response_until_day="750")
    data[f"{inline_row(page, VisitDefinition, code='M24')}-window_after"] = "30"

    response = admin_client.post(url, data)

    assert response.status_code == 302
    study.refresh_from_db()
    assert (study.response_until_day, study.visit_definitions.get(code="M24").window_after) == (750, 30)


@pytest.mark.parametrize("family, thresholds, message", [
    ("aiha", {"pr_hb": 100}, "response criteria AIHA-X: thresholds: pr_retic_pct: missing; the AIHA, Chinese 2017 "
     "consensus rule needs it. pr_tbil: missing; the AIHA, Chinese 2017 consensus rule needs it. "
     "transfusion_exclusion_days: missing; the AIHA, Chinese 2017 consensus rule needs it. confirm_response_days: "
     "missing; the AIHA, Chinese 2017 consensus rule needs it. cr_hb: without it the set is read by the Chinese 2017 "
     "rule; add cr_hb for the international-consensus rule."),
])
def test_loader_refuses_an_incomplete_criteria_set(studies, family, thresholds, message):
    row = {"code": "AIHA-X", "name": "AIHA", "version": "1", "family": family, "source": "Test",
           "thresholds": thresholds}
    with pytest.raises(StudyDefinitionError) as caught:
        response_criteria_load([row], by=None, reason="test", report=LoadReport())
    assert str(caught.value) == message
    assert not ResponseCriteriaSet.objects.filter(code="AIHA-X").exists()
