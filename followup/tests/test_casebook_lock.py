"""A participant's casebook lock (`enrollment.locks`): a data manager or an administrator of the
site locks a casebook its investigator has signed, with a reason; only an administrator unlocks it.
Through the API, the services and the participant page."""
import pytest
from django.urls import reverse

from enrollment.locks import casebook_lock, casebook_unlock
from enrollment.models import Participant
from followup import signoff
from trials import hooks
from trials.errors import ConflictError, ServiceError
from trials.tests.support import SIGNER_PASSWORD, client_for

from .support import history_rows


@pytest.fixture
def signed(monkeypatch):
    """The participant's casebook signed by the investigator (`trials.hooks.casebook_signed`)."""
    monkeypatch.setattr(hooks.casebook_signed, "_receivers", [lambda *, participant: True])


def _lock(user, participant, reason="Casebook signed and cleaned"):
    return client_for(user).post(reverse("api-participant-lock", args=[participant.pk]), {"reason": reason},
                                 format="json")


def _unlock(user, participant, reason="Query reopened by the sponsor"):
    return client_for(user).post(reverse("api-participant-unlock", args=[participant.pk]), {"reason": reason},
                                 format="json")


@pytest.mark.parametrize("role", ["data_manager", "admin"])
def test_casebook_lock_by_data_manager_or_admin_stores_who_when_why(participant, make_user, signed, role):
    user = make_user(role)

    response = _lock(user, participant)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["locked"] is True and body["locked_by"] == user.username
    assert body["lock_reason"] == "Casebook signed and cleaned" and body["lock_scope"] == "casebook"
    row = Participant.objects.get(pk=participant.pk)
    assert (row.locked_by, row.lock_reason) == (user, "Casebook signed and cleaned") and row.locked_at is not None
    last = row.history.first()
    assert last.history_user == user and last.history_change_reason == "Casebook locked: Casebook signed and cleaned"
    assert last.locked_at == row.locked_at


def test_participant_representation_shows_the_lock(participant, make_user, coordinator, signed):
    manager = make_user("data_manager")
    url = reverse("api-participant-detail", args=[participant.pk])
    assert client_for(coordinator).get(url).json()["locked"] is False

    _lock(manager, participant)

    body = client_for(coordinator).get(url).json()
    assert (body["locked"], body["locked_by"], body["lock_reason"], body["lock_scope"]) == (
        True, manager.username, "Casebook signed and cleaned", "casebook")
    assert body["locked_at"]


@pytest.mark.parametrize("role", ["coordinator", "investigator", "monitor"])
def test_casebook_lock_by_another_role_is_403_and_writes_nothing(participant, make_user, signed, role):
    user = make_user(role)
    before = history_rows()

    response = _lock(user, participant)

    assert response.status_code == 403, response.content
    assert Participant.objects.get(pk=participant.pk).locked_at is None
    assert history_rows() == before


def test_casebook_lock_of_another_sites_participant_is_404(participant, make_user, signed):
    response = _lock(make_user("data_manager", site="XH"), participant)

    assert response.status_code == 404
    assert Participant.objects.get(pk=participant.pk).locked_at is None


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 101}])
def test_casebook_lock_without_a_reason_is_400_on_reason(participant, make_user, signed, body):
    response = client_for(make_user("admin")).post(reverse("api-participant-lock", args=[participant.pk]), body,
                                                   format="json")

    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == ["reason"]
    assert Participant.objects.get(pk=participant.pk).locked_at is None


def test_casebook_lock_of_an_unsigned_casebook_is_409_on_signature(participant, make_user):
    manager = make_user("data_manager")
    before = history_rows()

    response = _lock(manager, participant)

    assert response.status_code == 409, response.content
    assert "not signed by an investigator" in response.json()["errors"]["signature"][0]
    assert Participant.objects.get(pk=participant.pk).locked_at is None
    assert history_rows() == before


def test_casebook_lock_asks_the_hook_about_this_participant(participant, make_user, monkeypatch):
    asked = []
    monkeypatch.setattr(hooks.casebook_signed, "_receivers",
                        [lambda *, participant: asked.append(participant.pk) or True])

    assert _lock(make_user("admin"), participant).status_code == 200
    assert asked == [participant.pk]


def test_casebook_lock_of_a_locked_casebook_is_409(participant, make_user, signed):
    manager = make_user("data_manager")
    _lock(manager, participant)

    response = _lock(make_user("admin"), participant, reason="Again")

    assert response.status_code == 409
    assert "already locked" in response.json()["errors"]["lock"][0]
    assert Participant.objects.get(pk=participant.pk).locked_by == manager


def test_casebook_unlock_by_an_admin_clears_the_lock_and_keeps_the_history(participant, make_user, signed):
    admin = make_user("admin")
    _lock(make_user("data_manager"), participant)

    response = _unlock(admin, participant)

    assert response.status_code == 200, response.content
    assert response.json()["locked"] is False
    row = Participant.objects.get(pk=participant.pk)
    assert (row.locked_at, row.locked_by, row.lock_reason) == (None, None, "")
    reasons = [h.history_change_reason for h in row.history.all()[:2]]
    assert reasons == ["Casebook unlocked: Query reopened by the sponsor",
                       "Casebook locked: Casebook signed and cleaned"]


@pytest.mark.parametrize("role", ["data_manager", "coordinator", "investigator", "monitor"])
def test_casebook_unlock_by_anyone_but_an_admin_is_403(participant, make_user, signed, role):
    _lock(make_user("admin"), participant)

    response = _unlock(make_user(role), participant)

    assert response.status_code == 403
    assert Participant.objects.get(pk=participant.pk).locked_at is not None


