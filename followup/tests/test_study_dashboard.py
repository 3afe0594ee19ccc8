"""The study dashboard (/studies/<code>/dashboard/): every figure of a small fixture study
(followup/tests/dashboard_world.py) against hand-computed values, the filters, the roles and sites,
and a statement count that does not grow with the participants."""
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from followup import dashboard_cache, dashboard_charts
from enrollment.models import Participant
from followup.models import OutcomeResult
from followup.outcome_reads import participant_rows, study_sets
from followup.outcomes import current_results, outcomes_compute
from followup.tests.dashboard_world import build_world
from followup.tests.support import treated_participant
from trials.models import Site

URL = reverse("study-dashboard", args=["MSC-ITP-5"])


def counts(html: str) -> dict[str, int]:
    return {key: int(n) for key, n in re.findall(
        r'<div class="consort-box[^"]*" data-count="(\w+)"><span>[^<]*</span><strong>(\d+)</strong>', html)}


def rows(html: str, testid: str) -> list[list[str]]:
    table = html.split(f'data-testid="{testid}"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_every_figure_of_the_fixture_study(client, p3, coordinator, investigator, make_user):
    world = build_world(p3, coordinator)
    client.force_login(investigator)  # PUMCH only: X (at XH) is never counted
    response = client.get(URL)
    html = response.content.decode()

    assert counts(html) == {"screened": 7, "failed": 1, "pending": 1, "eligible_not_enrolled": 0, "consented": 5,
                            "enrolled": 5, "not_treated": 2, "treated": 3, "on_treatment": 3, "follow_up": 0,
                            "completed": 0, "withdrawn": 1}
    assert '<li data-criterion="compliance"><span class="consort-n">1</span>' in html
    assert '<li data-reason="adverse_event"><span class="consort-n">1</span> Adverse event</li>' in html
    # A CR, B NR, C NE (one NR count): 1/3 treated, 1/2 evaluable; exact 1/3 = 0.0084-0.9057, 1/2 = 0.0126-0.9874
    assert rows(html, "outcomes") == [
        ["MSC", "3", "2", "1", "1", "33.3 % (0.8-90.6 %)", "6.1-79.2 %", "50.0 % (1.3-98.7 %)"],
        ["all", "3", "2", "1", "1", "33.3 % (0.8-90.6 %)", "6.1-79.2 %", "50.0 % (1.3-98.7 %)"]]
    # A's response from day 30, censored at day 37: 7 days = 0.2 months, 1 responder at risk at 0
    assert rows(html, "duration-of-response")[-1][:4] == ["all", "1", "0", "1"]
    assert 'data-at-risk="1"' in html
    # baseline 15; best after day 0: A 125 (+733.3 %), B 25 (+66.7 %), C 20 (+33.3 %)
    data = response.context["data"]
    (platelets,) = data.analytes
    assert [(label[-3:], baseline, best, change) for label, baseline, best, change in platelets.changes] == [
        ("001", 15.0, 125.0, 733.3), ("002", 15.0, 25.0, 66.7), ("003", 15.0, 20.0, 33.3)]
    assert platelets.thresholds == [(30.0, "R 30"), (100.0, "CR 100")]
    assert [s.points for s in platelets.series] == [((0, 15.0), (30, 110.0), (37, 125.0)),
                                                    ((0, 15.0), (30, 22.0), (60, 25.0), (90, 19.0)),
                                                    ((0, 15.0), (30, 20.0))]
    assert html.count('class="series"') == 3 and html.count('class="threshold"') == 2
    assert html.count('<rect class="bar rising"') == 3
    # swimmer: 420 days each (first infusion 420 days ago), A's response on day 30, A's SAE today
    assert [(r.label[-3:], r.days_on_study, r.infusions, r.response, r.loss, r.serious_events)
            for r in data.swimmer_rows] == [("001", 420, (0,), 30, None, (420,)), ("002", 420, (0,), None, None, ()),
                                           ("003", 420, (0,), None, None, ())]
    assert html.count('class="response-mark"') == 1 and html.count('class="sae-mark"') == 1
    assert html.count("<svg") == 5 and html.count("<details") == 5  # spaghetti, waterfall, swimmer, 2 KM
    # safety: B's fever counts once at grade 2; A's lung infection grade 3 and serious; X's fever not counted
    assert rows(html, "adverse-events-by-grade") == [["Fever", "1", "0", "1", "0", "0", "0", "0", "0"],
                                                     ["Lung infection", "1", "0", "0", "1", "0", "0", "0", "1"]]
    assert "1 serious adverse events in 1 participants." in html
    # DLTs: A, B, C (1 of 5 infusions: not evaluable, assessment open) and D; G withdrew untreated
    assert rows(html, "dlts") == [["MSC", "4", "0", "0", "4", "—"]]

    # An investigator of both sites sees X; choosing XH shows X alone
    make_user("investigator", username="zhou")
    both = make_user("investigator", site="XH", username="zhou")
    client.force_login(both)
    everyone = client.get(URL).content.decode()
    assert (counts(everyone)["treated"], rows(everyone, "outcomes")[-1][5]) == (4, "50.0 % (6.8-93.2 %)")
    assert rows(everyone, "adverse-events-by-grade")[0] == ["Fever", "2", "0", "1", "0", "1", "0", "0", "1"]
    xh = client.get(URL, {"site": Site.objects.get(code="XH").pk}).content.decode()
    assert counts(xh)["screened"] == 1 and counts(xh)["treated"] == 1
    assert rows(xh, "outcomes")[-1][:6] == ["all", "1", "1", "1", "1", "100.0 % (2.5-100.0 %)"]
    assert world.x.study_number in xh and world.a.study_number not in xh

    # The PUMCH investigator cannot choose XH: the filter is refused and shows their sites only
    client.force_login(investigator)
    refused = client.get(URL, {"site": Site.objects.get(code="XH").pk})
    assert refused.context["form"].errors["site"] and counts(refused.content.decode())["treated"] == 3


def test_filters_by_disease_and_arm(client, p3, coordinator, investigator):
    treated_participant(coordinator, [(30, 110), (37, 125)])
    client.force_login(investigator)
    arm = p3.arms.get()
    assert counts(client.get(URL, {"group": f"arm-{arm.pk}"}).content.decode())["treated"] == 1
    none = client.get(URL, {"disease": "ITP", "group": f"arm-{arm.pk}"}).content.decode()
    assert counts(none)["enrolled"] == 1
    ignored = client.get(URL, {"disease": "AIHA", "group": "level-999"})
    assert set(ignored.context["form"].errors) == {"disease", "group"}
    assert counts(ignored.content.decode())["treated"] == 1


@pytest.mark.parametrize("role", ["investigator", "monitor", "data_manager", "admin", "coordinator"])
def test_every_role_of_the_site_reads_it(client, p3, make_user, role):
    client.force_login(make_user(role))
    response = client.get(URL)
    assert response.status_code == 200 and 'data-testid="dashboard-consort"' in response.content.decode()


def test_study_of_other_sites_is_not_found_and_anonymous_sign_in(client, p3, make_user):
    assert client.get(URL).status_code == 302
    client.force_login(make_user("investigator", site="XH"))
    assert client.get(URL).status_code == 404


def test_study_page_links_to_the_dashboard(client, p3, investigator):
    client.force_login(investigator)
    html = client.get(reverse("study-detail", args=["MSC-ITP-5"])).content.decode()
    assert f'href="{URL}" data-testid="dashboard-link"' in html


@pytest.mark.parametrize("snapshot", [False, True], ids=["computed-live", "from-the-snapshot"])
def test_statements_do_not_grow_with_the_participants(client, p3, coordinator, investigator, snapshot,
                                                      monkeypatch):
    """The same statements for 1 participant as for 50: without an outcomes snapshot every response is
    computed from five reads of plain values; with an up-to-date one it is read as stored. Read again
    without a write between, the page is the cached one: fewer statements, the same for 1 and 50."""
    def treated(n):
        for i in range(n):
            treated_participant(coordinator, [(30, 110), (37, 125)] if i % 2 else [(30, 20), (31, 18)])

    def statements(n):
        if snapshot:
            outcomes_compute(study=p3)
        with monkeypatch.context() as patched, CaptureQueriesContext(connection) as captured:
            patched.setattr(dashboard_cache, "read", lambda entries: {})  # built, as on its first read
            data = client.get(URL).context["data"]
        assert data.consort.treated == n and data.swimmer_total == n
        with CaptureQueriesContext(connection) as again:
            assert "data" not in client.get(URL).context  # read from the cache
        return len(captured.captured_queries), len(again.captured_queries)

    client.force_login(investigator)
    treated(1)
    client.get(URL)  # warm the session and content types
    one, cached = statements(1)
    treated(49)
    assert statements(50) == (one, cached)
    assert one <= (16 if snapshot else 21) and cached <= 8


def test_large_cohorts_get_bounded_charts(client, p3, coordinator, investigator, monkeypatch):
    """Above the limit of individual lines (lowered here to 2 so that the fixture's 3 treated are
    "many"), the spaghetti is the median and interquartile band per day, the waterfall a histogram,
    and the swimmer plot shows a page of lanes with the total and a link to the next page."""
    monkeypatch.setattr(dashboard_charts, "INDIVIDUAL_LIMIT", 2)
    monkeypatch.setattr(dashboard_charts, "SWIMMER_PAGE", 2)
    build_world(p3, coordinator)
    client.force_login(investigator)
    response = client.get(URL, {"disease": "ITP"})
    html = response.content.decode()
    (platelets,) = response.context["data"].analytes
    assert platelets.spaghetti is None and platelets.waterfall is None
    # days 0 (15, 15, 15), 30 (110, 22, 20), 37 (125), 60 (25), 90 (19)
    assert [(s.day, s.participants, s.low, s.median, s.high) for s in platelets.spreads] == [
        (0, 3, 15.0, 15.0, 15.0), (30, 3, 21.0, 22.0, 66.0), (37, 1, 125.0, 125.0, 125.0),
        (60, 1, 25.0, 25.0, 25.0), (90, 1, 19.0, 19.0, 19.0)]
    assert 'class="series"' not in html and html.count('class="median"') == 1 and html.count('class="spread"') == 1
    # changes 733.3, 66.7, 33.3 in bins of 50 from 0: two in the first two bins, one in the last
    bins = platelets.histogram.bins
    assert (bins[0].low, bins[-1].high, sum(b.participants for b in bins)) == (0, 750, 3)
    assert [b.participants for b in bins if b.participants] == [1, 1, 1]
    assert html.count('class="bar rising"') == len(bins) and 'data-testid="histogram-note"' in html
    assert "Participants 1 to 2 of 3 treated, longest on study first." in html
    assert "lanes=2" in html and "disease=ITP" in html
    assert html.count('class="lane') == 2 and html.count("<svg") == 5 and html.count("<details") == 5
    second = client.get(URL, {"disease": "ITP", "lanes": "2"}).content.decode()
    assert "Participants 3 to 3 of 3 treated, longest on study first." in second and second.count('class="lane') == 1
    assert client.get(URL, {"lanes": "99999"}).context["data"].swimmer_page == 2  # beyond the last: the last


def test_current_results_read_among_a_query_of_the_participants(p3, coordinator):
    """The dashboard reads the stored results of the participants shown through a subquery of them
    (`among`) rather than a list of their ids: the same results either way, the participant without a
    stored result computed again, a participant of another site never read."""
    world = build_world(p3, coordinator)
    outcomes_compute(study=p3)
    OutcomeResult.objects.filter(participant=world.b).delete()  # as if changed after the snapshot
    shown = Participant.objects.filter(study=p3, site__code="PUMCH")
    rows = participant_rows(p3, set(shown.values_list("pk", flat=True)))
    sets = study_sets(p3)

    by_ids = current_results(p3, rows, sets)
    assert current_results(p3, rows, sets, among=shown.values("pk")) == by_ids
    assert set(by_ids) == {str(row.pk) for row in rows} and str(world.x.pk) not in by_ids
    assert by_ids[str(world.a.pk)][0] == "CR" and by_ids[str(world.b.pk)][0] == "NR"
    assert by_ids[str(world.d.pk)] is None  # enrolled, never treated
