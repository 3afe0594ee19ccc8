"""Sign-in with failed-attempt throttling.

After LOGIN_FAILURE_LIMIT failures for one username, or from one address, within
LOGIN_LOCK_SECONDS, sign-in is refused for the rest of that period, even with the right
password, so that passwords cannot be guessed. Counters live in the cache (Redis in production).
"""
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.utils.translation import gettext as _


def _keys(request, username: str) -> list[str]:
    address = request.META.get("REMOTE_ADDR", "unknown")
    return [f"login-failures:user:{username.strip().lower()}", f"login-failures:addr:{address}"]


def login_locked(request, username: str) -> bool:
    return any((cache.get(key) or 0) >= settings.LOGIN_FAILURE_LIMIT for key in _keys(request, username))


def login_failed(request, username: str) -> None:
    for key in _keys(request, username):
        if not cache.add(key, 1, timeout=settings.LOGIN_LOCK_SECONDS):
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, timeout=settings.LOGIN_LOCK_SECONDS)


def login_succeeded(request, username: str) -> None:
    cache.delete(_keys(request, username)[0])


class ThrottledLoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        if login_locked(request, username):
            form = self.get_form()
            minutes = max(1, settings.LOGIN_LOCK_SECONDS // 60)
            form.add_error(
                None,
                _("Too many failed sign-ins. Sign-in is locked for %(minutes)d minutes; try again later "
                  "or ask an administrator.") % {"minutes": minutes},
            )
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        login_failed(self.request, self.request.POST.get("username", ""))
        return super().form_invalid(form)

    def form_valid(self, form):
        login_succeeded(self.request, form.get_user().get_username())
        return super().form_valid(form)
