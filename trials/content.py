"""Study content in the reader's language: a study's own texts (its title, criterion texts, visit
and item labels, item sections and code-list labels, arm names and dose-level labels) are written in
English, with a Chinese version beside them (`<field>_zh`). A Chinese reader sees the Chinese
version where there is one, else the English; every other reader the English.

Works on model rows, on the dictionaries of study definition documents and protocol versions, and
on `trials.items.ItemSpec`. No ORM, no query: the Chinese text is on the same row or document.
"""
from __future__ import annotations

from collections.abc import Mapping

from django.utils import translation

ZH_SUFFIX = "_zh"
ENGLISH, CHINESE = "en", "zh-Hans"


def reads_chinese() -> bool:
    """Whether the active language is Chinese (zh-hans, or any zh-* variant)."""
    return (translation.get_language() or "").lower().startswith("zh")


class ContentText(str):
    """A study's text as shown, knowing the language it is written in (`lang`), so that a page can
    mark it (`lang="en"` on a Chinese page that falls back on the English)."""

    lang: str = ENGLISH

    def __new__(cls, value: str, lang: str = ENGLISH):
        text = super().__new__(cls, value)
        text.lang = lang
        return text


def _value(obj, name: str) -> str:
    value = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
    return "" if value is None else str(value)


def content_and_language(obj, field: str) -> tuple[str, str]:
    """The text of `field` in the reader's language, and the language it is written in (`en` when a
    Chinese reader falls back on the English)."""
    if reads_chinese():
        chinese = _value(obj, field + ZH_SUFFIX).strip()
        if chinese:
            return chinese, CHINESE
    return _value(obj, field), ENGLISH


def content(obj, field: str) -> ContentText:
    """`obj.<field>_zh` when the reader reads Chinese and it is not empty, else `obj.<field>`; the
    text knows its language (`ContentText.lang`)."""
    text, lang = content_and_language(obj, field)
    return ContentText(text, lang)


def content_language(obj, field: str) -> str:
    """The language the text `content(obj, field)` shows is written in: `zh-Hans` or `en`."""
    return content_and_language(obj, field)[1]


def pick(english: str, chinese: str | None) -> ContentText:
    """The Chinese text for a Chinese reader when there is one, else the English."""
    if reads_chinese() and chinese and chinese.strip():
        return ContentText(chinese.strip(), CHINESE)
    return ContentText(english or "", ENGLISH)


def language_of(text) -> str:
    """The language a shown study text is written in: its own (`ContentText`), else English (the
    language study content is written in first)."""
    return getattr(text, "lang", ENGLISH)
