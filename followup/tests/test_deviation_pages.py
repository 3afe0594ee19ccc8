"""The study's protocol deviations page by page (`followup.deviations.deviations_page`, the deviations
page `/studies/<code>/deviations/`) and their counts per kind on the study page."""
from datetime import date
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from dosing.models import Infusion
from followup.deviations import KINDS, deviations_page, protocol_deviations
from followup.models import Visit
from followup.synthetic import SITES
from trials.accounts import user_upsert
from trials.models import Study
from trials.tests.support import client_for, setup_update


@pytest.fixture
def varied(studies):
    """A synthetic study of 40 participants with deviations of every kind: infusions missed (as
    built), given outside their window, off their dose, and both; visits done outside their window,
    timed and not. Returns the study and a monitor of every site."""
    call_command("make_synthetic_study", participants=40, seed=3, today=date(2026, 6, 1))
    study = Study.objects.get(code="SYN-40-3")
    given = list(Infusion.objects.filter(participant__study=study, state="given").order_by("pk"))
    for n, infusion in enumerate(given[::5]):
        window, dose = n % 3 != 1, n % 3 != 0  # window only, dose only, both
        setup_update(Infusion.objects.filter(pk=infusion.pk), deviation=window,
                     deviation_reason="Patient travelled" if window else "", dose_deviation=dose,
                     dose_confirmation="Weighed again" if dose else "")
    done = list(Visit.objects.filter(participant__study=study, state="done").order_by("pk"))
    for n, visit in enumerate(done[::6]):
        setup_update(Visit.objects.filter(pk=visit.pk), deviation=True, deviation_reason="Holiday", timed=n % 2 == 0)
    monitor = None
    for code, _name in SITES:
        monitor = user_upsert(username="all-sites-monitor", role="monitor", site_code=code).user
    return study, monitor


def _shown(rows):
    return [(d.participant.pk, d.what, d.kind, d.planned, d.happened, d.reason) for d in rows]


