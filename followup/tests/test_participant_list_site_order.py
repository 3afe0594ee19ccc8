"""The participants list and the grid order a study's participants by site code, then enrolment
sequence, also when the sites' codes sort differently from the order they were created in (the
list ranks the user's sites by code rather than joining the sites to every participant)."""
import pytest
from django.urls import reverse

from enrollment.models import Participant, Screening
from followup import participant_list
from followup.participant_list import ParticipantFilters, participants_listed, user_sites
from followup.tests.support import enrol, overdue_visit
from trials.audit_context import change_context
from trials.models import Site, SiteMembership, Study
from trials.tests.support import setup_update


@pytest.fixture
def two_sites(p3, coordinator):
    """Two P3 participants at PUMCH, then two at AAH, a site created later whose code sorts first;
    the coordinator works at both. The second AAH participant is overdue."""
    pumch = [enrol(coordinator), enrol(coordinator)]
    aah = Site.objects.create(code="AAH", name="A Later Hospital")
    with change_context(by=None, reason="Second site opens"):
        Study.objects.get(code="MSC-ITP-5").sites.add(aah)
        SiteMembership.objects.create(user=coordinator, site=aah, role="coordinator")
    moved = [enrol(coordinator), enrol(coordinator)]
    for participant in moved:
        setup_update(Screening.objects.filter(pk=participant.screening_id), site=aah)
        setup_update(Participant.objects.filter(pk=participant.pk), site=aah)
    overdue_visit(moved[1])
    coordinator.__dict__.pop("_site_roles_cache", None)
    return [*moved, *pumch]


def by_site_and_sequence(participants):
    rows = Participant.objects.filter(pk__in=[p.pk for p in participants]).select_related("site")
    return [p.pk for p in sorted(rows, key=lambda p: (p.site.code, p.sequence, p.pk))]


def test_sites_are_ranked_by_code(coordinator, two_sites):
    assert [site.code for site in user_sites(coordinator)] == ["AAH", "PUMCH"]
    expected = by_site_and_sequence(two_sites)
    filters = ParticipantFilters(study="MSC-ITP-5")
    assert list(participants_listed(coordinator, filters, sites=user_sites(coordinator)).values_list(
        "pk", flat=True)) == expected
    assert list(participants_listed(coordinator, filters).values_list("pk", flat=True)) == expected


@pytest.mark.parametrize("name", ["study-participants", "study-grid"])
def test_pages_order_by_site_code_across_pages(client, coordinator, two_sites, monkeypatch, name):
    monkeypatch.setattr(participant_list, "PAGE_SIZE", 3)
    client.force_login(coordinator)
    url = reverse(name, args=["MSC-ITP-5"])
    first, second = client.get(url).context["page_obj"], client.get(url, {"page": 2}).context["page_obj"]
    assert first.paginator.count == 4
    assert [row.pk for row in [*first.object_list, *second.object_list]] == by_site_and_sequence(two_sites)
    assert [choice.value for choice in client.get(url).context["choices"]["sites"]] == ["AAH", "PUMCH"]


def test_overdue_filter_with_several_sites(client, coordinator, two_sites):
    client.force_login(coordinator)
    page = client.get(reverse("study-participants", args=["MSC-ITP-5"]), {"overdue": "1"}).context["page_obj"]
    assert [row.pk for row in page.object_list] == [two_sites[1].pk]
    assert page.paginator.count == 1
    assert all(row.overdue for row in page.object_list)


def test_site_choices_of_a_study_leave_out_sites_outside_it(client, coordinator, two_sites):
    other = Site.objects.create(code="ZZH", name="Not In The Study")
    with change_context(by=None, reason="Third site"):
        SiteMembership.objects.create(user=coordinator, site=other, role="coordinator")
    coordinator.__dict__.pop("_site_roles_cache", None)
    client.force_login(coordinator)
    choices = client.get(reverse("study-grid", args=["MSC-ITP-5"])).context["choices"]["sites"]
    assert [choice.value for choice in choices] == ["AAH", "PUMCH"]
    assert [site.code for site in user_sites(coordinator)] == ["AAH", "PUMCH", "ZZH"]


def test_one_study_keys_join_neither_studies_nor_sites(client, coordinator, two_sites):
    """A study's list reads its participants' keys by the study's key (found once), ordered by the
    sites' rank: no study or site row joined to every participant; an unknown study lists nobody."""
    filters = ParticipantFilters(study="MSC-ITP-5")
    keys = participants_listed(coordinator, filters, sites=user_sites(coordinator)).values_list("pk", flat=True)
    sql = str(keys.query)
    assert 'JOIN "trials_study"' not in sql and 'JOIN "trials_site"' not in sql
    assert list(keys) == by_site_and_sequence(two_sites)
    assert not participants_listed(coordinator, ParticipantFilters(study="NO-SUCH")).exists()
    client.force_login(coordinator)
    page = client.get(reverse("participant-list"), {"study": "MSC-ITP-5"}).context["page_obj"]
    assert [row.pk for row in page.object_list] == by_site_and_sequence(two_sites)
