"""The study-level data lock (`trials.locks`): a freeze for analysis that locks every record of the
study at once; a data manager or an administrator of every site of the study locks it with a
reason, only an administrator unlocks it. Through the API, the services and the study page."""
import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from enrollment.locks import casebook_lock
from trials import hooks
from trials.audit_context import change_context
from trials.errors import ConflictError
from trials.locks import study_lock, study_unlock
from trials.models import Study
from trials.tests.support import client_for

from .support import history_rows

CODE = "MSC-ITP-5"  # run at PUMCH only


def _lock(user, reason="Database lock for the final analysis", code=CODE):
    return client_for(user).post(reverse("api-study-lock", args=[code]), {"reason": reason}, format="json")


def _unlock(user, reason="Late query from the sponsor", code=CODE):
    return client_for(user).post(reverse("api-study-unlock", args=[code]), {"reason": reason}, format="json")


@pytest.mark.parametrize("role", ["data_manager", "admin"])
def test_study_lock_by_data_manager_or_admin_stores_who_when_why(studies, make_user, role):
    user = make_user(role)

    response = _lock(user)

    assert response.status_code == 200, response.content
    assert response.json()["locked"] is True and response.json()["locked_by"] == user.username
    study = Study.objects.get(code=CODE)
    assert (study.locked_by, study.lock_reason) == (user, "Database lock for the final analysis")
    last = study.history.first()
    assert (last.history_user, last.history_change_reason) == (
        user, "Study data locked: Database lock for the final analysis")


def test_study_representation_shows_the_lock(studies, make_user, coordinator):
    manager = make_user("data_manager")
    _lock(manager)

    detail = client_for(coordinator).get(reverse("api-study-detail", args=[CODE])).json()
    listed = {row["code"]: row for row in client_for(coordinator).get(reverse("api-study-list")).json()}[CODE]

    for body in (detail, listed):
        assert (body["locked"], body["locked_by"], body["lock_reason"]) == (
            True, manager.username, "Database lock for the final analysis")
        assert body["locked_at"]


def test_participant_of_a_locked_study_is_shown_locked_by_its_study(participant, make_user, coordinator):
    manager = make_user("data_manager")
    _lock(manager)

    body = client_for(coordinator).get(reverse("api-participant-detail", args=[participant.pk])).json()

    assert (body["locked"], body["lock_scope"], body["locked_by"]) == (True, "study", manager.username)


@pytest.mark.parametrize("role", ["coordinator", "investigator", "monitor"])
def test_study_lock_by_another_role_is_403_and_writes_nothing(studies, make_user, role):
    user = make_user(role)
    before = history_rows()

    assert _lock(user).status_code == 403
    assert Study.objects.get(code=CODE).locked_at is None
    assert history_rows() == before


def test_study_lock_of_another_sites_study_is_404(studies, other_site_study, make_user):
    assert _lock(make_user("admin"), code=other_site_study.code).status_code == 404
    assert Study.objects.get(code=other_site_study.code).locked_at is None


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "x" * 101}])
def test_study_lock_without_a_reason_is_400_on_reason(studies, make_user, body):
    response = client_for(make_user("admin")).post(reverse("api-study-lock", args=[CODE]), body, format="json")

    assert response.status_code == 400 and list(response.json()["errors"]) == ["reason"]
    assert Study.objects.get(code=CODE).locked_at is None


def test_study_lock_of_a_locked_study_is_409(studies, make_user):
    _lock(make_user("admin"))

    response = _lock(make_user("data_manager"), reason="Again")

    assert response.status_code == 409 and "already locked" in response.json()["errors"]["lock"][0]


@pytest.mark.parametrize("role", ["data_manager", "coordinator", "investigator", "monitor"])
def test_study_unlock_by_anyone_but_an_admin_is_403(studies, make_user, role):
    _lock(make_user("admin"))

    assert _unlock(make_user(role)).status_code == 403
    assert Study.objects.get(code=CODE).locked_at is not None


