"""Every API view method that writes, found in the URL conf (with its request serializer): the
endpoints that test_input_limits.py and test_fuzz_inputs.py send their bodies to."""
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from rest_framework.views import APIView

WRITE_METHODS = ("post", "put", "patch")


def _patterns(resolver=None, prefix=""):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def api_write_endpoints() -> list[tuple[str, str, type]]:
    """(URL name, method, request serializer) of every API view method that writes."""
    found, generator = [], SchemaGenerator()
    for route, entry in _patterns():
        view = getattr(entry.callback, "view_class", None)
        if not route.startswith("api/") or view is None or not issubclass(view, APIView):
            continue
        for method in WRITE_METHODS:
            if hasattr(view, method):
                schema = generator.create_view(entry.callback, method.upper()).schema
                found.append((entry.name, method, schema.get_request_serializer()))
    return found


ENDPOINTS = api_write_endpoints()
