"""The language switch in the navigation: Django's `set_language` (the language cookie, back to
`next`), and for a signed-in user their account's language, audited, applied to their session."""
from django.utils.translation import check_for_language
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from .languages import language_choose, language_codes, language_remember

REASON = "Language chosen with the language switch"


@require_POST
def language_switch(request):
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in language_codes() and check_for_language(language):
        language_choose(request.user, language, by=request.user, reason=REASON)
        language_remember(request, request.user, language)
    return response
