"""A platelet count entered or corrected so that the participant's best confirmed response changes
opens a data query on that count (`followup.auto_queries`, ``response_change``), through the
service, the API and the correction page; the save is never refused, and a later correction that
brings the confirmed response back closes the query. The `woman` fixture is a P2 (ITP, IWG 2009)
participant whose first infusion was ten days ago."""
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from followup import services
from followup.data_queries import query_close
from followup.models import Assessment, DataQuery, LabResult
from followup.tests.support import assessment_form_as_posted
from trials.tests.support import patch_current

REASON = "Checked against the laboratory report"


def days_ago(n: int) -> str:
    return (timezone.localdate() - timedelta(days=n)).isoformat()


def record(api, participant, n: int, platelets: float, grade: int = 0) -> Assessment:
    body = {"date": days_ago(n), "visit": None, "bleeding_grade": grade,
            "labs": [{"analyte": "PLT", "value": platelets, "unit": "10^9/L"}]}
    response = api.post(f"/api/v1/participants/{participant.pk}/assessments/", body, format="json")
    assert response.status_code == 201, response.json()  # flagged or not, never refused
    return Assessment.objects.get(pk=response.json()["id"])


def correct(assessment, by, platelets: float) -> Assessment:
    data = {f: services.KEEP for f in services.AssessmentInput.__dataclass_fields__}
    data["labs"] = [{"analyte": "PLT", "value": platelets, "unit": "10^9/L"}]
    return services.assessment_update(assessment=Assessment.objects.get(pk=assessment.pk), by=by, check=False,
                                      reason=REASON, data=services.AssessmentInput(**data))


def queries():
    return list(DataQuery.objects.filter(check_code="response_change").order_by("id").values_list(
        "record_pk", "item", "state", "check_basis", "closed_by"))


@pytest.fixture
def confirmed_cr(api, woman):
    """Baseline 20 on the infusion day, then 120 (day 1) and 110 (day 9): CR confirmed (8 days apart)."""
    record(api, woman, 10, 20)
    first = record(api, woman, 9, 120)
    assert queries() == []  # the first responding count changes no confirmed response (NE before)
    return first, record(api, woman, 1, 110)


def test_entering_the_count_that_confirms_cr_opens_a_query_on_it(confirmed_cr):
    _first, second = confirmed_cr

    assert queries() == [(second.pk, "lab:PLT", "open", "NR", None)]
    query = DataQuery.objects.get()
    assert (query.source, query.opened_by, query.record_kind) == ("system", None, "assessment")
    assert query.question == ("This platelet count changes the confirmed response from NR to CR; please verify the "
                              "value against the source.")


def test_a_count_that_confirms_nothing_opens_nothing(api, woman):
    record(api, woman, 10, 20)
    record(api, woman, 9, 120)
    record(api, woman, 5, 110)  # 4 days after the first: not confirmed

    assert queries() == []


def test_a_correction_that_changes_the_confirmed_response_opens_a_query_and_a_correction_back_closes_it(
        confirmed_cr, coordinator, data_manager):
    _first, second = confirmed_cr
    query_close(DataQuery.objects.get(), data_manager, "Value verified against the laboratory report.")

    correct(second, coordinator, 80)  # >= 30 and >= 2 x 20: R, no longer CR

    assert LabResult.objects.get(assessment=second).value == 80.0  # saved, not refused
    assert queries()[1:] == [(second.pk, "lab:PLT", "open", "CR", None)]
    assert DataQuery.objects.last().question.startswith("This platelet count changes the confirmed response from CR "
                                                        "to R;")

    correct(second, coordinator, 90)  # still R: the query stays open, none added
    assert queries()[1:] == [(second.pk, "lab:PLT", "open", "CR", None)]

    correct(second, coordinator, 110)  # CR again, as before the query: closed by the check
    assert queries()[1:] == [(second.pk, "lab:PLT", "closed", "CR", None)]
    closed = DataQuery.objects.last()
    assert [m.kind for m in closed.messages.all()] == ["question", "close"]


def test_a_correction_of_another_count_that_changes_nothing_leaves_the_query(confirmed_cr, coordinator):
    first, second = confirmed_cr

    correct(first, coordinator, 130)  # still CR confirmed

    assert queries() == [(second.pk, "lab:PLT", "open", "NR", None)]


def test_the_api_correction_opens_the_query(confirmed_cr, api, data_manager):
    _first, second = confirmed_cr
    query_close(DataQuery.objects.get(), data_manager, "Value verified against the laboratory report.")

    response = patch_current(api, f"/api/v1/assessments/{second.pk}/", {
        "labs": [{"analyte": "PLT", "value": 25, "unit": "10^9/L"}], "reason": REASON}, format="json")

    assert response.status_code == 200, response.json()
    assert queries()[1:] == [(second.pk, "lab:PLT", "open", "CR", None)]
    assert "from CR to NR" in DataQuery.objects.last().question


def test_the_page_correction_opens_the_query(confirmed_cr, client, coordinator, data_manager):
    _first, second = confirmed_cr
    query_close(DataQuery.objects.get(), data_manager, "Value verified against the laboratory report.")
    client.force_login(coordinator)
    url = reverse("assessment-edit", args=[second.pk])
    data = assessment_form_as_posted(client.get(url))

    response = client.post(url, {**data, "lab-PLT-value": "80", "reason": REASON})

    assert response.status_code == 302, response.context and response.context["form"].errors
    assert queries()[1:] == [(second.pk, "lab:PLT", "open", "CR", None)]


def test_the_question_reads_in_chinese(api, woman, coordinator):
    record(api, woman, 10, 20)
    record(api, woman, 9, 120)
    with override("zh-hans"):
        services.assessment_record(participant=woman, by=coordinator, data=services.AssessmentInput(
            date=date.fromisoformat(days_ago(1)), labs=[{"analyte": "PLT", "value": 110, "unit": "10^9/L"}],
            bleeding_grade=0))

    assert DataQuery.objects.get().question == "该血小板计数使确认的疗效由 NR 变为 CR；请对照原始资料核实该数值。"


def test_an_assessment_save_that_opens_the_query_stays_within_budget(api, woman, django_assert_max_num_queries):
    # A visit's assessment with five labs and a transfusion, as the budget tests of the save, whose
    # count confirms CR: the participant's other assessments and infusions are read for the response
    # (two statements), and the query it opens writes three rows: 19 in all, within the budget.
    record(api, woman, 10, 20)
    record(api, woman, 9, 120)
    labs = [{"analyte": code, "value": value, "unit": unit} for code, value, unit in (
        ("PLT", 110, "10^9/L"), ("HGB", 120, "g/L"), ("ANC", 2.1, "10^9/L"), ("WBC", 4.2, "10^9/L"),
        ("CREAT", 60, "umol/L"))]
    url = f"/api/v1/participants/{woman.pk}/assessments/"
    api.get(url)  # the user's site memberships are read once per request

    with django_assert_max_num_queries(20):
        response = api.post(url, {"date": days_ago(1), "visit": "W1", "bleeding_grade": 0, "labs": labs,
                                  "transfusions": [{"kind": "rbc", "date": days_ago(2)}]}, format="json")

    assert response.status_code == 201, response.json()
    assert queries() == [(response.json()["id"], "lab:PLT", "open", "NR", None)]
