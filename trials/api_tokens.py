"""API tokens: one per user, expiring API_TOKEN_DAYS after it was made, revocable by its user
(the API token page, `DELETE /api/v1/auth/token/`) and by an administrator (Configuration > API
tokens, for the users of their sites). A new token replaces the user's previous one."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

logger = logging.getLogger(__name__)


def token_expires_at(token: Token) -> datetime:
    return token.created + timedelta(days=settings.API_TOKEN_DAYS)


def token_expired(token: Token, now: datetime | None = None) -> bool:
    return token_expires_at(token) <= (now or timezone.now())


@transaction.atomic
def token_issue(user) -> Token:
    """A new token for `user`, replacing (revoking) the one they had."""
    replaced = Token.objects.filter(user=user).delete()[0]
    token = Token.objects.create(user=user)
    logger.info("API token %s for %s", "replaced" if replaced else "created", user.get_username())
    return token


def token_valid_or_new(user) -> Token:
    """The user's token while it is valid, else a new one."""
    token = Token.objects.filter(user=user).first()
    return token if token is not None and not token_expired(token) else token_issue(user)


def token_revoke(user, *, by) -> bool:
    """Revoke `user`'s token; False when they had none."""
    revoked = bool(Token.objects.filter(user=user).delete()[0])
    if revoked:
        logger.info("API token of %s revoked by %s", user.get_username(), by.get_username())
    return revoked
