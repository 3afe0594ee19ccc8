"""Plain helpers shared by the tests of every app (the fixtures are in the root conftest.py):
skipping on a missing service, API clients, the site investigator who signs, and the signatures
that enrolment and adverse events wait for."""
import re
from datetime import date

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import translation
from rest_framework.test import APIClient

from enrollment.services import screening_eligibility_confirm
from followup.services import adverse_event_confirm
from trials.accounts import user_upsert
from trials.amendments import amendment_activate
from trials.audit import change_context
from trials.messages import english, render

SIGNER_PASSWORD = "Long-enough-pass-91"  # make_user's default, and the site investigators' below


def require_service(available: bool, what: str) -> None:
    """Skip a test whose service is missing, except in CI (REQUIRE_SERVICES=1), where it fails."""
    if available:
        return
    if settings.REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (REQUIRE_SERVICES=1) but not available.")
    pytest.skip(f"{what} is not available here; CI runs this test with REQUIRE_SERVICES=1.")


def client_for(user):
    """An API client signed in as `user`."""
    client = APIClient()
    client.force_authenticate(user)
    return client


def site_investigator(site_code: str = "PUMCH"):
    """The investigator ``signer-<site>`` of a site (created on first use), who signs in tests:
    eligibility confirmations and adverse events, with :data:`SIGNER_PASSWORD`."""
    name = f"signer-{site_code.lower()}"
    user = get_user_model().objects.filter(username=name).first()
    return user or user_upsert(username=name, role="investigator", site_code=site_code, password=SIGNER_PASSWORD).user


def forget_site_roles(user) -> None:
    """Drop the user's memberships read once per request (`trials.scoping.site_roles`), so that a
    query count measured with the same user object includes reading them."""
    user.__dict__.pop("_site_roles_cache", None)


def confirm_eligibility(screening, by=None):
    """The site's investigator confirms the eligible screening with their signature, as the
    enrolment of a study with `eligibility_confirmation_required` needs."""
    return screening_eligibility_confirm(screening=screening, password=SIGNER_PASSWORD,
                                         by=by or site_investigator(screening.site.code))


def confirm_adverse_event(event, by=None):
    """The site's investigator confirms a coordinator's draft adverse event as recorded (its grade,
    seriousness and relationship), with their signature."""
    return adverse_event_confirm(
        event=event, grade=event.grade, serious=event.serious, relationship=event.relationship,
        seriousness=event.seriousness, action_taken=event.action_taken, outcome=event.outcome,
        password=SIGNER_PASSWORD, by=by or site_investigator(event.participant.site.code))


class Later:
    """A test parameter made when the test runs, not when its module is imported: dates count from
    the day the test runs. `made(value)` gives the value."""

    def __init__(self, make):
        self.make = make


def made(value):
    """The value of a parameter, made now when it is a :class:`Later`."""
    return value.make() if isinstance(value, Later) else value


def study_administrator(study):
    """An administrator of every site of `study` (``admin-<code>``, created on first use), who
    activates studies and protocol amendments in tests."""
    name = f"admin-{study.code.lower()}"
    user = None
    for site in study.sites.all():
        user = user_upsert(username=name, role="admin", site_code=site.code, password=SIGNER_PASSWORD).user
    return user


def activate_amendment(study, version: str = "2", reason: str = "Amendment approved"):
    """Put the study's edited items and criteria in force as a new protocol version, as an
    administrator of its sites does (`trials.amendments.amendment_activate`)."""
    return amendment_activate(study=study, version=version, effective_date=date.today(), reason=reason,
                              by=study_administrator(study))


def patch_current(client, url, data=None, **kwargs):
    """PATCH as a client that read the record first: the version it read goes with the change
    (API.md "Versions"); a body that names its own version, or a record the client cannot read,
    is sent as it is."""
    read = client.get(url)
    if read.status_code == 200 and isinstance(data, dict) and "version" not in data:
        data = {**data, "version": read.json().get("version")}
    return client.patch(url, data, **kwargs)


def setup_save(record) -> None:
    """`record.save()` for a record that keeps history (an account, say), through the audited path
    with the reason "test setup"."""
    with change_context(by=None, reason="test setup"):
        record.save()


def setup_update(rows, **values) -> int:
    """`rows.update(**values)` (a queryset or a related manager of records that keep history), to
    set up a test's data through the audited path: each row changed gets its history row, with the
    reason "test setup"."""
    with change_context(by=None, reason="test setup"):
        return rows.update(**values)


def audit_changes_shown(html: str) -> str:
    """An audit page's changes as the reader reads them: the page without its markup but the field's
    name (<strong>) and the old value (<del>), so that a study's text marked as such (its item
    labels and codes, `lang` / `data-study-content`) reads as plain words."""
    return re.sub(r"<(?!/?(?:strong|del)\b)[^>]*>", "", html)


def assert_worded(msg, in_english: str, in_chinese: str) -> None:
    """A message (`trials.messages`) reads `in_chinese` for a Chinese reader, `in_english` for an
    English one, and its English (`english`) is the same whatever the reader's language."""
    assert english(msg) == in_english
    with translation.override("zh-hans"):
        assert render(msg) == in_chinese
        assert english(msg) == in_english
    with translation.override("en"):
        assert render(msg) == in_english
