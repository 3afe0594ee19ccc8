"""The investigator's sign-off of a participant's casebook (`followup.signoff`): signed with the
investigator's password, withdrawn by any later change of the casebook's data, signed again."""
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dosing.tests.support import day0, give
from enrollment.models import Participant, Screening
from enrollment.services import consent_record
from followup import services, signoff
from followup.models import Assessment, CasebookSignature, ItemVerification, Visit
from followup.tests.support import assess_labs, enrol
from trials import hooks
from trials.signatures import CASEBOOK_MEANING, SignatureRefused
from trials.tests.support import SIGNER_PASSWORD, confirm_adverse_event, patch_current, setup_update

MEANING = "I approve the data of this casebook as complete and accurate."
REASON = "Source document re-read at monitoring"


@pytest.fixture
def casebook(api, participant):
    """The P3 participant with an unscheduled assessment (platelets, haemoglobin) and a confirmed
    adverse event, no infusion given yet."""
    assess_labs(api, participant, 1, ("PLT", 25, "10^9/L", None, None), ("HGB", 120, "g/L", None, None))
    confirm_adverse_event(services.adverse_event_record(
        participant=participant, by=participant.enrolled_by, data=services.AdverseEventInput(
            term="Headache", category="non_haematological", onset_date=day0() + timedelta(days=2), grade=1,
            serious=False, relationship="possible")))
    return participant


def sign(participant, by, password=SIGNER_PASSWORD):
    return signoff.casebook_sign(participant=participant, password=password, by=by)


def test_meaning_text_is_the_one_stored():
    assert str(CASEBOOK_MEANING) == MEANING


def test_never_signed_casebook_is_not_signed(casebook):
    assert signoff.casebook_signature_state(casebook) == (None, False, None)
    assert signoff.casebook_signed(casebook) is False


def test_investigator_signs_the_casebook(casebook, investigator):
    investigator.first_name, investigator.last_name = "Li", "Wei"
    signature = sign(casebook, investigator)

    state = signoff.casebook_signature_state(casebook)
    assert state.signature == signature and state.valid and state.changed_since is None
    assert (signature.signed_by, signature.signed_by_name, signature.meaning) == (investigator, "Li Wei", MEANING)
    assert signature.history.get().history_user == investigator
    assert signoff.casebook_signed(casebook) is True
    assert hooks.casebook_signed.one(participant=casebook) is True


def test_wrong_password_is_refused_and_nothing_written(casebook, investigator):
    with pytest.raises(SignatureRefused, match="the casebook was not signed"):
        sign(casebook, investigator, password="not-my-password")
    assert CasebookSignature.objects.count() == 0 and CasebookSignature.history.count() == 0


@pytest.mark.parametrize("role", ["coordinator", "monitor", "data_manager"])
def test_only_an_investigator_signs(casebook, make_user, role):
    with pytest.raises(PermissionDenied):
        sign(casebook, make_user(role))
    assert CasebookSignature.objects.count() == 0


def test_investigator_of_another_site_may_not_sign(casebook, make_user):
    with pytest.raises(PermissionDenied):
        sign(casebook, make_user("investigator", site="XH"))
    assert CasebookSignature.objects.count() == 0


# --- any later change of the casebook withdraws the signature --------------------------------------

def update_assessment(api, participant):
    assessment = participant.assessments.get()
    response = patch_current(api, f"/api/v1/assessments/{assessment.pk}/", {"bleeding_grade": 1, "reason": REASON},
                             format="json")
    assert response.status_code == 200, response.json()


def add_lab(api, participant):
    assessment = participant.assessments.get()
    labs = [{"analyte": "PLT", "value": 25, "unit": "10^9/L"}, {"analyte": "HGB", "value": 120, "unit": "g/L"},
            {"analyte": "ALT", "value": 30, "unit": "U/L", "uln": 40}]
    response = patch_current(api, f"/api/v1/assessments/{assessment.pk}/", {"labs": labs, "reason": REASON},
                             format="json")
    assert response.status_code == 200, response.json()
    assert participant.assessments.get().labs.count() == 3


def update_adverse_event(api, participant):
    event = participant.adverse_events.get()
    response = patch_current(api, f"/api/v1/adverse-events/{event.pk}/",
                             {"description": "Relieved by paracetamol", "reason": REASON}, format="json")
    assert response.status_code == 200, response.json()


def record_infusion(api, participant):
    response = give(api, participant, 1, 0)
    assert response.status_code == 201, response.json()


def record_visit(api, participant):
    visit = participant.visits.order_by("target_at").first()
    services.visit_record(visit=visit, done_at=visit.target_at, by=participant.enrolled_by)


def update_screening(api, participant):
    setup_update(Screening.objects.filter(pk=participant.screening_id), initials="LW")


def record_consent(api, participant):
    consent_record(screening=participant.screening, version="2.0", signed_at=timezone.now() - timedelta(minutes=5),
                   obtained_by="Dr Zhang", by=participant.enrolled_by)


