"""`GET /api/v1/worklist/` a page at a time, as the worklist page: `PAGE_SIZE` items a page in the
worklist's order (overdue first), `count`, `page`, `pages` and `page_size` beside the items, the
counts of every item on each page; a missing or bad page is the first, one beyond the end the last."""
from datetime import timedelta

import pytest
from django.utils import timezone

from followup import worklist
from followup.tests.support import enrol, event, overdue_visit
from trials.models import Study
from trials.tests.support import client_for, setup_update

URL = "/api/v1/worklist/"


@pytest.fixture
def three_items(studies, coordinator):
    """Two overdue visits (the older first) and an SAE report due, at PUMCH."""
    setup_update(Study.objects.filter(code="MSC-ITP-5"), enrolment_target=100)
    first, second = enrol(coordinator), enrol(coordinator)
    overdue_visit(first, days_ago=5)
    overdue_visit(second, days_ago=3)
    event(first, coordinator, aware=timezone.now() - timedelta(hours=1))
    return first, second


def test_pages_keep_the_worklists_order_and_count_every_item(api, three_items, monkeypatch):
    monkeypatch.setattr(worklist, "PAGE_SIZE", 2)
    first, second = three_items
    one = api.get(URL).json()
    two = api.get(URL, {"page": 2}).json()
    assert [(i["kind"], i["participant"]["id"]) for i in one["items"]] == [("visit", first.pk), ("visit", second.pk)]
    assert [i["kind"] for i in two["items"]] == ["sae_report"]
    for body, number in ((one, 1), (two, 2)):
        assert (body["count"], body["page"], body["pages"], body["page_size"]) == (3, number, 2, 2)
        assert body["counts"] == {"overdue": 2, "due": 1}


def test_a_bad_page_is_the_first_and_one_beyond_the_end_the_last(api, three_items, monkeypatch):
    monkeypatch.setattr(worklist, "PAGE_SIZE", 2)
    assert api.get(URL, {"page": "x"}).json()["page"] == 1
    assert api.get(URL, {"page": "0"}).json()["page"] == 2  # below 1: out of range, the last as the page shows
    beyond = api.get(URL, {"page": 99}).json()
    assert (beyond["page"], [i["kind"] for i in beyond["items"]]) == (2, ["sae_report"])


def test_a_hundred_a_page_and_the_filters_apply_before_paging(api, three_items):
    body = api.get(URL, {"kind": "sae_report"}).json()
    assert (body["count"], body["page"], body["pages"], body["page_size"]) == (1, 1, 1, 100)
    assert body["counts"] == {"overdue": 0, "due": 1} and len(body["items"]) == 1


def test_an_empty_worklist_is_one_empty_page(api, studies):
    body = api.get(URL).json()
    assert (body["count"], body["page"], body["pages"], body["items"]) == (0, 1, 1, [])


def test_another_sites_user_pages_nothing_and_an_administrator_is_refused(three_items, make_user):
    body = client_for(make_user("coordinator", site="XH")).get(URL).json()
    assert (body["count"], body["items"]) == (0, [])
    assert client_for(make_user("admin")).get(URL, {"page": 2}).status_code == 403


def test_schema_names_the_page(api, studies):
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    parameters = [p["name"] for p in schema["paths"][URL]["get"]["parameters"]]
    assert "page" in parameters
    answer = schema["components"]["schemas"]["Worklist"]["properties"]
    assert {"count", "page", "pages", "page_size", "items", "counts"} <= set(answer)
