"""The claim of a submission (trials/idempotency.py): form tokens, claims, their 24 hours."""
import time
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.celery import app
from trials.idempotency import (
    TokenRefused,
    claim,
    claim_release,
    submission_token_new,
    submission_token_nonce,
)
from trials.models import SubmissionKey
from trials.tasks import submission_keys_expire


@pytest.fixture
def now():
    """The time a test takes as now."""
    return timezone.now()


def test_token_gives_back_its_nonce_for_the_user_it_was_made_for(coordinator):
    first, second = submission_token_new(coordinator), submission_token_new(coordinator)

    assert submission_token_nonce(first, coordinator) != submission_token_nonce(second, coordinator)
    assert len(submission_token_nonce(first, coordinator)) == 24


def test_token_of_another_user_is_refused(coordinator, investigator):
    with pytest.raises(TokenRefused) as refused:
        submission_token_nonce(submission_token_new(coordinator), investigator)

    assert refused.value.message == ("This form could not be verified (it was opened by another user or altered) "
                                     "and was not saved; fill it in again.")


@pytest.mark.parametrize("token", ["", "not-a-token", "eyJ1IjoxfQ:1abc:forged"])
def test_forged_token_is_refused(coordinator, token):
    with pytest.raises(TokenRefused):
        submission_token_nonce(token, coordinator)


def test_token_older_than_24_hours_is_refused(now, coordinator, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: now.timestamp() - 24 * 3600 - 5)
        token = submission_token_new(coordinator)

    with pytest.raises(TokenRefused) as refused:
        submission_token_nonce(token, coordinator)

    assert refused.value.message == "This form was opened more than 24 hours ago and was not saved; fill it in again."


def test_token_23_hours_old_is_accepted(now, coordinator, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: now.timestamp() - 23 * 3600)
        token = submission_token_new(coordinator)

    assert submission_token_nonce(token, coordinator)


def test_first_claim_creates_and_the_second_finds_it_in_progress(now, coordinator):
    first = claim(user=coordinator, kind="api", key="k", fingerprint="f", now=now)
    second = claim(user=coordinator, kind="api", key="k", fingerprint="f", now=now + timedelta(seconds=1))

    assert (first.created, second.created) == (True, False)
    assert (second.record.pk, second.record.completed_at) == (first.record.pk, None)
    assert SubmissionKey.objects.count() == 1


def test_same_key_of_another_user_or_kind_is_claimed_apart(now, coordinator, investigator):
    claims = [claim(user=user, kind=kind, key="k", fingerprint="f", now=now)
              for user, kind in [(coordinator, "api"), (investigator, "api"), (coordinator, "form")]]

    assert [c.created for c in claims] == [True, True, True]


def test_released_claim_may_be_claimed_again(now, coordinator):
    claim_release(claim(user=coordinator, kind="api", key="k", fingerprint="f", now=now).record)

    assert claim(user=coordinator, kind="api", key="k", fingerprint="g", now=now).created is True


def test_claim_older_than_24_hours_no_longer_counts(now, coordinator):
    old = claim(user=coordinator, kind="api", key="k", fingerprint="f", now=now - timedelta(hours=24, seconds=1))

    fresh = claim(user=coordinator, kind="api", key="k", fingerprint="g", now=now)

    assert fresh.created is True and fresh.record.pk != old.record.pk
    assert list(SubmissionKey.objects.values_list("fingerprint", flat=True)) == ["g"]


def test_claim_is_one_row_per_user_kind_and_key_in_the_database(now, coordinator):
    SubmissionKey.objects.create(user=coordinator, kind="api", key="k", fingerprint="f", created_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        SubmissionKey.objects.create(user=coordinator, kind="api", key="k", fingerprint="g", created_at=now)


def test_expiry_task_deletes_claims_older_than_24_hours_only(coordinator):
    now = timezone.now()
    for key, age in [("old", timedelta(hours=25)), ("day", timedelta(hours=24, seconds=1)),
                     ("young", timedelta(hours=23))]:
        SubmissionKey.objects.create(user=coordinator, kind="api", key=key, fingerprint="f", created_at=now - age)

    assert submission_keys_expire() == 2
    assert list(SubmissionKey.objects.values_list("key", flat=True)) == ["young"]


def test_expiry_task_is_on_the_beat_schedule():
    assert app.conf.beat_schedule["expire-submission-keys"] == {"task": "trials.submission_keys_expire",
                                                                 "schedule": 3600.0}
