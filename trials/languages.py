"""The interface language of a signed-in user.

A user may choose a language for their account (`AccountSettings.language`, history kept, changed
only by `language_choose`, audited). The choice is read at sign-in into the session and applied to
each of the session's requests by `UserLanguageMiddleware`, so it follows the user to any browser;
API requests with a token have no session: `trials.api_auth` applies the choice once the token is
authenticated. Without a choice (and for anonymous visitors) Django's LocaleMiddleware decides: the
language cookie the switch sets, else the browser's Accept-Language. E-mails are written in their
recipient's language (`language_of_recipients`).
"""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth import SESSION_KEY as SIGNED_IN_KEY
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver
from django.utils import translation

from .account_settings_models import AccountSettings
from .audit import audited_save

SESSION_KEY = "_user_language"


class LanguageError(ValueError):
    pass


def language_codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def user_language(user) -> str:
    """The user's chosen language, or "" when they have not chosen one."""
    if user is None or not user.is_authenticated:
        return ""
    return AccountSettings.objects.filter(user=user).values_list("language", flat=True).first() or ""


@transaction.atomic
def language_choose(user, language: str, *, by, reason: str) -> AccountSettings:
    """Set `user`'s language (a code of settings.LANGUAGES, or "" for none), audited: who, when, why."""
    if language not in ("", *language_codes()):
        raise LanguageError(language)
    row = AccountSettings.objects.select_for_update().filter(user=user).first()
    if row is None:
        row = AccountSettings(user=user, language=language)
        audited_save(row, by=by, reason=reason)
    elif row.language != language:
        row.language = language
        audited_save(row, by=by, reason=reason)
    return row


def language_apply(request, language: str) -> None:
    """Use `language` for the rest of this request; "" leaves the browser's language in force."""
    if language:
        translation.activate(language)
        request.LANGUAGE_CODE = language


def language_remember(request, user, language: str) -> None:
    """Keep `user`'s choice in their session, when this request is of a signed-in session (not a token)."""
    session = getattr(request, "session", None)
    if session is None or str(session.get(SIGNED_IN_KEY)) != str(user.pk):
        return
    if language:
        session[SESSION_KEY] = language
    else:
        session.pop(SESSION_KEY, None)


@receiver(user_logged_in, dispatch_uid="trials.languages.at_sign_in")
def _at_sign_in(sender, request, user, **kwargs):
    if request is None:
        return
    language = user_language(user)
    language_remember(request, user, language)
    language_apply(request, language)


class UserLanguageMiddleware:
    """Apply a signed-in user's chosen language (kept in their session at sign-in) to each request;
    placed after AuthenticationMiddleware, it overrides what LocaleMiddleware took from the browser."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        language = session.get(SESSION_KEY, "") if session is not None else ""
        if language in language_codes() and request.user.is_authenticated:
            language_apply(request, language)
        return self.get_response(request)


def language_of_recipients(addresses: list[tuple[str, str | None]]) -> dict[str, list[str]]:
    """{language: sorted addresses} from (address, chosen language or None/"") pairs; an address
    without a choice gets the product's default language (LANGUAGE_CODE)."""
    grouped: dict[str, set[str]] = {}
    known = language_codes()
    for address, language in addresses:
        grouped.setdefault(language if language in known else settings.LANGUAGE_CODE, set()).add(address)
    return {language: sorted(found) for language, found in sorted(grouped.items())}