def test_study_unlock_by_an_admin_clears_the_lock_and_keeps_the_history(studies, make_user):
    admin = make_user("admin")
    assert _unlock(admin).status_code == 409  # not locked
    _lock(make_user("data_manager"))
    assert client_for(admin).post(reverse("api-study-unlock", args=[CODE]), {}, format="json").status_code == 400

    response = _unlock(admin)

    assert response.status_code == 200 and response.json()["locked"] is False
    study = Study.objects.get(code=CODE)
    assert (study.locked_at, study.locked_by, study.lock_reason) == (None, None, "")
    assert [h.history_change_reason for h in study.history.all()[:2]] == [
        "Study data unlocked: Late query from the sponsor", "Study data locked: Database lock for the final analysis"]


def test_study_unlock_of_another_sites_study_is_404(studies, other_site_study, make_user):
    assert _unlock(make_user("admin"), code=other_site_study.code).status_code == 404


def test_study_lock_needs_the_role_at_every_site_of_the_study(studies, make_user):
    study = Study.objects.get(code=CODE)
    manager = make_user("data_manager")
    make_user("coordinator", site="XH", username=manager.username)  # a second site, another role there
    with_xh = make_user("admin", site="XH")
    with change_context(by=None, reason="test setup"):
        study.sites.add(with_xh.memberships.get().site)

    with pytest.raises(PermissionDenied) as refused:
        study_lock(study=Study.objects.get(code=CODE), by=manager, reason="Freeze")

    assert "every site" in str(refused.value)
    assert Study.objects.get(code=CODE).locked_at is None


def test_study_unlock_leaves_a_casebook_locked_on_its_own_locked(participant, make_user, monkeypatch):
    monkeypatch.setattr(hooks.casebook_signed, "_receivers", [lambda *, participant: True])
    admin = make_user("admin")
    casebook_lock(participant=participant, by=admin, reason="Signed")
    study = Study.objects.get(code=CODE)
    study_lock(study=study, by=admin, reason="Freeze")
    with pytest.raises(ConflictError):
        study_lock(study=study, by=admin, reason="Freeze")

    study_unlock(study=study, by=admin, reason="Thaw")

    body = client_for(admin).get(reverse("api-participant-detail", args=[participant.pk])).json()
    assert (body["locked"], body["lock_scope"]) == (True, "casebook")


# --- the study page ------------------------------------------------------------------------------------

def _page(client):
    return client.get(reverse("study-detail", args=[CODE])).content.decode()


def test_study_page_lock_form_for_data_manager_and_admin_only(client, studies, make_user, coordinator):
    client.force_login(make_user("data_manager"))
    assert 'data-testid="study-lock-form"' in _page(client)
    client.force_login(coordinator)
    assert 'data-testid="study-lock-form"' not in _page(client)


def test_study_page_locks_shows_the_banner_and_an_admin_unlocks(client, studies, make_user, coordinator):
    manager, admin = make_user("data_manager"), make_user("admin")
    client.force_login(manager)

    assert client.post(reverse("study-lock", args=[CODE]), {"reason": "Final analysis"}).status_code == 302

    page = _page(client)
    assert 'data-testid="study-lock"' in page and "Final analysis" in page and manager.username in page
    assert 'data-testid="study-unlock-form"' not in page
    client.force_login(coordinator)
    assert 'data-testid="study-lock"' in _page(client)
    client.force_login(admin)
    assert 'data-testid="study-unlock-form"' in _page(client)
    client.post(reverse("study-unlock", args=[CODE]), {"reason": "Late query"})
    assert Study.objects.get(code=CODE).locked_at is None


def test_study_page_lock_without_reason_is_refused_with_a_message(client, studies, make_user):
    client.force_login(make_user("admin"))

    response = client.post(reverse("study-lock", args=[CODE]), {"reason": ""}, follow=True)

    assert "Say why" in response.content.decode()
    assert Study.objects.get(code=CODE).locked_at is None


def test_study_page_lock_by_a_coordinator_is_403(client, studies, coordinator):
    client.force_login(coordinator)

    assert client.post(reverse("study-lock", args=[CODE]), {"reason": "x"}).status_code == 403