CHANGES = {"assessment update": update_assessment, "lab added": add_lab, "adverse event update": update_adverse_event,
           "infusion recorded": record_infusion, "visit recorded": record_visit,
           "screening update": update_screening, "consent recorded": record_consent}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_later_change_withdraws_the_signature_until_signed_again(api, casebook, investigator, change):
    signature = sign(casebook, investigator)

    change(api, casebook)

    state = signoff.casebook_signature_state(casebook)
    assert state.signature == signature and state.valid is False
    assert state.changed_since is not None and state.changed_since > signature.signed_at
    assert hooks.casebook_signed.one(participant=casebook) is False

    again = sign(casebook, investigator)
    assert signoff.casebook_signature_state(casebook) == (again, True, None)
    assert CasebookSignature.objects.filter(participant=casebook).count() == 2  # the first one kept


def test_a_change_before_signing_is_covered(api, casebook, investigator):
    update_assessment(api, casebook)
    sign(casebook, investigator)
    assert signoff.casebook_signed(casebook) is True


def test_another_participants_change_does_not_withdraw_it(api, casebook, investigator, coordinator):
    other = enrol(coordinator)
    sign(casebook, investigator)
    update_screening(api, other)
    setup_update(Visit.objects.filter(pk=other.visits.first().pk), deviation_reason="Other participant's visit")
    assert signoff.casebook_signed(casebook) is True


def test_state_is_read_in_one_query(casebook, investigator):
    sign(casebook, investigator)
    with CaptureQueriesContext(connection) as queries:
        signoff.casebook_signature_state(casebook)
    assert len(queries) == 1


# --- the participant page ---------------------------------------------------------------------------

def page(client, user, participant):
    client.force_login(user)
    return client.get(reverse("participant-detail", args=[participant.pk])).content.decode()


def test_page_shows_not_signed_and_the_form_to_an_investigator(client, casebook, investigator):
    html = page(client, investigator, casebook)
    assert 'data-testid="casebook-signoff"' in html and "Not signed yet." in html
    assert 'data-testid="casebook-sign-form"' in html and MEANING in html
    assert reverse("participant-casebook-sign", args=[casebook.pk]) in html


def test_page_shows_no_form_to_a_coordinator(client, casebook, coordinator):
    html = page(client, coordinator, casebook)
    assert "Not signed yet." in html and 'data-testid="casebook-sign-form"' not in html


def test_page_signs_with_the_password(client, casebook, investigator):
    client.force_login(investigator)
    response = client.post(reverse("participant-casebook-sign", args=[casebook.pk]), {"password": SIGNER_PASSWORD})
    assert response.status_code == 302
    assert signoff.casebook_signed(casebook)
    html = page(client, investigator, casebook)
    assert 'data-testid="casebook-signed"' in html and investigator.username in html


def test_page_refuses_a_wrong_password_and_writes_nothing(client, casebook, investigator):
    client.force_login(investigator)
    response = client.post(reverse("participant-casebook-sign", args=[casebook.pk]), {"password": "wrong"})
    assert response.status_code == 200
    assert "The password is not correct: the casebook was not signed." in response.content.decode()
    assert CasebookSignature.objects.count() == 0


def test_page_sign_refused_to_a_coordinator_and_another_site(client, casebook, coordinator, make_user):
    client.force_login(coordinator)
    url = reverse("participant-casebook-sign", args=[casebook.pk])
    assert client.post(url, {"password": SIGNER_PASSWORD}).status_code == 403
    client.force_login(make_user("investigator", site="XH"))
    assert client.post(url, {"password": SIGNER_PASSWORD}).status_code == 404
    assert CasebookSignature.objects.count() == 0


def test_page_shows_the_signature_withdrawn(api, client, casebook, investigator):
    sign(casebook, investigator)
    update_adverse_event(api, casebook)
    changed = signoff.casebook_signature_state(casebook).changed_since

    html = page(client, investigator, casebook)

    assert 'data-testid="casebook-withdrawn"' in html
    shown = f"{timezone.localtime(changed):%Y-%m-%d %H:%M}"
    assert f"Signature withdrawn: the data changed on {shown} after signing." in html
    assert 'data-testid="casebook-sign-form"' in html


def test_page_with_the_signature_stays_within_its_budget(client, casebook, investigator, django_assert_max_num_queries):
    sign(casebook, investigator)
    client.force_login(investigator)
    url = reverse("participant-detail", args=[casebook.pk])
    client.get(url)  # warm the session and caches
    with django_assert_max_num_queries(15):
        assert client.get(url).status_code == 200


def test_every_record_of_the_casebook_that_keeps_history_is_covered():
    """A new record kind of a participant (a model keeping history with a link to the participant,
    its screening or an assessment) must be added to what the signature covers."""
    owners = {Participant, Screening, Assessment}
    covered = {model for model, _lookup in (*signoff.SCREENING_RECORDS, *signoff.PARTICIPANT_RECORDS)}
    casebook = {model for app in ("enrollment", "dosing", "followup") for model in apps.get_app_config(app).get_models()
                if hasattr(model, "history") and (model in owners or any(
                    field.is_relation and field.many_to_one and field.related_model in owners
                    for field in model._meta.get_fields()))}
    # Monitoring rows are not casebook data: a monitor's source data verification after the
    # investigator's signature leaves it standing.
    assert casebook - {CasebookSignature, ItemVerification} == covered
