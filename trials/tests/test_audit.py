"""Every change leaves an audit row with who, when and why; the audit page shows it."""
import pytest
from django.urls import reverse

from trials.accounts import user_upsert
from trials.audit import (
    AuditReasonRequired,
    _answer_changes,
    audited_delete,
    audited_save,
    change_context,
    mark_change,
)
from trials.items import ItemSpec
from trials.models import DoseLevel, Site, SiteMembership, Study, VisitDefinition


def test_change_without_reason_is_refused_and_nothing_is_written(studies, make_user):
    visit = VisitDefinition.objects.get(study__code="MSC-ITP-5", code="D14")
    rows_before = visit.history.count()
    visit.window_after = 4
    with pytest.raises(AuditReasonRequired, match="A reason is required to change or delete visit MSC-ITP-5 / D14"):
        audited_save(visit, by=make_user("admin"), reason="  ")
    visit.refresh_from_db()
    assert visit.window_after == 3
    assert visit.history.count() == rows_before


def test_plain_save_without_reason_is_refused(studies):
    level = DoseLevel.objects.get(arm__study__code="HUCMSC-ITP-ESC", code="B")
    level.status = "open"
    with pytest.raises(AuditReasonRequired):
        level.save()


@pytest.mark.django_db(transaction=True)
def test_plain_save_without_reason_is_refused_before_the_row_is_written(studies):
    # Autocommit: no transaction around the save would roll an UPDATE back.
    level = DoseLevel.objects.get(arm__study__code="HUCMSC-ITP-ESC", code="B")
    status, rows_before = level.status, level.history.count()
    level.status = "closed" if status != "closed" else "open"
    with pytest.raises(AuditReasonRequired):
        level.save()
    assert DoseLevel.objects.get(pk=level.pk).status == status
    assert level.history.count() == rows_before


@pytest.mark.django_db(transaction=True)
def test_a_new_instance_with_an_existing_rows_key_needs_a_reason_too(studies):
    site = Site.objects.get(code="PUMCH")
    with pytest.raises(AuditReasonRequired):
        Site(pk=site.pk, code="PUMCH", name="Renamed").save()
    assert Site.objects.get(pk=site.pk).name == site.name


@pytest.mark.django_db(transaction=True)
def test_plain_and_queryset_deletion_without_reason_are_refused_before_the_delete(studies):
    arm = Study.objects.get(code="MSC-ITP-5").arms.get()
    with pytest.raises(AuditReasonRequired):
        arm.delete()
    with pytest.raises(AuditReasonRequired):
        DoseLevel.objects.filter(arm=arm).delete()
    assert DoseLevel.objects.filter(arm=arm).count() == 1
    assert not DoseLevel.history.filter(history_type="-", arm_id=arm.pk).exists()


def test_a_reason_given_by_the_change_in_progress_lets_a_plain_save_through(studies, make_user):
    admin = make_user("admin")
    level = DoseLevel.objects.get(arm__study__code="HUCMSC-ITP-ESC", code="B")
    level.status = "closed"
    with change_context(by=admin, reason="Cohort full"):
        level.save()
    latest = level.history.first()
    assert (latest.status, latest.history_change_reason, latest.history_user) == ("closed", "Cohort full", admin)


def test_change_with_reason_records_user_time_reason_and_values(studies, make_user):
    admin = make_user("admin")
    visit = VisitDefinition.objects.get(study__code="MSC-ITP-5", code="D14")
    visit.window_after = 4
    audited_save(visit, by=admin, reason="Protocol amendment 2: wider D14 window")
    latest, previous = visit.history.all()[:2]
    assert (latest.history_type, latest.history_user, latest.history_change_reason) == (
        "~", admin, "Protocol amendment 2: wider D14 window")
    assert (previous.window_after, latest.window_after) == (3, 4)
    assert latest.history_date is not None


def test_creation_needs_no_reason(studies, make_user):
    site = Site(code="NEW", name="New hospital")
    audited_save(site, by=make_user("admin"))
    assert site.history.get().history_type == "+"


def test_deleting_cascades_with_the_same_reason(studies, make_user):
    admin = make_user("admin")
    arm = Study.objects.get(code="MSC-ITP-5").arms.get()
    arm_pk = arm.pk
    audited_delete(arm, by=admin, reason="Arm entered by mistake")
    deleted_levels = DoseLevel.history.filter(history_type="-", arm_id=arm_pk)
    assert [(row.code, row.history_change_reason, row.history_user) for row in deleted_levels] == [
        ("STD", "Arm entered by mistake", admin)]