def test_the_pages_list_every_deviation_once_in_order_with_their_counts_per_kind(varied):
    study, monitor = varied
    every, total = protocol_deviations(monitor, study=study)
    assert {d.kind for d in every} == set(KINDS)
    assert total == len(every) > 40
    sites = sorted({d.participant.site_id for d in every})
    for kind in ("", *KINDS):
        for site_id in (None, sites[0]):
            wanted = [d for d in every if (not kind or d.kind == kind)
                      and (site_id is None or d.participant.site_id == site_id)]
            by_kind = {name: sum(d.kind == name for d in wanted) for name in KINDS}
            for per_page in (1, 4, 7, len(wanted) + 3):
                listed, number, pages = [], 1, None
                while pages is None or number <= pages:
                    page = deviations_page(monitor, study=study, number=number, per_page=per_page, kind=kind,
                                           site_id=site_id)
                    assert (page.number, page.total, page.by_kind) == (number, len(wanted), by_kind)
                    listed += page.rows
                    pages, number = page.pages, number + 1
                assert _shown(listed) == _shown(wanted), (kind, site_id, per_page)
                assert pages == max(1, -(-len(wanted) // per_page))
                beyond = deviations_page(monitor, study=study, number=pages + 4, per_page=per_page, kind=kind,
                                         site_id=site_id)
                assert (beyond.number, _shown(beyond.rows)) == (pages, _shown(wanted[(pages - 1) * per_page:]))


def test_an_infusion_off_its_window_and_its_dose_is_two_deviations_on_the_study_page(varied):
    study, monitor = varied
    every, total = protocol_deviations(monitor, study=study)
    both = {d.what for d in every if d.kind == "dose"} & {d.what for d in every if d.kind == "out_of_window"}
    assert both
    first, counted = protocol_deviations(monitor, study=study, limit=5)
    assert (_shown(first), counted) == (_shown(every[:5]), total)


def test_a_later_page_costs_four_statements_whatever_its_place_and_the_first_two(varied, django_assert_num_queries):
    study, monitor = varied
    total = protocol_deviations(monitor, study=study)[1]
    with django_assert_num_queries(2):
        deviations_page(monitor, study=study, per_page=5)
    for number in (2, total // 5):
        with django_assert_num_queries(4):
            page = deviations_page(monitor, study=study, number=number, per_page=5)
            _shown(page.rows)  # the participants were read with the rows


def test_the_deviations_page_filters_by_kind_and_site_and_pages(client, varied):
    study, monitor = varied
    every = protocol_deviations(monitor, study=study)[0]
    client.force_login(monitor)
    url = reverse("study-deviations", args=[study.code])
    first = client.get(url)
    assert first.status_code == 200
    assert _shown(first.context["page"].rows) == _shown(every[:50])
    body = first.content.decode()
    assert f"{len(every)} protocol deviations at your sites" in body
    assert 'data-testid="page-next"' in body
    site = every[0].participant.site
    doses = client.get(url, {"kind": "dose", "site": site.pk})
    assert _shown(doses.context["page"].rows) == _shown(
        [d for d in every if d.kind == "dose" and d.participant.site_id == site.pk])
    assert 'data-kind="missed"' not in doses.content.decode()
    second = client.get(url, {"page": 2})
    assert _shown(second.context["page"].rows) == _shown(every[50:100])


def test_filters_not_understood_are_named_and_left_out(client, varied):
    study, monitor = varied
    client.force_login(monitor)
    response = client.get(reverse("study-deviations", args=[study.code]), {"page": "abc", "kind": "late", "site": "99"})
    assert response.status_code == 200
    errors = response.content.decode().split('data-testid="filter-errors"')[1].split("</div>")[0]
    assert "Deviation:" in errors and "Site:" in errors and "Page:" in errors
    assert response.context["page"].number == 1
    assert response.context["page"].total == protocol_deviations(monitor, study=study)[1]


def test_the_page_shows_the_users_sites_alone_and_refuses_others(client, varied, make_user, django_user_model,
                                                                  other_site_study):
    study, _monitor = varied
    one_site = make_user("monitor", site=SITES[0][0], username="one-site-monitor")
    client.force_login(one_site)
    page = client.get(reverse("study-deviations", args=[study.code])).context["page"]
    assert page.rows and {d.participant.site.code for d in page.rows} == {SITES[0][0]}
    assert page.total == protocol_deviations(one_site, study=study)[1]
    assert client.get(reverse("study-deviations", args=["XH-MSC"])).status_code == 404
    nobody = django_user_model.objects.create_user("nobody", password="Correct-Horse-88")
    client.force_login(nobody)
    assert client.get(reverse("study-deviations", args=[study.code])).status_code == 403
    client.logout()
    response = client.get(reverse("study-deviations", args=[study.code]))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_the_deviations_page_reads_as_many_statements_for_one_row_as_for_fifty(client, varied):
    study, monitor = varied
    client.force_login(monitor)
    url = reverse("study-deviations", args=[study.code])

    def read():
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        return len(response.context["page"].rows), len(queries)
    fifty = read()
    kept = Infusion.objects.filter(participant__study=study, state="missed").order_by("pk").first()
    setup_update(Infusion.objects.filter(participant__study=study, state="missed").exclude(pk=kept.pk), state="planned")
    setup_update(Infusion.objects.filter(participant__study=study), deviation=False, dose_deviation=False)
    setup_update(Visit.objects.filter(participant__study=study), deviation=False)
    one = read()
    assert (fifty[0], one[0]) == (50, 1)
    assert fifty[1] == one[1] <= 9


def test_the_study_page_counts_the_deviations_per_kind_and_links_to_them_all(client, varied):
    study, monitor = varied
    every = protocol_deviations(monitor, study=study)[0]
    client.force_login(monitor)
    page = client.get(reverse("study-detail", args=[study.code]))
    assert _shown(page.context["deviations"]) == _shown(every[:10])
    assert page.context["deviations_by_kind"] == {kind: sum(d.kind == kind for d in every) for kind in KINDS}
    body = page.content.decode()
    kinds = body.split('data-testid="deviation-kinds"')[1].split("</p>")[0]
    assert f"{len(every)} protocol deviations at your sites" in kinds
    assert f"outside the window {page.context['deviations_by_kind']['out_of_window']}" in kinds
    assert f'href="{reverse("study-deviations", args=[study.code])}"' in body
    assert 'data-testid="deviations-shown"' in body
    with mock.patch("followup.study_views.DEVIATIONS_SHOWN", 500):
        everything = client.get(reverse("study-detail", args=[study.code]))
    assert _shown(everything.context["deviations"]) == _shown(every)
    assert 'data-testid="deviations-shown"' not in everything.content.decode()
    assert 'data-testid="deviations-link"' in everything.content.decode()  # filtering them is on that page


def test_the_page_is_in_chinese(client, varied):
    study, monitor = varied
    client.force_login(monitor)
    body = client.get(reverse("study-deviations", args=[study.code]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f"{study.code} 的方案偏离" in body and "全部偏离类型" in body and "剂量偏离计算剂量超过 10 %" in body
    assert "Protocol deviations of" not in body and "Any deviation" not in body


API = "/api/v1/studies/{code}/deviations/"


def test_the_api_lists_the_deviations_as_the_page_does(varied):
    study, monitor = varied
    every = protocol_deviations(monitor, study=study)[0]
    api = client_for(monitor)
    first = api.get(API.format(code=study.code)).json()
    assert (first["count"], first["page"], first["page_size"], first["previous"]) == (len(every), 1, 50, None)
    assert first["by_kind"] == {kind: sum(d.kind == kind for d in every) for kind in KINDS}
    assert first["pages"] == -(-len(every) // 50) and first["next"].endswith("?page=2")
    listed = first["results"] + api.get(first["next"]).json()["results"]
    assert [(r["participant"], r["what"], r["kind"], r["planned"], r["happened"], r["reason"]) for r in listed] == [
        (d.participant.pk, d.what, d.kind, d.planned, d.happened, d.reason) for d in every[:100]]
    row, wanted = listed[0], every[0]
    assert (row["study_number"], row["site"], row["url"]) == (
        wanted.participant.study_number, wanted.participant.site.code,
        reverse("participant-detail", args=[wanted.participant.pk]))
    site = wanted.participant.site
    doses = api.get(API.format(code=study.code), {"kind": "dose", "site": site.code}).json()
    assert [(r["participant"], r["what"]) for r in doses["results"]] == [
        (d.participant.pk, d.what) for d in every if d.kind == "dose" and d.participant.site_id == site.pk]
    assert {r["site"] for r in doses["results"]} == {site.code}


def test_the_api_names_each_bad_filter(varied):
    study, monitor = varied
    api = client_for(monitor)
    response = api.get(API.format(code=study.code), {"kind": "late", "site": "XH", "page": "0"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"kind", "site", "page"}
    for page in ("²", "1" * 5000, "-1", "2.5"):
        assert set(api.get(API.format(code=study.code), {"page": page}).json()["errors"]) == {"page"}
    beyond = api.get(API.format(code=study.code), {"page": 99})
    assert beyond.status_code == 400 and "there are" in beyond.json()["errors"]["page"][0]


def test_the_api_refuses_strangers_and_hides_other_sites_studies(varied, django_user_model, other_site_study):
    study, monitor = varied
    assert APIClient().get(API.format(code=study.code)).status_code == 401
    nobody = django_user_model.objects.create_user("nobody", password="Correct-Horse-88")
    assert client_for(nobody).get(API.format(code=study.code)).status_code == 403
    assert client_for(monitor).get(API.format(code="XH-MSC")).status_code == 404


def test_the_api_reads_as_many_statements_for_any_page(varied, django_assert_max_num_queries):
    study, monitor = varied
    api = client_for(monitor)
    for page in (1, 2):
        with django_assert_max_num_queries(10):
            assert len(api.get(API.format(code=study.code), {"page": page}).json()["results"]) >= 1