def test_casebook_unlock_of_another_sites_participant_is_404(participant, make_user, signed):
    _lock(make_user("admin"), participant)

    assert _unlock(make_user("admin", site="XH"), participant).status_code == 404


def test_casebook_unlock_without_a_reason_is_400_and_of_an_unlocked_casebook_409(participant, make_user, signed):
    admin = make_user("admin")
    assert _unlock(admin, participant).status_code == 409
    _lock(admin, participant)

    response = client_for(admin).post(reverse("api-participant-unlock", args=[participant.pk]), {}, format="json")

    assert response.status_code == 400 and list(response.json()["errors"]) == ["reason"]
    assert Participant.objects.get(pk=participant.pk).locked_at is not None


def test_casebook_services_refuse_like_the_api(participant, make_user, signed):
    admin = make_user("admin")
    with pytest.raises(ServiceError) as missing:
        casebook_lock(participant=participant, by=admin, reason=" ")
    assert list(missing.value.errors) == ["reason"]
    casebook_lock(participant=participant, by=admin, reason="Signed")
    with pytest.raises(ConflictError):
        casebook_lock(participant=participant, by=admin, reason="Signed")
    casebook_unlock(participant=participant, by=admin, reason="Reopened")
    assert participant.locked_at is None and Participant.objects.get(pk=participant.pk).locked_at is None


def test_casebook_lock_without_any_answer_to_the_signature_hook_is_refused(participant, make_user, monkeypatch):
    """Until an app answers whether a casebook is signed, no casebook is locked (a missing app shows)."""
    monkeypatch.setattr(hooks.casebook_signed, "_receivers", [])

    with pytest.raises(LookupError):
        casebook_lock(participant=participant, by=make_user("admin"), reason="Signed")
    assert Participant.objects.get(pk=participant.pk).locked_at is None


def test_casebook_signed_by_the_investigator_is_locked_and_stays_signed_until_unlocked(participant, make_user,
                                                                                      investigator):
    """With the sign-off's own answer (`followup.signoff.casebook_signed`): the lock changes no
    data, so the signature holds while locked; an unlock opens the casebook, which is signed again
    before it is locked again."""
    admin = make_user("admin")
    signoff.casebook_sign(participant=participant, password=SIGNER_PASSWORD, by=investigator)

    assert _lock(make_user("data_manager"), participant).status_code == 200
    assert signoff.casebook_signed(participant) is True
    assert _unlock(admin, participant).status_code == 200
    assert signoff.casebook_signed(participant) is False
    assert _lock(admin, participant).status_code == 409
    signoff.casebook_sign(participant=participant, password=SIGNER_PASSWORD, by=investigator)
    assert _lock(admin, participant).status_code == 200


# --- the participant page ------------------------------------------------------------------------------

def _page(client, participant):
    return client.get(reverse("participant-detail", args=[participant.pk]))


def test_participant_page_offers_the_lock_form_to_a_data_manager_only(client, participant, make_user, coordinator):
    client.force_login(make_user("data_manager"))
    assert b'data-testid="casebook-lock-form"' in _page(client, participant).content
    client.force_login(coordinator)
    page = _page(client, participant).content
    assert b'data-testid="casebook-lock-form"' not in page and b'data-testid="casebook-lock"' not in page


def test_participant_page_locks_the_casebook_and_shows_who_when_why(client, participant, make_user, coordinator,
                                                                    signed):
    manager = make_user("data_manager")
    client.force_login(manager)

    response = client.post(reverse("participant-lock", args=[participant.pk]), {"reason": "Signed and cleaned"})

    assert response.status_code == 302
    client.force_login(coordinator)
    page = _page(client, participant).content.decode()
    assert 'data-testid="casebook-lock"' in page
    assert manager.username in page and "Signed and cleaned" in page
    # a locked casebook shows no way to change it
    for hidden in ("record-infusion", "record-adverse-event", "record-unscheduled-assessment", "withdraw-link",
                   "assessment-edit", 'data-testid="casebook-unlock-form"'):
        assert hidden not in page, hidden


def test_participant_page_lock_of_an_unsigned_casebook_is_refused_with_the_reason(client, participant, make_user):
    client.force_login(make_user("admin"))

    response = client.post(reverse("participant-lock", args=[participant.pk]), {"reason": "Signed"}, follow=True)

    assert "not signed by an investigator" in response.content.decode()
    assert Participant.objects.get(pk=participant.pk).locked_at is None


def test_participant_page_unlock_form_for_an_admin_only(client, participant, make_user, signed):
    admin = make_user("admin")
    casebook_lock(participant=participant, by=admin, reason="Signed")
    client.force_login(make_user("data_manager"))
    assert b'data-testid="casebook-unlock-form"' not in _page(client, participant).content
    assert client.post(reverse("participant-unlock", args=[participant.pk]), {"reason": "Try"}).status_code == 403
    assert Participant.objects.get(pk=participant.pk).locked_at is not None
    client.force_login(admin)
    assert b'data-testid="casebook-unlock-form"' in _page(client, participant).content

    client.post(reverse("participant-unlock", args=[participant.pk]), {"reason": "Query reopened"})

    assert Participant.objects.get(pk=participant.pk).locked_at is None


def test_participant_page_lock_of_another_sites_participant_is_404(client, participant, make_user, signed):
    client.force_login(make_user("admin", site="XH"))

    assert client.post(reverse("participant-lock", args=[participant.pk]), {"reason": "x"}).status_code == 404
