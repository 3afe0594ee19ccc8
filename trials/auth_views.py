"""Sign-in, password change and the API token page, throttled (`trials.throttle`).

Sign-in is refused (429) while the account is locked, or while the client address is, even with
the right password, so that passwords cannot be guessed; each failure counts against both. A
wrong current password on the password change page counts against the account, and the page is
refused while the account is locked: the password also signs decisions.
"""
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminPasswordChangeForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from rest_framework.authtoken.models import Token

from . import throttle
from .audit import change_context
from .api_tokens import token_expired, token_expires_at, token_issue, token_revoke


def _lock_message(lock: throttle.Lock) -> str:
    if lock.scope == "address":
        return _("Too many failed sign-ins from your network address. Sign-in from it is locked for "
                 "%(minutes)d minutes; try again later or ask an administrator.") % {"minutes": lock.minutes}
    return _("Too many failed sign-ins. Sign-in is locked for %(minutes)d minutes; try again later "
             "or ask an administrator.") % {"minutes": lock.minutes}


class ThrottledLoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def _keys(self) -> tuple[str, str]:
        return (throttle.account_key(self.request.POST.get("username", "")),
                throttle.address_key(throttle.client_address(self.request)))

    def post(self, request, *args, **kwargs):
        lock = throttle.lock_of(*self._keys())
        if lock is not None:
            form = self.get_form()
            form.add_error(None, _lock_message(lock))
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(lock.seconds)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        throttle.failed(*self._keys())
        return super().form_invalid(form)

    def form_valid(self, form):
        throttle.succeeded(throttle.account_key(form.get_user().get_username()))
        return super().form_valid(form)


class ThrottledPasswordChangeView(auth_views.PasswordChangeView):
    """A wrong current password counts against the account; refused (429) while it is locked."""

    def _key(self) -> str:
        return throttle.account_key(self.request.user.get_username())

    def post(self, request, *args, **kwargs):
        lock = throttle.lock_of(self._key())
        if lock is not None:
            form = self.get_form()
            form.add_error(None, _("Too many wrong passwords: changing the password is locked for %(minutes)d "
                                   "minutes.") % {"minutes": lock.minutes})
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(lock.seconds)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        if "old_password" in form.errors:
            throttle.failed(self._key())
        return super().form_invalid(form)

    def form_valid(self, form):
        throttle.succeeded(self._key())
        # Recorded as the account's "password changed" event, by its user (`trials.account_events`).
        with change_context(by=self.request.user, reason="Changed by its user"):
            return super().form_valid(form)


def admin_password_change(request, extra_context=None):
    """The admin's own password change page, throttled like the product's."""
    site = admin.site
    request.current_app = site.name
    return ThrottledPasswordChangeView.as_view(
        form_class=AdminPasswordChangeForm,
        success_url=reverse("admin:password_change_done", current_app=site.name),
        extra_context={**site.each_context(request), **(extra_context or {})},
    )(request)


@login_required
@require_http_methods(["GET", "POST"])
def api_token(request):
    """The user's API token: when it expires; make a new one (shown once) or revoke it."""
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "create":
            token = token_issue(request.user, by=request.user, reason="Made on the API token page")
            return render(request, "registration/api_token.html", {
                "token": token, "new_key": token.key, "expires_at": token_expires_at(token)})
        if action == "revoke":
            if token_revoke(request.user, by=request.user):
                messages.success(request, _("Your API token was revoked: it is refused from now on."))
            return redirect("api_token")
        return HttpResponseBadRequest(_("Unknown action."))
    token = Token.objects.filter(user=request.user).first()
    return render(request, "registration/api_token.html", {
        "token": token,
        "expires_at": token_expires_at(token) if token else None,
        "expired": token is not None and token_expired(token),
        "days": settings.API_TOKEN_DAYS,
    })