def test_site_links_of_a_study_are_audited(studies, make_user):
    admin = make_user("admin")
    study = Study.objects.get(code="UCB-IRIC")
    site = Site.objects.create(code="SECOND", name="Second hospital")
    study._change_reason, study._history_user = "Second site opens", admin
    study.sites.add(site)
    latest = study.history.first()
    assert latest.history_change_reason == "Second site opens"
    assert sorted(s.site.code for s in latest.sites.all()) == ["PUMCH", "SECOND"]


def test_a_studys_sites_read_by_name_on_its_audit_page(client, studies, make_user):
    admin = make_user("admin")
    study = Study.objects.get(code="UCB-IRIC")
    site = Site.objects.create(code="SECOND", name="Second hospital")
    study._change_reason, study._history_user = "Second site opens", admin
    study.sites.add(site)
    client.force_login(admin)

    latest = client.get(reverse("audit-trail", args=["study", study.pk])).context["entries"][0]

    assert latest.reason == "Second site opens"
    assert [(c.field, c.old, c.new) for c in latest.changes] == [
        ("sites", "PUMCH - Peking Union Medical College Hospital, Beijing",
         "PUMCH - Peking Union Medical College Hospital, Beijing; SECOND - Second hospital")]


def test_membership_role_change_is_audited(studies, make_user):
    user = make_user("coordinator", username="lin")
    user_upsert(username="lin", role="investigator", site_code="PUMCH")
    membership = SiteMembership.objects.get(user=user)
    assert [(h.role, h.history_change_reason) for h in membership.history.all()] == [
        ("investigator", "Role changed to investigator"), ("coordinator", "User added to the site")]


def test_audit_page_shows_who_what_from_what_to_what_and_why(client, studies, make_user):
    admin = make_user("admin", username="dr-admin")
    visit = VisitDefinition.objects.get(study__code="MSC-ITP-5", code="D14")
    visit.window_after = 5
    audited_save(visit, by=admin, reason="Amendment 3")
    client.force_login(make_user("monitor"))
    response = client.get(reverse("audit-trail", args=["visit-definition", visit.pk]))
    assert response.status_code == 200
    latest = response.context["entries"][0]
    assert (latest.who, latest.action, latest.reason) == ("dr-admin", "changed", "Amendment 3")
    assert [(c.field, c.old, c.new) for c in latest.changes] == [("window after", 3, 5)]
    html = response.content.decode()
    assert "Amendment 3" in html and "<del>3</del>" in html


def test_audit_page_of_another_sites_record_is_not_found(client, other_site_study, make_user):
    client.force_login(make_user("monitor"))
    assert client.get(reverse("audit-trail", args=["study", other_site_study.pk])).status_code == 404
    assert client.get(reverse("audit-trail", args=["no-such-kind", 1])).status_code == 404


def test_an_answer_reads_by_its_items_label_and_as_recorded_without_an_item_or_of_another_type():
    specs = {"qol": ItemSpec(code="qol", label="Quality of life", type="number", unit="points"),
             "finding": ItemSpec(code="finding", label="Finding", type="multi_choice",
                                 choices=(("normal", "Normal"), ("hypo", "Hypocellular")))}

    changes = _answer_changes("items", {"qol": 70, "finding": ["normal"], "gone": "x"},
                              {"qol": "seventy", "finding": ["normal", "hypo"], "gone": "y"}, specs)

    assert [(c.field, c.old, c.new) for c in changes] == [
        ("items › Finding (finding)", "Normal", "Normal, Hypocellular"),
        ("items › gone", "x", "y"),  # no such item in the study
        ("items › Quality of life (qol)", "70 points", "seventy"),  # recorded before its type was a number
    ]


def test_a_change_cannot_skip_its_history_even_with_a_reason(studies, make_user):
    level = DoseLevel.objects.get(arm__study__code="HUCMSC-ITP-ESC", code="B")
    rows_before = level.history.count()
    level.status = "closed"
    mark_change(level, by=make_user("admin"), reason="Cohort full")
    with pytest.raises(AuditReasonRequired, match="keeps its history"):
        level.save_without_historical_record()
    assert DoseLevel.objects.get(pk=level.pk).status != "closed"
    assert level.history.count() == rows_before
