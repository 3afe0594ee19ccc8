"""Every problem of a refused input in one answer: the shape the serializer checks and the rules
the service checks.

A serializer that refuses an input (a date that is not a date, a missing field) would otherwise
stop there, and the service's own checks (a birth date in the future, an implausible lab value)
would come only with the next attempt: the user would correct in waves. `validate_all` reads what
it can of a refused input (the fields and list rows the serializer accepted), lets the service
check that (`check`, a function that writes nothing and returns its messages by path), and
refuses once with both: the serializer's messages, and the service's on every other field. A
service path into a list (`labs.1.value`) is named by the row's place in the input as sent.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

from rest_framework import serializers

from .api_errors import flatten
from .errors import ServiceError


def validate_all(serializer: serializers.Serializer,
                 check: Callable[[serializers.Serializer], Mapping[str, list[str]] | None]) -> None:
    """Validate `serializer`; when it refuses its input, raise one `ServiceError` (400) with its
    messages and those of `check` run on what it could read. `check` gets a valid serializer of
    that part (`partial`: fields left out are not required) and returns its messages, or raises
    `ServiceError`."""
    if serializer.is_valid():
        return
    shape = flatten(serializer.errors)
    data = serializer.initial_data
    problems: Mapping[str, list[str]] = {}
    if isinstance(data, Mapping):
        readable, kept = _readable(data, serializer.errors)
        again = type(serializer)(data=readable, context=serializer.context, partial=True)
        if again.is_valid():
            try:
                problems = check(again) or {}
            except ServiceError as error:
                problems = error.errors
    merged = dict(shape)
    for path, texts in problems.items():
        original = _as_sent(path, kept)
        if not any(original == shown or original.startswith(f"{shown}.") or shown.startswith(f"{original}.")
                   for shown in shape):
            merged.setdefault(original, []).extend(str(text) for text in texts)
    raise ServiceError(merged)


def _readable(data: Mapping, errors: Mapping) -> tuple[dict, dict[str, list[int]]]:
    """The input without what the serializer refused: a refused list row is left out (`kept`: the
    place in the input of each row kept, by list name), a refused key of a mapping too, any other
    refused field entirely."""
    readable, kept = dict(data), {}
    for key, detail in errors.items():
        value = readable.get(key)
        refused_rows = _refused_rows(detail)
        if refused_rows is not None and isinstance(value, list):
            kept[key] = [index for index in range(len(value)) if index not in refused_rows]
            readable[key] = [value[index] for index in kept[key]]
        elif isinstance(detail, dict) and isinstance(value, dict):
            readable[key] = {k: v for k, v in value.items() if k not in detail}
        else:
            readable.pop(key, None)
    return readable, kept


def _refused_rows(detail) -> set[int] | None:
    """The places of the refused rows of a list, when `detail` names rows (DRF gives
    `{index: {...}}` or a list with an empty dict for each accepted row); else None."""
    if isinstance(detail, dict) and detail and all(isinstance(index, int) for index in detail):
        return set(detail)
    if isinstance(detail, list) and detail and all(isinstance(row, dict) for row in detail):
        return {index for index, row in enumerate(detail) if row}
    return None


def _as_sent(path: str, kept: dict[str, list[int]]) -> str:
    parts = path.split(".")
    if parts[0] in kept and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(kept[parts[0]]):
        parts[1] = str(kept[parts[0]][int(parts[1])])
    return ".".join(parts)
