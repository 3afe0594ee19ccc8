"""The cycle collector paused while a request is answered (`trials.middleware.CollectorPausedMiddleware`)."""
import gc
from unittest import mock

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory

from trials.middleware import CollectorPausedMiddleware


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def _answered(view, **environ):
    return CollectorPausedMiddleware(view)(RequestFactory().get("/", **environ))


def test_paused_while_the_view_runs_and_running_after(collector_on):
    seen = []

    def view(request):
        seen.append(gc.isenabled())
        return HttpResponse("ok")

    assert _answered(view).content == b"ok"
    assert seen == [False]
    assert gc.isenabled()


def test_running_again_after_a_view_that_raised(collector_on):
    def view(request):
        raise ValueError("broken")

    with pytest.raises(ValueError):
        _answered(view)
    assert gc.isenabled()


def test_a_request_finding_it_paused_leaves_it_paused(collector_on):
    seen = []

    def view(request):
        seen.append(gc.isenabled())
        return HttpResponse("ok")

    gc.disable()
    try:
        _answered(view)
        assert seen == [False]
        assert not gc.isenabled()  # whoever paused it turns it on again, not this request
    finally:
        gc.enable()


def test_a_threaded_server_keeps_it_running(collector_on):
    seen = []

    def view(request):
        seen.append(gc.isenabled())
        return HttpResponse("ok")

    _answered(view, **{"wsgi.multithread": True})
    assert seen == [True]
    assert gc.isenabled()


@pytest.mark.django_db
def test_every_page_is_answered_with_it_paused(client, collector_on):
    assert "trials.middleware.CollectorPausedMiddleware" in settings.MIDDLEWARE
    with mock.patch.object(gc, "disable", wraps=gc.disable) as paused, \
            mock.patch.object(gc, "enable", wraps=gc.enable) as resumed:
        response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert paused.call_count == 1
    assert resumed.call_count == 1
    assert gc.isenabled()
