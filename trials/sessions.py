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
from django.db.models import Max, OuterRef, Subquery
from django.dispatch import receiver

from .auth_models import ENDS_SESSIONS, AccountEvent

SIGNED_IN_AT = "_signed_in_at"  # session key: when its user signed in (seconds since the epoch)


def _sessions_ended_at():
    newest = (AccountEvent.objects.filter(user=OuterRef("pk"), kind__in=ENDS_SESSIONS).order_by()
              .values("user").annotate(newest=Max("at")).values("newest"))
    return Subquery(newest)


class AccountBackend(ModelBackend):
    """Django's user-name and password sign-in; the user read for a session carries when their
    sessions last ended (`sessions_ended_at`), in the same query."""

    def get_user(self, user_id):
        manager = get_user_model()._default_manager
        user = manager.annotate(sessions_ended_at=_sessions_ended_at()).filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None


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
