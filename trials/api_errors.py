"""The API's error format (API.md 'Errors'): {"errors": {"<field path>": ["message", ...]}}."""
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from .errors import ServiceError


def flatten(detail, prefix="") -> dict[str, list[str]]:
    """Turn DRF's nested error detail into field paths such as `labs.2.value`."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "non_field_errors" if key in ("non_field_errors", "__all__") and not prefix else key
            out.update(flatten(value, f"{prefix}.{name}" if prefix else str(name)))
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                if item:
                    out.update(flatten(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        out[prefix or "detail"] = [str(detail)]
    return out


def exception_handler(exc, context):
    """Every refusal in one shape. A service's `ServiceError` is a 400 (bad input) and its
    `ConflictError` a 409 (the state forbids it now), the fields named as the service named them."""
    if isinstance(exc, ServiceError):
        set_rollback()
        return Response({"errors": flatten(exc.errors)}, status=exc.status)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError) or isinstance(getattr(exc, "detail", None), dict):
        response.data = {"errors": flatten(exc.detail)}
    else:
        response.data = {"errors": {"detail": [
            str(response.data.get("detail", exc) if isinstance(response.data, dict) else exc)
        ]}}
    return response
