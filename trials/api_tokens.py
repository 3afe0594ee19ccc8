"""API tokens: one per user, expiring API_TOKEN_DAYS after it was made, revocable by its user
(the API token page, `DELETE /api/v1/auth/token/`) and by an administrator (Configuration > API
tokens, for the users of their sites). A new token replaces the user's previous one.

Each token made, revoked or replaced once expired is an event of its account (`AccountEvent`),
named by the first characters of its key: the key itself is the secret and is kept nowhere else."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from .auth_models import AccountEventKind
from .account_events import event_record

logger = logging.getLogger(__name__)


def token_expires_at(token: Token) -> datetime:
    return token.created + timedelta(days=settings.API_TOKEN_DAYS)


def token_expired(token: Token, now: datetime | None = None) -> bool:
    return token_expires_at(token) <= (now or timezone.now())


@transaction.atomic
def token_issue(user, *, by=None, reason: str = "") -> Token:
    """A new token for `user`, replacing (revoking) the one they had; made by `by` (None: the system,
    `add_user`)."""
    old = Token.objects.select_for_update().filter(user=user).first()
    if old is not None:
        expired = token_expired(old)
        event_record(user, AccountEventKind.TOKEN_EXPIRED if expired else AccountEventKind.TOKEN_REVOKED, by=by,
                     reason="Replaced once expired" if expired else "Replaced by a new token", token=old)
        old.delete()
    token = Token.objects.create(user=user)
    event_record(user, AccountEventKind.TOKEN_CREATED, by=by, reason=reason or "API token made", token=token)
    logger.info("API token %s for %s", "replaced" if old else "created", user.get_username())
    return token


def token_valid_or_new(user, *, by=None, reason: str = "") -> Token:
    """The user's token while it is valid, else a new one."""
    token = Token.objects.filter(user=user).first()
    return token if token is not None and not token_expired(token) else token_issue(user, by=by, reason=reason)


@transaction.atomic
def token_revoke(user, *, by, reason: str = "") -> bool:
    """Revoke `user`'s token; False when they had none."""
    token = Token.objects.select_for_update().filter(user=user).first()
    if token is None:
        return False
    event_record(user, AccountEventKind.TOKEN_REVOKED, by=by,
                 reason=reason or ("Revoked by its user" if by == user else "Revoked by an administrator"), token=token)
    token.delete()
    logger.info("API token of %s revoked by %s", user.get_username(), by.get_username())
    return True
