"""Ending an account's sessions: a locked account (`trials.throttle`) or one whose access an
administrator took away (`trials.account_events`) is signed out on its sessions' next request.

A session notes when its user signed in. An account's sessions end with an `AccountEvent` of a kind
in `ENDS_SESSIONS`: a session begun before the newest of them is signed out. The newest is read with
the user on each request, in the same query (`AccountBackend`), so the check costs no query and works
whatever the session store (database, cache, Redis or not). A deactivated account is signed out by
Django itself (its backend refuses inactive users), and stays signed out once reactivated.
"""
from __future__ import annotations

import time

from django.contrib.auth import get_user_model, logout
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in
from django.db.models import Aggregate, CharField, Max, OuterRef, Subquery, TextField, Value
from django.db.models.functions import Cast, Concat
from django.dispatch import receiver

from .auth_models import ENDS_SESSIONS, AccountEvent
from .models import SiteMembership
from .scoping import remember_site_roles

SIGNED_IN_AT = "_signed_in_at"  # session key: when its user signed in (seconds since the epoch)


def _sessions_ended_at():
    newest = (AccountEvent.objects.filter(user=OuterRef("pk"), kind__in=ENDS_SESSIONS).order_by()
              .values("user").annotate(newest=Max("at")).values("newest"))
    return Subquery(newest)


class _Joined(Aggregate):
    """The texts of a group joined with commas (GROUP_CONCAT in SQLite, STRING_AGG in PostgreSQL)."""

    function = "GROUP_CONCAT"
    template = "%(function)s(%(expressions)s, ',')"
    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, function="STRING_AGG", **extra)


def _site_roles_text():
    """"site id:role,..." of the user's memberships, as a subquery of the user's row."""
    pair = Concat(Cast("site_id", CharField()), Value(":"), "role", output_field=CharField())
    return Subquery(SiteMembership.objects.filter(user=OuterRef("pk")).order_by().values("user")
                    .annotate(text=_Joined(pair)).values("text"))


def _site_roles(text: str | None) -> dict[int, str]:
    found = {}
    for pair in filter(None, (text or "").split(",")):
        site, role = pair.split(":", 1)
        found[int(site)] = role
    return found


class AccountBackend(ModelBackend):
    """Django's user-name and password sign-in; the user read for a session carries when their
    sessions last ended (`sessions_ended_at`) and their roles at their sites (`trials.scoping`), in
    the same query."""

    def get_user(self, user_id):
        manager = get_user_model()._default_manager
        user = (manager.annotate(sessions_ended_at=_sessions_ended_at(), site_roles_text=_site_roles_text())
                .filter(pk=user_id).first())
        if user is None or not self.user_can_authenticate(user):
            return None
        remember_site_roles(user, _site_roles(user.site_roles_text))
        return user


@receiver(user_logged_in, dispatch_uid="session-signed-in-at")
def note_sign_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[SIGNED_IN_AT] = time.time()


def session_ended(user, session) -> bool:
    """True when the account's sessions ended after this session began."""
    ended = getattr(user, "sessions_ended_at", None)
    if ended is None:
        return False
    return session.get(SIGNED_IN_AT, 0) < ended.timestamp()


class SessionsEndedMiddleware:
    """Signs out a session whose account's sessions were ended since it began (after Django's
    AuthenticationMiddleware): the request goes on as an anonymous visitor's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        if session is not None and user is not None and user.is_authenticated and session_ended(user, session):
            logout(request)
        return self.get_response(request)
