"""The study dashboard's parts cached each under the kinds of data it reads
(`followup.dashboard_cache.DEPENDS`): a committed write rebuilds exactly the parts that read its kind,
and the page then equals a build of every part from nothing (never a stale part)."""
import pytest
from django.apps import apps
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from enrollment.tests.support import create_screening
from followup import dashboard_version
from followup.models import LabResult, OutcomeResult
from followup.outcomes import outcomes_compute
from followup.tests.dashboard_world import build_world, graded
from trials.tests.support import change_context

URL = reverse("study-dashboard", args=["MSC-ITP-5"])


def rebuilt(response) -> tuple:
    """The parts built for this request (none: all from the cache)."""
    return response.context["data"].built if "data" in response.context else ()


def full_build(client) -> str:
    cache.clear()
    return str(client.get(URL).context["body"])


@pytest.mark.django_db(transaction=True)
def test_a_write_rebuilds_exactly_the_parts_that_read_it(client, p3, coordinator, investigator):
    world = build_world(p3, coordinator)
    outcomes_compute(study=p3)
    client.force_login(investigator)
    assert rebuilt(client.get(URL)) == ("flow", "outcomes", "safety")
    assert rebuilt(client.get(URL)) == ()

    def lab():
        count = LabResult.objects.filter(assessment__participant=world.a).order_by("pk").last()
        count.value += 40
        with change_context(by=coordinator, reason="Corrected"):
            count.save()

    def decision():
        with change_context(by=coordinator, reason="Dashboard parts test"):
            apps.get_model("dosing", "EscalationDecision").objects.create(
                study=p3, action="escalate", level=apps.get_model("trials", "DoseLevel").objects.filter(
                    arm__study=p3).first(), proposal_action="escalate", proposal_message={},
                signed_by=coordinator, signed_at=timezone.now())

    def screening():
        with change_context(by=coordinator, reason="Dashboard parts test"):
            world.pending.save()

    writes = [
        ("a lab count", lab, ("outcomes",)),
        ("the stored outcomes", lambda: OutcomeResult.objects.filter(participant=world.b).update(best="CR"),
         ("outcomes",)),
        ("an adverse event", lambda: graded(world.b, coordinator, "Headache", 2, serious=True),
         ("outcomes", "safety")),
        ("an escalation decision", decision, ("safety",)),
        ("a screening", screening, ("flow", "outcomes", "safety")),
    ]
    for name, write, parts in writes:
        before = dashboard_version.of_kinds(p3.pk)
        write()
        after = dashboard_version.of_kinds(p3.pk)
        assert after["all"] != before["all"], name
        page = client.get(URL)
        assert rebuilt(page) == parts, name
        shown = str(page.context["body"])
        assert rebuilt(client.get(URL)) == (), name  # cached again
        assert shown == full_build(client), name  # the same as every part built from nothing
        client.get(URL)


@pytest.mark.django_db(transaction=True)
def test_each_tracked_table_raises_its_kind_alone(p3, coordinator):
    """Every tracked table names its kind; a write of a kind draws that kind's token again and leaves
    the other kinds' tokens."""
    assert set(dashboard_version.KIND_OF.values()) == set(dashboard_version.KINDS)
    assert {name for _app, name, _how, _kind in dashboard_version.TRACKED} == set(dashboard_version.KIND_OF)
    create_screening(coordinator)
    before = dashboard_version.of_kinds(p3.pk)
    create_screening(coordinator)
    after = dashboard_version.of_kinds(p3.pk)
    moved = {kind for kind in dashboard_version.KINDS if after[kind] != before[kind]}
    assert moved == {"screenings"}
    assert after["screenings"] != "0"
