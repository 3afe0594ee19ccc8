"""Request-wide policies: the cycle collector paused while a request is answered, a strict
Content-Security-Policy, the idle session timeout, and the page shown when a locked record refuses a
change."""
import gc
import time

from django.conf import settings
from django.shortcuts import render

from .errors import RecordLocked

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
# Django's admin and the API docs set a few inline styles; their scripts stay same-origin only.
RELAXED_STYLE_POLICY = POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
RELAXED_PREFIXES = ("/admin/", "/api/v1/docs/")


class CollectorPausedMiddleware:
    """Python's cycle collector paused while a request is answered and running again once the
    response is made. A page reading thousands of rows allocates hundreds of thousands of objects,
    nearly none in a cycle and all freed by their reference counts when the request ends; with the
    collector running, those allocations set off collections that scan the request's live objects
    again and again (a tenth to a third of a large page's time, and most of the difference between
    its median and its slowest reads). What a request leaves in a cycle is collected after it, as
    the collector runs again at the next allocations. Only where a process answers one request at a
    time (gunicorn's sync workers, `wsgi.multithread` false): under a threaded server requests
    overlap, and pausing the collector for each would leave it paused most of the time."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.META.get("wsgi.multithread") or not gc.isenabled():
            return self.get_response(request)
        gc.disable()
        try:
            return self.get_response(request)
        finally:
            gc.enable()


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        relaxed = request.path.startswith(RELAXED_PREFIXES)
        response.headers.setdefault("Content-Security-Policy", RELAXED_STYLE_POLICY if relaxed else POLICY)
        return response


class SessionIdleTimeoutMiddleware:
    """Push a signed-in session's expiry back while the user is active.

    The session expires SESSION_COOKIE_AGE seconds after it was last saved; saving it on every
    request would cost a database write per page, so it is saved when SESSION_RENEW_SECONDS have
    passed since the last renewal. An idle user is signed out within SESSION_COOKIE_AGE.
    """

    KEY = "_last_renewal"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is not None and user is not None and user.is_authenticated:
            now = int(time.time())
            if now - session.get(self.KEY, 0) >= settings.SESSION_RENEW_SECONDS:
                session[self.KEY] = now
        return self.get_response(request)


class RecordLockedMiddleware:
    """A page that meets a locked record (`trials.errors.RecordLocked`, raised by the services and
    by the edit pages' own check) answers 403 with the lock named: who locked it, when and why.
    The API answers 409 itself (`trials.api_errors`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, RecordLocked):
            return render(request, "locked.html", {"message": exception.message}, status=403)
        return None
