"""Explanations stored as messages and worded in the reader's language.

An explanation the application computes and keeps (a criterion's arithmetic, an infusion's dose
arithmetic and the date its window is planned from) is stored as a *message*: ``{"code": ...,
"params": {...}}``. A parameter is a number, a text (a date, a code, a name), or another message; a
``list_*`` message joins its ``items``; a ``word`` message names one of the registered words.
:func:`render` words a message in the active language (the Chinese catalogue), :func:`english` in
English whatever the language (the wording the rules are tested in, and that of the ODM export).

Each app registers its codes (:func:`register`): ``enrollment.eligibility_text`` the criteria's,
``dosing.messages`` the doses' and the windows'. A code is a sentence marked with ``gettext_noop``
(the English is the msgid, its named placeholders the message's params); a template may name how
some of its numbers are written (``formats``: a dose in cells as "6 x10^9"). A code no app registered
(a newer catalogue read by an older page) is shown as its code and parameters rather than lost; the
``text`` message holds a stored text that could not be read as a message and is shown as stored.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext, gettext_noop

from .units import format_number

Message = dict


@dataclass(frozen=True)
class Template:
    """A code's sentence (the English msgid) and how some of its numeric params are written: param
    name -> a format registered with :func:`register` (``formats``)."""

    text: str
    formats: Mapping[str, str] = field(default_factory=dict)


# How each ``list_*`` message joins its items.
SEPARATORS: dict[str, str] = {
    "list_comma": gettext_noop(", "),
    "list_semicolon": gettext_noop("; "),
    "list_or": gettext_noop(" or "),
    "list_and": gettext_noop(" and "),
}

_TEMPLATES: dict[str, Template] = {}
_WORDS: dict[str, str] = {}
_FORMATS: dict[str, Callable[[float], str]] = {}
_BUILT_IN = {"text", "word", *SEPARATORS}


def _merge(target: dict, entries: Mapping, what: str) -> None:
    for key, value in entries.items():
        if key in _BUILT_IN or (key in target and target[key] != value):
            raise ValueError(f"message {what} {key!r} is registered twice with different meanings")
        target[key] = value


def register(templates: Mapping[str, str | Template], *, words: Mapping[str, str] | None = None,
             formats: Mapping[str, Callable[[float], str]] | None = None) -> None:
    """Add an app's message codes, words and number formats (each name once across the apps; the
    same entry registered again, as a module reloaded, is accepted)."""
    _merge(_FORMATS, formats or {}, "format")
    _merge(_WORDS, words or {}, "word")
    _merge(_TEMPLATES, {code: t if isinstance(t, Template) else Template(t) for code, t in templates.items()},
           "code")


def registered(code: str) -> bool:
    return code in _TEMPLATES or code in _BUILT_IN


def message(code: str, **params) -> Message:
    """A message: ``{"code": code, "params": params}`` (no ``params`` key when there are none)."""
    return {"code": code, "params": params} if params else {"code": code}


def word(value: str) -> Message:
    return message("word", word=value)


def listed(code: str, items) -> Message:
    """The items joined as ``code`` (one of ``SEPARATORS``) joins them."""
    if code not in SEPARATORS:
        raise ValueError(f"unknown list separator {code}")
    return message(code, items=list(items))


def text(value: str) -> Message:
    """A stored text kept as it was written."""
    return message("text", text=str(value))


def is_message(value) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("code"), str)


def _value(value, translate: Callable[[str], str], written: str | None = None) -> str:
    if is_message(value):
        return _render(value, translate)
    if isinstance(value, bool):
        return _render(word("yes" if value else "no"), translate)
    if isinstance(value, int | float):
        return _FORMATS[written](value) if written in _FORMATS else format_number(value)
    if isinstance(value, list):
        return _render(listed("list_comma", value), translate)
    return "" if value is None else str(value)


def _render(msg: Mapping, translate: Callable[[str], str]) -> str:
    code, params = msg["code"], msg.get("params") or {}
    if code == "text":
        return str(params.get("text", ""))
    if code == "word":
        said = str(params.get("word", ""))
        return translate(_WORDS[said]) if said in _WORDS else said
    if code in SEPARATORS:
        return translate(SEPARATORS[code]).join(_value(item, translate) for item in params.get("items", ()))
    template = _TEMPLATES.get(code)
    formats = template.formats if template else {}
    values = {name: _value(value, translate, formats.get(name)) for name, value in params.items()}
    if template is None:
        return code + (f" ({', '.join(f'{k}={v}' for k, v in values.items())})" if values else "")
    for wording in (translate(template.text), template.text):  # a faulty translation falls back to English
        try:
            return wording % values
        except (KeyError, ValueError, TypeError):
            continue
    return code


def render(msg: Mapping | str | None) -> str:
    """The message in the active language (a plain string, as stored before messages, as it is;
    nothing for no message)."""
    if msg is None or (isinstance(msg, Mapping) and not msg):
        return ""
    if not is_message(msg):
        return str(msg)
    return _render(msg, gettext)


def english(msg: Mapping | str | None) -> str:
    """The message in English, whatever the active language."""
    if msg is None or (isinstance(msg, Mapping) and not msg):
        return ""
    if not is_message(msg):
        return str(msg)
    return _render(msg, lambda source: source)


class MessageField(models.JSONField):
    """A model field holding a message (empty: ``{}``). The audit trails show its values worded in
    the reader's language (`trials.audit_labels`), not key by key as other JSON."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("default", dict)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)
