"""The worklist page shows its items a page at a time, in the worklist's order, with the counts of
every item; the filters stay on the next page."""
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from followup import views
from followup.tests.support import enrol, event, overdue_visit
from trials.models import Study
from trials.tests.support import setup_update


def test_worklist_pages_keep_order_counts_and_filters(client, studies, coordinator, monkeypatch):
    setup_update(Study.objects.filter(code="MSC-ITP-5"), enrolment_target=100)
    first, second = enrol(coordinator), enrol(coordinator)
    overdue_visit(first, days_ago=5)
    overdue_visit(second, days_ago=3)
    event(first, coordinator, aware=timezone.now() - timedelta(hours=1))  # due, not overdue
    monkeypatch.setattr(views, "WORKLIST_PAGE_SIZE", 2)
    client.force_login(coordinator)
    url = reverse("worklist")

    one = client.get(url, {"study": "MSC-ITP-5"})
    two = client.get(url, {"study": "MSC-ITP-5", "page": 2})

    assert [row["item"].participant_id for row in one.context["rows"]] == [first.pk, second.pk]  # overdue first
    assert [row["item"].kind for row in two.context["rows"]] == ["sae_report"]
    for response in (one, two):
        assert response.context["counts"] == {"overdue": 2, "due": 1}
        assert "2 overdue, 1 due" in response.content.decode()
    assert 'href="?study=MSC-ITP-5&amp;page=2" data-testid="page-next"' in one.content.decode()
    assert "Items 3–3 of 3." in two.content.decode() and "Page 2 of 2" in two.content.decode()


def test_worklist_of_one_page_shows_no_pages(client, participant, coordinator):
    overdue_visit(participant)
    client.force_login(coordinator)
    page = client.get(reverse("worklist")).content.decode()
    assert 'data-testid="pagination"' not in page and 'data-testid="worklist-shown"' not in page
